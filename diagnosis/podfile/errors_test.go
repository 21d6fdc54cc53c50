package podfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/pullcheck/pullcheck/diagnosis"
)

func TestLoadErrors(t *testing.T) {
	podItem := "- " + strings.ReplaceAll(strings.TrimSuffix(podYAML, "\n"), "\n", "\n  ") + "\n"
	containersObject := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": {}}}`
	portString := `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "api", "ports": [{"containerPort": "80"}]}]}}`
	tests := []struct {
		name       string
		input      string
		line, col  int
		wantInText string // what the message must name
	}{
		{"empty file", "", 0, 0, "empty"},
		{"only white space", "  \n\t\n", 0, 0, "empty"},
		{"only YAML comments and document markers", "# saved\n---\n---\n", 0, 0, "empty"},
		{"JSON syntax error", "{\"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",,\n}", 2, 17, "invalid character ','"},
		{"truncated JSON", "{\"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": \"p\"", 3, 26, "unexpected end of JSON input"},
		{"JSON garbage after a document", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}} tru`, 1, 66, "literal true"},
		{"JSON then a YAML separator", podJSON + "\n---\n" + podJSON, 17, 2, "invalid character '-'"},
		{"JSON type error in the header", "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n  \"metadata\": {\"name\": 5}}", 2, 24, "metadata.name"},
		{"JSON type error in a List item", list(podJSON, "{\"apiVersion\": \"v1\", \"kind\": \"Event\",\n  \"metadata\": {\"name\": \"e\"}, \"count\": \"seven\"}"), 18, 39, "Event e: field count"},
		{"JSON object where an array belongs", containersObject, 1, strings.Index(containersObject, "{}") + 1, "field spec.containers"},
		{"JSON string where a number belongs", portString, 1, strings.Index(portString, `"80"`) + 1, "field spec.containers.ports.containerPort"},
		{"JSON kind is not a string", `{"kind": ["Pod"]}`, 1, 10, "field kind"},
		{"YAML syntax error", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n spec: {}\n", 4, 0, "did not find expected key"},
		{"YAML tab indentation", "apiVersion: v1\nkind: Pod\n\tmetadata: {}\n", 2, 0, "tab"},
		{"YAML type error", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nstatus:\n  containerStatuses:\n  - name: api\n    restartCount: many\n", 8, 19, "field status.containerStatuses.restartCount"},
		{"YAML type error after multi-byte characters", "apiVersion: v1\nkind: Pod\nmetadata: {name: ü, labels: {é: 1}}\n", 3, 33, "field metadata.labels"},
		{"YAML NaN", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  priority: .nan\n", 5, 13, "NaN"},
		{"bad timestamp", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: yesterday}\n", 1, 1, `"yesterday"`},
		{"List without a Pod", list(`{"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}}`), 0, 0, "no Pod"},
		{"two Pods", list(podJSON, podJSON), 17, 1, "a second Pod payments/payments-api-6f7d9c8b5-k2x9z"},
		{"Pod without a name", `{"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "payments"}}`, 1, 1, "no metadata.name"},
		{"unsupported kind in a YAML List", "apiVersion: v1\nkind: List\nitems:\n" + podItem + "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: payments-config}\n",
			16, 3, `v1 ConfigMap "payments-config"`},
		{"unsupported apps/v1 kind", list(podJSON, `{"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "payments-api-6f7d9c8b5"}}`),
			17, 1, `apps/v1 ReplicaSet "payments-api-6f7d9c8b5"`},
		{"unsupported Event version", list(podJSON, `{"apiVersion": "events.k8s.io/v1beta1", "kind": "Event", "metadata": {"name": "e"}}`),
			17, 1, "events.k8s.io/v1beta1 Event"},
		{"Pod without apiVersion", `{"kind": "Pod", "metadata": {"name": "p"}}`, 1, 1, "unsupported kind Pod"},
		{"object without kind", `{"metadata": {"name": "p"}}`, 1, 1, "no kind"},
		{"List item without kind", list(`{"metadata": {"name": "p"}}`), 1, 85, "no kind"},
		{"JSON scalar in an array", "[1, 2]", 1, 2, "element 0 of the array is a JSON number"},
		{"YAML scalar document", "plain scalar\n", 1, 1, "a YAML scalar"},
		{"YAML sequence of scalars", "- a\n- b\n", 1, 3, "element 0 of the sequence"},
		{"items is not an array", `{"apiVersion": "v1", "kind": "List", "items": {"kind": "Pod"}}`, 1, 47, "items is a JSON object"},
		{"items in YAML is not a sequence", "apiVersion: v1\nkind: List\nitems: {kind: Pod}\n", 3, 8, "items is not a sequence"},
		{"List item is a string", `{"apiVersion": "v1", "kind": "List", "items": [` + podJSON + `, "oops"]}`, 16, 4, `items[1] is a JSON string`},
		{"Lists nested too deep", strings.Repeat(`{"apiVersion": "v1", "kind": "List", "items": [`, 6) + strings.Repeat("]}", 6), 1, 4*47 + 1, "nested"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Load(strings.NewReader(tt.input), "pod.json", now)
			if err == nil {
				t.Fatalf("Load() = %+v, want an error", f)
			}
			if !errors.Is(err, diagnosis.ErrInvalidInput) {
				t.Errorf("Load() error = %v, want one wrapping diagnosis.ErrInvalidInput", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Load() error = %T %v, want a *Error", err, err)
			}
			if e.Name != "pod.json" || e.Line != tt.line || e.Column != tt.col {
				t.Errorf("Load() error at %s:%d:%d, want pod.json:%d:%d (%v)", e.Name, e.Line, e.Column, tt.line, tt.col, err)
			}
			if !strings.Contains(e.Msg, tt.wantInText) {
				t.Errorf("Load() error = %q, want it to mention %q", e.Msg, tt.wantInText)
			}
		})
	}
}

// TestLoadAliases: aliases that expand without bound are refused, while a large List
// without them is read in full.
func TestLoadAliases(t *testing.T) {
	bomb := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nx:\n  a: &a [x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for _, c := range "bcdefghi" {
		bomb += fmt.Sprintf("  %c: &%c [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", c, c, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = string(c)
	}
	_, err := Load(strings.NewReader(bomb), "bomb.yaml", now)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Msg, "too many values") {
		t.Errorf("Load(alias bomb) error = %v, want too many values", err)
	}

	var big strings.Builder
	big.WriteString("apiVersion: v1\nkind: List\nitems:\n")
	big.WriteString("- " + strings.ReplaceAll(strings.TrimSuffix(podYAML, "\n"), "\n", "\n  ") + "\n")
	const events = 5000
	for i := range events {
		fmt.Fprintf(&big, `- apiVersion: v1
  kind: Event
  metadata: {name: e%d, namespace: payments, uid: u%d}
  involvedObject: {kind: Pod, namespace: payments, name: payments-api-6f7d9c8b5-k2x9z, uid: %s, fieldPath: "spec.containers{api}"}
  reason: BackOff
  message: Back-off pulling image "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"
  source: {component: kubelet, host: ip-10-0-12-34.us-west-2.compute.internal}
  firstTimestamp: "2026-11-25T10:00:04Z"
  lastTimestamp: "2026-11-25T10:11:49Z"
  count: 44
  type: Normal
`, i, i, podUID)
	}
	f, err := Load(strings.NewReader(big.String()), "big.yaml", now)
	if err != nil {
		t.Fatalf("Load(List of %d events) error = %v", events, err)
	}
	if len(f.Events) != events {
		t.Errorf("Load(List of %d events) read %d events", events, len(f.Events))
	}
}

func TestLoadTooLarge(t *testing.T) {
	input := io.MultiReader(strings.NewReader(podJSON), bytes.NewReader(bytes.Repeat([]byte{' '}, MaxSize)))
	_, err := Load(input, "big.json", now)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, diagnosis.ErrInvalidInput) || !strings.Contains(e.Msg, "larger than") {
		t.Errorf("Load(%d bytes) error = %v, want a *Error about the size", MaxSize+len(podJSON), err)
	}
}

func TestLoadReadError(t *testing.T) {
	readErr := errors.New("disk on fire")
	_, err := Load(iotest.ErrReader(readErr), "pod.json", now)
	if !errors.Is(err, readErr) {
		t.Errorf("Load() error = %v, want it to wrap %v", err, readErr)
	}
	if errors.Is(err, diagnosis.ErrInvalidInput) {
		t.Errorf("Load() error = %v: a read failure is not invalid input", err)
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Name: "pod.json", Line: 12, Column: 5, Msg: "boom"}, "pod.json:12:5: boom"},
		{&Error{Name: "pod.yaml", Line: 4, Msg: "boom"}, "pod.yaml:4: boom"},
		{&Error{Name: "-", Msg: "boom"}, "-: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
