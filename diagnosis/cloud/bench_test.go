package cloud_test

import (
	"context"
	"testing"
	"time"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
)

// BenchmarkEnrichLatency measures the wall time of EnrichAll for the worked example's failing
// pod when every AWS call takes 100 ms: cold (a new Gatherer, nothing cached) and warm (the
// same Gatherer again, within the TTL). The lookups run concurrently, so cold costs a few round
// trips (instance → instance profile → simulation / endpoints → subnets and groups), not one
// per call; warm costs none.
func BenchmarkEnrichLatency(b *testing.B) {
	const (
		latency    = 100 * time.Millisecond
		coldTarget = 700 * time.Millisecond
		warmTarget = 250 * time.Millisecond
	)
	srv := startFake(b, nil)
	srv.SetLatency(latency)
	ctx := context.Background()
	cfg := srv.SDKConfig(ctx)
	clk := newClock()
	node := exampleNode(b)
	pod := func() *diagnosis.Facts {
		return podFacts(tPod, node, failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	}
	enrich := func(g *cloud.Gatherer) time.Duration {
		f := pod()
		start := time.Now()
		g.EnrichAll(ctx, []*diagnosis.Facts{f})
		d := time.Since(start)
		if len(f.Skipped) > 0 || f.Cloud == nil || f.Cloud.Principal == nil || f.Cloud.Network == nil || f.Cloud.Images[tMissingTag] == nil {
			b.Fatalf("incomplete evidence: %+v, skipped %+v", f.Cloud, f.Skipped)
		}
		return d
	}

	var cold, warm time.Duration
	n := 0
	for b.Loop() {
		g := cloud.New(cfg, cloud.Options{Now: clk.Now})
		cold += enrich(g)
		warm += enrich(g)
		n++
	}
	coldAvg, warmAvg := cold/time.Duration(n), warm/time.Duration(n)
	b.ReportMetric(float64(coldAvg)/float64(time.Millisecond), "cold-ms")
	b.ReportMetric(float64(warmAvg)/float64(time.Millisecond), "warm-ms")
	if coldAvg > coldTarget {
		b.Errorf("cold EnrichAll took %v on average, want under %v", coldAvg, coldTarget)
	}
	if warmAvg > warmTarget {
		b.Errorf("warm EnrichAll took %v on average, want under %v", warmAvg, warmTarget)
	}
}
