package diagnosis

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoAdapters keeps the core pure: no Slack, AWS, client-go, cron or registry
// client code may reach package diagnosis, directly or through another package.
func TestCoreImportsNoAdapters(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/slack-go/", "k8s.io/client-go", "github.com/aws/", "github.com/robfig/cron", "github.com/google/go-containerregistry"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("package diagnosis depends on %s", dep)
			}
		}
	}
}
