package podfile

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// FuzzLoad feeds Load arbitrary bytes. Its seed corpus (testdata/fuzz/FuzzLoad) holds
// every example file and small inputs of each accepted form; run it with
//
//	go test -fuzz=FuzzLoad -fuzztime=60s ./diagnosis/podfile/
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		podJSON,
		podYAML,
		list(podJSON, coreEventJSON, newEventJSON),
		podJSON + coreEventJSON,
		"[" + podJSON + "]",
		podYAML + "---\napiVersion: v1\nkind: EventList\nitems:\n- metadata: {name: e}\n  involvedObject: {kind: Pod, name: payments-api-6f7d9c8b5-k2x9z}\n",
		"a: &a {kind: Pod, apiVersion: v1, metadata: {name: p}}\n<<: *a\n",
		`{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "eyJhdXRocyI6IHsiYS5leGFtcGxlLmNvbSI6IHt9fX0="}}]}`,
		`{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": 5}}`,
		"{\"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",,\n}",
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n spec: {}\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, err := Load(bytes.NewReader(data), "fuzz", now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, diagnosis.ErrInvalidInput) {
				t.Fatalf("Load() error = %T %v, want a *Error wrapping ErrInvalidInput", err, err)
			}
			if e.Line < 0 || e.Column < 0 || (e.Line == 0 && e.Column != 0) {
				t.Fatalf("Load() error position %d:%d is not valid: %v", e.Line, e.Column, err)
			}
			return
		}
		switch {
		case facts.Pod == nil || facts.Pod.Name == "":
			t.Fatalf("Load() Pod = %v, want a named pod", facts.Pod)
		case !facts.Now.Equal(now) || facts.Source != "file fuzz":
			t.Fatalf("Load() Now, Source = %v, %q", facts.Now, facts.Source)
		case facts.Workload == nil || facts.Workload.Kind == "" || facts.Workload.Name == "":
			t.Fatalf("Load() Workload = %v, want a kind and a name", facts.Workload)
		case len(facts.Skipped) != 1:
			t.Fatalf("Load() Skipped = %v, want one skip", facts.Skipped)
		}
		for _, s := range facts.PullSecrets {
			if s.Name == "" || (s.Status != diagnosis.SecretFound && s.Status != diagnosis.SecretUnchecked) {
				t.Fatalf("Load() pull secret %+v", s)
			}
		}
		for _, e := range facts.Events {
			if e.Count < 1 || (e.API != "v1" && e.API != "events.k8s.io/v1") {
				t.Fatalf("Load() event %+v", e)
			}
		}
	})
}
