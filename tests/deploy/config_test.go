package deploy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/pullcheck/pullcheck/config"
)

var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)

// envVarsRead lists the environment variables the code reads: string literals passed to
// lookupEnv / get / os.Getenv / os.LookupEnv in the config package and package main.
func envVarsRead(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"config", "."} {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, filepath.Join(repo(t), dir), func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range pkgs {
			for name, f := range pkg.Files {
				ast.Inspect(f, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || len(call.Args) == 0 {
						return true
					}
					var fn string
					switch f := call.Fun.(type) {
					case *ast.Ident:
						fn = f.Name
					case *ast.SelectorExpr:
						fn = f.Sel.Name
					}
					switch fn {
					case "lookupEnv", "get", "Getenv", "LookupEnv":
					default:
						return true
					}
					lit, ok := call.Args[0].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						return true
					}
					v, err := strconv.Unquote(lit.Value)
					if err == nil && envName.MatchString(v) {
						out[v] = filepath.Base(name)
					}
					return true
				})
			}
		}
	}
	if len(out) < 15 {
		t.Fatalf("found only %d environment variables: %v", len(out), out)
	}
	return out
}

// readmeSection returns the README section under heading (up to the next "## ").
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repo(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	rest := text[i+len(heading)+2:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// notInChart are variables the chart has no reason to set.
var notInChart = map[string]string{
	"NO_COLOR": "colours the CLI's terminal output; the bot logs JSON",
}

// TestConfigurationReference: every environment variable the code reads is in the README's
// configuration reference, and the chart sets each one it needs (all-options renders).
func TestConfigurationReference(t *testing.T) {
	vars := envVarsRead(t)
	ref := readmeSection(t, "## Configuration reference")
	set := map[string]bool{}
	for _, v := range variants[1:] {
		objs := mustRender(t, release{Name: v.release, Namespace: v.namespace, Values: valuesFile(t, v.file)})
		var d appsv1.Deployment
		into(t, one(t, objs, "Deployment"), &d)
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			set[e.Name] = true
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range vars {
			if !yield(k) {
				return
			}
		}
	})
	for _, name := range names {
		if !strings.Contains(ref, "`"+name+"`") {
			t.Errorf("%s (read in %s) is missing from the README's configuration reference", name, vars[name])
		}
		if _, skip := notInChart[name]; !set[name] && !skip {
			t.Errorf("%s (read in %s) is never set by the chart", name, vars[name])
		}
	}
	for name := range set {
		// GOMEMLIMIT is read by the Go runtime.
		if _, read := vars[name]; !read && name != "AWS_REGION" && name != "GOMEMLIMIT" {
			t.Errorf("the chart sets %s, which the code does not read", name)
		}
	}
	// The rules file's keys are documented too.
	for _, key := range jsonKeys(reflect.TypeFor[config.SlackRules]()) {
		if !strings.Contains(ref, "`"+key+"`") {
			t.Errorf("rules key %s is missing from the configuration reference", key)
		}
	}
	for _, want := range []string{"(#channel-alerts)", "values.yaml"} {
		if !strings.Contains(ref, want) {
			t.Errorf("the configuration reference does not link %s", want)
		}
	}
}

// jsonKeys returns the JSON keys of a struct type.
func jsonKeys(typ reflect.Type) []string {
	var out []string
	for f := range typ.Fields() {
		if k, _, _ := strings.Cut(f.Tag.Get("json"), ","); k != "" && k != "-" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// TestSchemaMatchesConfigTypes: values.schema.json's config (the rules file) and
// config.alerts accept exactly the keys the config package reads, so a new setting cannot
// be forgotten in the chart and a removed one cannot linger.
func TestSchemaMatchesConfigTypes(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Config struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"config"`
		} `json:"properties"`
		Definitions struct {
			Alerts struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"alerts"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]json.RawMessage) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	if got, want := keys(schema.Properties.Config.Properties), jsonKeys(reflect.TypeFor[config.SlackRules]()); !slices.Equal(got, want) {
		t.Errorf("schema config keys %q; config.SlackRules reads %q", got, want)
	}
	if got, want := keys(schema.Definitions.Alerts.Properties), jsonKeys(reflect.TypeFor[config.Alerts]()); !slices.Equal(got, want) {
		t.Errorf("schema config.alerts keys %q; config.Alerts reads %q", got, want)
	}
}

// TestBotAcceptsTheChartsConfiguration loads the settings with the bot's own config
// package from what the chart gives the container: its environment (Secret values from the
// chart-made Secret, or valid tokens for an existing one; the downward API filled in) and
// the rules file from its ConfigMap. The bot accepts them, and the alert state and Lease
// names it will use are the ones the chart's Role is pinned to.
func TestBotAcceptsTheChartsConfiguration(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r := release{Name: v.release, Namespace: v.namespace}
			if v.file != "" {
				r.Values = valuesFile(t, v.file)
			}
			objs := mustRender(t, r)
			var d appsv1.Deployment
			into(t, one(t, objs, "Deployment"), &d)
			var cm corev1.ConfigMap
			into(t, one(t, objs, "ConfigMap"), &cm)
			secret := map[string]string{"SLACK_BOT_TOKEN": "xoxb-1-2-3", "SLACK_APP_TOKEN": "xapp-1-2-3", "SLACK_SIGNING_SECRET": "s", "PULLCHECK_RESTART_KEY": strings.Repeat("k", 32)}
			if s := find(objs, "Secret", ""); len(s) == 1 {
				var sec corev1.Secret
				into(t, s[0], &sec)
				secret = map[string]string{}
				for k, b := range sec.Data {
					secret[k] = string(b)
				}
			}
			c := d.Spec.Template.Spec.Containers[0]
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					env[e.Name] = e.Value
				case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
					env[e.Name] = v.namespace
				case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
					env[e.Name] = d.Name + "-7d9f8c6b5-x2x4z"
				case e.ValueFrom.ResourceFieldRef != nil && e.Name == "GOMEMLIMIT" && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
					// The Go runtime's soft limit: the container's memory limit in bytes.
					if c.Resources.Limits.Memory().IsZero() {
						t.Errorf("GOMEMLIMIT comes from limits.memory, which is not set")
					}
				case e.ValueFrom.SecretKeyRef != nil:
					if val, ok := secret[e.ValueFrom.SecretKeyRef.Key]; ok {
						env[e.Name] = val
					} else if e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional {
						t.Errorf("%s needs key %s, which the Secret lacks", e.Name, e.ValueFrom.SecretKeyRef.Key)
					}
				default:
					t.Errorf("%s: unexpected source %+v", e.Name, e.ValueFrom)
				}
			}
			lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
			mount := ""
			for _, m := range c.VolumeMounts {
				if m.Name == "config" {
					mount = m.MountPath
				}
			}
			readFile := func(path string) ([]byte, error) {
				if dir, key := filepath.Split(path); filepath.Clean(dir) == mount {
					if data, ok := cm.Data[key]; ok {
						return []byte(data), nil
					}
				}
				return nil, fs.ErrNotExist
			}
			if _, err := config.Load(lookup); err != nil {
				t.Errorf("config.Load: %v", err)
			}
			s, err := config.LoadSlack(lookup, readFile)
			if err != nil {
				t.Fatalf("config.LoadSlack: %v", err)
			}
			if s.Namespace != v.namespace || s.Identity == "" {
				t.Errorf("namespace %q, identity %q; want the pod's (downward API)", s.Namespace, s.Identity)
			}
			if got, want := s.HealthListen, ":"+itoa(port(c, "health")); got != want {
				t.Errorf("health listens on %s; the probes use %s", got, want)
			}
			if s.Mode == "http" {
				if got, want := s.Listen, ":"+itoa(port(c, "http")); got != want {
					t.Errorf("HTTP mode listens on %s; the container port is %s", got, want)
				}
			}
			a := s.Rules.Alerts
			alertsRole := false
			for _, o := range find(objs, "Role", "") {
				alertsRole = alertsRole || strings.HasSuffix(o.GetName(), "-alerts")
			}
			if (a != nil) != alertsRole {
				t.Errorf("alerts configured %v, alerts Role rendered %v", a != nil, alertsRole)
			}
			if a == nil {
				return
			}
			names := map[string][]string{}
			for _, o := range find(objs, "Role", "") {
				var role rbacv1.Role
				into(t, o, &role)
				for _, rule := range role.Rules {
					for _, res := range rule.Resources {
						names[res] = append(names[res], rule.ResourceNames...)
					}
				}
			}
			if !slices.Equal(names["configmaps"], []string{a.StateConfigMap}) || !slices.Equal(names["leases"], []string{a.LeaseName}) {
				t.Errorf("the bot keeps its state in ConfigMap %q and Lease %q; the chart's Role is pinned to %q and %q",
					a.StateConfigMap, a.LeaseName, names["configmaps"], names["leases"])
			}
		})
	}
}
