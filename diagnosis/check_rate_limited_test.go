package diagnosis

import "testing"

func TestCheckRateLimited(t *testing.T) {
	// containerd 1.7 fetcher.go (kata-containers/kata-containers#10109, DOMAIN §3.1, C08).
	hub429 := func(image string) string {
		r := ParseImage(image)
		return `failed to pull and unpack image "` + r.Full + `": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/` + r.Path + `/manifests/sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79: 429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit`
	}
	const busybox = "busybox:1.36"
	runCheckCases(t, checkRateLimited, []checkCase{
		{
			name:  "Docker Hub, anonymous",
			facts: newFacts(withImage("api", busybox), pullFailed("api", hub429(busybox))),
			cause: CauseRateLimited, conf: Confirmed,
			says: []string{"docker.io/library/busybox:1.36", "anonymously"},
			fixes: []string{
				`kubectl -n payments create secret docker-registry dockerhub-creds --docker-server=https://index.docker.io/v1/ "--docker-username=$DOCKERHUB_USER" "--docker-password=$DOCKERHUB_TOKEN"`,
				`kubectl -n payments patch serviceaccount payments-api -p '{"imagePullSecrets":[{"name":"dockerhub-creds"}]}'`,
				"kubectl -n payments rollout restart deployment/payments-api",
				"aws ecr describe-pull-through-cache-rules --region us-west-2",
			},
			notes:   []string{"NAT gateway"},
			restart: true,
		},
		{
			// A strategic merge patch replaces a service account's imagePullSecrets list
			// (the field has no merge key), so an existing list is appended to instead.
			name:  "Docker Hub, service account already has pull secrets",
			facts: newFacts(withImage("api", busybox), func(f *Facts) { f.ServiceAccount.ImagePullSecrets = []string{"regcred"} }, pullFailed("api", hub429(busybox))),
			cause: CauseRateLimited, conf: Confirmed,
			fixes:    []string{`kubectl -n payments patch serviceaccount payments-api --type json -p '[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"dockerhub-creds"}}]'`},
			notFixes: []string{`-p '{"imagePullSecrets":[{"name":"dockerhub-creds"}]}'`},
			restart:  true,
		},
		{
			name:  "Docker Hub, authenticated",
			facts: newFacts(withImage("api", "acme/api:2.0"), withSecret(dockerSecret("dockerhub", "https://index.docker.io/v1/")), pullFailed("api", hub429("acme/api:2.0"))),
			cause: CauseRateLimited, conf: Confirmed,
			says:    []string{"with the pull secret dockerhub"},
			restart: true,
		},
		{
			name: "ECR Public",
			facts: newFacts(withImage("api", "public.ecr.aws/nginx/nginx:1.27"), pullFailed("api",
				`failed to pull and unpack image "public.ecr.aws/nginx/nginx:1.27": failed to copy: httpReadSeeker: failed open: unexpected status code https://public.ecr.aws/v2/nginx/nginx/blobs/sha256:9f8e7d: 429 Too Many Requests - Server message: toomanyrequests: Rate exceeded`)),
			cause: CauseRateLimited, conf: Confirmed,
			says:    []string{"ECR Public"},
			fixes:   []string{"aws ecr describe-pull-through-cache-rules --region us-west-2"},
			restart: true,
		},
		{
			name:  "CRI-O wording, other registry",
			facts: newFacts(withImage("api", "quay.io/acme/app:3.1"), pullFailed("api", "initializing source docker://quay.io/acme/app:3.1: reading manifest 3.1 in quay.io/acme/app: too many requests to registry")),
			cause: CauseRateLimited, conf: Confirmed,
			says:    []string{"quay.io refused quay.io/acme/app:3.1 with 429"},
			restart: true,
		},
		{
			name: "many pods on the same registry",
			facts: newFacts(withImage("api", busybox), pullFailed("api", hub429(busybox)), func(f *Facts) {
				f.Related = map[string]Related{busybox: {Scope: "cluster", SameImagePods: 2, SameRegistryPods: 5, Nodes: 4}}
			}),
			cause: CauseRateLimited, conf: Confirmed,
			says:    []string{"7 other pod(s) are failing on docker.io"},
			restart: true,
		},
		{name: "503 is not a rate limit", facts: newFacts(withImage("api", "quay.io/acme/app:3.1"), pullFailed("api", headStatusErr("quay.io/acme/app:3.1", "503 Service Unavailable"))), wantNil: true},
	})
}
