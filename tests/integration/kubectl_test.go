package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mutating kubectl verbs: their commands run with --dry-run=server, so the API server
// validates them completely without changing anything.
var mutating = []string{" create ", " patch ", " set ", " delete ", " rollout undo ", " cordon ", " uncordon ", " drain ", " label ", " annotate ", " apply "}

// runKubectlCommands runs every kubectl command of the report (fixes and verify) with the
// real kubectl against the test cluster: read-only ones as printed, changing ones with
// --dry-run=server. A command that does not parse or fails fails the test.
func runKubectlCommands(t *testing.T, kubeconfig string, r report) {
	t.Helper()
	kubectl := os.Getenv("PULLCHECK_KUBECTL")
	if kubectl == "" {
		dir, err := kubetestAssets()
		if err != nil {
			t.Fatal(err)
		}
		kubectl = filepath.Join(dir, "kubectl")
	}
	var cmds []string
	for _, f := range r.Findings {
		for _, fx := range f.Fixes {
			cmds = append(cmds, fx.Commands...)
		}
		cmds = append(cmds, f.Verify)
	}
	ran := 0
	for _, c := range cmds {
		if !strings.HasPrefix(c, "kubectl ") {
			continue // aws, docker, openssl and node-side commands are not kubectl's
		}
		run := c
		// kubectl rollout restart has no --dry-run: run it as printed (it only stamps the pod
		// template with kubectl.kubernetes.io/restartedAt, and the namespace is the test's own).
		for _, m := range mutating {
			if strings.Contains(c, " rollout restart ") {
				break
			}
			if strings.Contains(" "+strings.Fields(c)[0]+" "+strings.Join(strings.Fields(c)[1:], " ")+" ", m) {
				run = c + " --dry-run=server"
				break
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-c", run)
		cmd.Env = append(os.Environ(),
			"KUBECONFIG="+kubeconfig,
			"PATH="+filepath.Dir(kubectl)+":"+os.Getenv("PATH"),
			"REGISTRY_USER=ci-bot", "REGISTRY_PASSWORD=example", "DOCKERHUB_USER=acme-ci", "DOCKERHUB_TOKEN=example")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("kubectl command failed: %s\n%v\n%s", run, err, out)
		}
		ran++
	}
	if len(r.Findings) > 0 && ran == 0 {
		t.Errorf("the report has no kubectl command to run")
	}
}

func kubetestAssets() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	return filepath.Abs(filepath.Join("..", "..", ".cache", "kube-assets"))
}
