package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/handlers"
	"github.com/pullcheck/pullcheck/handlers/detect"
	"github.com/pullcheck/pullcheck/handlers/incident/store"
	"github.com/pullcheck/pullcheck/handlers/rollout"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// setting is what the proof reads from a values file: the namespaces the chart's RBAC is
// about and the names of the alert objects.
type setting struct {
	release, namespace string // the Helm release and its namespace (the bot's own)
	other              string // a namespace the values name nowhere
	restart, secrets   []string
	probeSecrets, scan []string
	readSecrets        bool
	stateConfigMap     string
	lease              string
	sa, rulesConfigMap string // from the rendered objects
}

func (s setting) user() string { return "system:serviceaccount:" + s.namespace + ":" + s.sa }

func (s setting) groups() []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + s.namespace, "system:authenticated"}
}

// workloadNamespaces are the namespaces with failing pods: every namespace the values name,
// and one they do not.
func (s setting) workloadNamespaces() []string {
	all := slices.Concat(s.restart, s.secrets, s.probeSecrets, s.scan, []string{s.other})
	slices.Sort(all)
	return slices.Compact(all)
}

// secretReadable says whether the chart lets the bot get secrets in ns.
func (s setting) secretReadable(ns string) bool {
	return slices.Contains(s.secrets, ns) || slices.Contains(s.probeSecrets, ns)
}

func settingFrom(t *testing.T, rel, namespace, other string, vals map[string]any, objs []object) setting {
	t.Helper()
	strs := func(path ...string) []string {
		var cur any = vals
		for _, p := range path {
			m, _ := cur.(map[string]any)
			cur = m[p]
		}
		var out []string
		list, _ := cur.([]any)
		for _, v := range list {
			out = append(out, v.(string))
		}
		return out
	}
	s := setting{release: rel, namespace: namespace, other: other,
		restart: strs("rbac", "restartNamespaces"), secrets: strs("rbac", "secretNamespaces"),
		probeSecrets: strs("probe", "secretNamespaces"), scan: strs("scanNamespaces"),
		readSecrets: vals["readSecrets"] != false, stateConfigMap: store.DefaultConfigMapName, lease: store.DefaultLeaseName}
	// The chart grants secrets only where the code reads them.
	if !s.readSecrets {
		s.secrets = nil
	}
	if probe, _ := vals["probe"].(map[string]any); probe["enabled"] == false {
		s.probeSecrets = nil
	}
	if a, ok := vals["config"].(map[string]any)["alerts"].(map[string]any); ok {
		if v, ok := a["stateConfigMap"].(string); ok {
			s.stateConfigMap = v
		}
		if v, ok := a["leaseName"].(string); ok {
			s.lease = v
		}
	} else {
		t.Fatal("the proof needs values with alerts on")
	}
	s.sa = one(t, objs, "ServiceAccount").GetName()
	s.rulesConfigMap = one(t, objs, "ConfigMap").GetName()
	return s
}

// TestLeastPrivilege installs the chart with every option on and proves its RBAC both ways.
// The bot's code (the collector behind diagnose, scan and /pullcheck; the registry probe's
// secret reads; the restarter and its rollout follow-up; the alert state store, the leader
// election and the pod watch) runs as the chart's ServiceAccount through a recording
// transport:
//   - every request it makes is allowed, except secret reads outside the opted-in
//     namespaces, which are refused and reported as skipped checks;
//   - every permission the chart grants (a SubjectAccessReview for every verb on every
//     resource and subresource the server serves, cluster-wide and in every namespace
//     involved) is used by some recorded request.
func TestLeastPrivilege(t *testing.T) {
	installServiceMonitorCRD(t.Context(), t)
	for _, p := range []struct{ name, file, release, namespace, other string }{
		{"socket-scan-namespaces", "values-all-socket.yaml", "proof", "proof-socket", "elsewhere-socket"},
		{"http-all-namespaces", "values-all-http.yaml", "proof-http", "proof-http", "elsewhere-http"},
	} {
		t.Run(p.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			vals := valuesFile(t, p.file)
			objs := mustRender(t, release{Name: p.release, Namespace: p.namespace, KubeVersion: serverVersion(t), Values: vals})
			s := settingFrom(t, p.release, p.namespace, p.other, vals, objs)
			ensureNamespaces(ctx, t, append(s.workloadNamespaces(), s.namespace)...)
			a := newApplier(t, cluster.Config)
			for _, o := range objs {
				if err := a.apply(ctx, o, false); err != nil {
					t.Fatal(err)
				}
			}
			admin := fastAdmin(t)
			waitForGrants(ctx, t, admin, s, objs)
			seed(ctx, t, s)

			rec := newRecorder()
			cfg := rest.CopyConfig(cluster.Config)
			cfg.Impersonate = rest.ImpersonationConfig{UserName: s.user(), Groups: s.groups()}
			cfg.WrapTransport = rec.wrap
			cfg.QPS, cfg.Burst = 200, 400
			bot, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			runTheCode(ctx, t, bot, rec, s)
			calls := rec.snapshot()
			checkCallsAllowed(t, calls, s)
			checkGrantsUsed(ctx, t, admin, calls, s)
			checkRefusals(ctx, t, admin, s)
		})
	}
}

// fastAdmin is an administrator client without client-side rate limits, for the thousands
// of access reviews.
func fastAdmin(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// allowed asks the authorizer whether the bot may do attrs.
func allowed(ctx context.Context, admin kubernetes.Interface, s setting, attrs authorizationv1.ResourceAttributes) (bool, error) {
	return allowedFor(ctx, admin, s.user(), s.groups(), attrs)
}

func allowedFor(ctx context.Context, admin kubernetes.Interface, user string, groups []string, attrs authorizationv1.ResourceAttributes) (bool, error) {
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups, ResourceAttributes: &attrs}}
	got, err := admin.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return got.Status.Allowed, nil
}

// waitForGrants waits until the authorizer has seen every rule of the chart's roles (RBAC
// reads them through an informer).
func waitForGrants(ctx context.Context, t *testing.T, admin kubernetes.Interface, s setting, objs []object) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
			continue
		}
		var role rbacv1.ClusterRole
		into(t, object{Source: o.Source, Unstructured: o.Unstructured}, &role)
		for _, r := range role.Rules {
			attrs := authorizationv1.ResourceAttributes{Namespace: o.GetNamespace(), Verb: r.Verbs[0], Group: r.APIGroups[0], Resource: r.Resources[0]}
			if len(r.ResourceNames) > 0 {
				attrs.Name = r.ResourceNames[0]
			}
			err := pollUntil(ctx, func() (bool, error) { return allowed(ctx, admin, s, attrs) })
			if err != nil {
				t.Fatalf("%s: the bot never gets %+v: %v", o, attrs, err)
			}
		}
	}
}

const (
	failingImage = "registry.example.com/team/api:1.0"
	nodeName     = "node-1"
)

// seed writes, as the administrator, what the code reads: a node, and in every workload
// namespace a pull secret, a Deployment and a Job whose pods fail to pull, and in the
// restart namespaces a StatefulSet and a DaemonSet too.
func seed(ctx context.Context, t *testing.T, s setting) {
	t.Helper()
	c := cluster.Client
	if _, err := cluster.CreateNode(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	spec := corev1.PodSpec{
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
		Containers:       []corev1.Container{{Name: "api", Image: failingImage}},
	}
	for _, ns := range s.workloadNamespaces() {
		if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		secret := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "regcred"},
			Type:       corev1.SecretTypeDockerConfigJson,
			Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"registry.example.com":{"username":"ci","password":"s3cret"}}}`)},
		}
		if _, err := c.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, rs, err := cluster.CreateDeployment(ctx, ns, "api", spec)
		if err != nil {
			t.Fatal(err)
		}
		failPod(ctx, t, kubetest.PodFor(ns, "api-0", spec, rs))
		jobSpec := *spec.DeepCopy()
		jobSpec.RestartPolicy = corev1.RestartPolicyNever
		job, err := cluster.CreateJob(ctx, ns, "report", jobSpec)
		if err != nil {
			t.Fatal(err)
		}
		failPod(ctx, t, kubetest.PodFor(ns, "report-0", jobSpec, job))
		if slices.Contains(s.restart, ns) {
			if _, err := cluster.CreateStatefulSet(ctx, ns, "db", spec); err != nil {
				t.Fatal(err)
			}
			if _, err := cluster.CreateDaemonSet(ctx, ns, "agent", spec); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func failPod(ctx context.Context, t *testing.T, pod *corev1.Pod) {
	t.Helper()
	created, err := cluster.CreatePod(ctx, pod, nodeName)
	if err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf(`Back-off pulling image %q: ErrImagePull: failed to pull and unpack image "%s": failed to resolve reference "%s": %s: not found`, failingImage, failingImage, failingImage, failingImage)
	if _, err := cluster.SetContainerWaiting(ctx, created, pod.Spec.Containers[0].Name, "ImagePullBackOff", msg); err != nil {
		t.Fatal(err)
	}
}

// runTheCode runs every piece of the bot that talks to the Kubernetes API, as the bot.
func runTheCode(ctx context.Context, t *testing.T, bot kubernetes.Interface, rec *recorder, s setting) {
	t.Helper()
	// Diagnoses and scans (diagnose, scan, /pullcheck, the alert scans).
	collector := kube.NewCollector(bot, kube.Options{Context: "envtest", ReadSecrets: s.readSecrets})
	for _, ns := range s.workloadNamespaces() {
		for _, pod := range []string{"api-0", "report-0"} {
			f, err := collector.Collect(ctx, diagnosis.PodRef{Namespace: ns, Name: pod})
			if err != nil {
				t.Fatalf("diagnose %s/%s as the bot: %v", ns, pod, err)
			}
			var skipped []string
			for _, sk := range f.Skipped {
				skipped = append(skipped, sk.Check+" ("+sk.Needs+")")
			}
			switch {
			case s.readSecrets && !s.secretReadable(ns):
				// The one refusal by design: secrets outside the opted-in namespaces.
				if len(f.PullSecrets) != 1 || f.PullSecrets[0].Status != diagnosis.SecretForbidden {
					t.Errorf("diagnose %s/%s: pull secret %+v; want it forbidden (namespace not opted in)", ns, pod, f.PullSecrets)
				}
				if len(skipped) != 1 || !strings.Contains(skipped[0], "get secrets in namespace "+ns) {
					t.Errorf("diagnose %s/%s skipped %q; want only the secret check", ns, pod, skipped)
				}
			case !s.readSecrets:
				if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "pull-secrets") {
					t.Errorf("diagnose %s/%s skipped %q; want only the pull-secret check (readSecrets is off)", ns, pod, skipped)
				}
			case len(skipped) > 0:
				t.Errorf("diagnose %s/%s as the bot skipped %q; want every check to run", ns, pod, skipped)
			}
			if f.Workload == nil || f.Workload.Kind != map[string]string{"api-0": "Deployment", "report-0": "Job"}[pod] {
				t.Errorf("diagnose %s/%s: workload %+v; the owner chain was not read", ns, pod, f.Workload)
			}
		}
		if _, err := collector.CollectFailing(ctx, ns); err != nil {
			t.Fatalf("scan %s as the bot: %v", ns, err)
		}
	}
	if _, err := collector.CollectFailing(ctx, ""); err != nil {
		t.Fatalf("scan all namespaces as the bot: %v", err)
	}
	if _, err := collector.Collect(ctx, diagnosis.PodRef{Namespace: "no-such-namespace", Name: "x"}); !errors.Is(err, diagnosis.ErrNamespaceNotFound) {
		t.Errorf("diagnose in a missing namespace: %v; want ErrNamespaceNotFound", err)
	}

	// The registry probe's credentials, in the namespaces opted in for it.
	creds := kube.NewSecretCredentials(bot, s.probeSecrets)
	img := diagnosis.ParseImage(failingImage)
	for _, ns := range s.probeSecrets {
		if c, err := creds.PullSecretCredentials(ctx, ns, "regcred", img); err != nil || c == nil {
			t.Errorf("probe credentials in %s as the bot: %v, %v", ns, c, err)
		}
	}

	// Restarts and their follow-up, in the restart namespaces.
	r := rollout.New(bot, nil)
	for _, ns := range s.restart {
		for kind, name := range map[string]string{"Deployment": "api", "StatefulSet": "db", "DaemonSet": "agent"} {
			target := handlers.RestartTarget{Namespace: ns, Kind: kind, Name: name, OfferID: "offer-" + ns + "-" + name, ApprovedBy: "U012ABCDEF"}
			if _, err := r.Restart(ctx, target); err != nil {
				t.Fatalf("restart %s %s/%s as the bot: %v", kind, ns, name, err)
			}
			resource := strings.ToLower(kind) + "s"
			runUntil(ctx, t, rec, fmt.Sprintf("follow %s %s/%s", kind, ns, name), func(ctx context.Context) error {
				_, err := r.Follow(ctx, target, nil)
				return err
			}, func(c call) bool {
				return c.Verb == "watch" && c.Resource == resource && c.Namespace == ns && c.Name == name && c.Status == 200
			},
				func(c call) bool {
					return c.Verb == "watch" && c.Resource == "pods" && c.Namespace == ns && c.Status == 200
				})
		}
	}

	// The alert state, in the bot's namespace.
	st := store.NewConfigMapStore(bot, s.namespace, s.stateConfigMap)
	if _, _, err := st.Load(ctx); err != nil {
		t.Fatalf("load the alert state as the bot: %v", err)
	}
	v1, err := st.Save(ctx, []byte(`{"incidents":[]}`), "")
	if err != nil {
		t.Fatalf("save (create) the alert state as the bot: %v", err)
	}
	if _, err := st.Save(ctx, []byte(`{"incidents":[1]}`), v1); err != nil {
		t.Fatalf("save (update) the alert state as the bot: %v", err)
	}

	// Leader election on the Lease: acquire, renew, release.
	el, err := store.NewElector(bot, s.namespace, s.namespace+"-replica-0", store.ElectorConfig{LeaseName: s.lease,
		LeaseDuration: 2 * time.Second, RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	leading := make(chan struct{})
	var once sync.Once
	ectx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		el.Run(ectx, func(lctx context.Context) {
			once.Do(func() { close(leading) })
			<-lctx.Done()
		})
	}()
	select {
	case <-leading:
	case <-ctx.Done():
		t.Fatal("the bot never acquired the Lease")
	}
	renewed := func(c call) bool {
		return c.Verb == "update" && c.Resource == "leases" && c.Name == s.lease && c.Status == 200
	}
	if err := rec.waitFor(ctx, "lease renewal", renewed); err != nil {
		t.Fatal(err)
	}
	stop()
	<-done

	// The alerts' pod watch: in the scan namespaces, or all of them.
	w, err := detect.NewPodWatch(bot, s.scan, func(context.Context, diagnosis.PodRef) {}, func(context.Context, diagnosis.PodRef) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	watched := s.scan
	if len(watched) == 0 {
		watched = []string{""}
	}
	var conds []func(call) bool
	for _, ns := range watched {
		conds = append(conds, func(c call) bool {
			return c.Verb == "watch" && c.Resource == "pods" && c.Namespace == ns && c.Status == 200
		})
	}
	runUntil(ctx, t, rec, "pod watch", w.Run, conds...)
}

// runUntil runs fn until the recorder has seen every condition, then cancels it and waits
// for it to return.
func runUntil(ctx context.Context, t *testing.T, rec *recorder, what string, fn func(context.Context) error, conds ...func(call) bool) {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- fn(rctx) }()
	// Stop waiting when fn gives up early (say, on a refused request).
	wctx, stopWaiting := context.WithCancel(ctx)
	defer stopWaiting()
	var fnErr error
	returned := make(chan struct{})
	go func() {
		fnErr = <-errc
		close(returned)
		stopWaiting()
	}()
	for _, cond := range conds {
		if err := rec.waitFor(wctx, what, cond); err != nil {
			cancel()
			<-returned
			t.Fatalf("%s as the bot: %v (it returned %v)", what, err, fnErr)
		}
	}
	cancel()
	<-returned
	if fnErr != nil && !errors.Is(fnErr, context.Canceled) {
		t.Fatalf("%s as the bot: %v", what, fnErr)
	}
}

// checkCallsAllowed: no request the code made was refused, but for secret reads outside the
// opted-in namespaces; and such a read was tried and refused.
func checkCallsAllowed(t *testing.T, calls []call, s setting) {
	t.Helper()
	refusedSecret := false
	for _, c := range calls {
		if c.Status != 403 {
			continue
		}
		if c.Resource == "secrets" && c.Verb == "get" && !s.secretReadable(c.Namespace) {
			refusedSecret = true
			continue
		}
		t.Errorf("the code called %s, which the chart does not grant (403)", c)
	}
	if s.readSecrets && !refusedSecret {
		t.Errorf("no secret read outside the opted-in namespaces was refused; %s was not tried", "get secrets in "+s.other)
	}
	if len(calls) < 50 {
		t.Fatalf("only %d requests were recorded; the recorder is not in the path", len(calls))
	}
}

// access is one thing the bot might do: a verb on a resource (or subresource), cluster-wide
// (namespace "") or in a namespace.
type access struct {
	verb, group, resource, namespace string
}

func (a access) String() string {
	r := a.resource
	if a.group != "" {
		r += "." + a.group
	}
	where := "cluster-wide"
	if a.namespace != "" {
		where = "in " + a.namespace
	}
	return a.verb + " " + r + " " + where
}

func (a access) attrs() authorizationv1.ResourceAttributes {
	res, sub, _ := strings.Cut(a.resource, "/")
	return authorizationv1.ResourceAttributes{Verb: a.verb, Group: a.group, Resource: res, Subresource: sub, Namespace: a.namespace}
}

// everyAccess lists every verb on every resource and subresource the server serves, in
// every scope that matters to s, plus the verbs RBAC checks that discovery does not list.
func everyAccess(t *testing.T, s setting) []access {
	t.Helper()
	_, lists, err := cluster.Client.Discovery().ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	scopes := append([]string{"", s.namespace}, s.workloadNamespaces()...)
	seen := map[access]bool{}
	var out []access
	add := func(a access) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			verbs := slices.Clone([]string(r.Verbs))
			switch r.Name {
			case "roles", "clusterroles":
				verbs = append(verbs, "bind", "escalate")
			case "serviceaccounts":
				verbs = append(verbs, "impersonate")
			}
			for _, v := range verbs {
				if !r.Namespaced {
					add(access{v, gv.Group, r.Name, ""})
					continue
				}
				for _, ns := range scopes {
					add(access{v, gv.Group, r.Name, ns})
				}
			}
		}
	}
	for _, r := range []string{"users", "groups", "uids"} {
		add(access{"impersonate", "", r, ""})
	}
	for _, ns := range scopes {
		add(access{"*", "*", "*", ns})
	}
	return out
}

// checkGrantsUsed: every access the chart grants (beyond what any ServiceAccount may do) is
// one the code uses. A grant in a namespace is used by a request there or cluster-wide, or by
// a request in a namespace the values do not name (which only a cluster-wide grant serves); a
// cluster-wide grant by a cluster-wide request, or by such a namespace's.
func checkGrantsUsed(ctx context.Context, t *testing.T, admin kubernetes.Interface, calls []call, s setting) {
	t.Helper()
	all := everyAccess(t, s)
	granted := make([]bool, len(all))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, a := range all {
		g.Go(func() error {
			ok, err := allowed(gctx, admin, s, a.attrs())
			if err != nil {
				return err
			}
			if ok {
				// What every ServiceAccount may do (system:basic-user and the like) is not
				// the chart's doing.
				base, err := allowedFor(gctx, admin, "system:serviceaccount:"+s.other+":default", []string{"system:serviceaccounts", "system:serviceaccounts:" + s.other, "system:authenticated"}, a.attrs())
				if err != nil {
					return err
				}
				granted[i] = !base
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	type use struct{ verb, group, resource string }
	usedIn := map[use]map[string]bool{}
	for _, c := range calls {
		if c.Status == 403 {
			continue
		}
		u := use{c.Verb, c.Group, c.Resource}
		if c.Subresource != "" {
			u.resource += "/" + c.Subresource
		}
		if usedIn[u] == nil {
			usedIn[u] = map[string]bool{}
		}
		usedIn[u][c.Namespace] = true
	}
	var grants []string
	for i, a := range all {
		if !granted[i] {
			continue
		}
		grants = append(grants, a.String())
		in := usedIn[use{a.verb, a.group, a.resource}]
		if in[a.namespace] || in[""] || in[s.other] {
			continue
		}
		t.Errorf("the chart grants %s, which the code never does", a)
	}
	sort.Strings(grants)
	t.Logf("the chart grants (beyond any ServiceAccount):\n  %s", strings.Join(grants, "\n  "))
	if len(grants) == 0 {
		t.Fatal("no grants found: the access reviews are not asking about the chart's ServiceAccount")
	}
}

// checkRefusals spells out what the issue asks the bot not to be able to do.
func checkRefusals(ctx context.Context, t *testing.T, admin kubernetes.Interface, s setting) {
	t.Helper()
	var refuse []authorizationv1.ResourceAttributes
	notOptedIn := []string{"", s.other, s.namespace}
	for _, ns := range s.restart {
		if !s.secretReadable(ns) {
			notOptedIn = append(notOptedIn, ns)
		}
	}
	for _, ns := range notOptedIn {
		for _, v := range []string{"get", "list", "watch"} {
			refuse = append(refuse, authorizationv1.ResourceAttributes{Verb: v, Resource: "secrets", Namespace: ns, Name: "regcred"})
		}
	}
	for _, ns := range slices.Concat([]string{"", s.other, s.namespace}, s.secrets, s.scan) {
		if slices.Contains(s.restart, ns) {
			continue
		}
		for _, res := range []string{"deployments", "statefulsets", "daemonsets"} {
			for _, v := range []string{"update", "patch"} {
				refuse = append(refuse, authorizationv1.ResourceAttributes{Verb: v, Group: "apps", Resource: res, Namespace: ns, Name: "api"})
			}
		}
	}
	for _, ns := range s.restart {
		for _, v := range []string{"patch", "delete", "create"} {
			refuse = append(refuse, authorizationv1.ResourceAttributes{Verb: v, Group: "apps", Resource: "deployments", Namespace: ns, Name: "api"})
		}
		refuse = append(refuse,
			authorizationv1.ResourceAttributes{Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: ns, Name: "api"},
			authorizationv1.ResourceAttributes{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: ns, Name: "api-0"},
			authorizationv1.ResourceAttributes{Verb: "delete", Resource: "pods", Namespace: ns, Name: "api-0"})
	}
	// Its own rules (the approvers!) and any other ConfigMap or Lease in its namespace.
	for _, v := range []string{"get", "update", "patch", "delete"} {
		refuse = append(refuse,
			authorizationv1.ResourceAttributes{Verb: v, Resource: "configmaps", Namespace: s.namespace, Name: s.rulesConfigMap},
			authorizationv1.ResourceAttributes{Verb: v, Group: "coordination.k8s.io", Resource: "leases", Namespace: s.namespace, Name: "someone-elses-lease"})
	}
	refuse = append(refuse,
		authorizationv1.ResourceAttributes{Verb: "create", Resource: "serviceaccounts", Subresource: "token", Namespace: s.namespace, Name: s.sa},
		authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "users", Name: "admin"},
		authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: s.namespace},
		authorizationv1.ResourceAttributes{Verb: "create", Resource: "configmaps", Namespace: s.other},
		authorizationv1.ResourceAttributes{Verb: "create", Group: "coordination.k8s.io", Resource: "leases", Namespace: s.other})
	for _, a := range refuse {
		ok, err := allowed(ctx, admin, s, a)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Errorf("the bot may %s %s/%s %q in namespace %q; it must not", a.Verb, a.Resource, a.Subresource, a.Name, a.Namespace)
		}
	}
}
