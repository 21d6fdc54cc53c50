package rollout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	cluster, err = kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Stop()
	return m.Run()
}

var fixedNow = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

func spec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"}}}
}

var nsSeq atomic.Int32

// namespace creates a fresh namespace (tests may run more than once against one server).
func namespace(t *testing.T, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d", prefix, nsSeq.Add(1))
	if _, err := cluster.CreateNamespace(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestRestartDeploymentExactlyOnce(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "restart-once")
	d, _, err := cluster.CreateDeployment(ctx, ns, "payments-api", spec())
	if err != nil {
		t.Fatal(err)
	}
	r := New(cluster.Client, func() time.Time { return fixedNow })
	target := handlers.RestartTarget{Namespace: ns, Kind: "Deployment", Name: "payments-api", OfferID: "offer-1", ApprovedBy: "U123"}

	// 20 clicks at once on one offer.
	var wg sync.WaitGroup
	results := make([]handlers.RestartResult, 20)
	errs := make([]error, 20)
	for i := range 20 {
		wg.Go(func() { results[i], errs[i] = r.Restart(ctx, target) })
	}
	wg.Wait()
	fresh := 0
	for i := range 20 {
		if errs[i] != nil {
			t.Fatalf("click %d: %v", i, errs[i])
		}
		if !results[i].Already {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d clicks restarted the Deployment, want exactly 1", fresh)
	}
	got, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "payments-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Generation != d.Generation+1 {
		t.Errorf("generation %d, want %d: the pod template changed more than once", got.Generation, d.Generation+1)
	}
	if a := got.Spec.Template.Annotations[RestartedAtAnnotation]; a != fixedNow.Format(time.RFC3339) {
		t.Errorf("template annotation %s = %q, want %q (what kubectl rollout restart writes)", RestartedAtAnnotation, a, fixedNow.Format(time.RFC3339))
	}
	if got.Annotations[OfferAnnotation] != "offer-1" || got.Annotations[ApprovedByAnnotation] != "U123" {
		t.Errorf("annotations %v lack the offer and the approver", got.Annotations)
	}

	// A later click on the same offer changes nothing; a new offer restarts again.
	if res, err := r.Restart(ctx, target); err != nil || !res.Already {
		t.Errorf("repeated click: %+v, %v; want Already", res, err)
	}
	target.OfferID = "offer-2"
	if res, err := r.Restart(ctx, target); err != nil || res.Already {
		t.Errorf("new offer: %+v, %v; want a restart", res, err)
	}
}

func TestRestartKinds(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "restart-kinds")
	if _, err := cluster.CreateStatefulSet(ctx, ns, "ledger", spec()); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.CreateDaemonSet(ctx, ns, "agent", spec()); err != nil {
		t.Fatal(err)
	}
	d, _, err := cluster.CreateDeployment(ctx, ns, "paused", spec())
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Paused = true
	if _, err := cluster.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := New(cluster.Client, func() time.Time { return fixedNow })
	for _, tc := range []struct {
		kind, name string
		wantErr    error
	}{
		{"StatefulSet", "ledger", nil},
		{"DaemonSet", "agent", nil},
		{"Deployment", "paused", ErrPaused},
		{"Job", "nightly", ErrNotRestartable},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			_, err := r.Restart(ctx, handlers.RestartTarget{Namespace: ns, Kind: tc.kind, Name: tc.name, OfferID: "o"})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Restart(%s) error = %v, want %v", tc.kind, err, tc.wantErr)
			}
		})
	}
	st, err := cluster.Client.AppsV1().StatefulSets(ns).Get(ctx, "ledger", metav1.GetOptions{})
	if err != nil || st.Spec.Template.Annotations[RestartedAtAnnotation] == "" {
		t.Errorf("StatefulSet template not stamped: %v %v", err, st.Spec.Template.Annotations)
	}
}

func TestFollowDone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := namespace(t, "follow-done")
	if _, _, err := cluster.CreateDeployment(ctx, ns, "payments-api", spec()); err != nil {
		t.Fatal(err)
	}
	r := New(cluster.Client, func() time.Time { return fixedNow })
	target := handlers.RestartTarget{Namespace: ns, Kind: "Deployment", Name: "payments-api", OfferID: "o"}
	if _, err := r.Restart(ctx, target); err != nil {
		t.Fatal(err)
	}
	progressed := make(chan handlers.RolloutUpdate, 16)
	done := make(chan handlers.RolloutUpdate, 1)
	go func() {
		u, err := r.Follow(ctx, target, func(u handlers.RolloutUpdate) { progressed <- u })
		if err != nil {
			t.Error(err)
		}
		done <- u
	}()
	<-progressed // the first reading: not done yet
	// The deployment controller's part (envtest runs none): the new revision is out.
	d, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "payments-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
	if _, err := cluster.Client.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	u := <-done
	if !u.Done || u.TimedOut || u.Updated != 1 {
		t.Errorf("Follow = %+v, want done", u)
	}
}

func TestFollowNewPodFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := namespace(t, "follow-fail")
	_, rs, err := cluster.CreateDeployment(ctx, ns, "payments-api", spec())
	if err != nil {
		t.Fatal(err)
	}
	// An old pod, failing and created just before the restart (in the same second), is not
	// one of the restart's new pods.
	old, err := cluster.CreatePod(ctx, kubetest.PodFor(ns, rs.Name+"-old01", spec(), rs), "ip-10-0-12-34.us-west-2.compute.internal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.SetContainerWaiting(ctx, old, "api", "ImagePullBackOff", `Back-off pulling image "x"`); err != nil {
		t.Fatal(err)
	}
	r := New(cluster.Client, nil)
	target := handlers.RestartTarget{Namespace: ns, Kind: "Deployment", Name: "payments-api", OfferID: "o"}
	if _, err := r.Restart(ctx, target); err != nil {
		t.Fatal(err)
	}
	d, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "payments-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{}, 1)
	done := make(chan handlers.RolloutUpdate, 1)
	go func() {
		u, err := r.Follow(ctx, target, func(handlers.RolloutUpdate) {
			select {
			case first <- struct{}{}:
			default:
			}
		})
		if err != nil {
			t.Error(err)
		}
		done <- u
	}()
	<-first
	// The new revision's pod carries the restarted template's annotations, as the
	// controllers copy them.
	newPod := kubetest.PodFor(ns, rs.Name+"-new01", spec(), rs)
	newPod.Annotations = map[string]string{RestartedAtAnnotation: d.Spec.Template.Annotations[RestartedAtAnnotation]}
	pod, err := cluster.CreatePod(ctx, newPod, "ip-10-0-12-34.us-west-2.compute.internal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.SetContainerWaiting(ctx, pod, "api", "ImagePullBackOff", `Back-off pulling image "x"`); err != nil {
		t.Fatal(err)
	}
	u := <-done
	if len(u.FailingPods) != 1 || u.FailingPods[0].Name != pod.Name {
		t.Errorf("Follow = %+v, want only the new failing pod %s", u, pod.Name)
	}
}

func TestFollowTimesOut(t *testing.T) {
	ns := namespace(t, "follow-timeout")
	if _, _, err := cluster.CreateDeployment(context.Background(), ns, "payments-api", spec()); err != nil {
		t.Fatal(err)
	}
	r := New(cluster.Client, func() time.Time { return fixedNow })
	ctx, cancel := context.WithCancel(context.Background())
	target := handlers.RestartTarget{Namespace: ns, Kind: "Deployment", Name: "payments-api", OfferID: "o"}
	if _, err := r.Restart(ctx, target); err != nil {
		t.Fatal(err)
	}
	u, err := r.Follow(ctx, target, func(handlers.RolloutUpdate) { cancel() }) // the deadline passes at once
	if err != nil {
		t.Fatal(err)
	}
	if !u.TimedOut || u.Done {
		t.Errorf("Follow = %+v, want timed out", u)
	}
}

func TestRestartForbiddenNamesThePermission(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "restart-rbac")
	if _, _, err := cluster.CreateDeployment(ctx, ns, "payments-api", spec()); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Grant(ctx, ns, "reader", "rollout-reader", rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"}}); err != nil {
		t.Fatal(err)
	}
	_, client, err := cluster.As("rollout-reader")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(client, nil).Restart(ctx, handlers.RestartTarget{Namespace: ns, Kind: "Deployment", Name: "payments-api", OfferID: "o"})
	var fe *diagnosis.ForbiddenError
	if !errors.As(err, &fe) || fe.Verb != "update" || fe.Resource != "deployments.apps" || fe.Namespace != ns {
		t.Fatalf("Restart() error = %v, want a ForbiddenError naming update on deployments.apps in %s", err, ns)
	}
	var ue handlers.UserError
	if _, err := New(cluster.Client, nil).Restart(ctx, handlers.RestartTarget{Namespace: ns, Kind: "Deployment", Name: "gone", OfferID: "o"}); !errors.As(err, &ue) || !strings.Contains(ue.Public, "no longer exists") {
		t.Errorf("Restart(missing) error = %v, want a UserError saying it no longer exists", err)
	}
}

// TestRestarterRBAC runs a restart and its follow-up as a user bound to exactly the rules of
// deploy/kubernetes/rbac-restart.yaml.
func TestRestarterRBAC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := namespace(t, "restart-role")
	if _, _, err := cluster.CreateDeployment(ctx, ns, "payments-api", spec()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../../deploy/kubernetes/rbac-restart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	if err := yaml.Unmarshal(raw, &role); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Grant(ctx, ns, "restarter", "restarter", role.Rules...); err != nil {
		t.Fatal(err)
	}
	_, client, err := cluster.As("restarter")
	if err != nil {
		t.Fatal(err)
	}
	r := New(client, nil)
	target := handlers.RestartTarget{Namespace: ns, Kind: "Deployment", Name: "payments-api", OfferID: "o"}
	if _, err := r.Restart(ctx, target); err != nil {
		t.Fatalf("Restart with the restarter role: %v", err)
	}
	followCtx, stop := context.WithCancel(ctx)
	if _, err := r.Follow(followCtx, target, func(handlers.RolloutUpdate) { stop() }); err != nil {
		t.Fatalf("Follow with the restarter role: %v", err)
	}
}
