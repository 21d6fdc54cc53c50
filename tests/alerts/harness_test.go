package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pullcheck/pullcheck/bot"
	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	alerting "github.com/pullcheck/pullcheck/handlers/alerts"
	"github.com/pullcheck/pullcheck/handlers/incident"
	"github.com/pullcheck/pullcheck/handlers/incident/store"
	"github.com/pullcheck/pullcheck/tests/kubetest"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// The workspace and the routes: the payments-* namespaces alert in #payments-alerts, every
// other namespace in #platform-alerts. The bot is a member of both.
const (
	botToken        = "xoxb-alerts-test"
	clusterName     = "prod-eks"
	paymentsChannel = "C0PAYMENTS"
	platformChannel = "C0PLATFORM"
)

// neverSchedule is a valid cron spec that never fires (there is no 30 February): scans come
// only from the tests, and from the pipeline itself where it scans on its own.
const neverSchedule = "0 0 30 2 *"

// The tracker's timings in the fake-clock tests (the defaults, given explicitly).
const (
	fireDelay    = 2 * time.Minute
	resolveGrace = 5 * time.Minute
)

// testTimeout bounds each test: a hang fails it, nothing waits on a timer.
const testTimeout = 90 * time.Second

// waitTimeout bounds each wait. What a test waits for has happened already (a Scan posts
// before it returns) or takes a second or so (a watch event, a Lease changing hands): the
// deadline only makes a test that would hang fail soon.
const waitTimeout = 15 * time.Second

// registry is the ECR registry of the images.
const registry = "111122223333.dkr.ecr.us-west-2.amazonaws.com"

// election makes failover quick: a released Lease is taken within RetryPeriod.
var election = store.ElectorConfig{LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 500 * time.Millisecond}

// stateConfigMap is the ConfigMap that holds the incident state in the bot's namespace.
const stateConfigMap = store.DefaultConfigMapName

// notFound is the runtime's error when ECR has no such tag (containerd's resolver: the
// manifest HEAD answers 404, `<ref>: not found`).
func notFound(image string) string {
	return fmt.Sprintf(`rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found`, image, image, image)
}

// accessDenied is the runtime's error when ECR answers 403 with its IAM body: the node role
// may not pull from the repository.
func accessDenied(image string) string {
	repo, _, _ := strings.Cut(strings.TrimPrefix(image, registry+"/"), ":")
	return fmt.Sprintf(`rpc error: code = Unknown desc = failed to pull and unpack image %q: failed to resolve reference %q: unexpected status from HEAD request to https://%s/v2/%s/manifests/1.8.3: 403 Forbidden: denied: User: arn:aws:sts::111122223333:assumed-role/eks-ng-general-NodeInstanceRole/i-0abc1234def567890 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-west-2:111122223333:repository/%s because no identity-based policy allows the ecr:BatchGetImage action`, image, image, registry, repo, repo)
}

// logBuffer collects log lines from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// engine serves the pipeline's Diagnoser and Scanner from the diagnosis engine and the kube
// collector, as pullcheck serve's engineAdapter does.
type engine struct {
	engine    *diagnosis.Engine
	collector diagnosis.Enriched
}

func (e engine) Diagnose(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
	return e.engine.Diagnose(ctx, e.collector, ref)
}

func (e engine) Scan(ctx context.Context, namespace string) ([]diagnosis.Report, error) {
	return e.engine.Scan(ctx, e.collector, namespace)
}

// env is one test's world: two application namespaces (payments-N, routed to
// #payments-alerts, and shop-N, to the default channel), the bot's namespace with its Lease
// and state ConfigMap, the local Slack API, the clock the replicas share, and the replicas.
type env struct {
	t     testing.TB
	ctx   context.Context // every wait ends with it
	clock *clocktesting.FakeClock
	slack *slackfake.Server
	logs  *logBuffer
	opts  incident.Options

	payments, shop, botNS string

	// mu guards the replicas' state below and in each instance; changed is closed and
	// replaced whenever it changes.
	mu       sync.Mutex
	changed  chan struct{}
	replicas []*instance // every replica started, for failure messages
}

var envSeq atomic.Int32

// newEnv creates the namespaces and the local Slack API. Every wait of the env ends after
// timeout. clk nil means the real clock.
func newEnv(t testing.TB, timeout time.Duration, clk *clocktesting.FakeClock, opts incident.Options) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	n := envSeq.Add(1)
	e := &env{
		t: t, ctx: ctx, clock: clk, logs: &logBuffer{}, opts: opts,
		payments: fmt.Sprintf("payments-%d", n), shop: fmt.Sprintf("shop-%d", n), botNS: fmt.Sprintf("pullcheck-%d", n),
		changed: make(chan struct{}),
	}
	// Registered first, so it runs last: once the replicas have stopped, the logs are
	// complete.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot logs:\n%s", e.logs.String())
		}
	})
	e.slack = slackfake.New(t, slackfake.Options{Token: botToken, Channels: []slackfake.Channel{
		{ID: paymentsChannel, Name: "payments-alerts", Member: true},
		{ID: platformChannel, Name: "platform-alerts", Member: true},
		{ID: "C0RANDOM", Name: "random"},
	}})
	for _, ns := range []string{e.payments, e.shop, e.botNS} {
		if _, err := cluster.CreateNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
	}
	// No controller-manager: create what the service account controller would.
	for _, ns := range []string{e.payments, e.shop} {
		if _, err := cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// newFakeEnv is newEnv on a fake clock, with the default fire delay and resolve grace.
func newFakeEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, testTimeout, clocktesting.NewFakeClock(time.Now()), incident.Options{FireDelay: fireDelay, ResolveGrace: resolveGrace})
}

// notify wakes up the waits; e.mu must be held.
func (e *env) notify() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// waitUntil blocks until cond, evaluated with e.mu held, is true; it fails the test when
// the test's deadline comes first.
func (e *env) waitUntil(what string, cond func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	e.waitUntilCtx(ctx, what, cond)
}

func (e *env) waitUntilCtx(ctx context.Context, what string, cond func() bool) {
	e.t.Helper()
	for {
		e.mu.Lock()
		ok := cond()
		changed := e.changed
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			e.mu.Lock()
			state := e.describeLocked()
			e.mu.Unlock()
			e.t.Fatalf("timed out waiting for %s\nreplicas:\n%sSlack calls:\n%s", what, state, slackfake.Describe(e.slack.Calls()))
		}
	}
}

// step moves the shared fake clock on.
func (e *env) step(d time.Duration) {
	e.t.Helper()
	if e.clock == nil {
		e.t.Fatal("step: this env runs on the real clock")
	}
	e.clock.Step(d)
}

// observation is one call of the pipeline's Observed callback.
type observation struct {
	term    int // the replica's term it happened in
	source  string
	actions []incident.Action
}

func (o observation) String() string {
	var kinds []string
	for _, a := range o.actions {
		kinds = append(kinds, string(a.Kind)+" "+a.Incident.Key.String())
	}
	return fmt.Sprintf("term %d %s %v", o.term, o.source, kinds)
}

// instance is one bot replica: its own API client, collector and engine, pipeline, state
// store and leader-elected service, started with its own context.
type instance struct {
	env      *env
	identity string
	pipeline *alerting.Pipeline
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once

	// Guarded by env.mu.
	leading  bool
	term     int // terms begun, the current one while leading
	observed []observation
}

// start starts a replica named identity; watch turns the pod watch on.
func (e *env) start(identity string, watch bool) *instance {
	t := e.t
	t.Helper()
	// Each replica has a client of its own, as each pod of the bot has.
	client, err := kubernetes.NewForConfig(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	var (
		clk clock.Clock // nil: the pipeline's default, the real clock
		now func() time.Time
	)
	if e.clock != nil {
		clk, now = e.clock, e.clock.Now
	}
	eng := engine{engine: diagnosis.NewEngine(), collector: diagnosis.Enriched{
		Collector: kube.NewCollector(client, kube.Options{Context: kubetest.ContextName, Now: now}),
	}}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("replica", identity)
	api := slackapi.New(botToken, slackapi.OptionAPIURL(e.slack.URL()))
	poster := bot.NewPoster(api, bot.PosterOptions{Logger: log.With("component", "slack")})

	in := &instance{env: e, identity: identity, done: make(chan struct{})}
	namespaces := []string{e.payments, e.shop}
	p, err := alerting.NewPipeline(alerting.PipelineConfig{
		Cluster: clusterName,
		Routes: alerting.Routes{
			Rules:   []alerting.Route{{Channel: paymentsChannel, Namespaces: []string{"payments", "payments-*"}}},
			Default: platformChannel,
		},
		Namespaces:  namespaces,
		Tracker:     e.opts,
		ScanOnStart: true, // as pullcheck serve runs it
	}, alerting.PipelineDeps{
		Scanner:   eng,
		Diagnoser: eng,
		Poster:    poster,
		Store:     store.NewConfigMapStore(client, e.botNS, stateConfigMap),
		Labels:    namespaceLabels(client),
		Clock:     clk,
		Logger:    log.With("component", "alerts"),
		Observed:  in.observe,
	})
	if err != nil {
		t.Fatalf("NewPipeline: %v", err)
	}
	in.pipeline = p
	e.mu.Lock()
	e.replicas = append(e.replicas, in)
	e.mu.Unlock()
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Schedules:  []string{neverSchedule},
		Watch:      watch,
		Namespaces: namespaces,
		Namespace:  e.botNS,
		Identity:   identity,
		Election:   election,
	}, client, p, in.leader, log.With("component", "alerts"))
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	// The replica's lifetime is its own, not the test's: stop ends it.
	ctx, cancel := context.WithCancel(context.Background())
	in.cancel = cancel
	go func() {
		defer close(in.done)
		if err := svc.Run(ctx); err != nil {
			t.Errorf("replica %s: Service.Run: %v", identity, err)
		}
	}()
	t.Cleanup(in.stop)
	return in
}

// namespaceLabels reads a namespace's labels for selector routes, as pullcheck serve does.
func namespaceLabels(client kubernetes.Interface) alerting.NamespaceLabels {
	return func(ctx context.Context, namespace string) (map[string]string, error) {
		ns, err := client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read namespace %s: %w", namespace, err)
		}
		return ns.Labels, nil
	}
}

// leader is the service's leader callback.
func (in *instance) leader(leading bool) {
	e := in.env
	e.mu.Lock()
	defer e.mu.Unlock()
	in.leading = leading
	if leading {
		in.term++
	}
	e.notify()
}

// observe is the pipeline's Observed callback.
func (in *instance) observe(source string, actions []incident.Action) {
	e := in.env
	e.mu.Lock()
	defer e.mu.Unlock()
	in.observed = append(in.observed, observation{term: in.term, source: source, actions: slices.Clone(actions)})
	e.notify()
}

// stop cancels the replica and waits until its service has returned: the term is over and
// the Lease released.
func (in *instance) stop() {
	in.stopOnce.Do(func() {
		in.cancel()
		// Its own deadline: stop also runs in cleanup, after a test's deadline may have passed.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		select {
		case <-in.done:
		case <-ctx.Done():
			in.env.t.Errorf("replica %s did not stop within 30s of its context's end", in.identity)
		}
	})
}

// readyLocked says the replica leads and its term's first scan (ScanOnStart) is done, so
// that its state is loaded and Scan works; e.mu must be held.
func (in *instance) readyLocked() bool {
	if !in.leading {
		return false
	}
	for _, o := range in.observed {
		if o.term == in.term && o.source == "scan" {
			return true
		}
	}
	return false
}

// waitReady waits until the replica leads and has done its term's first scan.
func (in *instance) waitReady() {
	in.env.t.Helper()
	in.env.waitUntil("replica "+in.identity+" to lead and scan", in.readyLocked)
}

// waitLeader waits until one of the replicas is ready and returns it.
func (e *env) waitLeader(replicas ...*instance) *instance {
	e.t.Helper()
	var leader *instance
	e.waitUntil("a replica to lead", func() bool {
		for _, in := range replicas {
			if in.readyLocked() {
				leader = in
				return true
			}
		}
		return false
	})
	return leader
}

// observations returns a copy of what the replica observed so far.
func (in *instance) observations() []observation {
	in.env.mu.Lock()
	defer in.env.mu.Unlock()
	return slices.Clone(in.observed)
}

// isLeading reports the leader callback's latest word.
func (in *instance) isLeading() bool {
	in.env.mu.Lock()
	defer in.env.mu.Unlock()
	return in.leading
}

// scan runs a scan on the replica, as its cron schedule would, and wants it to succeed.
// When it returns, what the scan decided has been posted to Slack and saved.
func (in *instance) scan() {
	in.env.t.Helper()
	if err := in.pipeline.Scan(in.env.ctx); err != nil {
		in.env.t.Fatalf("replica %s: Scan: %v", in.identity, err)
	}
}

func (e *env) describeLocked() string {
	var b strings.Builder
	for _, in := range e.replicas {
		fmt.Fprintf(&b, "  %s leading=%v term=%d\n", in.identity, in.leading, in.term)
		for _, o := range in.observed {
			fmt.Fprintf(&b, "    %s\n", o)
		}
	}
	return b.String()
}

// Workloads, and the kubelet's writes.

// workload is a Deployment with its ReplicaSet; its pods are created with pod.
type workload struct {
	ns, name, image string
	spec            corev1.PodSpec
	rs              *appsv1.ReplicaSet
}

// deploy creates the Deployment name in namespace ns and its ReplicaSet; the image is a tag
// of its ECR repository.
func (e *env) deploy(ns, name string) *workload {
	e.t.Helper()
	image := fmt.Sprintf("%s/%s:1.8.3", registry, name)
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image, ImagePullPolicy: corev1.PullIfNotPresent}}}
	_, rs, err := cluster.CreateDeployment(e.ctx, ns, name, spec)
	if err != nil {
		e.t.Fatal(err)
	}
	return &workload{ns: ns, name: name, image: image, spec: spec, rs: rs}
}

// pod creates a pod of the workload's ReplicaSet on the node, in ContainerCreating.
func (e *env) pod(w *workload, suffix string) *corev1.Pod {
	e.t.Helper()
	pod, err := cluster.CreatePod(e.ctx, kubetest.PodFor(w.ns, w.rs.Name+"-"+suffix, w.spec, w.rs), node)
	if err != nil {
		e.t.Fatal(err)
	}
	return pod
}

// fail writes what the kubelet writes when a pull fails with pullErr: the events (failEvents)
// and then the container waiting in ErrImagePull (setFailing).
func (e *env) fail(pod *corev1.Pod, image, pullErr string, at time.Time) {
	e.t.Helper()
	e.failEvents(pod, image, pullErr, at)
	e.setFailing(pod, pullErr)
}

// failEvents records the kubelet's events of a failed pull: Pulling, Failed with the
// runtime's words, Failed "Error: ErrImagePull". at is when the kubelet saw it: events are
// kept to the second, so a later cause must come at least a second later to be the newest.
func (e *env) failEvents(pod *corev1.Pod, image, pullErr string, at time.Time) {
	e.t.Helper()
	for _, ev := range []kubetest.Event{
		{Container: "app", Reason: "Pulling", Message: fmt.Sprintf("Pulling image %q", image), First: at},
		{Container: "app", Type: corev1.EventTypeWarning, Reason: "Failed", Message: fmt.Sprintf("Failed to pull image %q: %s", image, pullErr), First: at},
		{Container: "app", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "Error: ErrImagePull", First: at},
	} {
		if _, err := cluster.RecordEvent(e.ctx, pod, ev); err != nil {
			e.t.Fatal(err)
		}
	}
}

// setFailing writes the container's status as the kubelet does after a failed pull: waiting
// in ErrImagePull with the error.
func (e *env) setFailing(pod *corev1.Pod, pullErr string) {
	e.t.Helper()
	if _, err := cluster.SetContainerWaiting(e.ctx, pod, "app", "ErrImagePull", pullErr); err != nil {
		e.t.Fatal(err)
	}
}

// deployFailing deploys name with pods (suffixes) that all fail to pull: the tag is not in
// the repository. It returns the workload and the pods.
func (e *env) deployFailing(ns, name string, suffixes ...string) (*workload, []*corev1.Pod) {
	e.t.Helper()
	w := e.deploy(ns, name)
	var pods []*corev1.Pod
	for _, s := range suffixes {
		p := e.pod(w, s)
		e.fail(p, w.image, notFound(w.image), time.Now().Add(-30*time.Second))
		pods = append(pods, p)
	}
	return w, pods
}

// run writes what the kubelet writes once the image is pulled and the container started:
// phase Running, the container running and ready, the pod Ready.
func (e *env) run(pod *corev1.Pod) {
	e.t.Helper()
	pods := cluster.Client.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(e.ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := metav1.Now()
		cur.Status.Phase = corev1.PodRunning
		for i := range cur.Status.ContainerStatuses {
			s := &cur.Status.ContainerStatuses[i]
			s.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}
			s.Ready, s.Started = true, new(true)
			s.ImageID = s.Image + "@sha256:4b1d5c7e0f2a3b6c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
		}
		for i := range cur.Status.Conditions {
			c := &cur.Status.Conditions[i]
			if c.Type == corev1.ContainersReady || c.Type == corev1.PodReady {
				c.Status, c.Reason, c.LastTransitionTime = corev1.ConditionTrue, "", now
			}
		}
		_, err = pods.UpdateStatus(e.ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatalf("set pod %s/%s running: %v", pod.Namespace, pod.Name, err)
	}
}

// deletePod deletes a pod at once (grace period 0, as a node that is gone would leave it) and
// checks it is gone.
func (e *env) deletePod(pod *corev1.Pod) {
	e.t.Helper()
	pods := cluster.Client.CoreV1().Pods(pod.Namespace)
	if err := pods.Delete(e.ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := pods.Get(e.ctx, pod.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		e.t.Fatalf("pod %s/%s after a delete with grace period 0: err = %v, want not found", pod.Namespace, pod.Name, err)
	}
}

// The stored state.

// storedState is the pipeline's blob in the ConfigMap (handlers/alerts storedState).
type storedState struct {
	Version   int                 `json:"version"`
	Incidents []incident.Incident `json:"incidents"`
}

// stored reads the incident state from the ConfigMap, as kubectl would.
func (e *env) stored() storedState {
	e.t.Helper()
	cm, err := cluster.Client.CoreV1().ConfigMaps(e.botNS).Get(e.ctx, stateConfigMap, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("read the state ConfigMap: %v", err)
	}
	raw, ok := cm.Data[store.StateKey]
	if !ok {
		e.t.Fatalf("ConfigMap %s/%s has no %s: data keys %v", e.botNS, stateConfigMap, store.StateKey, keys(cm.Data))
	}
	var st storedState
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		e.t.Fatalf("%s is not the state JSON: %v\n%s", store.StateKey, err, raw)
	}
	if st.Version != 1 {
		e.t.Errorf("stored state version %d, want 1", st.Version)
	}
	return st
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// incidentOf returns the stored incident of the workload, failing the test unless there is
// exactly one.
func (st storedState) incidentOf(t testing.TB, w *workload) incident.Incident {
	t.Helper()
	var found []incident.Incident
	for _, inc := range st.Incidents {
		if inc.Key.Namespace == w.ns && inc.Key.Kind == "Deployment" && inc.Key.Name == w.name {
			found = append(found, inc)
		}
	}
	if len(found) != 1 {
		t.Fatalf("stored incidents of Deployment %s/%s: %d, want 1; all: %+v", w.ns, w.name, len(found), st.Incidents)
	}
	return found[0]
}

// Slack calls.

// alertsIn returns the top-level messages (alerts) among calls.
func alertsIn(calls []slackfake.Call) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range calls {
		if c.Method == "chat.postMessage" && c.ThreadTS == "" {
			out = append(out, c)
		}
	}
	return out
}

// alerts returns the alerts posted so far.
func (e *env) alerts() []slackfake.Call { return alertsIn(e.slack.Calls()) }

// wantAlerts fails the test unless exactly n alerts were posted so far.
func (e *env) wantAlerts(n int, when string) []slackfake.Call {
	e.t.Helper()
	got := e.alerts()
	if len(got) != n {
		e.t.Fatalf("%s: %d alerts posted, want %d; Slack calls:\n%s", when, len(got), n, slackfake.Describe(e.slack.Calls()))
	}
	return got
}

// waitCall waits for the first Slack call that matches, and returns it.
func (e *env) waitCall(what string, match func(slackfake.Call) bool) slackfake.Call {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	return e.slack.WaitForCall(ctx, e.t, what, match)
}

// waitAlert waits for the alert of the workload and returns it.
func (e *env) waitAlert(w *workload) slackfake.Call {
	e.t.Helper()
	return e.waitCall("the alert of Deployment/"+w.name, func(c slackfake.Call) bool {
		return c.Method == "chat.postMessage" && c.ThreadTS == "" && c.OK() && strings.Contains(c.Text, "Deployment/"+w.name+" in "+w.ns)
	})
}

// fireAlert brings a failing workload to its alert: a scan sees it, the clock passes the fire
// delay, a scan fires it. It returns the alert.
func (e *env) fireAlert(in *instance, w *workload) slackfake.Call {
	e.t.Helper()
	in.scan()
	e.step(e.opts.FireDelay)
	in.scan()
	return e.waitAlert(w)
}

// wantNoErrors fails the test on a Slack call that failed: the bot should only ever post
// where it may and edit what it posted.
func (e *env) wantNoErrors() {
	e.t.Helper()
	for _, c := range e.slack.Calls() {
		if !c.OK() {
			e.t.Errorf("Slack call failed: %s %s ts=%s: %s", c.Method, c.Channel, c.TS, c.Error)
		}
	}
}

// wantNotLeading checks that a replica that does not lead refuses to scan.
func wantNotLeading(t testing.TB, in *instance) {
	t.Helper()
	if err := in.pipeline.Scan(in.env.ctx); !errors.Is(err, alerting.ErrNotLeading) {
		t.Errorf("replica %s (not leading): Scan = %v, want ErrNotLeading", in.identity, err)
	}
}
