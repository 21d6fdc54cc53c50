package diagnosis

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// secretEvent is the kubelet's FailedToRetrieveImagePullSecret (kubernetes/kubernetes#117927, DOMAIN §2.2).
func secretEvent(names string) func(*Facts) {
	return event("Warning", "FailedToRetrieveImagePullSecret", "",
		"Unable to retrieve some image pull secrets ("+names+"); attempting to pull the image may not succeed.", 11*time.Minute)
}

func TestCheckPullSecret(t *testing.T) {
	private := func(mods ...func(*Facts)) *Facts {
		return newFacts(append([]func(*Facts){withImage("api", tPrivate)}, mods...)...)
	}
	scope := insufficientScopeErr(tPrivate)
	unauthorized := headStatusErr(tPrivate, "401 Unauthorized")
	createRegcred := `kubectl -n payments create secret docker-registry regcred --docker-server=registry.example.com:5000 "--docker-username=$REGISTRY_USER" "--docker-password=$REGISTRY_PASSWORD"`
	runCheckCases(t, checkPullSecret, []checkCase{
		{
			name:  "no pull secrets at all",
			facts: private(pullFailed("api", scope)),
			cause: CausePullSecret, conf: Likely,
			says: []string{"registry.example.com:5000 requires credentials for team/app", "service account payments-api"},
			fixes: []string{
				createRegcred,
				`kubectl -n payments patch deployment payments-api --type json -p '[{"op":"add","path":"/spec/template/spec/imagePullSecrets","value":[{"name":"regcred"}]}]'`,
				"kubectl -n payments rollout restart deployment/payments-api",
			},
			notes:   []string{"answers the same way for a private repository and for one that does not exist"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name: "referenced secret does not exist",
			facts: private(withSecret(PullSecret{Name: "regcred", Status: SecretMissing, Detail: "secrets \"regcred\" not found"}),
				secretEvent("regcred"), pullFailed("api", unauthorized)),
			cause: CausePullSecret, conf: Confirmed,
			says:     []string{"regcred, which does not exist in namespace payments", "event FailedToRetrieveImagePullSecret names regcred"},
			fixes:    []string{createRegcred, "kubectl -n payments rollout restart deployment/payments-api"},
			notFixes: []string{"delete secret", "patch deployment"},
			restart:  true,
		},
		{
			// The port is part of the host: a secret for registry.example.com does not cover
			// registry.example.com:5000 (DOMAIN §10.1, C09). The existing secret is named
			// regcred, so the new one needs another name.
			name:  "secret keyed without the port",
			facts: private(withSecret(dockerSecret("regcred", "registry.example.com")), pullFailed("api", unauthorized)),
			cause: CausePullSecret, conf: Confirmed,
			says: []string{"port included", "regcred (has credentials for registry.example.com)"},
			fixes: []string{
				`create secret docker-registry registry.example.com-5000 --docker-server=registry.example.com:5000`,
				`[{"op":"add","path":"/spec/template/spec/imagePullSecrets/-","value":{"name":"registry.example.com-5000"}}]`,
			},
			notFixes: []string{"create secret docker-registry regcred ", `{"name":"regcred"}`},
			restart:  true,
		},
		{
			name:  "secret of the wrong type is recreated",
			facts: private(withSecret(PullSecret{Name: "regcred", Status: SecretFound, Type: corev1.SecretTypeOpaque}), pullFailed("api", scope)),
			cause: CausePullSecret, conf: Confirmed,
			says:     []string{"regcred (type Opaque) is not of type kubernetes.io/dockerconfigjson"},
			fixes:    []string{"kubectl -n payments delete secret regcred", createRegcred},
			notFixes: []string{"patch deployment"},
			restart:  true,
		},
		{
			name:  "registry rejects the secret's credentials",
			facts: private(withSecret(dockerSecret("regcred", "https://registry.example.com:5000")), pullFailed("api", unauthorized)),
			cause: CausePullSecret, conf: Likely,
			says:     []string{"rejected the credentials in pull secret regcred"},
			fixes:    []string{"kubectl -n payments delete secret regcred", createRegcred},
			notFixes: []string{"patch deployment"},
			restart:  true,
		},
		{
			// The kubelet uses only the pod's imagePullSecrets; the service account's are
			// copied in at admission, and only into pods that list none (DOMAIN §1, C08).
			name:  "service account got the secret after the pod was created",
			facts: private(withSecret(PullSecret{Name: "regcred", From: "serviceaccount", Status: SecretFound, Type: corev1.SecretTypeDockerConfigJson, Hosts: []string{"registry.example.com:5000"}}), pullFailed("api", unauthorized)),
			cause: CausePullSecret, conf: Likely,
			says:     []string{"service account payments-api lists regcred", "the pod does not carry it"},
			fixes:    []string{"kubectl -n payments rollout restart deployment/payments-api"},
			notFixes: []string{"delete secret", "create secret"},
			restart:  true,
		},
		{
			name:  "secret not readable",
			facts: private(withSecret(PullSecret{Name: "regcred", Status: SecretForbidden, Detail: "secrets \"regcred\" is forbidden"}), pullFailed("api", unauthorized)),
			cause: CausePullSecret, conf: Possible,
			says:    []string{"pull secrets not checked: regcred: secrets \"regcred\" is forbidden"},
			restart: true,
		},
		{
			name:  "private Docker Hub repository",
			facts: newFacts(withImage("api", "acme/private-api:2.0"), pullFailed("api", insufficientScopeErr("docker.io/acme/private-api:2.0"))),
			cause: CausePullSecret, conf: Likely,
			fixes:   []string{"--docker-server=https://index.docker.io/v1/"},
			notes:   []string{"Docker Hub answers the same way", "docker.io/acme/private-api:2.0"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:  "403 without credentials",
			facts: private(pullFailed("api", headStatusErr(tPrivate, "403 Forbidden"))),
			cause: CausePullSecret, conf: Likely,
			restart: true,
		},
		{
			name:  "pod already lists another secret",
			facts: private(withSecret(dockerSecret("ghcr", "ghcr.io")), pullFailed("api", scope)),
			cause: CausePullSecret, conf: Confirmed,
			fixes:   []string{`[{"op":"add","path":"/spec/template/spec/imagePullSecrets/-","value":{"name":"regcred"}}]`},
			restart: true,
		},
		{
			// docker.io/library/ holds only Docker's public official images: a pull secret
			// cannot help, the name is wrong (DOMAIN C06, §8).
			name:    "short name on Docker Hub library",
			facts:   newFacts(withImage("api", "api:1.8.2"), pullFailed("api", insufficientScopeErr("docker.io/library/api:1.8.2"))),
			wantNil: true,
		},
		{name: "ECR belongs to registry-credentials", facts: newFacts(pullFailed("api", noBasicAuthErr(ecrImage))), wantNil: true},
		{name: "403 with a presented secret belongs to access-denied", facts: private(withSecret(dockerSecret("regcred", "registry.example.com:5000")), pullFailed("api", headStatusErr(tPrivate, "403 Forbidden"))), wantNil: true},
		{name: "timeout", facts: private(pullFailed("api", timeoutErr(tPrivate, "10.1.2.3"))), wantNil: true},
	})
}
