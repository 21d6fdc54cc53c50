package diagnosis

import (
	"cmp"
	"slices"
)

// ScanRow is one failing container of a scan. A failing report without findings still gets
// a row (Container "-"), so that no failing pod disappears from a scan.
type ScanRow struct {
	Pod        PodRef
	Container  string
	Image      string
	Cause      Cause
	Confidence Confidence // empty for a failing pod without findings
}

// ScanRows lists the failing containers of the reports, in order.
func ScanRows(reports []Report) []ScanRow {
	var rows []ScanRow
	for _, r := range reports {
		if r.Status != StatusFailing {
			continue
		}
		if len(r.Findings) == 0 {
			rows = append(rows, ScanRow{Pod: r.Pod, Container: "-", Cause: cmp.Or(r.Cause, CauseUnknown)})
		}
		for _, f := range r.Findings {
			rows = append(rows, ScanRow{Pod: r.Pod, Container: cmp.Or(f.Container, "-"), Image: f.Image,
				Cause: cmp.Or(f.Cause, CauseUnknown), Confidence: f.Confidence})
		}
	}
	return rows
}

// CauseCount is one line of a scan's summary by cause.
type CauseCount struct {
	Cause      Cause
	Containers int
	Pods       int
}

// SummarizeScan counts the rows (failing containers), the distinct pods, and both per cause,
// most containers first, then by cause.
func SummarizeScan(rows []ScanRow) (containers, pods int, byCause []CauseCount) {
	allPods := map[PodRef]bool{}
	podsOf := map[Cause]map[PodRef]bool{}
	count := map[Cause]int{}
	for _, r := range rows {
		allPods[r.Pod] = true
		if podsOf[r.Cause] == nil {
			podsOf[r.Cause] = map[PodRef]bool{}
		}
		podsOf[r.Cause][r.Pod] = true
		count[r.Cause]++
	}
	for c, n := range count {
		byCause = append(byCause, CauseCount{Cause: c, Containers: n, Pods: len(podsOf[c])})
	}
	slices.SortFunc(byCause, func(a, b CauseCount) int {
		return cmp.Or(cmp.Compare(b.Containers, a.Containers), cmp.Compare(a.Cause, b.Cause))
	})
	return len(rows), len(allPods), byCause
}
