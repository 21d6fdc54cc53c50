package kube_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// cluster is one real kube-apiserver shared by the package's tests. Tests keep to their
// own namespaces, nodes, users and registry hosts, so cluster-wide reads of one test
// never count another test's objects.
var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	c, err := kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

const contextName = "test-context"

// fixture is one test's corner of the shared cluster.
type fixture struct {
	t   *testing.T
	ctx context.Context
	ns  string
}

var nsSeq atomic.Int64

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// setup creates a namespace named after the test.
func setup(t *testing.T) *fixture {
	t.Helper()
	name := strings.Trim(nonName.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	name = fmt.Sprintf("%s-%d", name, nsSeq.Add(1))
	f := &fixture{t: t, ctx: t.Context(), ns: name}
	must[*corev1.Namespace](t)(cluster.CreateNamespace(f.ctx, name))
	return f
}

// must returns a function that fails the test on a non-nil error and passes the value on.
func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// host is a registry host of the test's own, so that related-failure counts (which are
// cluster-wide) only see this test's pods.
func (f *fixture) host() string { return f.ns + ".registry.example.com" }

// collector returns a collector reading as the administrator.
func (f *fixture) collector(now time.Time, opts kube.Options) *kube.Collector {
	opts.Context = contextName
	opts.Now = func() time.Time { return now }
	return kube.NewCollector(cluster.Client, opts)
}

// createPod creates a pod with the containers, bound to node.
func (f *fixture) createPod(pod *corev1.Pod, node string) *corev1.Pod {
	f.t.Helper()
	return must[*corev1.Pod](f.t)(cluster.CreatePod(f.ctx, pod, node))
}

// failing creates a bare pod with one container "app" running image, on node, waiting in
// reason (ErrImagePull, ImagePullBackOff, ...).
func (f *fixture) failing(name, image, node, reason string) *corev1.Pod {
	f.t.Helper()
	pod := f.createPod(kubetest.PodFor(f.ns, name, specOf(image), nil), node)
	return f.wait(pod, "app", reason, fmt.Sprintf("Back-off pulling image %q", image))
}

func (f *fixture) wait(pod *corev1.Pod, container, reason, message string) *corev1.Pod {
	f.t.Helper()
	return must[*corev1.Pod](f.t)(cluster.SetContainerWaiting(f.ctx, pod, container, reason, message))
}

// running marks every container of the pod running, phase Running.
func (f *fixture) running(pod *corev1.Pod) *corev1.Pod {
	f.t.Helper()
	cur := must[*corev1.Pod](f.t)(cluster.Client.CoreV1().Pods(pod.Namespace).Get(f.ctx, pod.Name, metav1.GetOptions{}))
	cur.Status.Phase = corev1.PodRunning
	for i := range cur.Status.ContainerStatuses {
		s := &cur.Status.ContainerStatuses[i]
		s.Ready = true
		s.Started = new(true)
		s.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: cur.CreationTimestamp}}
	}
	return must[*corev1.Pod](f.t)(cluster.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(f.ctx, cur, metav1.UpdateOptions{}))
}

func (f *fixture) node(name string, labels map[string]string, providerID string, info corev1.NodeSystemInfo, conds ...corev1.NodeCondition) *corev1.Node {
	f.t.Helper()
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.NodeSpec{ProviderID: providerID},
		Status:     corev1.NodeStatus{NodeInfo: info, Conditions: conds},
	}
	return must[*corev1.Node](f.t)(cluster.CreateNode(f.ctx, n))
}

func (f *fixture) event(pod *corev1.Pod, e kubetest.Event) {
	f.t.Helper()
	must[*corev1.Event](f.t)(cluster.RecordEvent(f.ctx, pod, e))
}

func specOf(image string) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}
}

// later is a clock well after every pod of the test was created (pods stuck creating
// count only after diagnosis.StuckCreatingAfter).
func later(pods ...*corev1.Pod) time.Time {
	var t time.Time
	for _, p := range pods {
		if p.CreationTimestamp.After(t) {
			t = p.CreationTimestamp.Time
		}
	}
	return t.Add(diagnosis.StuckCreatingAfter + time.Hour).UTC().Truncate(time.Second)
}

// requestLog records the requests a client makes, as "VERB path?query".
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) RoundTrip(next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		line := r.Method + " " + r.URL.Path
		if r.URL.RawQuery != "" {
			line += "?" + r.URL.RawQuery
		}
		l.reqs = append(l.reqs, line)
		l.mu.Unlock()
		return next.RoundTrip(r)
	})
}

func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// loggedClient returns an administrator client that records its requests.
func loggedClient(t *testing.T) (kubernetes.Interface, *requestLog) {
	t.Helper()
	log := &requestLog{}
	cfg := rest.CopyConfig(cluster.Config)
	cfg.WrapTransport = log.RoundTrip
	return must[*kubernetes.Clientset](t)(kubernetes.NewForConfig(cfg)), log
}

// deployment creates a Deployment and its ReplicaSet, and returns the ReplicaSet.
func (f *fixture) deployment(name string, spec corev1.PodSpec) *appsv1.ReplicaSet {
	f.t.Helper()
	_, rs, err := cluster.CreateDeployment(f.ctx, f.ns, name, spec)
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

// cronJob creates a CronJob and one Job of it, and returns the Job.
func (f *fixture) cronJob(name string, spec corev1.PodSpec) *batchv1.Job {
	f.t.Helper()
	_, job, err := cluster.CreateCronJob(f.ctx, f.ns, name, spec)
	if err != nil {
		f.t.Fatal(err)
	}
	return job
}
