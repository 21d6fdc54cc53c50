package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/klog/v2"
	"sigs.k8s.io/yaml"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// cluster is the API server all tests share; each test keeps to its own namespaces and
// release names.
var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// client-go's leader election logs through klog; the tests read the Lease instead.
	klog.SetLogger(logr.Discard())
	var err error
	cluster, err = kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Stop()
	if err := checkRBACIsOn(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// checkRBACIsOn makes sure the server authorizes with RBAC (envtest's default
// --authorization-mode=RBAC): a user nothing is bound to is refused. Without it every
// least-privilege test here would pass vacuously.
func checkRBACIsOn(ctx context.Context) error {
	_, nobody, err := cluster.As("nobody-at-all")
	if err != nil {
		return err
	}
	_, err = nobody.CoreV1().Secrets("default").List(ctx, metav1.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		return fmt.Errorf("the API server lets a user without bindings list secrets (err %v): RBAC authorization is off", err)
	}
	return nil
}

// repo returns the repository root.
func repo(t testing.TB) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(self), "..", "..")
}

func chartDir(t testing.TB) string { return filepath.Join(repo(t), "deploy", "helm", "pullcheck") }

// object is one rendered manifest document.
type object struct {
	Source string // the template it came from, e.g. pullcheck/templates/deployment.yaml
	Text   string // the document as rendered, comments kept
	*unstructured.Unstructured
}

func (o object) String() string {
	return fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
}

// defaultKubeVersion is the Kubernetes version renders are made for when the test has no
// server at hand (hack/control-plane.sh builds this version for the tests).
const defaultKubeVersion = "v1.37.2"

// release says what to render.
type release struct {
	Name, Namespace string
	// KubeVersion is the server version the chart is rendered for (.Capabilities).
	KubeVersion string
	Values      map[string]any
}

// render renders the chart as `helm install` (and `helm template`) does: values coalesced
// with values.yaml and validated against values.schema.json, the chart's kubeVersion
// constraint checked, templates rendered (NOTES.txt included, so its errors count), and the
// manifests split and sorted in Helm's install order.
func render(t testing.TB, r release) ([]object, error) {
	t.Helper()
	ch, err := loader.Load(chartDir(t))
	if err != nil {
		return nil, fmt.Errorf("load chart: %w", err)
	}
	return renderChart(ch, r)
}

func renderChart(ch *chart.Chart, r release) ([]object, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	version := r.KubeVersion
	if version == "" {
		version = defaultKubeVersion
	}
	kv, err := chartutil.ParseKubeVersion(version)
	if err != nil {
		return nil, err
	}
	caps.KubeVersion = *kv
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion %s, which is incompatible with %s", c, caps.KubeVersion.String())
	}
	vals, err := chartutil.ToRenderValues(ch, r.Values, chartutil.ReleaseOptions{Name: r.Name, Namespace: r.Namespace, Revision: 1, IsInstall: true}, caps)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}
	if len(hooks) > 0 {
		return nil, fmt.Errorf("the chart has %d hooks; it should have none", len(hooks))
	}
	var out []object
	for _, m := range manifests {
		o, err := parseObject(m.Name, m.Content)
		if err != nil {
			return nil, err
		}
		if o != nil {
			out = append(out, *o)
		}
	}
	return out, nil
}

// parseObject parses one YAML document; nil when it holds only comments.
func parseObject(source, text string) (*object, error) {
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(text), &u.Object); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(u.Object) == 0 {
		return nil, nil
	}
	return &object{Source: source, Text: text, Unstructured: u}, nil
}

// notes renders NOTES.txt.
func notes(t testing.TB, r release) string {
	t.Helper()
	ch, err := loader.Load(chartDir(t))
	if err != nil {
		t.Fatal(err)
	}
	vals, err := chartutil.ToRenderValues(ch, r.Values, chartutil.ReleaseOptions{Name: r.Name, Namespace: r.Namespace, Revision: 1, IsInstall: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatal(err)
	}
	return files["pullcheck/templates/NOTES.txt"]
}

// mustRender renders or fails the test.
func mustRender(t testing.TB, r release) []object {
	t.Helper()
	objs, err := render(t, r)
	if err != nil {
		t.Fatalf("render %s: %v", r.Name, err)
	}
	return objs
}

// valuesFile reads testdata/<name>.
func valuesFile(t testing.TB, name string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValuesFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// find returns the objects of kind (and name, when given).
func find(objs []object, kind, name string) []object {
	var out []object
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single object of kind, or fails.
func one(t testing.TB, objs []object, kind string) object {
	t.Helper()
	found := find(objs, kind, "")
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s; want 1", len(found), kind)
	}
	return found[0]
}

// into converts a rendered object into a typed one, rejecting unknown fields.
func into(t testing.TB, o object, v any) {
	t.Helper()
	raw, err := json.Marshal(o.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, v); err != nil {
		t.Fatalf("%s: %v", o, err)
	}
}

// serverVersion is the API server's version, for .Capabilities.KubeVersion.
func serverVersion(t testing.TB) string {
	t.Helper()
	v, err := cluster.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	return v.GitVersion
}

// applier applies objects with server-side apply, as `kubectl apply --server-side` does.
type applier struct {
	mapper meta.RESTMapper
	client dynamic.Interface
}

func newApplier(t testing.TB, cfg *rest.Config) *applier {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), client: dyn}
}

// apply applies o; with dryRun the server runs admission and validation and stores nothing.
func (a *applier) apply(ctx context.Context, o object, dryRun bool) error {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s: the server does not serve %s: %w", o, gvk, err)
	}
	var ri dynamic.ResourceInterface = a.client.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if o.GetNamespace() == "" {
			return fmt.Errorf("%s (%s) has no namespace: kubectl apply would put it in the current one", o, o.Source)
		}
		ri = a.client.Resource(m.Resource).Namespace(o.GetNamespace())
	} else if o.GetNamespace() != "" {
		return fmt.Errorf("%s is cluster-scoped but has a namespace", o)
	}
	raw, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "helm", Force: &force}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := ri.Patch(ctx, o.GetName(), types.ApplyPatchType, raw, opts); err != nil {
		return fmt.Errorf("apply %s (%s): %w", o, o.Source, err)
	}
	return nil
}

// ensureNamespaces creates the namespaces (ignoring those that exist).
func ensureNamespaces(ctx context.Context, t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := cluster.Client.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); err == nil {
			continue
		}
		if _, err := cluster.CreateNamespace(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
}

// installServiceMonitorCRD installs a ServiceMonitor CRD that accepts any spec: the server
// checks the object's kind, version and metadata; TestServiceMonitorFields checks the spec
// against prometheus-operator's Go types.
func installServiceMonitorCRD(ctx context.Context, t testing.TB) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "servicemonitor-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(raw, &u.Object); err != nil {
		t.Fatal(err)
	}
	a := newApplier(t, cluster.Config)
	if err := a.apply(ctx, object{Source: "testdata/servicemonitor-crd.yaml", Unstructured: u}, false); err != nil {
		t.Fatal(err)
	}
	// Wait until the server serves the new kind (discovery is refreshed per applier).
	err = pollUntil(ctx, func() (bool, error) {
		_, err := cluster.Client.Discovery().ServerResourcesForGroupVersion("monitoring.coreos.com/v1")
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("ServiceMonitor CRD not served: %v", err)
	}
}

// kinds lists the kinds of objs, sorted, for failure messages.
func kinds(objs []object) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

var getOpts = metav1.GetOptions{}

// port returns the container port named name (0 when missing).
func port(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// env returns the container's variable name, or nil.
func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// subset reports whether every label of sel is in labels (and sel is not empty).
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func yamlUnmarshal(s string, v any) error { return yaml.Unmarshal([]byte(s), v) }
