package store

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// fast keeps the tests short: a lease lapses 2 s after its last renewal.
var fast = ElectorConfig{LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond}

type leadEvent struct {
	id      string
	leading bool // started leading, or lead returned
}

// leaders records lead starts and stops and fails the test when two replicas lead at once.
type leaders struct {
	t       *testing.T
	events  chan leadEvent
	leading atomic.Int32
}

func newLeaders(t *testing.T) *leaders {
	return &leaders{t: t, events: make(chan leadEvent, 64)}
}

func (l *leaders) lead(id string) func(context.Context) {
	return func(ctx context.Context) {
		if n := l.leading.Add(1); n != 1 {
			l.t.Errorf("%s started leading while %d other replica(s) lead", id, n-1)
		}
		l.events <- leadEvent{id, true}
		<-ctx.Done()
		l.leading.Add(-1)
		l.events <- leadEvent{id, false}
	}
}

func (l *leaders) next(ctx context.Context) leadEvent {
	l.t.Helper()
	select {
	case e := <-l.events:
		return e
	case <-ctx.Done():
		l.t.Fatalf("no leader change before the deadline: %v", ctx.Err())
		return leadEvent{}
	}
}

// running is one replica's Run: cancel stops it, done closes when Run has returned.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, ctx context.Context, e *Elector, lead func(context.Context)) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		e.Run(ctx, lead)
	}()
	// The replica is stopped and waited for however the test ends.
	t.Cleanup(func() { r.stop(t, context.Background()) })
	return r
}

func (r *running) stop(t *testing.T, ctx context.Context) {
	t.Helper()
	r.cancel()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func newElector(t *testing.T, client kubernetes.Interface, ns, id string) *Elector {
	t.Helper()
	e, err := NewElector(client, ns, id, fast)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// waitRenewals waits until the Lease has been written n more times, giving a follower
// several retry periods in which it must not take over.
func waitRenewals(t *testing.T, ctx context.Context, client kubernetes.Interface, ns, holder string, n int) {
	t.Helper()
	w, err := client.CoordinationV1().Leases(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + DefaultLeaseName})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for seen := 0; seen < n; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("lease watch closed")
			}
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			if got := holderOf(ev.Object.(*coordinationv1.Lease)); got != holder {
				t.Fatalf("lease holder %q; want %q", got, holder)
			}
			seen++
		case <-ctx.Done():
			t.Fatalf("lease renewed fewer than %d times before the deadline", n)
		}
	}
}

func holderOf(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func leaseHolder(t *testing.T, ctx context.Context, client kubernetes.Interface, ns string) string {
	t.Helper()
	l, err := client.CoordinationV1().Leases(ns).Get(ctx, DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return holderOf(l)
}

// failover runs two replicas on one Lease as client (the test watches the Lease as the
// administrator): exactly one leads; stopping it releases
// the Lease after its lead returned, and the other leads; stopping that one releases the Lease.
func failover(t *testing.T, ctx context.Context, client kubernetes.Interface, ns string) {
	t.Helper()
	l := newLeaders(t)
	replicas := map[string]*running{}
	for _, id := range []string{"pullcheck-0", "pullcheck-1"} {
		replicas[id] = start(t, ctx, newElector(t, client, ns, id), l.lead(id))
	}
	first := l.next(ctx)
	if !first.leading {
		t.Fatalf("first event %+v; want a start", first)
	}
	other := "pullcheck-0"
	if first.id == other {
		other = "pullcheck-1"
	}
	waitRenewals(t, ctx, cluster.Client, ns, first.id, 3)

	replicas[first.id].stop(t, ctx)
	if got, want := l.next(ctx), (leadEvent{first.id, false}); got != want {
		t.Fatalf("after stopping the leader: %+v; want %+v", got, want)
	}
	if got, want := l.next(ctx), (leadEvent{other, true}); got != want {
		t.Fatalf("after the leader stopped: %+v; want %+v", got, want)
	}
	if got := leaseHolder(t, ctx, cluster.Client, ns); got != other {
		t.Fatalf("lease holder %q; want %q", got, other)
	}

	replicas[other].stop(t, ctx)
	if got, want := l.next(ctx), (leadEvent{other, false}); got != want {
		t.Fatalf("after stopping the second leader: %+v; want %+v", got, want)
	}
	if got := leaseHolder(t, ctx, cluster.Client, ns); got != "" {
		t.Fatalf("lease holder %q after the last replica stopped; want it released", got)
	}
}

func TestElectorOneLeaderAndFailover(t *testing.T) {
	failover(t, testContext(t), cluster.Client, namespace(t, "elect"))
}

// TestElectorLeadStopsWhenLeaseLost: when another holder takes the Lease, lead's context is
// cancelled within RenewDeadline; once that holder's lease lapses, the replica leads again.
func TestElectorLeadStopsWhenLeaseLost(t *testing.T) {
	ctx := testContext(t)
	ns := namespace(t, "lost")
	l := newLeaders(t)
	start(t, ctx, newElector(t, cluster.Client, ns, "pullcheck-0"), l.lead("pullcheck-0"))
	if got, want := l.next(ctx), (leadEvent{"pullcheck-0", true}); got != want {
		t.Fatalf("%+v; want %+v", got, want)
	}
	leases := cluster.Client.CoordinationV1().Leases(ns)
	lease, err := leases.Get(ctx, DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	intruder, seconds, now := "intruder", int32(2), metav1.NewMicroTime(time.Now())
	lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds = &intruder, &seconds
	lease.Spec.AcquireTime, lease.Spec.RenewTime = &now, &now
	for {
		// The leader renews every 200 ms; retry on the conflicts that causes.
		if _, err = leases.Update(ctx, lease, metav1.UpdateOptions{}); err == nil {
			break
		}
		if lease, err = leases.Get(ctx, DefaultLeaseName, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		now = metav1.NewMicroTime(time.Now())
		lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds = &intruder, &seconds
		lease.Spec.AcquireTime, lease.Spec.RenewTime = &now, &now
	}
	if got, want := l.next(ctx), (leadEvent{"pullcheck-0", false}); got != want {
		t.Fatalf("after the lease was taken: %+v; want %+v", got, want)
	}
	if got, want := l.next(ctx), (leadEvent{"pullcheck-0", true}); got != want {
		t.Fatalf("after the intruder's lease lapsed: %+v; want %+v", got, want)
	}
}

func TestNewElectorRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name          string
		namespace, id string
		cfg           ElectorConfig
	}{
		{"no namespace", "", "pullcheck-0", fast},
		{"no identity", "pullcheck", "", fast},
		{"renew deadline not below lease duration", "pullcheck", "pullcheck-0", ElectorConfig{LeaseDuration: time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewElector(cluster.Client, tc.namespace, tc.id, tc.cfg); err == nil {
				t.Fatal("NewElector accepted the configuration")
			}
		})
	}
	e, err := NewElector(cluster.Client, "pullcheck", "pullcheck-0", ElectorConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := ElectorConfig{LeaseName: DefaultLeaseName, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second}
	if e.cfg != want {
		t.Errorf("defaults %+v; want %+v", e.cfg, want)
	}
}

// TestAlertsRole: a user bound to exactly the Role in deploy/kubernetes/rbac-alerts.yaml can do
// everything the store and the elector do.
func TestAlertsRole(t *testing.T) {
	ctx := testContext(t)
	raw, err := os.ReadFile("../../../deploy/kubernetes/rbac-alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.Role
	if err := yaml.Unmarshal(raw, &role); err != nil {
		t.Fatal(err)
	}
	if role.Kind != "Role" || len(role.Rules) == 0 {
		t.Fatalf("rbac-alerts.yaml holds %s with %d rules; want a Role", role.Kind, len(role.Rules))
	}
	ns := namespace(t, "alerts-role")
	if err := cluster.Grant(ctx, ns, "alerts", "alerts-bot", role.Rules...); err != nil {
		t.Fatal(err)
	}
	_, client, err := cluster.As("alerts-bot")
	if err != nil {
		t.Fatal(err)
	}

	s := NewConfigMapStore(client, ns, "")
	if _, _, err := s.Load(ctx); err != nil {
		t.Fatalf("Load (missing) with the alerts role: %v", err)
	}
	v1, err := s.Save(ctx, []byte(`{"v":1}`), "")
	if err != nil {
		t.Fatalf("Save (create) with the alerts role: %v", err)
	}
	if _, err := s.Save(ctx, []byte(`{"v":2}`), v1); err != nil {
		t.Fatalf("Save (update) with the alerts role: %v", err)
	}
	if _, _, err := s.Load(ctx); err != nil {
		t.Fatalf("Load with the alerts role: %v", err)
	}

	// The elector creates, acquires, renews, hands over and releases the Lease.
	failover(t, ctx, client, ns)

	// And the role is needed: without it the same calls are refused.
	_, nobody, err := cluster.As("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := NewConfigMapStore(nobody, ns, "").Load(ctx); err == nil {
		t.Fatal("Load without the role succeeded")
	}
	if _, err := nobody.CoordinationV1().Leases(ns).Get(ctx, DefaultLeaseName, metav1.GetOptions{}); err == nil {
		t.Fatal("reading the lease without the role succeeded")
	}
}
