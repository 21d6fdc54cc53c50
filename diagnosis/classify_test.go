package diagnosis

import (
	"testing"
)

const (
	ecrImage = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"
	ecrHEAD  = "https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/payments/api/manifests/1.8.2"
)

// classifierCases are real runtime messages. Each cites the source of its format string.
var classifierCases = []struct {
	name string
	msg  string
	want SignalKind
	// optional extras
	status int
	stage  Stage
	layer  bool
	host   string
}{
	// kubelet pkg/kubelet/images/image_manager.go (applyDefaultImageTag) + distribution/reference normalize.go.
	{name: "invalid lowercase", msg: `Failed to apply default image tag "ACTOKEY": couldn't parse image name "ACTOKEY": invalid reference format: repository name (library/ACTOKEY) must be lowercase`, want: SigInvalidReference},
	// image_manager.go imageNotPresentOnNeverPolicyError.
	{name: "never pull", msg: `Container image "payments/api:dev" is not present with pull policy of Never`, want: SigNeverPull},
	// image_manager.go: "Failed to inspect image %q: %v".
	{name: "inspect", msg: `Failed to inspect image "nginx:1.27": rpc error: code = Unavailable desc = connection error`, want: SigInspectFailed},
	// containerd core/images/handlers.go LimitManifests.
	{name: "platform containerd", msg: `Failed to pull image "` + ecrImage + `": rpc error: code = NotFound desc = failed to pull and unpack image "` + ecrImage + `": no match for platform in manifest: not found`, want: SigPlatform},
	// CRI-O go.podman.io/image internal/manifest/oci_index.go.
	{name: "platform crio", msg: `choosing an image from manifest list docker://quay.io/team/app:3.1: no image found in image index for architecture "arm64", variant "v8", OS "linux"`, want: SigPlatform},
	// containerd pkg/rootfs/apply.go.
	{name: "disk full", msg: `failed to pull and unpack image "docker.io/library/python:3.12": failed to extract layer sha256:0a1b: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/91/fs/usr/lib/x: no space left on device: unknown`, want: SigDiskFull, stage: StageUnpack},
	// containerd core/remotes/docker/resolver.go transport error with Go's x509 text.
	{name: "x509", msg: `Failed to pull image "registry.example.com:5000/team/app:3.1": failed to pull and unpack image "registry.example.com:5000/team/app:3.1": failed to resolve reference "registry.example.com:5000/team/app:3.1": failed to do request: Head "https://registry.example.com:5000/v2/team/app/manifests/3.1": tls: failed to verify certificate: x509: certificate signed by unknown authority`, want: SigTLS, host: "registry.example.com:5000"},
	// containerd 1.7 remotes/docker/fetcher.go (kata-containers/kata-containers#10109).
	{name: "docker hub 429", msg: `Failed to pull image "busybox:1.36": failed to pull and unpack image "docker.io/library/busybox:1.36": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:3fbc6: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit`, want: SigRateLimited, status: 429, stage: StageFetch, host: "registry-1.docker.io"},
	// CRI-O docker/docker_client.go.
	{name: "crio 429", msg: `initializing source docker://nginx:1.27: reading manifest 1.27 in docker.io/library/nginx: too many requests to registry`, want: SigRateLimited},
	// ECR pull-through cache (aws/containers-roadmap#2354).
	{name: "ptc upstream", msg: `failed to resolve reference "111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27": unexpected status from HEAD request to https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/docker-hub/library/nginx/manifests/1.27: 403 Forbidden: denied: The authentication to the upstream registry failed. Verify that the credentials provided in the pull through cache rule are correct, and try again.`, want: SigUpstreamAuth},
	// containerd authorizer.go + resolver.go (kubernetes/kops#16762).
	{name: "no basic auth", msg: `Failed to pull image "` + ecrImage + `": failed to pull and unpack image "` + ecrImage + `": failed to resolve reference "` + ecrImage + `": pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`, want: SigNoCredentials},
	// Docker-era (aws/amazon-vpc-cni-k8s#708).
	{name: "docker no basic auth", msg: `Error response from daemon: Get https://602401143452.dkr.ecr.ap-southeast-1.amazonaws.com/v2/amazon-k8s-cni/manifests/v1.5.3: no basic auth credentials`, want: SigNoCredentials},
	// containerd authorizer.go, Bearer challenge with error=insufficient_scope.
	{name: "insufficient scope", msg: `Failed to pull image "registry.example.com:5000/team/app:3.1": failed to pull and unpack image "registry.example.com:5000/team/app:3.1": failed to resolve reference "registry.example.com:5000/team/app:3.1": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`, want: SigInsufficientScope},
	// containerd resolver.go "unexpected status from %s request to %s: %s" (aws/eks-charts#1044).
	{name: "ecr 401", msg: `failed to resolve reference "` + ecrImage + `": unexpected status from HEAD request to ` + ecrHEAD + `: 401 Unauthorized`, want: SigUnauthorized, status: 401, stage: StageResolve},
	// containerd <= 1.6 alias (aws/eks-charts#703).
	{name: "old containerd 401", msg: `rpc error: code = Unknown desc = failed to pull and unpack image "` + ecrImage + `": failed to resolve reference "` + ecrImage + `": pulling from host 111122223333.dkr.ecr.us-west-2.amazonaws.com failed with status code [manifests 1.8.2]: 401 Unauthorized`, want: SigUnauthorized, status: 401},
	// CRI-O docker_client.go.
	{name: "crio unauthorized", msg: `initializing source docker://registry.example.com/team/app:3.1: reading manifest 3.1 in registry.example.com/team/app: unauthorized: authentication required`, want: SigUnauthorized},
	// containerd token fetch failure (authorizer.go).
	{name: "token 401", msg: `failed to resolve reference "ghcr.io/acme/app:2": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fapp%3Apull&service=ghcr.io: 401 Unauthorized`, want: SigUnauthorized, stage: StageToken},
	// containerd resolver.go 403 (eks-workshop private_image.md).
	{name: "ecr 403", msg: `Failed to pull image "` + ecrImage + `": rpc error: code = Unknown desc = failed to pull and unpack image "` + ecrImage + `": failed to resolve reference "` + ecrImage + `": unexpected status from HEAD request to ` + ecrHEAD + `: 403 Forbidden`, want: SigForbidden, status: 403, stage: StageResolve, host: "111122223333.dkr.ecr.us-west-2.amazonaws.com"},
	// containerd >= 2.4 GET fallback with the IAM wording.
	{name: "ecr 403 body", msg: `failed to resolve reference "` + ecrImage + `": unexpected status from HEAD request to ` + ecrHEAD + `: 403 Forbidden: denied: User: arn:aws:sts::111122223333:assumed-role/eks-ng-general-NodeInstanceRole/i-0abc1234def567890 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-west-2:111122223333:repository/payments/api because no identity-based policy allows the ecr:BatchGetImage action`, want: SigForbidden, status: 403},
	// containerd 1.7 fetcher.go on ECR's S3 layer bucket.
	{name: "layer 403", msg: `failed to pull and unpack image "` + ecrImage + `": failed to copy: httpReadSeeker: failed open: unexpected status code https://prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com/2f9c-111122223333-0c5d/1f2e?X-Amz-Security-Token=abc: 403 Forbidden`, want: SigForbidden, status: 403, stage: StageFetch, layer: true},
	// S3-hosted KMS failure body (JetBrains/space-issues-import#13).
	{name: "kms", msg: `failed to copy: httpReadSeeker: failed open: unexpected status code https://prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com/x: 403 Forbidden - Server message: AccessDenied: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.`, want: SigKMS, layer: true},
	// ECR body via CRI-O / docker (common-errors-docker.md).
	{name: "name unknown", msg: `initializing source docker://111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/apii:1.8.2: reading manifest 1.8.2 in 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/apii: name unknown: The repository with name 'payments/apii' does not exist in the registry with id '111122223333'`, want: SigNameUnknown},
	{name: "manifest unknown", msg: `initializing source docker://` + ecrImage + `: reading manifest 1.8.2 in 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api: manifest unknown: Requested image not found`, want: SigManifestUnknown},
	// containerd HEAD 404 (eks-workshop public_image.md).
	{name: "containerd not found", msg: `Failed to pull image "` + ecrImage + `": rpc error: code = NotFound desc = failed to pull and unpack image "` + ecrImage + `": failed to resolve reference "` + ecrImage + `": ` + ecrImage + `: not found`, want: SigNotFound},
	// containerd fetcher.go 404 on GET.
	{name: "blob not found", msg: `failed to pull and unpack image "docker.io/acme/app:2": failed to copy: httpReadSeeker: failed open: content at https://registry-1.docker.io/v2/acme/app/blobs/sha256:9f8e not found: not found`, want: SigBlobNotFound},
	// Go net error through containerd resolver.go.
	{name: "dns", msg: `failed to resolve reference "registry.example.com:5000/team/app:3.1": failed to do request: Head "https://registry.example.com:5000/v2/team/app/manifests/3.1": dial tcp: lookup registry.example.com on 10.0.0.2:53: no such host`, want: SigDNS, host: "registry.example.com"},
	{name: "timeout", msg: `failed to resolve reference "` + ecrImage + `": failed to do request: Head "` + ecrHEAD + `": dial tcp 52.94.1.10:443: i/o timeout`, want: SigTimeout, stage: StageResolve},
	// Docker-era S3 timeout (aws-quickstart/quickstart-amazon-eks#52), containerd shape.
	{name: "layer timeout", msg: `failed to copy: httpReadSeeker: failed open: failed to do request: Get "https://prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com/abc": dial tcp 52.218.1.1:443: i/o timeout`, want: SigTimeout, layer: true, stage: StageFetch},
	{name: "client timeout", msg: `Error response from daemon: Get https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/: net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)`, want: SigTimeout},
	{name: "refused", msg: `failed to do request: Head "https://harbor.internal:8443/v2/team/app/manifests/3.1": dial tcp 10.1.2.3:8443: connect: connection refused`, want: SigRefused},
	// CRI-O server/image_pull.go RegistryUnavailable.
	{name: "crio registry unavailable", msg: `RegistryUnavailable: image pull failed for harbor.internal/team/app:3.1 because the registry is unavailable: pinging container registry harbor.internal: Get "https://harbor.internal/v2/": dial tcp 10.1.2.3:443: connect: connection refused`, want: SigRefused},
	{name: "unreachable", msg: `failed to do request: Head "https://quay.io/v2/acme/app/manifests/1": dial tcp 3.3.3.3:443: connect: network is unreachable`, want: SigNetUnreachable},
	{name: "503", msg: `failed to resolve reference "quay.io/acme/app:1": unexpected status from HEAD request to https://quay.io/v2/acme/app/manifests/1: 503 Service Unavailable`, want: SigServerError, status: 503},
	// kubelet throttled_puller.go.
	{name: "qps", msg: `pull QPS exceeded`, want: SigQPS},
	// cri-client keeps codes other than Unknown (remote_image.go).
	{name: "canceled", msg: `rpc error: code = Canceled desc = failed to pull and unpack image "docker.io/library/pytorch:2.5": context canceled`, want: SigCanceled},
	{name: "schema1", msg: `failed to pull and unpack image "docker.io/library/old:1": media type "application/vnd.docker.distribution.manifest.v1+prettyjws" is no longer supported since containerd v2.0, please rebuild the image as "application/vnd.docker.distribution.manifest.v2+json" or "application/vnd.oci.image.manifest.v1+json"`, want: SigSchema1},
	{name: "signature crio", msg: `SignatureValidationFailed: image pull failed for quay.io/acme/app:1 because the signature validation failed: Source image rejected: A signature was required, but no signature exists`, want: SigSignature},
	// kubernetes/kubernetes#127918 (v1.32+) waiting message wrapper.
	{name: "v1.32 backoff wrapper", msg: `Back-off pulling image "` + ecrImage + `": ErrImagePull: failed to pull and unpack image "` + ecrImage + `": failed to resolve reference "` + ecrImage + `": ` + ecrImage + `: not found`, want: SigNotFound},
	{name: "bare backoff", msg: `Back-off pulling image "` + ecrImage + `"`, want: SigBackOffOnly},
	// kubelet aggregate of several credentials (kuberuntime_image.go utilerrors.NewAggregate).
	{name: "aggregate", msg: `[failed to pull and unpack image "` + ecrImage + `": failed to resolve reference "` + ecrImage + `": unexpected status from HEAD request to ` + ecrHEAD + `: 401 Unauthorized, failed to pull and unpack image "` + ecrImage + `": failed to resolve reference "` + ecrImage + `": unexpected status from HEAD request to ` + ecrHEAD + `: 403 Forbidden]`, want: SigForbidden},
	{name: "empty", msg: "", want: SigNone},
	{name: "gibberish", msg: "something odd happened", want: SigUnknown},
}

func TestClassify(t *testing.T) {
	for _, tc := range classifierCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.msg)
			if got.Kind != tc.want {
				t.Fatalf("Classify(%q).Kind = %q, want %q (text %q)", tc.msg, got.Kind, tc.want, got.Text)
			}
			if tc.status != 0 && got.Status != tc.status {
				t.Errorf("Status = %d, want %d", got.Status, tc.status)
			}
			if tc.stage != "" && got.Stage != tc.stage {
				t.Errorf("Stage = %q, want %q", got.Stage, tc.stage)
			}
			if got.LayerBucket != tc.layer {
				t.Errorf("LayerBucket = %v, want %v", got.LayerBucket, tc.layer)
			}
			if tc.host != "" && got.Host != tc.host {
				t.Errorf("Host = %q, want %q", got.Host, tc.host)
			}
		})
	}
}

func TestStripWrappers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`Failed to pull image "a:1": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/a:1": failed to resolve reference "docker.io/library/a:1": docker.io/library/a:1: not found`, `docker.io/library/a:1: not found`},
		{`Back-off pulling image "a:1": ErrImagePull: failed to resolve image: x`, `x`},
		{`Back-off pulling image "a:1"`, `Back-off pulling image "a:1"`},
		{`  plain  `, `plain`},
	} {
		if got := StripWrappers(tc.in); got != tc.want {
			t.Errorf("StripWrappers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func BenchmarkClassify(b *testing.B) {
	msgs := make([]string, 0, len(classifierCases))
	for _, tc := range classifierCases {
		msgs = append(msgs, tc.msg)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Classify(msgs[i%len(msgs)])
	}
}

func FuzzClassify(f *testing.F) {
	for _, tc := range classifierCases {
		f.Add(tc.msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		s := Classify(msg)
		if msg != "" && s.Kind == SigNone && StripWrappers(msg) != "" {
			t.Errorf("Classify(%q) = none for non-empty text", msg)
		}
	})
}
