package deploy

import (
	"fmt"
	"go/ast"
	"go/types"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// apiUse is a verb on a resource that the code's Kubernetes client calls can make.
type apiUse struct{ verb, group, resource string }

func (u apiUse) String() string {
	if u.group == "" {
		return u.verb + " " + u.resource
	}
	return u.verb + " " + u.resource + "." + u.group
}

// groupClient matches the typed group clients (CoreV1Interface, AppsV1Interface, ...), whose
// methods return resource clients.
var groupClient = regexp.MustCompile(`V[0-9]+((alpha|beta)[0-9]+)?(Interface|Client)$`)

// typedVerbs maps the methods of client-go's typed resource clients to the RBAC verb (and
// subresource) they need.
var typedVerbs = map[string]struct{ verb, sub string }{
	"Get": {"get", ""}, "List": {"list", ""}, "Watch": {"watch", ""},
	"Create": {"create", ""}, "Update": {"update", ""}, "Patch": {"patch", ""}, "Apply": {"patch", ""},
	"Delete": {"delete", ""}, "DeleteCollection": {"deletecollection", ""},
	"UpdateStatus": {"update", "status"}, "ApplyStatus": {"patch", "status"},
	"UpdateScale": {"update", "scale"}, "GetScale": {"get", "scale"}, "ApplyScale": {"patch", "scale"},
	"Evict": {"create", "eviction"}, "EvictV1": {"create", "eviction"}, "GetLogs": {"get", "log"},
	"Bind": {"create", "binding"}, "CreateToken": {"create", "token"},
}

// groupOfPackage maps client-go's typed and informer package directories to API groups.
var groupOfPackage = map[string]string{
	"core": "", "apps": "apps", "batch": "batch", "coordination": "coordination.k8s.io",
	"events": "events.k8s.io", "policy": "policy", "rbac": "rbac.authorization.k8s.io",
	"authorization": "authorization.k8s.io", "authentication": "authentication.k8s.io",
	"networking": "networking.k8s.io", "storage": "storage.k8s.io", "autoscaling": "autoscaling",
	"discovery": "discovery.k8s.io", "certificates": "certificates.k8s.io", "node": "node.k8s.io",
	"scheduling": "scheduling.k8s.io", "admissionregistration": "admissionregistration.k8s.io",
	"apiextensions": "apiextensions.k8s.io",
}

// codeAPIUses finds, with the type checker, every Kubernetes API call in the module's
// production code (test files and tests/ excluded): methods of client-go's typed clients,
// informers (list and watch) and the leader-election Lease lock (get, create, update). A
// Kubernetes client it cannot classify (dynamic, REST, discovery clients) fails the test, so
// no call can hide from it.
func codeAPIUses(t *testing.T) map[apiUse][]string {
	t.Helper()
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cluster.Client.Discovery()))
	resourceOf := func(group, kind string) string {
		m, err := mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
		if err != nil {
			t.Fatalf("kind %s in group %q: %v", kind, group, err)
		}
		return m.Resource.Resource
	}
	root := repo(t)
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:  root,
	}, "./...")
	if err != nil {
		t.Fatal(err)
	}
	uses := map[apiUse][]string{}
	add := func(u apiUse, where string) { uses[u] = append(uses[u], where) }
	for _, pkg := range pkgs {
		for _, e := range pkg.Errors {
			t.Fatalf("load %s: %v", pkg.PkgPath, e)
		}
		if strings.Contains(pkg.PkgPath, "/tests/") {
			continue
		}
		for _, file := range pkg.Syntax {
			ast.Inspect(file, func(n ast.Node) bool {
				if n == nil {
					return false
				}
				where := pkg.Fset.Position(n.Pos()).String()
				where = strings.TrimPrefix(where, root+"/")
				switch n := n.(type) {
				case *ast.CompositeLit:
					if named := namedType(pkg.TypesInfo.TypeOf(n)); named != nil && named.Obj().Pkg() != nil &&
						named.Obj().Pkg().Path() == "k8s.io/client-go/tools/leaderelection/resourcelock" {
						switch name := named.Obj().Name(); {
						case name == "LeaseLock":
							for _, v := range []string{"get", "create", "update"} {
								add(apiUse{v, "coordination.k8s.io", "leases"}, where)
							}
						case strings.HasSuffix(name, "Lock"):
							t.Errorf("%s: leader election with a %s: only LeaseLock is classified", where, name)
						}
					}
				case *ast.SelectorExpr:
					sel := pkg.TypesInfo.Selections[n]
					if sel == nil || sel.Kind() != types.MethodVal {
						return true
					}
					named := namedType(sel.Recv())
					if named == nil || named.Obj().Pkg() == nil {
						return true
					}
					path, typ, method := named.Obj().Pkg().Path(), named.Obj().Name(), n.Sel.Name
					switch {
					case strings.HasPrefix(path, "k8s.io/client-go/kubernetes/typed/"):
						if groupClient.MatchString(typ) {
							return true // CoreV1().Pods(ns) is not a call yet
						}
						v, ok := typedVerbs[method]
						if !ok {
							t.Errorf("%s: %s.%s is a Kubernetes call this test cannot classify: add it to typedVerbs", where, typ, method)
							return true
						}
						dir := strings.Split(strings.TrimPrefix(path, "k8s.io/client-go/kubernetes/typed/"), "/")
						kind := strings.TrimSuffix(typ, "Interface")
						group, ok := groupOfPackage[dir[0]]
						if !ok {
							t.Errorf("%s: %s.%s: unknown API group directory %q", where, typ, method, dir[0])
							return true
						}
						res := resourceOf(group, kind)
						if v.sub != "" {
							res += "/" + v.sub
						}
						add(apiUse{v.verb, group, res}, where)
					case strings.HasPrefix(path, "k8s.io/client-go/informers/") && strings.HasSuffix(typ, "Informer") && (method == "Informer" || method == "Lister"):
						dir := strings.Split(strings.TrimPrefix(path, "k8s.io/client-go/informers/"), "/")
						group, ok := groupOfPackage[dir[0]]
						if !ok {
							t.Errorf("%s: informer %s: unknown API group directory %q", where, typ, dir[0])
							return true
						}
						res := resourceOf(group, strings.TrimPrefix(strings.TrimSuffix(typ, "Informer"), "Typed"))
						add(apiUse{"list", group, res}, where)
						add(apiUse{"watch", group, res}, where)
					case path == "k8s.io/client-go/dynamic" || path == "k8s.io/client-go/rest" && (typ == "RESTClient" || typ == "Request" || typ == "Interface") ||
						path == "k8s.io/client-go/discovery" || strings.HasPrefix(path, "sigs.k8s.io/controller-runtime/pkg/client"):
						t.Errorf("%s: %s.%s reaches the Kubernetes API in a way this test cannot classify", where, typ, method)
					}
				}
				return true
			})
		}
	}
	return uses
}

// namedType returns the named type of t, through pointers and aliases.
func namedType(t types.Type) *types.Named {
	if t == nil {
		return nil
	}
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	n, _ := t.(*types.Named)
	return n
}

// chartGrants lists the verbs on resources that the chart's roles grant, over the
// all-options renders.
func chartGrants(t *testing.T) map[apiUse][]string {
	t.Helper()
	out := map[apiUse][]string{}
	for _, v := range variants[1:] {
		objs := mustRender(t, release{Name: v.release, Namespace: v.namespace, Values: valuesFile(t, v.file)})
		for _, o := range objs {
			if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
				continue
			}
			var role rbacv1.ClusterRole
			into(t, o, &role)
			for _, r := range role.Rules {
				for _, g := range r.APIGroups {
					for _, res := range r.Resources {
						for _, verb := range r.Verbs {
							if g == "*" || res == "*" || verb == "*" {
								t.Errorf("%s grants a wildcard: %+v", o, r)
							}
							u := apiUse{verb, g, res}
							if !slices.Contains(out[u], o.String()) {
								out[u] = append(out[u], o.String())
							}
						}
					}
				}
			}
		}
	}
	return out
}

// TestCodeCallsMatchChartRBAC: every Kubernetes call in the code is granted by the chart, and
// every grant of the chart is called somewhere. A new call (say a patch, a delete, a new
// resource) fails here until the chart grants it, and TestLeastPrivilege then proves where.
func TestCodeCallsMatchChartRBAC(t *testing.T) {
	uses := codeAPIUses(t)
	grants := chartGrants(t)
	var calls []string
	for u, where := range uses {
		calls = append(calls, fmt.Sprintf("%s (%s)", u, where[0]))
		if _, ok := grants[u]; !ok {
			t.Errorf("the code calls %s at %s; the chart does not grant it", u, strings.Join(where, ", "))
		}
	}
	for g, roles := range grants {
		if _, ok := uses[g]; !ok {
			t.Errorf("the chart grants %s (%s); no code calls it", g, strings.Join(roles, ", "))
		}
	}
	sort.Strings(calls)
	t.Logf("Kubernetes calls in the code:\n  %s", strings.Join(calls, "\n  "))
	if len(uses) < 10 {
		t.Fatalf("only %d calls found; the scan is not seeing the code", len(uses))
	}
}
