package diagnosis

import (
	"context"
	"fmt"
)

// Collector gathers the facts about one pod.
type Collector interface {
	Collect(ctx context.Context, ref PodRef) (*Facts, error)
}

// FailingCollector gathers the facts of every pod in a namespace ("" for all namespaces)
// that may have an image-pull failure.
type FailingCollector interface {
	CollectFailing(ctx context.Context, namespace string) ([]*Facts, error)
}

// Engine runs the checks over facts gathered by a collector.
type Engine struct {
	checks []Check
}

// NewEngine returns an engine that runs checks, or DefaultChecks when none are given.
func NewEngine(checks ...Check) *Engine {
	if len(checks) == 0 {
		checks = DefaultChecks()
	}
	return &Engine{checks: checks}
}

// Diagnose collects the facts about one pod and evaluates them.
func (e *Engine) Diagnose(ctx context.Context, c Collector, ref PodRef) (Report, error) {
	facts, err := c.Collect(ctx, ref)
	if err != nil {
		return Report{}, fmt.Errorf("diagnose %s: %w", ref, err)
	}
	return e.Evaluate(facts), nil
}

// Scan collects and evaluates every possibly failing pod in namespace ("" for all) and
// returns the reports of the pods that are failing, in the collector's order.
func (e *Engine) Scan(ctx context.Context, c FailingCollector, namespace string) ([]Report, error) {
	all, err := c.CollectFailing(ctx, namespace)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	reports := make([]Report, 0, len(all))
	for _, f := range all {
		r := e.Evaluate(f)
		if r.Status == StatusFailing {
			reports = append(reports, r)
		}
	}
	return reports, nil
}
