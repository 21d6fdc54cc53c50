package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code := newCLI(strings.NewReader(stdin), &out, &errOut, lookup).Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// TestExamples runs `diagnose --file` on every shipped example (the README's quick start) and
// checks the verdict the example is meant to show.
func TestExamples(t *testing.T) {
	want := map[string]struct{ status, cause, container string }{
		"backoff-cause-expired.json":         {"failing", "unknown", "api"},
		"dockerhub-rate-limited.yaml":        {"failing", "rate-limited", "proxy"},
		"ecr-401-waiting-message-only.yaml":  {"failing", "registry-credentials", "api"},
		"ecr-access-denied-403.yaml":         {"failing", "access-denied", "api"},
		"ecr-network-timeout.json":           {"failing", "registry-unreachable", "api"},
		"ecr-no-basic-auth-credentials.json": {"failing", "registry-credentials", "api"},
		"ecr-tag-not-found.json":             {"failing", "tag-not-found", "api"},
		"healthy.yaml":                       {"healthy", "none", ""},
		"init-container-tag-not-found.yaml":  {"failing", "tag-not-found", "migrate"},
		"invalid-image-name.json":            {"failing", "invalid-image-name", "api"},
		"platform-mismatch-arm64.json":       {"failing", "platform-mismatch", "api"},
		"pull-secret-missing.yaml":           {"failing", "pull-secret", "api"},
		"sandbox-image-timeout.json":         {"failing", "registry-unreachable", "(sandbox)"},
		"tls-unknown-authority.yaml":         {"failing", "tls-certificate", "api"},
	}
	files, err := filepath.Glob("examples/*.*")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range files {
		name := filepath.Base(path)
		if name == "README.md" {
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("example %s has no expected verdict in this test", name)
			}
			code, out, errOut := runCLI(t, "", nil, "diagnose", "--file", path, "-o", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var r struct {
				Status   string
				Cause    string
				Findings []struct{ Container, Cause string }
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if r.Status != w.status || r.Cause != w.cause {
				t.Errorf("status %q cause %q, want %q %q", r.Status, r.Cause, w.status, w.cause)
			}
			if w.container != "" && (len(r.Findings) == 0 || r.Findings[0].Container != w.container) {
				t.Errorf("findings %+v, want the first on container %q", r.Findings, w.container)
			}
			// The text form fits an 80-column terminal (commands excepted: they stay copy-pasteable).
			code, text, _ := runCLI(t, "", nil, "diagnose", "--file", path)
			if code != 0 || text == "" {
				t.Fatalf("text output: exit %d", code)
			}
		})
	}
	if seen != len(want) {
		t.Errorf("found %d examples, the table expects %d", seen, len(want))
	}
}

func TestDiagnoseFromStdin(t *testing.T) {
	raw, err := os.ReadFile("examples/ecr-tag-not-found.json")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, string(raw), nil, "diagnose", "--file", "-", "-o", "markdown")
	if code != 0 || !strings.Contains(out, "tag-not-found") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestUsageAndConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		err  string
	}{
		{name: "no command args", args: []string{"diagnose"}, code: 2, err: "exactly one pod"},
		{name: "bad output", args: []string{"diagnose", "--file", "examples/healthy.yaml", "-o", "xml"}, code: 2, err: "unknown output format"},
		{name: "broken config", env: map[string]string{"PULLCHECK_TIMEOUT": "soon", "PULLCHECK_READ_SECRETS": "perhaps"}, args: []string{"version"}, code: 2, err: "PULLCHECK_TIMEOUT"},
		{name: "malformed stdin", args: []string{"diagnose", "--file", "-"}, code: 1, err: "<stdin>"},
		{name: "exit code for failing file", args: []string{"diagnose", "--file", "examples/ecr-tag-not-found.json", "--exit-code"}, code: 3},
		{name: "serve without Slack settings", args: []string{"serve"}, code: 2, err: "SLACK_BOT_TOKEN"},
		{name: "serve in http mode without a signing secret", env: map[string]string{"PULLCHECK_SLACK_MODE": "http", "SLACK_BOT_TOKEN": "xoxb-1"}, args: []string{"serve"}, code: 2, err: "SLACK_SIGNING_SECRET"},
		{name: "exit code for healthy file", args: []string{"diagnose", "--file", "examples/healthy.yaml", "--exit-code"}, code: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, "{not json", tc.env, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.err) {
				t.Errorf("stderr %q lacks %q", errOut, tc.err)
			}
		})
	}
}
