package kubetest_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// fatalTB records Fatal and Skip instead of ending the test that runs it.
type fatalTB struct {
	testing.TB
	fatal   string
	skipped bool
}

func (f *fatalTB) Helper()                   {}
func (f *fatalTB) Cleanup(func())            {}
func (f *fatalTB) Fatal(args ...any)         { f.fatal = fmt.Sprint(args...); runtime.Goexit() }
func (f *fatalTB) Fatalf(s string, a ...any) { f.fatal = fmt.Sprintf(s, a...); runtime.Goexit() }
func (f *fatalTB) Skip(...any)               { f.skipped = true; runtime.Goexit() }
func (f *fatalTB) Skipf(string, ...any)      { f.skipped = true; runtime.Goexit() }
func (f *fatalTB) SkipNow()                  { f.skipped = true; runtime.Goexit() }

// TestMissingBinariesFail: without the binaries a test fails with the fix, never skips.
func TestMissingBinariesFail(t *testing.T) {
	t.Setenv("KUBEBUILDER_ASSETS", t.TempDir())
	if _, err := kubetest.New(); err == nil || !strings.Contains(err.Error(), "run hack/control-plane.sh") {
		t.Errorf("New() error = %v, want one that says to run hack/control-plane.sh", err)
	}
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		kubetest.Start(tb)
	}()
	<-done
	if tb.skipped || !strings.Contains(tb.fatal, "run hack/control-plane.sh") {
		t.Errorf("Start() skipped = %v, fatal = %q; want a failure that says to run hack/control-plane.sh", tb.skipped, tb.fatal)
	}
}

// TestKubeletWriters checks the state the writers leave, as clients and kubectl read it.
func TestKubeletWriters(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	if _, err := c.CreateNamespace(ctx, "payments"); err != nil {
		t.Fatal(err)
	}
	node, err := c.CreateNode(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-1-5.us-west-2.compute.internal", Labels: map[string]string{"kubernetes.io/arch": "arm64"}},
		Spec:       corev1.NodeSpec{ProviderID: "aws:///us-west-2a/i-0abc"},
		Status:     corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.33.1", ContainerRuntimeVersion: "containerd://1.7.27"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if node.Status.NodeInfo.KubeletVersion != "v1.33.1" || len(node.Status.Conditions) != 2 {
		t.Errorf("node status = %+v, want the node info and default conditions", node.Status)
	}
	// EnsureNode registers a node once; again is no error.
	for range 2 {
		if err := c.EnsureNode(ctx, kubetest.EKSNode("ip-10-0-12-34.us-west-2.compute.internal")); err != nil {
			t.Fatalf("EnsureNode: %v", err)
		}
	}
	if eks, err := c.Client.CoreV1().Nodes().Get(ctx, "ip-10-0-12-34.us-west-2.compute.internal", metav1.GetOptions{}); err != nil ||
		eks.Labels["eks.amazonaws.com/nodegroup"] != "ng-general" || eks.Status.NodeInfo.ContainerRuntimeVersion != "containerd://1.7.27" {
		t.Errorf("EKS node = %+v, %v", eks, err)
	}

	_, rs, err := c.CreateDeployment(ctx, "payments", "api", corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "nginx"}}})
	if err != nil {
		t.Fatal(err)
	}
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate", Image: "busybox:1.36"}},
		Containers:     []corev1.Container{{Name: "api", Image: "111122223333.dkr.ecr.us-west-2.amazonaws.com/api:1"}},
	}
	pod, err := c.CreatePod(ctx, kubetest.PodFor("", rs.Name+"-abcde", spec, rs), node.Name)
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(pod); ref == nil || ref.Kind != "ReplicaSet" || ref.Name != rs.Name {
		t.Errorf("controller of pod = %+v, want ReplicaSet %s", ref, rs.Name)
	}
	if pod.Status.Phase != corev1.PodPending || pod.Status.InitContainerStatuses[0].State.Waiting.Reason != "PodInitializing" {
		t.Errorf("pod status = %+v, want Pending with containers PodInitializing", pod.Status)
	}
	pod, err = c.SetContainerWaiting(ctx, pod, "migrate", "ImagePullBackOff", `Back-off pulling image "busybox:1.36"`)
	if err != nil {
		t.Fatal(err)
	}
	if w := pod.Status.InitContainerStatuses[0].State.Waiting; w.Reason != "ImagePullBackOff" || pod.Status.InitContainerStatuses[0].Image != "busybox:1.36" {
		t.Errorf("init container status = %+v, want ImagePullBackOff", pod.Status.InitContainerStatuses[0])
	}

	t0 := pod.CreationTimestamp.Time
	core, err := c.RecordEvent(ctx, pod, kubetest.Event{Container: "migrate", Type: "Warning", Reason: "Failed", Message: "Failed to pull image", Count: 2, First: t0, Last: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(pod.Name) + `\.[0-9a-f]+$`).MatchString(core.Name) {
		t.Errorf("event name = %q, want <pod>.<hex>", core.Name)
	}
	wantRef := corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "payments", Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion, FieldPath: "spec.initContainers{migrate}"}
	if diff := cmp.Diff(wantRef, core.InvolvedObject); diff != "" {
		t.Errorf("involvedObject (-want +got):\n%s", diff)
	}
	if core.Source.Component != "kubelet" || core.Source.Host != node.Name || core.ReportingController != "kubelet" || core.ReportingInstance != node.Name || core.Count != 2 {
		t.Errorf("event = %+v, want the kubelet's source, reporting fields and count", core)
	}
	v1, err := c.RecordEventV1(ctx, pod, kubetest.Event{Container: "migrate", Reason: "BackOff", Message: "Back-off pulling image", Count: 3, First: t0, Last: t0.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	// Both writes are visible through core/v1.
	seen, err := c.Client.CoreV1().Events("payments").Get(ctx, v1.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if seen.ReportingController != "kubelet" || seen.Series == nil || seen.Series.Count != 3 || seen.Message != "Back-off pulling image" || seen.InvolvedObject.UID != pod.UID {
		t.Errorf("events.k8s.io/v1 event read through core/v1 = %+v", seen)
	}

	// kubectl reads the cluster through the written kubeconfig.
	dir, err := kubetest.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "kubectl"), "--kubeconfig", c.Kubeconfig(t), "--context", kubetest.ContextName,
		"get", "pods", "-n", "payments", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "pod/"+pod.Name; got != want {
		t.Errorf("kubectl get pods = %q, want %q", got, want)
	}
}

// TestDeleteBoundPod: a pod bound to a node goes away when deleted, as if its kubelet
// had confirmed the termination.
func TestDeleteBoundPod(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	if _, err := c.CreateNamespace(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	pod, err := c.CreatePod(ctx, kubetest.PodFor("web", "api", corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "nginx"}}}, nil), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := kubetest.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	// kubectl delete waits until the pod is gone.
	out, err := exec.CommandContext(ctx, filepath.Join(dir, "kubectl"), "--kubeconfig", c.Kubeconfig(t),
		"delete", "pod", "-n", "web", pod.Name, "--timeout=60s").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl delete: %v\n%s", err, out)
	}
	if _, err := c.Client.CoreV1().Pods("web").Get(ctx, pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pod after delete: error = %v, want not found", err)
	}
}
