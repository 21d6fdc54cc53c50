package handlers

import (
	"strings"
	"testing"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// A click on an offer made for one pod must not restart because of a later pod that happens
// to have the same name (a StatefulSet pod, a re-created pod).
func TestRestartBlockerReplacedPod(t *testing.T) {
	o := offer{Namespace: "payments", Kind: "StatefulSet", Name: "ledger", Pod: "ledger-0", PodUID: "uid-old"}
	r := diagnosis.Report{Pod: diagnosis.PodRef{Namespace: "payments", Name: "ledger-0"}, PodUID: "uid-new", Status: diagnosis.StatusFailing,
		Workload: &diagnosis.Workload{Kind: "StatefulSet", Name: "ledger"},
		Findings: []diagnosis.Finding{{Container: "db", Cause: diagnosis.CauseTagNotFound, Confidence: diagnosis.Possible, RestartHelps: diagnosis.RestartAdvice{Helps: true}}}}
	if got := restartBlocker(o, r); !strings.Contains(got, "replaced by a new pod") {
		t.Errorf("restartBlocker() = %q, want a refusal for the replaced pod", got)
	}
	r.PodUID = "uid-old"
	if got := restartBlocker(o, r); got != "" {
		t.Errorf("restartBlocker() = %q for the same pod, want none", got)
	}
}
