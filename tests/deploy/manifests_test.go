package deploy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite deploy/kubernetes from the chart")

// plainFile is one file of deploy/kubernetes and how it is made from the chart.
type plainFile struct {
	name   string
	header string
	values map[string]any
	// pick selects the objects (kind/name) in the file; nil: all of them.
	pick []string
}

// exampleValues render the per-feature RBAC files: restarts and pull-secret reads in an
// example namespace, and alerts on.
var exampleValues = map[string]any{
	"rbac":   map[string]any{"restartNamespaces": []any{"payments"}, "secretNamespaces": []any{"payments"}},
	"config": map[string]any{"alerts": map[string]any{"defaultChannel": "#alerts"}},
}

var plainFiles = []plainFile{
	{
		name: "pullcheck.yaml",
		header: `# pullcheck without Helm: the chart rendered with its default values, release "pullcheck" in
# namespace "pullcheck". Create the namespace and the Secret first (README "Install"), then
#   kubectl apply -f deploy/kubernetes/pullcheck.yaml
# Restarts, pull-secret reads and alerts need the Roles in rbac-restart.yaml, rbac.yaml and
# rbac-alerts.yaml (with RoleBindings to ServiceAccount pullcheck/pullcheck), or use the chart.`,
	},
	{
		name: "rbac.yaml",
		header: `# The Kubernetes reads that pullcheck diagnose and scan make, and nothing more, for running the
# CLI as yourself. tests/integration/rbac_test.go proves both directions: with this role no check
# is skipped, and without any one of its rules some read is refused. Bind it to the user that
# runs pullcheck, e.g.:
#   kubectl create clusterrolebinding pullcheck-reader --clusterrole pullcheck-reader --user alice@example.com
# The Role is optional, per namespace (here: payments).`,
		values: exampleValues,
		pick:   []string{"ClusterRole/pullcheck-reader", "Role/pullcheck-pull-secrets"},
	},
	{
		name:   "rbac-restart.yaml",
		header: `# Per namespace where restarts are allowed (here: payments); bind it with a RoleBinding there.`,
		values: exampleValues,
		pick:   []string{"Role/pullcheck-restarter"},
	},
	{
		name: "rbac-alerts.yaml",
		header: `# Channel alerts, in the bot's own namespace (here: pullcheck), for the default state ConfigMap
# and Lease names; bind it with a RoleBinding there.`,
		values: exampleValues,
		pick:   []string{"Role/pullcheck-alerts"},
	},
}

const generatedBy = "# Generated from deploy/helm/pullcheck by `go test ./tests/deploy -run TestPlainManifests -update`\n# (go generate ./tests/deploy). Do not edit: change the chart and regenerate.\n"

// plainManifest renders one file of deploy/kubernetes.
func plainManifest(t *testing.T, f plainFile) string {
	t.Helper()
	objs := mustRender(t, release{Name: "pullcheck", Namespace: "pullcheck", Values: f.values})
	var docs []string
	if f.pick == nil {
		for _, o := range objs {
			docs = append(docs, "# Source: "+o.Source+"\n"+strings.TrimSpace(o.Text)+"\n")
		}
	} else {
		for _, want := range f.pick {
			kind, name, _ := strings.Cut(want, "/")
			found := find(objs, kind, name)
			if len(found) != 1 {
				t.Fatalf("%s: the chart renders %d objects %s; want 1 (%s)", f.name, len(found), want, kinds(objs))
			}
			docs = append(docs, strings.TrimSpace(found[0].Text)+"\n")
		}
	}
	// One document stays one: readers such as yaml.Unmarshal take the first document only.
	return generatedBy + f.header + "\n" + strings.Join(docs, "---\n")
}

// TestPlainManifests: deploy/kubernetes is the chart rendered, byte for byte; -update
// rewrites it.
func TestPlainManifests(t *testing.T) {
	dir := filepath.Join(repo(t), "deploy", "kubernetes")
	for _, f := range plainFiles {
		t.Run(f.name, func(t *testing.T) {
			want := plainManifest(t, f)
			path := filepath.Join(dir, f.name)
			if *update {
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, string(got)); diff != "" {
				t.Errorf("deploy/kubernetes/%s is not the chart rendered (-chart +file); run go generate ./tests/deploy:\n%s", f.name, diff)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		known := false
		for _, f := range plainFiles {
			known = known || f.name == e.Name()
		}
		if !known {
			t.Errorf("deploy/kubernetes/%s is not made from the chart: add it to plainFiles or remove it", e.Name())
		}
	}
}

// TestPlainManifestsApply: the plain install applies on the API server (dry run), with the
// per-feature Roles, in the namespaces they name.
func TestPlainManifestsApply(t *testing.T) {
	ctx := t.Context()
	ensureNamespaces(ctx, t, "pullcheck", "payments")
	a := newApplier(t, cluster.Config)
	for _, f := range plainFiles {
		raw, err := os.ReadFile(filepath.Join(repo(t), "deploy", "kubernetes", f.name))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := splitObjects(f.name, string(raw))
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) == 0 {
			t.Fatalf("%s holds no objects", f.name)
		}
		for _, o := range objs {
			if err := a.apply(ctx, o, true); err != nil {
				t.Error(err)
			}
		}
	}
}

// splitObjects parses a multi-document YAML file.
func splitObjects(name, text string) ([]object, error) {
	var out []object
	for i, doc := range strings.Split(text, "\n---\n") {
		o, err := parseObject(fmt.Sprintf("%s#%d", name, i), doc)
		if err != nil {
			return nil, err
		}
		if o != nil {
			out = append(out, *o)
		}
	}
	return out, nil
}
