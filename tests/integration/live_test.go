package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

const (
	ecrImage    = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"
	ecrHEAD     = "https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/payments/api/manifests/1.8.2"
	amd64Node   = "ip-10-0-12-34.us-west-2.compute.internal"
	arm64Node   = "ip-10-0-40-7.us-west-2.compute.internal"
	diskNode    = "ip-10-0-77-9.us-west-2.compute.internal"
	fargateNode = "fargate-ip-10-0-99-1.us-west-2.compute.internal"
)

// Messages in the shapes the kubelet and containerd produce (see diagnosis/classify_test.go
// for the source of each format string).
func failedToPull(image, inner string) string {
	return fmt.Sprintf(`Failed to pull image %q: failed to pull and unpack image %q: failed to resolve reference %q: %s`, image, image, image, inner)
}

func notFoundMsg(image string) string {
	return fmt.Sprintf(`Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found`, image, image, image, image)
}

// expected finding for one container.
type want struct {
	cause, confidence, kind string
	evidence                []string // substrings that must appear in some evidence line
	notes                   []string // substrings that must appear in some note
	restartHelps            *bool
}

type scenario struct {
	name     string
	workload string // deployment (default), job, pod
	node     string
	spec     corev1.PodSpec
	// prepare writes what the kubelet would have written, plus any objects (secrets, SAs).
	prepare    func(ctx context.Context, t *testing.T, pod *corev1.Pod)
	wantStatus string
	wantCause  string
	want       map[string]want // by container name
}

func container(name, image string) corev1.Container {
	return corev1.Container{Name: name, Image: image, ImagePullPolicy: corev1.PullIfNotPresent}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// failPull writes ErrImagePull/ImagePullBackOff with msg the way a kubelet does: a Failed
// event (core/v1 or events.k8s.io/v1), an "Error: ErrImagePull" event, a BackOff event and
// the waiting state.
func failPull(ctx context.Context, t *testing.T, pod *corev1.Pod, ctr, msg string, v1Events bool) *corev1.Pod {
	t.Helper()
	now := time.Now()
	record := cluster.RecordEvent
	if v1Events {
		record = func(ctx context.Context, p *corev1.Pod, e kubetest.Event) (*corev1.Event, error) {
			_, err := cluster.RecordEventV1(ctx, p, e)
			return nil, err
		}
	}
	image := imageOf(pod, ctr)
	for _, e := range []kubetest.Event{
		{Container: ctr, Reason: "Pulling", Message: fmt.Sprintf("Pulling image %q", image), First: now.Add(-9 * time.Minute), Last: now.Add(-2 * time.Minute), Count: 4},
		{Container: ctr, Type: "Warning", Reason: "Failed", Message: msg, First: now.Add(-9 * time.Minute), Last: now.Add(-2 * time.Minute), Count: 4},
		{Container: ctr, Type: "Warning", Reason: "Failed", Message: "Error: ErrImagePull", First: now.Add(-9 * time.Minute), Last: now.Add(-2 * time.Minute), Count: 4},
		{Container: ctr, Reason: "BackOff", Message: fmt.Sprintf("Back-off pulling image %q", image), First: now.Add(-8 * time.Minute), Last: now.Add(-1 * time.Minute), Count: 30},
	} {
		if _, err := record(ctx, pod, e); err != nil {
			t.Fatal(err)
		}
	}
	return must[*corev1.Pod](t)(cluster.SetContainerWaiting(ctx, pod, ctr, "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", image)))
}

func imageOf(pod *corev1.Pod, name string) string {
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range list {
			if c.Name == name {
				return c.Image
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return c.Image
		}
	}
	return ""
}

var (
	yes = new(true)
	no  = new(false)
)

func scenarios() []scenario {
	return []scenario{
		{
			name: "ecr tag not found (v1 events)",
			spec: corev1.PodSpec{Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				failPull(ctx, t, pod, "api", notFoundMsg(ecrImage), false)
			},
			wantStatus: "failing", wantCause: "tag-not-found",
			want: map[string]want{"api": {cause: "tag-not-found", confidence: "possible", kind: "container",
				evidence: []string{"Failed to pull image"}, notes: []string{"only the registry's API tells them apart"}, restartHelps: yes}},
		},
		{
			name: "ecr no basic auth with IRSA on the service account (events.k8s.io/v1)",
			spec: corev1.PodSpec{ServiceAccountName: "payments-api", Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				failPull(ctx, t, pod, "api", failedToPull(ecrImage, "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials"), true)
			},
			wantStatus: "failing", wantCause: "registry-credentials",
			want: map[string]want{"api": {cause: "registry-credentials", confidence: "likely",
				evidence: []string{"i-0abc1234def567890"}, notes: []string{"arn:aws:iam::111122223333:role/payments-api-irsa", "no effect on image pulls"}, restartHelps: yes}},
		},
		{
			name: "ecr 403 with IAM body",
			spec: corev1.PodSpec{Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				failPull(ctx, t, pod, "api", failedToPull(ecrImage, "unexpected status from HEAD request to "+ecrHEAD+": 403 Forbidden: denied: User: arn:aws:sts::111122223333:assumed-role/eks-ng-general-NodeInstanceRole/i-0abc1234def567890 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-west-2:111122223333:repository/payments/api because no identity-based policy allows the ecr:BatchGetImage action"), false)
			},
			wantStatus: "failing", wantCause: "access-denied",
			want: map[string]want{"api": {cause: "access-denied", confidence: "confirmed", evidence: []string{"ecr:BatchGetImage"}}},
		},
		{
			name: "private registry with a missing pull secret",
			spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
				Containers: []corev1.Container{container("app", "registry.example.com:5000/team/app:3.1")}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				must[*corev1.Event](t)(cluster.RecordEvent(ctx, pod, kubetest.Event{Type: "Warning", Reason: "FailedToRetrieveImagePullSecret",
					Message: "Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.", First: time.Now().Add(-3 * time.Minute)}))
				failPull(ctx, t, pod, "app", failedToPull("registry.example.com:5000/team/app:3.1", "pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed"), false)
			},
			wantStatus: "failing", wantCause: "pull-secret",
			want: map[string]want{"app": {cause: "pull-secret", confidence: "confirmed", evidence: []string{"regcred"}}},
		},
		{
			name: "pull secret for another host (port mismatch)",
			spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{{Name: "example-creds"}},
				Containers: []corev1.Container{container("app", "registry.example.com:5000/team/app:3.1")}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				must[*corev1.Secret](t)(cluster.Client.CoreV1().Secrets(pod.Namespace).Create(ctx, &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: "example-creds"}, Type: corev1.SecretTypeDockerConfigJson,
					Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{"registry.example.com":{"username":"ci","password":"hunter2-do-not-print","auth":"Y2k6aHVudGVyMg=="}}}`)},
				}, metav1.CreateOptions{}))
				failPull(ctx, t, pod, "app", failedToPull("registry.example.com:5000/team/app:3.1", "unexpected status from HEAD request to https://registry.example.com:5000/v2/team/app/manifests/3.1: 401 Unauthorized"), false)
			},
			wantStatus: "failing", wantCause: "pull-secret",
			want: map[string]want{"app": {cause: "pull-secret", confidence: "confirmed", evidence: []string{"example-creds (has credentials for registry.example.com)"}}},
		},
		{
			name: "platform mismatch on graviton",
			node: arm64Node,
			spec: corev1.PodSpec{Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				failPull(ctx, t, pod, "api", fmt.Sprintf(`Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: no match for platform in manifest: not found`, ecrImage, ecrImage), false)
			},
			wantStatus: "failing", wantCause: "platform-mismatch",
			want: map[string]want{"api": {cause: "platform-mismatch", confidence: "confirmed", evidence: []string{"kubernetes.io/arch=arm64"}, restartHelps: no}},
		},
		{
			name: "docker hub rate limit in an init container, v1.32 waiting message only",
			spec: corev1.PodSpec{InitContainers: []corev1.Container{container("migrate", "busybox:1.36")}, Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				must[*corev1.Pod](t)(cluster.SetContainerWaiting(ctx, pod, "migrate", "ImagePullBackOff",
					`Back-off pulling image "busybox:1.36": ErrImagePull: failed to pull and unpack image "docker.io/library/busybox:1.36": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:3fbc6: 429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit`))
			},
			wantStatus: "failing", wantCause: "rate-limited",
			want: map[string]want{"migrate": {cause: "rate-limited", confidence: "confirmed", kind: "init"}},
		},
		{
			name:     "invalid image name in a job",
			workload: "job",
			spec:     corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{container("report", "ACTOKEY")}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				must[*corev1.Event](t)(cluster.RecordEvent(ctx, pod, kubetest.Event{Container: "report", Type: "Warning", Reason: "InspectFailed",
					Message: `Failed to apply default image tag "ACTOKEY": couldn't parse image name "ACTOKEY": invalid reference format: repository name (library/ACTOKEY) must be lowercase`, First: time.Now().Add(-time.Minute)}))
				must[*corev1.Pod](t)(cluster.SetContainerWaiting(ctx, pod, "report", "InvalidImageName", `Failed to apply default image tag "ACTOKEY": couldn't parse image name "ACTOKEY": invalid reference format: repository name (library/ACTOKEY) must be lowercase`))
			},
			wantStatus: "failing", wantCause: "invalid-image-name",
			want: map[string]want{"report": {cause: "invalid-image-name", confidence: "confirmed", restartHelps: no}},
		},
		{
			name: "registry unreachable: i/o timeout to ecr",
			spec: corev1.PodSpec{Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				failPull(ctx, t, pod, "api", failedToPull(ecrImage, `failed to do request: Head "`+ecrHEAD+`": dial tcp 52.94.1.10:443: i/o timeout`), false)
			},
			wantStatus: "failing", wantCause: "registry-unreachable",
			want: map[string]want{"api": {cause: "registry-unreachable", confidence: "likely", notes: []string{"NetworkPolicy cannot block an image pull"}}},
		},
		{
			name: "tls certificate of a private registry",
			spec: corev1.PodSpec{Containers: []corev1.Container{container("app", "registry.example.com:5000/team/app:3.1")}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				failPull(ctx, t, pod, "app", failedToPull("registry.example.com:5000/team/app:3.1", `failed to do request: Head "https://registry.example.com:5000/v2/team/app/manifests/3.1": tls: failed to verify certificate: x509: certificate signed by unknown authority`), false)
			},
			wantStatus: "failing", wantCause: "tls-certificate",
			want: map[string]want{"app": {cause: "tls-certificate", confidence: "confirmed"}},
		},
		{
			name: "node disk full",
			node: diskNode,
			spec: corev1.PodSpec{Containers: []corev1.Container{container("ml", "docker.io/library/python:3.12")}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				failPull(ctx, t, pod, "ml", `Failed to pull image "docker.io/library/python:3.12": failed to pull and unpack image "docker.io/library/python:3.12": failed to extract layer sha256:0a1b: write /var/lib/containerd/x: no space left on device: unknown`, false)
			},
			wantStatus: "failing", wantCause: "node-disk-full",
			want: map[string]want{"ml": {cause: "node-disk-full", confidence: "confirmed", evidence: []string{"DiskPressure=True"}, restartHelps: yes}},
		},
		{
			name:     "sandbox image on a bare pod",
			workload: "pod",
			spec:     corev1.PodSpec{Containers: []corev1.Container{container("web", "nginx:1.27")}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				must[*corev1.Event](t)(cluster.RecordEvent(ctx, pod, kubetest.Event{Type: "Warning", Reason: "FailedCreatePodSandBox", Count: 12, First: time.Now().Add(-6 * time.Minute), Last: time.Now(),
					Message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to pull image "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to pull and unpack image "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to resolve reference "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to do request: Head "https://602401143452.dkr.ecr.us-west-2.amazonaws.com/v2/eks/pause/manifests/3.5": dial tcp 52.94.1.10:443: i/o timeout`}))
			},
			wantStatus: "failing", wantCause: "registry-unreachable",
			want: map[string]want{"(sandbox)": {cause: "registry-unreachable", kind: "sandbox"}},
		},
		{
			name: "bare back-off after the events expired",
			spec: corev1.PodSpec{Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				must[*corev1.Pod](t)(cluster.SetContainerWaiting(ctx, pod, "api", "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", ecrImage)))
			},
			wantStatus: "failing", wantCause: "unknown",
			want: map[string]want{"api": {cause: "unknown", confidence: "possible"}},
		},
		{
			name: "healthy pod",
			spec: corev1.PodSpec{Containers: []corev1.Container{container("api", ecrImage)}},
			prepare: func(ctx context.Context, t *testing.T, pod *corev1.Pod) {
				p := must[*corev1.Pod](t)(cluster.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{}))
				p.Status.Phase = corev1.PodRunning
				p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
				p.Status.ContainerStatuses[0].Ready = true
				must[*corev1.Pod](t)(cluster.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}))
			},
			wantStatus: "healthy", wantCause: "none",
		},
	}
}

// nodes creates the test nodes once.
func nodes(ctx context.Context, t *testing.T) {
	t.Helper()
	mk := func(name, arch, zone, instance, instanceType string, pressure bool, labels map[string]string) {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/arch": arch, "kubernetes.io/os": "linux", "topology.kubernetes.io/zone": zone,
			"topology.kubernetes.io/region": "us-west-2", "node.kubernetes.io/instance-type": instanceType, "eks.amazonaws.com/nodegroup": "ng-general",
		}}, Spec: corev1.NodeSpec{ProviderID: "aws:///" + zone + "/" + instance}}
		for k, v := range labels {
			n.Labels[k] = v
		}
		n.Status.NodeInfo = corev1.NodeSystemInfo{Architecture: arch, OperatingSystem: "linux", ContainerRuntimeVersion: "containerd://1.7.27", KubeletVersion: "v1.33.5-eks-1a2b3c"}
		if pressure {
			n.Status.Conditions = []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure", Message: "kubelet has disk pressure"},
			}
		}
		if _, err := cluster.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			return
		}
		must[*corev1.Node](t)(cluster.CreateNode(ctx, n))
	}
	mk(amd64Node, "amd64", "us-west-2a", "i-0abc1234def567890", "m6i.large", false, nil)
	mk(arm64Node, "arm64", "us-west-2b", "i-0arm4567890abcdef", "m7g.large", false, nil)
	mk(diskNode, "amd64", "us-west-2c", "i-0d15c0000000000ff", "m6i.large", true, nil)
}

// deploy creates the workload for a scenario and returns its pod, bound to node.
func deploy(ctx context.Context, t *testing.T, ns string, sc scenario) *corev1.Pod {
	t.Helper()
	node := sc.node
	if node == "" {
		node = amd64Node
	}
	var pod *corev1.Pod
	switch sc.workload {
	case "job":
		job, err := cluster.CreateJob(ctx, ns, "nightly-report", sc.spec)
		if err != nil {
			t.Fatal(err)
		}
		pod = kubetest.PodFor(ns, "nightly-report-x7k2p", sc.spec, job)
	case "pod":
		pod = kubetest.PodFor(ns, "debug-web", sc.spec, nil)
	default:
		_, rs, err := cluster.CreateDeployment(ctx, ns, "payments-api", sc.spec)
		if err != nil {
			t.Fatal(err)
		}
		pod = kubetest.PodFor(ns, rs.Name+"-k2x9z", sc.spec, rs)
	}
	return must[*corev1.Pod](t)(cluster.CreatePod(ctx, pod, node))
}

func TestDiagnoseLive(t *testing.T) {
	ctx := context.Background()
	nodes(ctx, t)
	kubeconfig := cluster.Kubeconfig(t)
	for i, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			ns := fmt.Sprintf("live-%02d", i)
			must[*corev1.Namespace](t)(cluster.CreateNamespace(ctx, ns))
			must[*corev1.ServiceAccount](t)(cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}))
			must[*corev1.ServiceAccount](t)(cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "payments-api",
				Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/payments-api-irsa"}}}, metav1.CreateOptions{}))
			pod := deploy(ctx, t, ns, sc)
			sc.prepare(ctx, t, pod)

			res := pullcheck(t, kubeconfig, "diagnose", ns+"/"+pod.Name, "-o", "json")
			if res.code != 0 {
				t.Fatalf("diagnose exit %d, stderr:\n%s", res.code, res.stderr)
			}
			r := decodeReport(t, res.stdout)
			if r.Status != sc.wantStatus || r.Cause != sc.wantCause {
				t.Fatalf("report status %q cause %q, want %q %q\n%s", r.Status, r.Cause, sc.wantStatus, sc.wantCause, res.stdout)
			}
			if len(r.Findings) != len(sc.want) {
				t.Fatalf("got %d findings, want %d\n%s", len(r.Findings), len(sc.want), res.stdout)
			}
			for _, f := range r.Findings {
				w, ok := sc.want[f.Container]
				if !ok {
					t.Errorf("unexpected finding for container %q", f.Container)
					continue
				}
				checkFinding(t, f, w)
			}
			if strings.Contains(res.stdout, "hunter2-do-not-print") || strings.Contains(res.stderr, "hunter2-do-not-print") {
				t.Errorf("the report prints a pull secret's password")
			}
			runKubectlCommands(t, kubeconfig, r)

			// The text and markdown renderings of the same pod work too.
			for _, format := range []string{"text", "markdown"} {
				if out := pullcheck(t, kubeconfig, "diagnose", "-n", ns, pod.Name, "-o", format); out.code != 0 || !strings.Contains(out.stdout, pod.Name) {
					t.Errorf("diagnose -o %s: exit %d, output:\n%s%s", format, out.code, out.stdout, out.stderr)
				}
			}
		})
	}
}

func checkFinding(t *testing.T, f finding, w want) {
	t.Helper()
	if f.Cause != w.cause {
		t.Errorf("%s: cause %q, want %q (summary %q)", f.Container, f.Cause, w.cause, f.Summary)
	}
	if w.confidence != "" && f.Confidence != w.confidence {
		t.Errorf("%s: confidence %q, want %q", f.Container, f.Confidence, w.confidence)
	}
	if w.kind != "" && f.ContainerKind != w.kind {
		t.Errorf("%s: container_kind %q, want %q", f.Container, f.ContainerKind, w.kind)
	}
	if f.Summary == "" || f.Verify == "" || f.RestartHelps == nil || f.RestartHelps.Reason == "" || f.Evidence == nil || f.Fixes == nil {
		t.Errorf("%s: incomplete finding %+v", f.Container, f)
	}
	if w.restartHelps != nil && f.RestartHelps != nil && f.RestartHelps.Helps != *w.restartHelps {
		t.Errorf("%s: restart_helps %v, want %v (%s)", f.Container, f.RestartHelps.Helps, *w.restartHelps, f.RestartHelps.Reason)
	}
	for _, s := range w.evidence {
		if !anyContains(f.Evidence, s) {
			t.Errorf("%s: no evidence mentions %q: %q", f.Container, s, f.Evidence)
		}
	}
	for _, s := range w.notes {
		if !anyContains(f.Notes, s) {
			t.Errorf("%s: no note mentions %q: %q", f.Container, s, f.Notes)
		}
	}
	for _, fx := range f.Fixes {
		for _, c := range fx.Commands {
			if strings.Contains(c, "<") && !strings.Contains(c, "</dev/null") && !strings.Contains(c, "< <(") {
				t.Errorf("%s: command with a placeholder: %s", f.Container, c)
			}
		}
	}
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
