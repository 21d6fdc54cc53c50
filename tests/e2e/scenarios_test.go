package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/tests/awsfake"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// Images of the scenarios. payments/api has the tags 1.8.1, 1.8.0, 1.8.1-multiarch, 1.9.0
// (an amd64-only index) and the ARCHIVED 1.7.0, and no 1.8.2 (see awsfake.WorkedExample).
const (
	apiImage      = ecrHost + "/payments/api:1.8.1"
	missingTag    = ecrHost + "/payments/api:1.8.2"
	archivedTag   = ecrHost + "/payments/api:" + awsfake.ExampleArchivedTag
	amd64Only     = ecrHost + "/payments/api:" + amd64OnlyTag
	typoRepo      = ecrHost + "/payments/apii:1.8.2"
	ledgerImage   = ecrHost + "/payments/ledger:3.2.0"
	crossImage    = crossECRHost + "/platform/base:2024.06"
	ptcImage      = ecrHost + "/docker-hub/library/nginx:1.27"
	ptcNewImage   = ecrHost + "/docker-hub/library/redis:7.2"
	privateImage  = privateHost + "/team/app:3.1"
	privateNewTag = privateHost + "/team/app:3.2"
	harborImage   = harborHost + "/platform/app:3.1"

	nodeRoleARN = "arn:aws:iam::111122223333:role/" + awsfake.ExampleNodeRole
	repoARN     = "arn:aws:ecr:us-west-2:111122223333:repository/payments/api"
	kmsKeyARN   = "arn:aws:kms:us-west-2:111122223333:key/" + awsfake.ExampleKMSKeyID
	ledgerARN   = "arn:aws:ecr:us-west-2:111122223333:repository/" + awsfake.ExampleKMSRepository
)

// Runtime messages in the shapes the kubelet, containerd and CRI-O produce; the format string
// of each is cited in diagnosis/classify_test.go.
const (
	// containerd authorizer.go + resolver.go: the pull went out without credentials.
	noBasicAuth = "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials"
	// containerd 1.7 remotes/docker/fetcher.go on ECR's S3 layer bucket.
	layerURL = "https://prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com/2f9c-111122223333-0c5d/1f2e4a?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE&X-Amz-Signature=5b7c"
	// The layer GET when ECR cannot decrypt: S3's KMS AccessDenied body (DOMAIN C11 [inferred]).
	kmsAccessDenied = "failed to copy: httpReadSeeker: failed open: unexpected status code " + layerURL + ": 403 Forbidden - Server message: AccessDenied: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access."
)

func pullFailed(image, inner string) string {
	return fmt.Sprintf(`Failed to pull image %q: failed to pull and unpack image %q: %s`, image, image, inner)
}

// timeoutTo is Go's dial timeout as containerd reports it for image's manifest.
func timeoutTo(image string) string {
	ref := diagnosis.ParseImage(image)
	return failedToPull(image, fmt.Sprintf(`failed to do request: Head "https://%s/v2/%s/manifests/%s": dial tcp 10.0.12.200:443: i/o timeout`, ref.RegistryHost(), ref.Path, ref.Reference()))
}

// The central registry account of the registry-role scenarios.
const (
	centralAcct    = "222233334444"
	centralRole    = "arn:aws:iam::" + centralAcct + ":role/pullcheck-registry-read"
	centralImage   = centralAcct + ".dkr.ecr." + awsfake.ExampleRegion + ".amazonaws.com/platform/base:2024.06"
	centralRepoARN = "arn:aws:ecr:us-west-2:" + centralAcct + ":repository/platform/base"
)

// centralRegistry copies platform/base (its policy allows the CI account only) into the
// central registry account, which only calls acting as that account may read.
func centralRegistry(sc *awsfake.Scenario) {
	sc.SeparateAccounts = true
	base := *sc.Repository(awsfake.ExampleCrossAcctRepo)
	base.RegistryID = centralAcct
	sc.Repositories = append(sc.Repositories, &base)
}

func withPolicy(policies ...string) func(*awsfake.Scenario) {
	return func(sc *awsfake.Scenario) {
		sc.Role(awsfake.ExampleNodeRole).AttachedPolicies = policies
	}
}

// withoutNAT removes the node subnet's default route.
func withoutNAT(sc *awsfake.Scenario) {
	rt := sc.RouteTable(awsfake.ExampleRouteTableID)
	rt.Routes = slices.DeleteFunc(rt.Routes, func(r awsfake.Route) bool { return r.DestinationCIDR == "0.0.0.0/0" })
}

func withoutEndpoint(sc *awsfake.Scenario, id string) {
	sc.VpcEndpoints = slices.DeleteFunc(sc.VpcEndpoints, func(e *awsfake.VpcEndpoint) bool { return e.ID == id })
}

// attached checks that the fix attached policy to role.
func attached(role, policy string) func(*testing.T, *awsfake.Scenario) {
	return func(t *testing.T, sc *awsfake.Scenario) {
		if got := sc.Role(role).AttachedPolicies; !slices.Contains(got, policy) {
			t.Errorf("after the fixes %s has %v, want %s attached", role, got, policy)
		}
	}
}

// endpointFor returns the VPC's endpoint for the service suffix (ecr.api, ecr.dkr, s3), or nil.
func endpointFor(sc *awsfake.Scenario, suffix string) *awsfake.VpcEndpoint {
	for _, e := range sc.VpcEndpoints {
		if e.VpcID == awsfake.ExampleVpcID && e.ServiceName == "com.amazonaws.us-west-2."+suffix {
			return e
		}
	}
	return nil
}

// vpcDNSOn checks that the fixes turned the VPC's DNS support and DNS hostnames on.
func vpcDNSOn(t *testing.T, sc *awsfake.Scenario) {
	if v := sc.VPC(awsfake.ExampleVpcID); !v.EnableDNSSupport || !v.EnableDNSHostnames {
		t.Errorf("after the fixes VPC %s has DNS support %v and DNS hostnames %v, want both on", v.ID, v.EnableDNSSupport, v.EnableDNSHostnames)
	}
}

func keyEnabled(t *testing.T, sc *awsfake.Scenario) {
	if got := sc.KMSKey(awsfake.ExampleKMSKeyID).State; got != "Enabled" {
		t.Errorf("after the fixes the key is %s, want Enabled", got)
	}
}

func restored(t *testing.T, sc *awsfake.Scenario) {
	if got := sc.Repository(awsfake.ExampleRepository).Image(awsfake.ExampleArchivedTag).Status; got != "ACTIVE" {
		t.Errorf("after the fixes %s is %s, want ACTIVE", awsfake.ExampleArchivedTag, got)
	}
}

func pod(containers ...corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{ServiceAccountName: "payments-api", Containers: containers}
}

// failing is the kube step of a scenario whose container "api" fails to pull with msg.
func failing(msg string) func(context.Context, testing.TB, kubelet) {
	return func(ctx context.Context, t testing.TB, k kubelet) { k.failPull(ctx, t, "api", msg) }
}

func one(w want) map[string]want { return map[string]want{"api": w} }

// Actions every diagnosis of an ECR image on an EC2 node makes.
var ecrOnEC2 = []string{"sts:GetCallerIdentity", "ecr:DescribeRepositories", "ecr:DescribeImages", "ecr:GetRepositoryPolicy",
	"ecr:DescribePullThroughCacheRules", "ecr:GetAuthorizationToken", "ec2:DescribeInstances", "iam:GetInstanceProfile",
	"iam:ListAttachedRolePolicies", "iam:SimulatePrincipalPolicy", "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints",
	"ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeVpcAttribute"}

func scenarios() []scenario {
	return []scenario{
		{
			name: "invalid-image-name",
			spec: pod(container("api", ecrHost+"/payments/API:1.8.1")),
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				img := ecrHost + "/payments/API:1.8.1"
				k.warn(ctx, t, "api", "InspectFailed", diagnosis.ReasonInvalidImageName,
					fmt.Sprintf(`Failed to apply default image tag %q: couldn't parse image name %q: invalid reference format: repository name (payments/API) must be lowercase`, img, img))
			},
			want: one(want{cause: diagnosis.CauseInvalidImageName, confidence: diagnosis.Confirmed, summary: "cannot be parsed",
				fixes: []string{"api=" + apiImage}}),
		},
		{
			name: "never-pull-policy",
			spec: pod(corev1.Container{Name: "api", Image: apiImage, ImagePullPolicy: corev1.PullNever}),
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				k.warn(ctx, t, "api", "ErrImageNeverPull", diagnosis.ReasonErrImageNeverPull,
					fmt.Sprintf(`Container image %q is not present with pull policy of Never`, apiImage))
			},
			want: one(want{cause: diagnosis.CauseNeverPullPolicy, confidence: diagnosis.Confirmed, evidence: []string{"imagePullPolicy: Never"}}),
		},
		{
			name: "registry-credentials: the node role may not get an ECR token",
			spec: pod(container("api", apiImage)),
			aws:  withPolicy(awsfake.PolicyWorkerNode, awsfake.PolicyCNI),
			kube: failing(failedToPull(apiImage, noBasicAuth)),
			want: one(want{cause: diagnosis.CauseRegistryCredentials, confidence: diagnosis.Confirmed, summary: "may not call ecr:GetAuthorizationToken",
				evidence: []string{"iam:SimulatePrincipalPolicy for " + nodeRoleARN + ": ecr:GetAuthorizationToken implicitDeny"},
				notes:    []string{"arn:aws:iam::111122223333:role/payments-api-irsa"},
				fixes:    []string{"aws iam attach-role-policy --role-name " + awsfake.ExampleNodeRole + " --policy-arn " + awsfake.PolicyPullOnly}}),
			calls: ecrOnEC2,
			fixed: attached(awsfake.ExampleNodeRole, awsfake.PolicyPullOnly),
		},
		{
			name: "registry-credentials: instance metadata turned off",
			spec: pod(container("api", apiImage)),
			aws:  func(sc *awsfake.Scenario) { sc.Instance(awsfake.ExampleInstanceID).MetadataHTTPEndpoint = "disabled" },
			kube: failing(failedToPull(apiImage, noBasicAuth)),
			want: one(want{cause: diagnosis.CauseRegistryCredentials, confidence: diagnosis.Confirmed, summary: "Instance metadata (IMDS) is turned off",
				fixes: []string{"aws ec2 modify-instance-metadata-options --region us-west-2 --instance-id " + awsfake.ExampleInstanceID + " --http-endpoint enabled"}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if in := sc.Instance(awsfake.ExampleInstanceID); in.MetadataHTTPEndpoint != "enabled" || in.MetadataHopLimit != 1 {
					t.Errorf("after the fixes IMDS is %s with hop limit %d, want enabled with 1", in.MetadataHTTPEndpoint, in.MetadataHopLimit)
				}
			},
		},
		{
			name: "registry-credentials on Fargate: the pod execution role may not get a token",
			node: nodeFargate,
			spec: pod(container("api", apiImage)),
			aws:  func(sc *awsfake.Scenario) { sc.Role(awsfake.ExampleFargateRole).AttachedPolicies = nil },
			kube: failing(failedToPull(apiImage, noBasicAuth)),
			want: one(want{cause: diagnosis.CauseRegistryCredentials, confidence: diagnosis.Confirmed, summary: "The role " + awsfake.ExampleFargateRole,
				fixes: []string{"aws iam attach-role-policy --role-name " + awsfake.ExampleFargateRole + " --policy-arn " + awsfake.PolicyFargatePodExec}}),
			calls: []string{"eks:DescribeFargateProfile", "iam:SimulatePrincipalPolicy"},
			fixed: attached(awsfake.ExampleFargateRole, awsfake.PolicyFargatePodExec),
		},
		{
			name: "access-denied: the repository policy denies the node role",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				sc.Repository(awsfake.ExampleRepository).Policy = `{"Version":"2012-10-17","Statement":[{"Sid":"DenyNodeRole","Effect":"Deny","Principal":{"AWS":"` + nodeRoleARN + `"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}`
			},
			kube: failing(headStatus(apiImage, "403 Forbidden")),
			want: one(want{cause: diagnosis.CauseAccessDenied, confidence: diagnosis.Confirmed, summary: "explicitly denies",
				evidence: []string{"DenyNodeRole denies ecr:BatchGetImage to " + nodeRoleARN},
				fixes:    []string{`jq 'del(.Statement[] | select(.Sid == "DenyNodeRole"))' current.json > new.json`}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if p := sc.Repository(awsfake.ExampleRepository).Policy; strings.Contains(p, "DenyNodeRole") {
					t.Errorf("after the fixes the repository policy still denies: %s", p)
				}
			},
		},
		{
			name: "access-denied: cross-account pull without an Allow",
			spec: pod(container("api", crossImage)),
			kube: failing(headStatus(crossImage, "403 Forbidden")),
			want: one(want{cause: diagnosis.CauseAccessDenied, confidence: diagnosis.Confirmed, summary: "a cross-account pull needs an Allow",
				evidence: []string{"ecr:GetRepositoryPolicy (account 444455556666): the policy has no statement allowing it for " + nodeRoleARN},
				fixes:    []string{"aws ecr set-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/base --policy-text file://new.json"}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if p := sc.Repository(awsfake.ExampleCrossAcctRepo).Policy; !strings.Contains(p, nodeRoleARN) || !strings.Contains(p, "AllowPullFromCiAccount") {
					t.Errorf("after the fixes the policy is %s, want the node role added to the statements already there", p)
				}
			},
		},
		{
			// A central registry account that only its own role may read: the bot assumes
			// the configured role there and confirms the cause from the repository policy.
			name:          "access-denied: cross-account pull, the policy read through the registry role",
			spec:          pod(container("api", centralImage)),
			aws:           centralRegistry,
			registryRoles: map[string]string{centralAcct: centralRole},
			kube:          failing(headStatus(centralImage, "403 Forbidden")),
			want: one(want{cause: diagnosis.CauseAccessDenied, confidence: diagnosis.Confirmed, summary: "a cross-account pull needs an Allow",
				evidence: []string{"ecr:GetRepositoryPolicy (account " + centralAcct + "): the policy has no statement allowing it for " + nodeRoleARN},
				fixes:    []string{"aws ecr set-repository-policy --region us-west-2 --registry-id " + centralAcct + " --repository-name platform/base --policy-text file://new.json"}}),
			calls: []string{"sts:AssumeRole", "ecr:GetRepositoryPolicy", "ecr:DescribeRepositories", "ecr:DescribeImages"},
			// The probe's token is the role's too, and its manifest read succeeds (a probe
			// skip would fail the scenario).
			roleCalls: []string{"ecr:GetAuthorizationToken", "ecr:GetRepositoryPolicy"},
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				for _, r := range sc.Repositories {
					if r.RegistryID == centralAcct && r.Name == "platform/base" && !strings.Contains(r.Policy, nodeRoleARN) {
						t.Errorf("after the fixes the policy is %s, want the node role added", r.Policy)
					}
				}
			},
		},
		{
			// No role for the registry account: the bot's own reads are refused, as before.
			name: "partial: cross-account pull without a registry role",
			spec: pod(container("api", centralImage)),
			aws:  centralRegistry,
			kube: failing(headStatus(centralImage, "403 Forbidden")),
			want: one(want{cause: diagnosis.CauseAccessDenied, confidence: diagnosis.Likely}),
			skips: map[string]string{
				"ecr-repository":         "ecr:DescribeRepositories on " + centralRepoARN,
				"ecr-image":              "ecr:DescribeImages on " + centralRepoARN,
				"ecr-repository-policy":  "ecr:GetRepositoryPolicy on " + centralRepoARN,
				"ecr-pull-through-cache": "ecr:DescribePullThroughCacheRules",
			},
		},
		{
			// The role is configured but the bot may not assume it: the AWS reads and the
			// probe's token each say so.
			name:          "partial: the registry role cannot be assumed",
			spec:          pod(container("api", centralImage)),
			aws:           func(sc *awsfake.Scenario) { centralRegistry(sc); sc.Denied["sts:AssumeRole"] = true },
			registryRoles: map[string]string{centralAcct: centralRole},
			kube:          failing(headStatus(centralImage, "403 Forbidden")),
			want:          one(want{cause: diagnosis.CauseAccessDenied, confidence: diagnosis.Likely}),
			skips: map[string]string{"ecr-registry-role": "sts:AssumeRole on " + centralRole,
				"registry-probe": "sts:AssumeRole on " + centralRole},
		},
		{
			name: "access-denied: the node role lacks ecr:BatchGetImage",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				r := sc.Role(awsfake.ExampleNodeRole)
				r.AttachedPolicies = []string{awsfake.PolicyWorkerNode, awsfake.PolicyCNI}
				r.AllowedActions = []string{"ecr:GetAuthorizationToken"}
			},
			kube: failing(headStatus(apiImage, "403 Forbidden")),
			want: one(want{cause: diagnosis.CauseAccessDenied, confidence: diagnosis.Confirmed, summary: "may not call ecr:BatchGetImage or ecr:GetDownloadUrlForLayer",
				fixes: []string{"aws iam attach-role-policy --role-name " + awsfake.ExampleNodeRole + " --policy-arn " + awsfake.PolicyPullOnly}}),
			fixed: attached(awsfake.ExampleNodeRole, awsfake.PolicyPullOnly),
		},
		{
			name: "pull-secret: the referenced secret does not exist",
			spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}}, Containers: []corev1.Container{container("api", privateImage)}},
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				k.record(ctx, t, kubetest.Event{Type: corev1.EventTypeWarning, Reason: "FailedToRetrieveImagePullSecret", First: k.now.Add(-9 * time.Minute), Last: k.now.Add(-time.Minute), Count: 9,
					Message: "Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed."})
				k.failPull(ctx, t, "api", failedToPull(privateImage, "pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"))
			},
			want: one(want{cause: diagnosis.CausePullSecret, confidence: diagnosis.Confirmed, summary: "references the pull secret regcred, which does not exist",
				evidence: []string{"got 401: " + privateHost + " requires credentials"}}),
		},
		{
			name: "repository-not-found: RepositoryNotFoundException",
			spec: pod(container("api", typoRepo)),
			kube: failing(notFound(typoRepo)),
			want: one(want{cause: diagnosis.CauseRepositoryNotFound, confidence: diagnosis.Confirmed, summary: "has no repository payments/apii",
				evidence: []string{"RepositoryNotFoundException for payments/apii"},
				fixes:    []string{"aws ecr create-repository --region us-west-2 --registry-id 111122223333 --repository-name payments/apii"}}),
			calls: []string{"ecr:DescribeRepositories", "ecr:DescribePullThroughCacheRules"},
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if r := sc.Repository("payments/apii"); r == nil || r.ImageTagMutability != "IMMUTABLE" {
					t.Errorf("after the fixes payments/apii is %+v, want an immutable repository", r)
				}
			},
		},
		{
			name: "tag-not-found: ImageNotFoundException",
			spec: pod(container("api", missingTag)),
			kube: failing(notFound(missingTag)),
			want: one(want{cause: diagnosis.CauseTagNotFound, confidence: diagnosis.Confirmed, summary: "exists, but has no image 1.8.2",
				evidence: []string{"ImageNotFoundException for 1.8.2 in payments/api", "tags that do exist in payments/api: 1.9.0, 1.8.1-multiarch, 1.8.1, 1.8.0",
					`lifecycle rule 2 ("keep the last 20 release images") expires tagged images matching 1.`},
				fixes: []string{"api=" + amd64Only}}),
			calls: append([]string{"ecr:ListImages", "ecr:GetLifecyclePolicy"}, ecrOnEC2...),
		},
		{
			name: "tag-not-found: archived (kubelet 1.32 status message)",
			spec: pod(container("api", archivedTag)),
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				k.failPullV132(ctx, t, "api", fmt.Sprintf(`failed to pull and unpack image %q: failed to resolve reference %q: %s: not found`, archivedTag, archivedTag, archivedTag))
			},
			want: one(want{cause: diagnosis.CauseTagNotFound, confidence: diagnosis.Confirmed, summary: "is archived in ECR",
				evidence: []string{"imageStatus ARCHIVED"},
				fixes:    []string{"aws ecr update-image-storage-class --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-id imageTag=1.7.0 --target-storage-class STANDARD"}}),
			fixed: restored,
		},
		{
			name: "tag-not-found: a private registry answers MANIFEST_UNKNOWN to the probe",
			spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "example-creds"}}, Containers: []corev1.Container{container("api", privateNewTag)}},
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				must[*corev1.Secret](t)(cluster.Client.CoreV1().Secrets(k.pod.Namespace).Create(ctx, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: "example-creds"}, Type: corev1.SecretTypeDockerConfigJson,
					Data: map[string][]byte{corev1.DockerConfigJsonKey: fmt.Appendf(nil, `{"auths":{%q:{"username":%q,"password":%q}}}`, privateHost, privateUser, privatePass)},
				}, metav1.CreateOptions{}))
				k.failPull(ctx, t, "api", notFound(privateNewTag))
			},
			want: one(want{cause: diagnosis.CauseTagNotFound, confidence: diagnosis.Confirmed, summary: privateHost + " has the repository team/app but no image 3.2",
				evidence: []string{"the bot's request with the pod's pull secret for " + privateNewTag + " answered 404 MANIFEST_UNKNOWN"}}),
		},
		{
			name: "platform-mismatch: an amd64-only index on a Graviton node",
			node: nodeARM,
			spec: pod(container("api", amd64Only)),
			kube: failing(fmt.Sprintf(`Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: no match for platform in manifest: not found`, amd64Only, amd64Only)),
			want: one(want{cause: diagnosis.CausePlatformMismatch, confidence: diagnosis.Confirmed,
				evidence: []string{"kubernetes.io/arch=arm64", "the image index of " + amd64Only + " offers linux/amd64"},
				fixes:    []string{`{"nodeSelector":{"kubernetes.io/arch":"amd64"}}`}}),
			calls: []string{"ecr:BatchGetImage"},
		},
		{
			name: "rate-limited: Docker Hub answers 429",
			spec: pod(container("api", "busybox:1.36")),
			kube: failing(pullFailed("docker.io/library/busybox:1.36", "failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79: 429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit")),
			want: one(want{cause: diagnosis.CauseRateLimited, confidence: diagnosis.Confirmed,
				evidence: []string{"ratelimit-limit 100;w=21600, ratelimit-remaining 0;w=21600", "retry after 21600 seconds"}}),
		},
		{
			name: "pull-through-cache: the upstream sign-in fails",
			spec: pod(container("api", ptcImage)),
			kube: failing(headStatus(ptcImage, "403 Forbidden: denied: The authentication to the upstream registry failed. Verify that the credentials provided in the pull through cache rule are correct, and try again.")),
			want: one(want{cause: diagnosis.CausePullThroughCache, confidence: diagnosis.Confirmed, summary: "could not sign in to the upstream registry",
				fixes: []string{"aws ecr describe-pull-through-cache-rules --region us-west-2 --registry-id 111122223333"}}),
		},
		{
			name: "pull-through-cache: the node role may not create the cache repository",
			spec: pod(container("api", ptcNewImage)),
			aws:  withPolicy(awsfake.PolicyWorkerNode, awsfake.PolicyCNI, awsfake.PolicyReadOnly),
			kube: failing(notFound(ptcNewImage)),
			want: one(want{cause: diagnosis.CausePullThroughCache, confidence: diagnosis.Confirmed, summary: "(rule docker-hub -> registry-1.docker.io) that was never created",
				evidence: []string{"ecr:CreateRepository, ecr:BatchImportUpstreamImage denied"},
				fixes:    []string{"aws iam put-role-policy --role-name " + awsfake.ExampleNodeRole + " --policy-name ecr-pull-through-cache-docker-hub"}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if _, ok := sc.Role(awsfake.ExampleNodeRole).InlinePolicies["ecr-pull-through-cache-docker-hub"]; !ok {
					t.Error("after the fixes the node role has no pull-through cache policy")
				}
			},
		},
		{
			name: "registry-unreachable: no NAT route and no ecr.api endpoint look like an auth error",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				withoutNAT(sc)
				withoutEndpoint(sc, awsfake.ExampleECRAPIEndpoint)
			},
			kube: failing(failedToPull(apiImage, noBasicAuth)),
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Confirmed, summary: "looks like an authentication error but is a network one",
				evidence: []string{"VPC " + awsfake.ExampleVpcID + " has no com.amazonaws.us-west-2.ecr.api endpoint and route table " + awsfake.ExampleRouteTableID + " of subnet " + awsfake.ExampleSubnetID + " has no default route"},
				fixes:    []string{"aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id " + awsfake.ExampleVpcID + " --vpc-endpoint-type Interface --service-name com.amazonaws.us-west-2.ecr.api --subnet-ids " + awsfake.ExampleSubnetID}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if e := endpointFor(sc, "ecr.api"); e == nil || !e.PrivateDNSEnabled || e.Type != "Interface" {
					t.Errorf("after the fixes the ecr.api endpoint is %+v, want an interface endpoint with private DNS", e)
				}
			},
		},
		{
			name: "registry-unreachable: i/o timeout without NAT or an ecr.dkr endpoint (kubelet 1.32 status message)",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				withoutNAT(sc)
				withoutEndpoint(sc, awsfake.ExampleECRDKREndpoint)
			},
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				k.failPullV132(ctx, t, "api", diagnosis.StripWrappers(timeoutTo(apiImage)))
			},
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Confirmed, summary: "has no working path to the ECR registry (ecr.dkr)",
				fixes: []string{"--service-name com.amazonaws.us-west-2.ecr.dkr --subnet-ids " + awsfake.ExampleSubnetID}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if e := endpointFor(sc, "ecr.dkr"); e == nil || !e.PrivateDNSEnabled {
					t.Errorf("after the fixes the ecr.dkr endpoint is %+v, want one with private DNS", e)
				}
			},
		},
		{
			name: "registry-unreachable: the endpoints' security group refuses the node",
			spec: pod(container("api", apiImage)),
			aws:  func(sc *awsfake.Scenario) { sc.SecurityGroup(awsfake.ExampleEndpointSG).Ingress = nil },
			kube: failing(timeoutTo(apiImage)),
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Confirmed, summary: "do not admit HTTPS (443)",
				fixes: []string{"aws ec2 authorize-security-group-ingress --region us-west-2 --group-id"}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				var rules int
				for _, p := range sc.SecurityGroup(awsfake.ExampleEndpointSG).Ingress {
					if p.Protocol == "tcp" && p.FromPort == 443 && slices.Contains(p.GroupIDs, awsfake.ExampleNodeSG) {
						rules++
					}
				}
				if rules != 1 {
					t.Errorf("after the fixes %s has %d rules for HTTPS from %s, want 1", awsfake.ExampleEndpointSG, rules, awsfake.ExampleNodeSG)
				}
			},
		},
		{
			name: "registry-unreachable: the layer download times out, the S3 gateway endpoint is off the node's route table",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				withoutNAT(sc)
				sc.VpcEndpoint(awsfake.ExampleS3Endpoint).RouteTableIDs = nil
				rt := sc.RouteTable(awsfake.ExampleRouteTableID)
				rt.Routes = slices.DeleteFunc(rt.Routes, func(r awsfake.Route) bool { return r.GatewayID == awsfake.ExampleS3Endpoint })
			},
			kube: failing(pullFailed(apiImage, `failed to copy: httpReadSeeker: failed open: failed to do request: Get "`+layerURL+`": dial tcp 52.218.1.1:443: i/o timeout`)),
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Confirmed, summary: "has no working path to ECR's S3 layer storage in us-west-2",
				fixes: []string{"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + awsfake.ExampleS3Endpoint + " --add-route-table-ids " + awsfake.ExampleRouteTableID}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if got := sc.VpcEndpoint(awsfake.ExampleS3Endpoint).RouteTableIDs; !slices.Contains(got, awsfake.ExampleRouteTableID) {
					t.Errorf("after the fixes the S3 endpoint is on route tables %v, want %s", got, awsfake.ExampleRouteTableID)
				}
			},
		},
		{
			name: "registry-unreachable: the ecr.dkr endpoint has private DNS off and there is no NAT",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				withoutNAT(sc)
				sc.VpcEndpoint(awsfake.ExampleECRDKREndpoint).PrivateDNSEnabled = false
			},
			kube: failing(timeoutTo(apiImage)),
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Confirmed, summary: "has private DNS off",
				fixes: []string{"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + awsfake.ExampleECRDKREndpoint + " --private-dns-enabled"}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if !sc.VpcEndpoint(awsfake.ExampleECRDKREndpoint).PrivateDNSEnabled {
					t.Error("after the fixes the ecr.dkr endpoint still has private DNS off")
				}
			},
		},
		{
			// DOMAIN C10: the endpoints have private DNS on, but it does not apply in a VPC with
			// DNS hostnames off: the node resolves ECR's public name and, without NAT, times out.
			name: "registry-unreachable: the VPC has DNS hostnames off and there is no NAT",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				withoutNAT(sc)
				sc.VPC(awsfake.ExampleVpcID).EnableDNSHostnames = false
			},
			kube: failing(timeoutTo(apiImage)),
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Confirmed,
				summary:  "has private DNS on, but VPC " + awsfake.ExampleVpcID + " has enableDnsHostnames off",
				evidence: []string{"VPC endpoint " + awsfake.ExampleECRAPIEndpoint + " for com.amazonaws.us-west-2.ecr.api has private DNS on"},
				fixes:    []string{`aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + awsfake.ExampleVpcID + ` --enable-dns-hostnames "{\"Value\":true}"`}}),
			calls: []string{"ec2:DescribeVpcAttribute"},
			fixed: vpcDNSOn,
		},
		{
			// Both attributes off: the fix turns DNS support on first (EC2 turns DNS hostnames on
			// only with it), one attribute per call. The VPC's resolver does not answer, so the
			// lookup itself times out [inferred: Go's resolver error for a silent DNS server].
			name: "registry-unreachable: the VPC has DNS support and hostnames off and there is no NAT",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				withoutNAT(sc)
				v := sc.VPC(awsfake.ExampleVpcID)
				v.EnableDNSSupport, v.EnableDNSHostnames = false, false
			},
			kube: failing(failedToPull(apiImage, `failed to do request: Head "https://`+ecrHost+`/v2/payments/api/manifests/1.8.1": dial tcp: lookup `+ecrHost+` on 10.0.0.2:53: read udp 10.0.12.34:41234->10.0.0.2:53: i/o timeout`)),
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Confirmed,
				summary: "has enableDnsSupport and enableDnsHostnames off",
				fixes: []string{`aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + awsfake.ExampleVpcID + ` --enable-dns-support "{\"Value\":true}"`,
					`aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + awsfake.ExampleVpcID + ` --enable-dns-hostnames "{\"Value\":true}"`}}),
			fixed: vpcDNSOn,
		},
		{
			// The bot may not read the VPC's DNS attributes: the report says the path is not
			// known, lists the skip, and gives the commands that read them.
			name: "partial: the bot may not call ec2:DescribeVpcAttribute",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				withoutNAT(sc)
				sc.VPC(awsfake.ExampleVpcID).EnableDNSHostnames = false
				sc.Denied["ec2:DescribeVpcAttribute"] = true
			},
			kube: failing(timeoutTo(apiImage)),
			want: one(want{cause: diagnosis.CauseRegistryUnreachable, confidence: diagnosis.Likely, summary: "timed out connecting to " + ecrHost,
				evidence: []string{"the DNS attributes of VPC " + awsfake.ExampleVpcID + " were not read"},
				fixes:    []string{"aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id " + awsfake.ExampleVpcID + " --attribute enableDnsHostnames"}}),
			skips: map[string]string{"network-dns": "ec2:DescribeVpcAttribute"},
		},
		{
			name: "endpoint-policy-denied: the S3 endpoint policy leaves out the layer bucket",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				sc.VpcEndpoint(awsfake.ExampleS3Endpoint).PolicyDocument = `{"Version":"2012-10-17","Statement":[{"Sid":"OurBucketsOnly","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-artifacts","arn:aws:s3:::acme-artifacts/*"]}]}`
			},
			kube: failing(pullFailed(apiImage, "failed to copy: httpReadSeeker: failed open: unexpected status code "+layerURL+": 403 Forbidden")),
			want: one(want{cause: diagnosis.CauseEndpointPolicyDenied, confidence: diagnosis.Confirmed,
				summary: "The policy of S3 gateway endpoint " + awsfake.ExampleS3Endpoint + " on the node's route table " + awsfake.ExampleRouteTableID + " does not allow s3:GetObject on arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*",
				fixes:   []string{"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + awsfake.ExampleS3Endpoint + " --policy-document file://new.json"}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if p := sc.VpcEndpoint(awsfake.ExampleS3Endpoint).PolicyDocument; !strings.Contains(p, "prod-us-west-2-starport-layer-bucket") || !strings.Contains(p, "OurBucketsOnly") {
					t.Errorf("after the fixes the S3 endpoint policy is %s, want the layer bucket added to the statements already there", p)
				}
			},
		},
		{
			name: "endpoint-policy-denied: the ecr.dkr endpoint policy refuses the repository",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				sc.VpcEndpoint(awsfake.ExampleECRDKREndpoint).PolicyDocument = `{"Version":"2012-10-17","Statement":[{"Sid":"PlatformOnly","Effect":"Allow","Principal":"*","Action":"ecr:*","Resource":"arn:aws:ecr:us-west-2:111122223333:repository/platform/*"}]}`
			},
			kube: failing(headStatus(apiImage, "403 Forbidden")),
			want: one(want{cause: diagnosis.CauseEndpointPolicyDenied, confidence: diagnosis.Confirmed,
				summary: "The policy of VPC endpoint " + awsfake.ExampleECRDKREndpoint + " (ecr.dkr) does not allow ecr:BatchGetImage",
				fixes:   []string{"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + awsfake.ExampleECRDKREndpoint + " --reset-policy"}}),
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				if p := sc.VpcEndpoint(awsfake.ExampleECRDKREndpoint).PolicyDocument; strings.Contains(p, "PlatformOnly") {
					t.Errorf("after the fixes the ecr.dkr endpoint policy is %s, want the full-access policy", p)
				}
			},
		},
		{
			name: "endpoint-policy-denied: the ecr.api endpoint policy refuses the token",
			spec: pod(container("api", apiImage)),
			aws: func(sc *awsfake.Scenario) {
				sc.VpcEndpoint(awsfake.ExampleECRAPIEndpoint).PolicyDocument = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["ecr:DescribeRepositories","ecr:DescribeImages"],"Resource":"*"}]}`
			},
			kube: failing(failedToPull(apiImage, noBasicAuth)),
			want: one(want{cause: diagnosis.CauseEndpointPolicyDenied, confidence: diagnosis.Confirmed,
				summary: "The policy of VPC endpoint " + awsfake.ExampleECRAPIEndpoint + " (ecr.api) does not allow ecr:GetAuthorizationToken"}),
		},
		{
			name: "kms-denied: the repository's key is disabled",
			spec: pod(container("api", ledgerImage)),
			aws:  func(sc *awsfake.Scenario) { sc.KMSKey(awsfake.ExampleKMSKeyID).State = "Disabled" },
			kube: failing(pullFailed(ledgerImage, kmsAccessDenied)),
			want: one(want{cause: diagnosis.CauseKMSDenied, confidence: diagnosis.Confirmed, summary: "is Disabled",
				evidence: []string{"kms:DescribeKey: Disabled"},
				fixes:    []string{"aws kms enable-key --region us-west-2 --key-id " + kmsKeyARN}}),
			calls: []string{"kms:DescribeKey"},
			fixed: keyEnabled,
		},
		{
			name: "kms-denied: the repository's key is pending deletion",
			spec: pod(container("api", ledgerImage)),
			aws: func(sc *awsfake.Scenario) {
				k := sc.KMSKey(awsfake.ExampleKMSKeyID)
				k.State, k.DeletionDate = "PendingDeletion", sc.Now.Add(6*24*time.Hour)
			},
			kube: failing(pullFailed(ledgerImage, kmsAccessDenied)),
			want: one(want{cause: diagnosis.CauseKMSDenied, confidence: diagnosis.Confirmed, summary: "is scheduled for deletion",
				fixes: []string{"aws kms cancel-key-deletion --region us-west-2 --key-id " + kmsKeyARN}}),
			fixed: keyEnabled,
		},
		{
			// DOMAIN C11: the key is enabled, and of its grants only another repository's is
			// ECR's: the grant for payments/ledger was revoked. A new repository gets one.
			name: "kms-denied: the key is enabled, ECR's grant on it was revoked",
			spec: pod(container("api", ledgerImage)),
			aws: func(sc *awsfake.Scenario) {
				sc.KMSKey(awsfake.ExampleKMSKeyID).Grants = []awsfake.KMSGrant{
					awsfake.ECRGrant("5e6f", awsfake.ExampleRegion, "arn:aws:ecr:us-west-2:111122223333:repository/payments/archive", sc.Now.Add(-100*24*time.Hour))}
			},
			kube: failing(pullFailed(ledgerImage, kmsAccessDenied)),
			want: one(want{cause: diagnosis.CauseKMSDenied, confidence: diagnosis.Confirmed, summary: "ECR's grant on the KMS key " + kmsKeyARN + " was revoked",
				evidence: []string{"kms:ListGrants on " + kmsKeyARN + ": 1 grant, not to ECR for " + ledgerARN},
				fixes: []string{"aws ecr create-repository --region us-west-2 --registry-id 111122223333 --repository-name payments/ledger-2 --encryption-configuration encryptionType=KMS,kmsKey=" + kmsKeyARN,
					"docker push " + ecrHost + "/payments/ledger-2:3.2.0"}}),
			calls: []string{"kms:DescribeKey", "kms:ListGrants"},
			fixed: func(t *testing.T, sc *awsfake.Scenario) {
				r := sc.Repository("payments/ledger-2")
				if r == nil || r.EncryptionType != "KMS" || r.KMSKey != kmsKeyARN {
					t.Fatalf("after the fixes repository payments/ledger-2 is %+v, want it encrypted with %s", r, kmsKeyARN)
				}
				if !slices.ContainsFunc(sc.KMSKey(awsfake.ExampleKMSKeyID).Grants, func(g awsfake.KMSGrant) bool { return g.EncryptionContext["aws:ecr:arn"] == r.ARN() }) {
					t.Errorf("after the fixes the key has no grant for %s", r.ARN())
				}
			},
		},
		{
			// The key and ECR's grant are fine: the evidence cannot name the cause, so the report
			// says possible and points at the key policy.
			name: "kms-denied: the key is enabled and ECR's grant is in place",
			spec: pod(container("api", ledgerImage)),
			kube: failing(pullFailed(ledgerImage, kmsAccessDenied)),
			want: one(want{cause: diagnosis.CauseKMSDenied, confidence: diagnosis.Possible, summary: "ECR's grant on it for the repository is in place",
				evidence: []string{"kms:ListGrants: grant " + awsfake.ExampleKMSGrantID + " lets ECR decrypt for " + ledgerARN},
				fixes:    []string{"aws kms get-key-policy --region us-west-2 --key-id " + kmsKeyARN + " --policy-name default"}}),
		},
		{
			// The bot may not read the grants: the grant stays the likely reason, the skip names
			// the permission, and the fix lists the grants.
			name: "partial: the bot may not call kms:ListGrants",
			spec: pod(container("api", ledgerImage)),
			aws: func(sc *awsfake.Scenario) {
				sc.KMSKey(awsfake.ExampleKMSKeyID).Grants = nil
				sc.Denied["kms:ListGrants"] = true
			},
			kube: failing(pullFailed(ledgerImage, kmsAccessDenied)),
			want: one(want{cause: diagnosis.CauseKMSDenied, confidence: diagnosis.Likely, summary: "is enabled",
				fixes: []string{"aws kms list-grants --region us-west-2 --key-id " + kmsKeyARN}}),
			skips: map[string]string{"kms-grants": "kms:ListGrants on " + kmsKeyARN},
		},
		{
			name: "tls-certificate: a private CA the probe does not trust either",
			spec: pod(container("api", harborImage)),
			kube: failing(failedToPull(harborImage, `failed to do request: Head "https://`+harborHost+`/v2/platform/app/manifests/3.1": tls: failed to verify certificate: x509: certificate signed by unknown authority`)),
			want: one(want{cause: diagnosis.CauseTLSCertificate, confidence: diagnosis.Confirmed,
				evidence: []string{"fails the same way (tls: failed to verify certificate: x509: certificate signed by unknown authority)"}}),
		},
		{
			name: "node-disk-full",
			node: nodeDisk,
			spec: pod(container("api", "python:3.12")),
			kube: failing(pullFailed("docker.io/library/python:3.12", "failed to extract layer sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/91/fs/usr/lib/python3.12/x: no space left on device: unknown")),
			want: one(want{cause: diagnosis.CauseNodeDiskFull, confidence: diagnosis.Confirmed, evidence: []string{"DiskPressure=True"}}),
		},
		{
			name: "pull-timeout: containerd cancelled a pull without progress",
			spec: pod(container("api", "python:3.12")),
			kube: failing(`Failed to pull image "python:3.12": rpc error: code = Canceled desc = failed to pull and unpack image "docker.io/library/python:3.12": context canceled`),
			// Documented: a cancelled pull is likely a timeout; the evidence cannot prove it.
			want: one(want{cause: diagnosis.CausePullTimeout, confidence: diagnosis.Likely, summary: "was cancelled"}),
		},
		{
			name: "runtime-error: the runtime cannot inspect the image",
			spec: pod(container("api", "nginx:1.27")),
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				k.warn(ctx, t, "api", "InspectFailed", diagnosis.ReasonImageInspectError,
					`Failed to inspect image "nginx:1.27": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused"`)
			},
			// Documented: likely, a node-local fault the API cannot see.
			want: one(want{cause: diagnosis.CauseRuntimeError, confidence: diagnosis.Likely, summary: "failed to inspect"}),
		},
		{
			name: "signature-invalid: CRI-O's signature policy",
			node: nodeCRIO,
			spec: pod(container("api", privateImage)),
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				msg := "SignatureValidationFailed: image pull failed for " + privateImage + " because the signature validation failed: Source image rejected: A signature was required, but no signature exists"
				k.record(ctx, t, kubetest.Event{Container: "api", Type: corev1.EventTypeWarning, Reason: "Failed", Message: fmt.Sprintf("Failed to pull image %q: %s", privateImage, msg), First: k.now.Add(-4 * time.Minute), Last: k.now.Add(-time.Minute), Count: 3})
				k.waiting(ctx, t, "api", diagnosis.ReasonSignatureValidationFailed, msg)
			},
			want: one(want{cause: diagnosis.CauseSignatureInvalid, confidence: diagnosis.Confirmed, summary: "signature policy"}),
		},
		{
			name: "unsupported-manifest: a schema-1 image on containerd 2",
			node: nodeContainerd2,
			spec: pod(container("api", "acme/legacy-api:1.0")),
			kube: failing(pullFailed("docker.io/acme/legacy-api:1.0", `media type "application/vnd.docker.distribution.manifest.v1+prettyjws" is no longer supported since containerd v2.0, please rebuild the image as "application/vnd.docker.distribution.manifest.v2+json" or "application/vnd.oci.image.manifest.v1+json"`)),
			want: one(want{cause: diagnosis.CauseUnsupportedManifest, confidence: diagnosis.Confirmed, summary: "schema-1"}),
		},
		{
			name: "unknown: the events expired on a kubelet before 1.32",
			spec: pod(container("api", apiImage)),
			kube: func(ctx context.Context, t testing.TB, k kubelet) {
				k.record(ctx, t, kubetest.Event{Container: "api", Reason: "BackOff", Message: fmt.Sprintf("Back-off pulling image %q", apiImage), First: k.now.Add(-3 * time.Hour), Last: k.now.Add(-time.Minute), Count: 61})
				k.waiting(ctx, t, "api", diagnosis.ReasonImagePullBackOff, fmt.Sprintf("Back-off pulling image %q", apiImage))
			},
			// Documented: nothing is known; the report gives the commands that reveal it.
			want: one(want{cause: diagnosis.CauseUnknown, confidence: diagnosis.Possible, summary: "the error text is gone"}),
		},
		{
			name:             "partial: no AWS credentials keeps the message-only verdict",
			spec:             pod(container("api", apiImage)),
			noAWSCredentials: true,
			kube:             failing(failedToPull(apiImage, noBasicAuth)),
			want: one(want{cause: diagnosis.CauseRegistryCredentials, confidence: diagnosis.Likely, summary: "No ECR credential was presented",
				fixes: []string{`aws iam attach-role-policy --role-name "$NODE_ROLE"`}}),
			skips: map[string]string{"aws": "deploy/aws/iam-policy.json", "registry-probe": "ecr:GetAuthorizationToken"},
		},
		{
			name: "partial: the bot may not call ecr:DescribeImages",
			spec: pod(container("api", archivedTag)),
			aws:  func(sc *awsfake.Scenario) { sc.Denied["ecr:DescribeImages"] = true },
			kube: failing(notFound(archivedTag)),
			want: one(want{cause: diagnosis.CauseTagNotFound, confidence: diagnosis.Likely, summary: "The ECR repository payments/api exists",
				evidence: []string{"ecr:DescribeRepositories (account 111122223333, region us-west-2): the repository payments/api exists"},
				fixes:    []string{"aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.7.0"}}),
			skips: map[string]string{"ecr-image": "ecr:DescribeImages on " + repoARN},
			fixed: restored,
		},
	}
}
