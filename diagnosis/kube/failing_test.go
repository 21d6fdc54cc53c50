package kube_test

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// TestCollectFailingPages scans a namespace page by page and checks both the facts and
// the requests: one pod list (in pages), one events list (in pages), one GET per distinct
// node, service account, secret, ReplicaSet and Job, and never a GET of a pod.
func TestCollectFailingPages(t *testing.T) {
	f := setup(t)
	host := f.host()
	n1 := f.node(f.ns+"-n1", map[string]string{"kubernetes.io/arch": "amd64"}, "", corev1.NodeSystemInfo{})
	n2 := f.node(f.ns+"-n2", map[string]string{"kubernetes.io/arch": "arm64"}, "", corev1.NodeSystemInfo{})
	f.secret(dockerConfigJSON(f.ns, "regcred", "s3cret", host))
	f.serviceAccount("web", nil, "regcred")

	webSpec := specOf(host + "/web:1")
	webSpec.ServiceAccountName = "web"
	webRS := f.deployment("web", webSpec)
	workerRS := f.deployment("worker", specOf(host+"/worker:2"))
	nightly := f.cronJob("nightly", specOf("public.ecr.aws/"+f.ns+"/job:1"))

	var pods []*corev1.Pod
	add := func(p *corev1.Pod) *corev1.Pod { pods = append(pods, p); return p }

	for i := range 6 {
		node := []string{n1.Name, n2.Name}[i%2]
		p := add(f.createPod(kubetest.PodFor(f.ns, fmt.Sprintf("web-%d", i), webSpec, webRS), node))
		f.wait(p, "app", diagnosis.ReasonImagePullBackOff, "back-off")
		f.event(p, kubetest.Event{Container: "app", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "failed " + p.Name, First: p.CreationTimestamp.Time})
	}
	for i := range 4 {
		p := add(f.createPod(kubetest.PodFor(f.ns, fmt.Sprintf("worker-%d", i), specOf(host+"/worker:2"), workerRS), n1.Name))
		f.wait(p, "app", diagnosis.ReasonErrImagePull, "pull failed")
		f.event(p, kubetest.Event{Container: "app", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "failed " + p.Name, First: p.CreationTimestamp.Time})
	}
	// Stuck creating: a candidate without a pull failure (its events may show the sandbox image failing).
	stuck := add(f.createPod(kubetest.PodFor(f.ns, "nightly-0", specOf("public.ecr.aws/"+f.ns+"/job:1"), nightly), n2.Name))
	f.event(stuck, kubetest.Event{Type: corev1.EventTypeWarning, Reason: "FailedCreatePodSandBox", Message: "failed " + stuck.Name, First: stuck.CreationTimestamp.Time})
	for i := range 10 {
		p := add(f.running(f.createPod(kubetest.PodFor(f.ns, fmt.Sprintf("healthy-%d", i), specOf(host+"/web:0"), nil), n1.Name)))
		f.event(p, kubetest.Event{Container: "app", Reason: "Pulled", Message: "pulled " + p.Name, First: p.CreationTimestamp.Time})
	}
	add(f.createPod(kubetest.PodFor(f.ns, "unscheduled", webSpec, nil), ""))

	client, log := loggedClient(t)
	now := later(pods...)
	c := kube.NewCollector(client, kube.Options{Context: contextName, Now: func() time.Time { return now }, ReadSecrets: true, PageSize: 3, Concurrency: 2})
	got, err := c.CollectFailing(f.ctx, f.ns)
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, facts := range got {
		names = append(names, facts.Pod.Name)
	}
	wantNames := []string{"nightly-0", "web-0", "web-1", "web-2", "web-3", "web-4", "web-5", "worker-0", "worker-1", "worker-2", "worker-3"}
	if diff := gocmp.Diff(wantNames, names); diff != "" {
		t.Fatalf("candidates (-want +got):\n%s", diff)
	}
	for _, facts := range got {
		name := facts.Pod.Name
		if len(facts.Events) != 1 || facts.Events[0].Message != "failed "+name {
			t.Errorf("%s: Events = %+v, want only its own event", name, facts.Events)
		}
		if len(facts.Skipped) != 0 {
			t.Errorf("%s: Skipped = %+v, want none", name, facts.Skipped)
		}
		if facts.Now != now || facts.Source != contextName {
			t.Errorf("%s: Now, Source = %v, %q; want %v, %q", name, facts.Now, facts.Source, now, contextName)
		}
		var want diagnosis.Workload
		var related map[string]diagnosis.Related
		switch {
		case strings.HasPrefix(name, "web-"):
			want = diagnosis.Workload{Kind: "Deployment", Name: "web"}
			related = map[string]diagnosis.Related{host + "/web:1": {Scope: "namespace " + f.ns, SameImagePods: 5, SameRegistryPods: 9, SameRegistryNS: []string{f.ns}, Nodes: 2}}
			if facts.ServiceAccount == nil || !facts.ServiceAccount.Found || len(facts.PullSecrets) != 1 || facts.PullSecrets[0].From != "serviceaccount" {
				t.Errorf("%s: ServiceAccount = %+v, PullSecrets = %+v; want account web and its secret", name, facts.ServiceAccount, facts.PullSecrets)
			}
		case strings.HasPrefix(name, "worker-"):
			want = diagnosis.Workload{Kind: "Deployment", Name: "worker"}
			related = map[string]diagnosis.Related{host + "/worker:2": {Scope: "namespace " + f.ns, SameImagePods: 3, SameRegistryPods: 9, SameRegistryNS: []string{f.ns}, Nodes: 2}}
			if facts.ServiceAccount == nil || facts.ServiceAccount.Found {
				t.Errorf("%s: ServiceAccount = %+v, want default, not found (envtest creates none)", name, facts.ServiceAccount)
			}
		default:
			want = diagnosis.Workload{Kind: "CronJob", Name: "nightly"}
		}
		if diff := gocmp.Diff(&want, facts.Workload); diff != "" {
			t.Errorf("%s: Workload (-want +got):\n%s", name, diff)
		}
		if diff := gocmp.Diff(related, facts.Related); diff != "" {
			t.Errorf("%s: Related (-want +got):\n%s", name, diff)
		}
		if facts.Node == nil || (facts.Node.Name == n1.Name) != (facts.Node.Arch == "amd64") {
			t.Errorf("%s: Node = %+v, want the facts of its own node", name, facts.Node)
		}
	}

	// The requests: lists in pages, one GET per distinct object, no GET of a pod.
	gets := map[string]int{}
	var podLists, eventLists int
	for _, r := range log.all() {
		verbPath, query, _ := strings.Cut(r, "?")
		q, _ := url.ParseQuery(query)
		switch {
		case verbPath == "GET /api/v1/namespaces/"+f.ns+"/pods":
			podLists++
			if q.Get("limit") != "3" {
				t.Errorf("pod list %q: want limit=3", r)
			}
		case verbPath == "GET /api/v1/namespaces/"+f.ns+"/events":
			eventLists++
			if q.Get("fieldSelector") != "involvedObject.kind=Pod" {
				t.Errorf("event list %q: want fieldSelector involvedObject.kind=Pod", r)
			}
		case strings.HasPrefix(verbPath, "GET "):
			gets[strings.TrimPrefix(verbPath, "GET ")]++
		default:
			t.Errorf("unexpected request %q", r)
		}
	}
	if want := (len(pods) + 2) / 3; podLists != want {
		t.Errorf("pod list requests = %d, want %d (one per page of 3 over %d pods)", podLists, want, len(pods))
	}
	if want := (21 + 2) / 3; eventLists != want {
		t.Errorf("event list requests = %d, want %d (one per page of 3 over 21 events)", eventLists, want)
	}
	ns := "/api/v1/namespaces/" + f.ns
	apps := "/apis/apps/v1/namespaces/" + f.ns
	wantGets := map[string]int{
		"/api/v1/nodes/" + n1.Name:                                    1,
		"/api/v1/nodes/" + n2.Name:                                    1,
		ns + "/serviceaccounts/web":                                   1,
		ns + "/serviceaccounts/default":                               1,
		ns + "/secrets/regcred":                                       1,
		apps + "/replicasets/" + webRS.Name:                           1,
		apps + "/replicasets/" + workerRS.Name:                        1,
		"/apis/batch/v1/namespaces/" + f.ns + "/jobs/" + nightly.Name: 1,
	}
	if diff := gocmp.Diff(wantGets, gets); diff != "" {
		t.Errorf("GET requests (-want +got):\n%s", diff)
	}
}

// TestCollectFailingAllNamespaces scans the whole cluster: results are ordered by
// namespace and name, and related failures are counted across namespaces.
func TestCollectFailingAllNamespaces(t *testing.T) {
	f := setup(t)
	g := setup(t)
	host := f.host()
	a := f.failing("b-pod", host+"/app:1", "n-"+f.ns, diagnosis.ReasonErrImagePull)
	f.failing("a-pod", host+"/app:1", "n-"+f.ns, diagnosis.ReasonImagePullBackOff)
	g.failing("a-pod", host+"/other:1", "n-"+g.ns, diagnosis.ReasonErrImagePull)

	got, err := f.collector(later(a), kube.Options{PageSize: 7}).CollectFailing(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSortedFunc(got, func(x, y *diagnosis.Facts) int {
		return cmp.Or(cmp.Compare(x.Pod.Namespace, y.Pod.Namespace), cmp.Compare(x.Pod.Name, y.Pod.Name))
	}) {
		t.Errorf("CollectFailing(\"\") is not ordered by namespace and name")
	}
	var mine []string
	related := map[string]diagnosis.Related{}
	for _, facts := range got {
		if ns := facts.Pod.Namespace; ns == f.ns || ns == g.ns {
			mine = append(mine, facts.Ref().String())
			for img, r := range facts.Related {
				related[facts.Ref().String()+" "+img] = r
			}
		}
	}
	if want := []string{f.ns + "/a-pod", f.ns + "/b-pod", g.ns + "/a-pod"}; !gocmp.Equal(want, mine) {
		t.Errorf("pods = %q, want %q", mine, want)
	}
	both := []string{f.ns, g.ns}
	want := map[string]diagnosis.Related{
		f.ns + "/a-pod " + host + "/app:1":   {Scope: "cluster", SameImagePods: 1, SameRegistryPods: 2, SameRegistryNS: both, Nodes: 2},
		f.ns + "/b-pod " + host + "/app:1":   {Scope: "cluster", SameImagePods: 1, SameRegistryPods: 2, SameRegistryNS: both, Nodes: 2},
		g.ns + "/a-pod " + host + "/other:1": {Scope: "cluster", SameRegistryPods: 2, SameRegistryNS: []string{f.ns}, Nodes: 2},
	}
	if diff := gocmp.Diff(want, related); diff != "" {
		t.Errorf("Related (-want +got):\n%s", diff)
	}
}

// TestCollectFailingNamespace: an empty namespace has no candidates; a missing one is an error.
func TestCollectFailingNamespace(t *testing.T) {
	f := setup(t)
	c := f.collector(time.Now(), kube.Options{})
	got, err := c.CollectFailing(f.ctx, f.ns)
	if err != nil || len(got) != 0 {
		t.Errorf("CollectFailing(empty namespace) = %v, %v; want no facts, no error", got, err)
	}
	if _, err := c.CollectFailing(f.ctx, f.ns+"-typo"); !errors.Is(err, diagnosis.ErrNamespaceNotFound) {
		t.Errorf("CollectFailing(missing namespace) error = %v, want %v", err, diagnosis.ErrNamespaceNotFound)
	}
}
