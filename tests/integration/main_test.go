package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

var (
	cluster *kubetest.Cluster
	binary  string // the pullcheck binary built for these tests
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	cluster, err = kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Stop()
	dir, err := os.MkdirTemp("", "pullcheck-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "pullcheck")
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build pullcheck: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// pullcheck runs the binary with args against the test cluster.
func pullcheck(t *testing.T, kubeconfig string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*60e9)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(args, "--kubeconfig", kubeconfig)...)
	// Cloud evidence and registry probes have their own end-to-end tests against local
	// AWS and registry servers; here the Kubernetes side is under test.
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "PULLCHECK_AWS=false", "PULLCHECK_PROBE=false")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run pullcheck %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// report is the JSON contract of `diagnose -o json`, decoded loosely so that the test
// checks the wire format, not the Go types.
type report struct {
	Pod struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"pod"`
	Status   string    `json:"status"`
	Cause    string    `json:"cause"`
	Findings []finding `json:"findings"`
	Skipped  []struct {
		Check, Reason, Needs string
	} `json:"skipped"`
}

type finding struct {
	Container     string   `json:"container"`
	ContainerKind string   `json:"container_kind"`
	Image         string   `json:"image"`
	Cause         string   `json:"cause"`
	Confidence    string   `json:"confidence"`
	Summary       string   `json:"summary"`
	Evidence      []string `json:"evidence"`
	Fixes         []struct {
		Title    string   `json:"title"`
		Commands []string `json:"commands"`
	} `json:"fixes"`
	Verify       string `json:"verify"`
	RestartHelps *struct {
		Helps  bool   `json:"helps"`
		Reason string `json:"reason"`
	} `json:"restart_helps"`
	Notes []string `json:"notes"`
}

func decodeReport(t *testing.T, s string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("decode report: %v\n%s", err, s)
	}
	return r
}

var metaCreate = metav1.CreateOptions{}

func metaName(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
