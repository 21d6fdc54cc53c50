package detect

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

type event struct {
	kind string // "failing" or "recovered"
	ref  diagnosis.PodRef
}

// next returns the next callback, failing the test after a deadline.
func next(t *testing.T, events <-chan event) event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(15 * time.Second):
		t.Fatal("no callback within 15s")
		return event{}
	}
}

func expect(t *testing.T, events <-chan event, kind string, ref diagnosis.PodRef) {
	t.Helper()
	if e := next(t, events); e.kind != kind || e.ref != ref {
		t.Fatalf("callback %s %s, want %s %s", e.kind, e.ref, kind, ref)
	}
}

func setRunning(ctx context.Context, t *testing.T, c *kubetest.Cluster, pod *corev1.Pod) {
	t.Helper()
	pods := c.Client.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.Phase = corev1.PodRunning
		for i := range cur.Status.ContainerStatuses {
			s := &cur.Status.ContainerStatuses[i]
			s.Ready = true
			s.Started = new(true)
			s.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
		}
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("set %s/%s running: %v", pod.Namespace, pod.Name, err)
	}
}

func TestPodWatch(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	const ns, other = "shop", "elsewhere"
	for _, n := range []string{ns, other} {
		if _, err := c.CreateNamespace(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	events := make(chan event, 16)
	cb := func(kind string) func(context.Context, diagnosis.PodRef) {
		return func(_ context.Context, ref diagnosis.PodRef) { events <- event{kind, ref} }
	}
	w, err := NewPodWatch(c.Client, []string{ns}, cb("failing"), cb("recovered"), nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-ran; err != nil {
			t.Error(err)
		}
	}()

	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/shop/app:1.2"}}}
	create := func(namespace, name string) *corev1.Pod {
		t.Helper()
		pod, err := c.CreatePod(ctx, kubetest.PodFor(namespace, name, spec, nil), "node-1")
		if err != nil {
			t.Fatal(err)
		}
		return pod
	}
	wait := func(pod *corev1.Pod, reason string) {
		t.Helper()
		if _, err := c.SetContainerWaiting(ctx, pod, "app", reason, "Back-off pulling image"); err != nil {
			t.Fatal(err)
		}
	}
	del := func(pod *corev1.Pod) {
		t.Helper()
		if err := c.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Pods in namespaces not watched and healthy pods call nothing: the first callback
	// must be for the failing pod created after them.
	outside := create(other, "outside")
	wait(outside, diagnosis.ReasonImagePullBackOff)
	healthy := create(ns, "healthy")
	setRunning(ctx, t, c, healthy)

	pod := create(ns, "web")
	ref := diagnosis.PodRef{Namespace: ns, Name: "web"}
	wait(pod, diagnosis.ReasonImagePullBackOff)
	expect(t, events, "failing", ref)

	// Still failing with another reason: no new callback (checked by the next one).
	wait(pod, diagnosis.ReasonErrImagePull)
	setRunning(ctx, t, c, pod)
	expect(t, events, "recovered", ref)

	// Deleting a healthy pod calls nothing; deleting a failing one reports recovery.
	wait(pod, diagnosis.ReasonInvalidImageName)
	expect(t, events, "failing", ref)
	del(healthy)
	del(pod)
	expect(t, events, "recovered", ref)

	select {
	case e := <-events:
		t.Errorf("unexpected callback %s %s", e.kind, e.ref)
	default:
	}
}

// TestPodWatchReportsPodsFailingAtStart: the initial list reports pods already failing.
func TestPodWatchReportsPodsFailingAtStart(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	if _, err := c.CreateNamespace(ctx, "batch"); err != nil {
		t.Fatal(err)
	}
	pod, err := c.CreatePod(ctx, kubetest.PodFor("batch", "etl", corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "bad//image"}}}, nil), "node-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetContainerWaiting(ctx, pod, "app", diagnosis.ReasonInvalidImageName, "invalid reference format"); err != nil {
		t.Fatal(err)
	}
	events := make(chan event, 4)
	w, err := NewPodWatch(c.Client, nil, func(_ context.Context, ref diagnosis.PodRef) { events <- event{"failing", ref} },
		func(_ context.Context, ref diagnosis.PodRef) { events <- event{"recovered", ref} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(runCtx) }()
	expect(t, events, "failing", diagnosis.PodRef{Namespace: "batch", Name: "etl"})
	stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestSlimPod(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "web", Namespace: "shop", Labels: map[string]string{"app": "web"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
			Volumes: []corev1.Volume{{Name: "data"}},
			Containers: []corev1.Container{{Name: "app", Image: "x/app:1", ImagePullPolicy: corev1.PullAlways,
				Env: []corev1.EnvVar{{Name: "A", Value: "b"}}, Command: []string{"run"}}},
		},
		Status: corev1.PodStatus{
			Phase:      corev1.PodPending,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "x/app:1",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: diagnosis.ReasonErrImagePull}}}},
		},
	}
	obj, err := slimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	slim := obj.(*corev1.Pod)
	if slim.ManagedFields != nil || slim.Annotations != nil || slim.Spec.Volumes != nil || slim.Status.Conditions != nil ||
		slim.Spec.Containers[0].Env != nil || slim.Spec.Containers[0].Command != nil {
		t.Errorf("slimPod kept fields it should drop: %+v", slim)
	}
	if slim.Name != "web" || slim.Namespace != "shop" || slim.Labels["app"] != "web" || slim.Spec.NodeName != "node-1" ||
		slim.Spec.ImagePullSecrets[0].Name != "regcred" || slim.Spec.Containers[0].Image != "x/app:1" ||
		slim.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways || !diagnosis.HasPullFailure(slim) {
		t.Errorf("slimPod dropped fields it should keep: %+v", slim)
	}
	again, _ := slimPod(slim)
	if again.(*corev1.Pod).Spec.Containers[0].Image != "x/app:1" || !diagnosis.HasPullFailure(again.(*corev1.Pod)) {
		t.Error("slimPod is not idempotent")
	}
	if o, _ := slimPod("not a pod"); o != "not a pod" {
		t.Error("slimPod changed a non-pod")
	}
}
