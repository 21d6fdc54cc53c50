package diagnosis

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScanRowsAndSummary(t *testing.T) {
	a := PodRef{Namespace: "payments", Name: "a"}
	b := PodRef{Namespace: "payments", Name: "b"}
	c := PodRef{Namespace: "web", Name: "c"}
	reports := []Report{
		{Pod: a, Status: StatusFailing, Cause: CauseTagNotFound, Findings: []Finding{
			{Container: "api", Image: "x:1", Cause: CauseTagNotFound, Confidence: Possible},
			{Container: "proxy", Image: "nginx", Cause: CauseRateLimited, Confidence: Confirmed}}},
		{Pod: b, Status: StatusFailing, Cause: CauseTagNotFound, Findings: []Finding{{Container: "api", Image: "x:1", Cause: CauseTagNotFound, Confidence: Possible}}},
		{Pod: c, Status: StatusFailing, Cause: ""}, // failing without findings: still a row
		{Pod: PodRef{Namespace: "web", Name: "ok"}, Status: StatusHealthy},
	}
	rows := ScanRows(reports)
	if len(rows) != 4 || rows[3].Pod != c || rows[3].Container != "-" || rows[3].Cause != CauseUnknown {
		t.Fatalf("ScanRows() = %+v", rows)
	}
	containers, pods, byCause := SummarizeScan(rows)
	want := []CauseCount{{CauseTagNotFound, 2, 2}, {CauseRateLimited, 1, 1}, {CauseUnknown, 1, 1}}
	if containers != 4 || pods != 3 {
		t.Errorf("SummarizeScan() = %d containers in %d pods, want 4 in 3", containers, pods)
	}
	if diff := cmp.Diff(want, byCause); diff != "" {
		t.Errorf("SummarizeScan() by cause (-want +got):\n%s", diff)
	}
}

// Moved from render's TestSummarize when the summary moved into the core.
func TestSummarizeScanOrder(t *testing.T) {
	pod := func(ns, name string) PodRef { return PodRef{Namespace: ns, Name: name} }
	rows := []ScanRow{
		{Pod: pod("a", "1"), Cause: CauseTagNotFound},
		{Pod: pod("a", "1"), Cause: CauseAccessDenied},
		{Pod: pod("a", "2"), Cause: CauseAccessDenied},
		{Pod: pod("b", "3"), Cause: CauseTagNotFound},
		{Pod: pod("b", "3"), Cause: CauseTagNotFound},
		{Pod: pod("b", "4"), Cause: CauseRateLimited},
		{Pod: pod("b", "5"), Cause: CauseKMSDenied},
	}
	containers, pods, byCause := SummarizeScan(rows)
	if containers != 7 || pods != 5 {
		t.Errorf("SummarizeScan: %d containers in %d pods, want 7 in 5", containers, pods)
	}
	want := []CauseCount{
		{Cause: CauseTagNotFound, Containers: 3, Pods: 2},
		{Cause: CauseAccessDenied, Containers: 2, Pods: 2},
		{Cause: CauseKMSDenied, Containers: 1, Pods: 1},
		{Cause: CauseRateLimited, Containers: 1, Pods: 1},
	}
	if diff := cmp.Diff(want, byCause); diff != "" {
		t.Errorf("SummarizeScan by cause (-want +got):\n%s", diff)
	}
}
