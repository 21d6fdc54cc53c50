package e2e

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// sdkClients are the AWS clients diagnosis/cloud uses, by IAM service prefix (which is also
// the Go package name of each).
var sdkClients = map[string]reflect.Type{
	"ecr": reflect.TypeFor[*ecr.Client](),
	"ec2": reflect.TypeFor[*ec2.Client](),
	"eks": reflect.TypeFor[*eks.Client](),
	"iam": reflect.TypeFor[*iam.Client](),
	"kms": reflect.TypeFor[*kms.Client](),
	"sts": reflect.TypeFor[*sts.Client](),
}

// codeActions reads diagnosis/cloud's Go files (tests excluded) and returns the IAM action
// of every AWS operation the code can call, with where it is called. An operation shows as
// its input struct (&ecr.DescribeImagesInput{...}, also what a paginator is built with) and
// as a call of a method that exactly one of the SDK clients has (GetCallerIdentity); a call
// of a method several clients have (DescribeImages: ECR and EC2) must pass its input
// struct, which names the service.
func codeActions(t *testing.T) map[string]string {
	t.Helper()
	operations := map[string][]string{} // method name -> services whose client has it
	for svc, typ := range sdkClients {
		for i := range typ.NumMethod() {
			if name := typ.Method(i).Name; name != "Options" {
				operations[name] = append(operations[name], svc)
			}
		}
	}
	// input returns the service and operation of an SDK input struct literal, &ecr.XInput{...}.
	input := func(e ast.Expr) (svc, op string, ok bool) {
		if u, isRef := e.(*ast.UnaryExpr); isRef && u.Op == token.AND {
			e = u.X
		}
		lit, isLit := e.(*ast.CompositeLit)
		if !isLit {
			return "", "", false
		}
		sel, isSel := lit.Type.(*ast.SelectorExpr)
		if !isSel {
			return "", "", false
		}
		pkg, isIdent := sel.X.(*ast.Ident)
		op, isInput := strings.CutSuffix(sel.Sel.Name, "Input")
		if !isIdent || !isInput || sdkClients[pkg.Name] == nil || !slices.Contains(operations[op], pkg.Name) {
			return "", "", false
		}
		return pkg.Name, op, true
	}
	dir := filepath.Join("..", "..", "diagnosis", "cloud")
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	out := map[string]string{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if svc, op, ok := input(n); ok {
					out[svc+":"+op] = fset.Position(n.Pos()).String()
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				name, where := sel.Sel.Name, fset.Position(n.Pos()).String()
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "stscreds" && name == "NewAssumeRoleProvider" {
					out["sts:AssumeRole"] = where // the registry roles' credentials
					return true
				}
				switch svcs := operations[name]; len(svcs) {
				case 0:
				case 1:
					out[svcs[0]+":"+name] = where
				default:
					if len(n.Args) < 2 {
						t.Errorf("%s: %s is an operation of %v and the call passes no input struct that tells which", where, name, svcs)
					} else if svc, op, ok := input(n.Args[1]); !ok || op != name {
						t.Errorf("%s: %s is an operation of %v and the call passes no input struct that tells which (%s:%s)", where, name, svcs, svc, op)
					}
				}
			}
			return true
		})
	}
	return out
}

// policyActions returns the actions the policy file deploy/aws/<name> allows (as written:
// they may hold wildcards).
func policyActions(t *testing.T, name string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "aws", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Effect string
			Action json.RawMessage
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("deploy/aws/%s: %v", name, err)
	}
	var out []string
	for _, st := range doc.Statement {
		if st.Effect != "Allow" {
			continue
		}
		var list []string
		if json.Unmarshal(st.Action, &list) != nil {
			var one string
			if err := json.Unmarshal(st.Action, &one); err != nil {
				t.Fatalf("deploy/aws/%s: Action %s: %v", name, st.Action, err)
			}
			list = []string{one}
		}
		out = append(out, list...)
	}
	return out
}

// grants reports whether a policy action (IAM wildcards allowed, case-insensitive) covers action.
func grants(pattern, action string) bool {
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(action))
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkPolicy compares what the code can call, what the scenarios called and what the
// policy grants.
func checkPolicy(t *testing.T, called map[string]bool, code map[string]string, policy []string) {
	t.Helper()
	for _, a := range sortedKeys(code) {
		if !called[a] {
			t.Errorf("the code calls %s (%s) but no scenario reached it: add a scenario that does", a, code[a])
		}
	}
	for _, a := range sortedKeys(called) {
		if _, ok := code[a]; !ok {
			t.Errorf("a scenario called %s, which the scan of diagnosis/cloud did not find: the scan misses a call", a)
		}
		if !slices.ContainsFunc(policy, func(p string) bool { return grants(p, a) }) {
			t.Errorf("the code calls %s, which the bot's policies in deploy/aws do not grant", a)
		}
	}
	for _, p := range policy {
		if !slices.ContainsFunc(sortedKeys(called), func(a string) bool { return grants(p, a) }) {
			t.Errorf("the bot's policies in deploy/aws grant %s, which nothing calls", p)
		}
	}
}
