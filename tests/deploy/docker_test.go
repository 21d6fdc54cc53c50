package deploy

import (
	"bufio"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"golang.org/x/mod/modfile"
)

// dockerfile is what the tests read from the Dockerfile.
type dockerfile struct {
	args  map[string]string // ARG defaults
	froms []string          // FROM lines
	build string            // the go build command of the build stage
	lines []string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(repo(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := dockerfile{args: map[string]string{}}
	var joined []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		joined = append(joined, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	d.lines = joined
	for _, l := range joined {
		switch {
		case strings.HasPrefix(l, "ARG "):
			name, def, _ := strings.Cut(strings.TrimPrefix(l, "ARG "), "=")
			if _, seen := d.args[name]; !seen || def != "" {
				d.args[name] = def
			}
		case strings.HasPrefix(l, "FROM "):
			d.froms = append(d.froms, l)
		case strings.HasPrefix(l, "RUN ") && strings.Contains(l, "go build"):
			d.build = l[strings.Index(l, "CGO_ENABLED"):]
		}
	}
	return d
}

// TestDockerfileMatchesModule: the build stage uses go.mod's Go version, builds the module's
// main package with the ldflags that stamp main.version and main.commit, and the runtime
// stage is a non-root image running that binary.
func TestDockerfileMatchesModule(t *testing.T) {
	d := readDockerfile(t)
	raw, err := os.ReadFile(filepath.Join(repo(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.args["GO_VERSION"], mod.Go.Version; got != want {
		t.Errorf("Dockerfile GO_VERSION %q; go.mod says go %s", got, want)
	}
	if len(d.froms) != 2 || !strings.Contains(d.froms[0], "golang:${GO_VERSION}") || !strings.HasSuffix(d.froms[0], " AS build") {
		t.Errorf("FROM lines %q: want a golang:${GO_VERSION} build stage and a runtime stage", d.froms)
	}
	if !strings.Contains(d.froms[1], "distroless/static") || !strings.HasSuffix(d.froms[1], ":nonroot") {
		t.Errorf("runtime stage %q: want distroless/static:nonroot (CA certificates, no shell, non-root)", d.froms[1])
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-o /out/pullcheck ."} {
		if !strings.Contains(d.build, want) {
			t.Errorf("the build command %q lacks %q", d.build, want)
		}
	}
	for _, want := range []string{"COPY --from=build /out/pullcheck /pullcheck", "USER 65532:65532", `ENTRYPOINT ["/pullcheck"]`, `CMD ["serve"]`} {
		found := false
		for _, l := range d.lines {
			found = found || l == want
		}
		if !found {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	// The build target "." is the module's main package, and it has the stamped variables.
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, repo(t), func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	main, ok := pkgs["main"]
	if !ok || mod.Module.Mod.Path != "github.com/pullcheck/pullcheck" {
		t.Fatalf("the module root %s is not package main", mod.Module.Mod.Path)
	}
	vars := map[string]bool{}
	for _, f := range main.Files {
		for _, decl := range f.Decls {
			if g, ok := decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								vars[n.Name] = true
							}
						}
					}
				}
			}
		}
	}
	for _, v := range []string{"version", "commit"} {
		if !vars[v] {
			t.Errorf("package main has no string variable %s for -X main.%s", v, v)
		}
	}
}

// TestDockerBuildCommandStampsVersion runs the Dockerfile's own go build command (ARGs
// filled in, output redirected) and checks that `pullcheck version` shows the stamp.
func TestDockerBuildCommandStampsVersion(t *testing.T) {
	d := readDockerfile(t)
	out := filepath.Join(t.TempDir(), "pullcheck")
	vars := map[string]string{"VERSION": "v9.8.7-test", "COMMIT": "0123abcd", "TARGETOS": runtime.GOOS, "TARGETARCH": runtime.GOARCH}
	cmdline := regexp.MustCompile(`\$\{([A-Z_]+)\}`).ReplaceAllStringFunc(d.build, func(m string) string {
		return vars[m[2:len(m)-1]]
	})
	cmdline = strings.Replace(cmdline, "-o /out/pullcheck", "-o "+out, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", cmdline)
	cmd.Dir = repo(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, b)
	}
	got, err := exec.CommandContext(ctx, out, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "pullcheck v9.8.7-test (commit 0123abcd)\n"; string(got) != want {
		t.Errorf("pullcheck version = %q; want %q", got, want)
	}
}

// TestDockerignoreKeepsTheBuild: nothing the binary is built from is excluded from the
// build context, and the bulky or secret things are.
func TestDockerignoreKeepsTheBuild(t *testing.T) {
	root := repo(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(rel string) bool {
		ok, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	list := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/pullcheck/pullcheck"}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{end}}{{end}}`, ".")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		rel, err := filepath.Rel(root, fields[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range fields[1:] {
			files = append(files, filepath.Join(rel, name))
		}
	}
	if len(files) < 20 {
		t.Fatalf("only %d files found for the binary", len(files))
	}
	for _, f := range files {
		if excluded(f) {
			t.Errorf(".dockerignore excludes %s, which the binary is built from", f)
		}
	}
	for _, f := range []string{".git/config", ".cache/kube-assets/etcd", "tests/e2e/doc.go", "diagnosis/testdata/x", "pullcheck", "config/config_test.go"} {
		if !excluded(f) {
			t.Errorf(".dockerignore sends %s to the build", f)
		}
	}
}
