package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

func TestScanLive(t *testing.T) {
	ctx := context.Background()
	nodes(ctx, t)
	kubeconfig := cluster.Kubeconfig(t)
	for _, ns := range []string{"scan-a", "scan-b"} {
		must[*corev1.Namespace](t)(cluster.CreateNamespace(ctx, ns))
	}
	mkPod := func(ns, name string, containers ...corev1.Container) *corev1.Pod {
		return must[*corev1.Pod](t)(cluster.CreatePod(ctx, kubetest.PodFor(ns, name, corev1.PodSpec{Containers: containers}, nil), amd64Node))
	}
	// scan-a: two pods failing on the same missing tag, one healthy-but-creating pod, one
	// pod whose sandbox image cannot be pulled for ten minutes.
	for _, name := range []string{"web-1", "web-2"} {
		p := mkPod("scan-a", name, container("web", "nginx:1.27-typo"))
		failPull(ctx, t, p, "web", notFoundMsg("docker.io/library/nginx:1.27-typo"), false)
	}
	mkPod("scan-a", "starting", container("web", "nginx:1.27"))
	sandbox := mkPod("scan-a", "sandbox", container("web", "nginx:1.27"))
	sandbox.Status.StartTime = &metav1.Time{Time: time.Now().Add(-10 * time.Minute)}
	sandbox = must[*corev1.Pod](t)(cluster.Client.CoreV1().Pods("scan-a").UpdateStatus(ctx, sandbox, metav1.UpdateOptions{}))
	must[*corev1.Event](t)(cluster.RecordEvent(ctx, sandbox, kubetest.Event{Type: "Warning", Reason: "FailedCreatePodSandBox", Count: 9, First: time.Now().Add(-9 * time.Minute), Last: time.Now(),
		Message: `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to pull image "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to pull and unpack image "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to resolve reference "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.5": failed to do request: Head "https://602401143452.dkr.ecr.us-west-2.amazonaws.com/v2/eks/pause/manifests/3.5": dial tcp 52.94.1.10:443: i/o timeout`}))
	// scan-b: an ECR credentials failure, with the event in events.k8s.io/v1.
	p := mkPod("scan-b", "api-1", container("api", ecrImage))
	failPull(ctx, t, p, "api", failedToPull(ecrImage, "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials"), true)

	res := pullcheck(t, kubeconfig, "scan", "-A", "-o", "json")
	if res.code != 0 {
		t.Fatalf("scan -A exit %d:\n%s", res.code, res.stderr)
	}
	var reports []report
	if err := json.Unmarshal([]byte(res.stdout), &reports); err != nil {
		t.Fatalf("decode scan output: %v\n%s", err, res.stdout)
	}
	got := map[string]string{}
	for _, r := range reports {
		if strings.HasPrefix(r.Pod.Namespace, "scan-") {
			got[r.Pod.Namespace+"/"+r.Pod.Name] = r.Cause
		}
		if r.Status != "failing" {
			t.Errorf("scan lists %s/%s with status %q", r.Pod.Namespace, r.Pod.Name, r.Status)
		}
	}
	want := map[string]string{
		"scan-a/web-1": "tag-not-found", "scan-a/web-2": "tag-not-found",
		"scan-a/sandbox": "registry-unreachable", "scan-b/api-1": "registry-credentials",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("scan: %s cause %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("scan found %v, want exactly %v", got, want)
	}

	text := pullcheck(t, kubeconfig, "scan", "-n", "scan-a")
	if text.code != 0 {
		t.Fatalf("scan -n scan-a exit %d:\n%s", text.code, text.stderr)
	}
	for _, s := range []string{"scan-a/web-1", "scan-a/sandbox", "tag-not-found", "registry-unreachable"} {
		if !strings.Contains(text.stdout, s) {
			t.Errorf("scan text lacks %q:\n%s", s, text.stdout)
		}
	}
	if strings.Contains(text.stdout, "scan-b") || strings.Contains(text.stdout, "starting") {
		t.Errorf("scan -n scan-a shows pods it should not:\n%s", text.stdout)
	}
	for _, line := range strings.Split(text.stdout, "\n") {
		if len(line) > 80 && !strings.Contains(line, "/") {
			t.Errorf("scan line wider than 80 columns: %q", line)
		}
	}
}
