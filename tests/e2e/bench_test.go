package e2e

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/tests/awsfake"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// latency is what every AWS call and every registry response costs in the benchmark.
const latency = 100 * time.Millisecond

var benchRuns atomic.Int32

// BenchmarkDiagnoseWithLatency diagnoses one pod through the full production wiring (kube
// collector, AWS gatherer, registry probe) while every AWS call and every registry response
// takes 100 ms: "cold-ms" with a new gatherer and enricher (and new connections) each time, as
// a new process or an expired cache sees it, "warm-ms" with the same ones again right after.
// The pod's image tag is missing from ECR, which takes the longest chain of AWS lookups
// (repository and image, then the tags and the lifecycle policy; the instance, its profile,
// the role's simulation; routes, endpoints, their subnets and groups) and a probe with the
// bot's ECR token. Targets: cold under 700 ms, warm under 250 ms.
func BenchmarkDiagnoseWithLatency(b *testing.B) {
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	ns := fmt.Sprintf("bench-latency-%d", benchRuns.Add(1))
	must[*corev1.Namespace](b)(cluster.CreateNamespace(ctx, ns))
	must[*corev1.ServiceAccount](b)(cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "payments-api"}}, metav1.CreateOptions{}))
	spec := pod(container("api", missingTag))
	_, rs, err := cluster.CreateDeployment(ctx, ns, "payments-api", spec)
	if err != nil {
		b.Fatal(err)
	}
	p := must[*corev1.Pod](b)(cluster.CreatePod(ctx, kubetest.PodFor(ns, rs.Name+"-k2x9z", spec, rs), nodeEC2))
	kubelet{pod: p, now: now}.failPull(ctx, b, "api", notFound(missingTag))
	ref := diagnosis.PodRef{Namespace: ns, Name: p.Name}

	server := awsfake.New(awsScenario(now))
	b.Cleanup(server.Close)
	server.SetLatency(latency)
	regs := startRegistries(b)
	for _, r := range []interface{ SetLatency(time.Duration) }{regs.ecr, regs.hub, regs.private, regs.harbor} {
		r.SetLatency(latency)
	}
	engine := diagnosis.NewEngine()
	diagnose := func(w wiring) time.Duration {
		start := time.Now()
		r, err := engine.Diagnose(ctx, w.collector, ref)
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if f := r.Findings; len(f) != 1 || f[0].Cause != diagnosis.CauseTagNotFound || f[0].Confidence != diagnosis.Confirmed || len(r.Skipped) > 0 {
			b.Fatalf("report %v, skipped %v: want tag-not-found confirmed with nothing skipped", r, r.Skipped)
		}
		return d
	}

	var cold, warm time.Duration
	n := 0
	for b.Loop() {
		// A new process: new clients, new connections, empty caches.
		cfg := server.SDKConfig(ctx)
		cfg.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		w := newWiring(cfg, regs.transport(), []string{ns}, clock, nil)
		cold += diagnose(w)
		warm += diagnose(w)
		n++
	}
	// Every cold diagnosis probed the registry (warm ones reuse the answer).
	if hits := regs.ecr.Hits("payments/api"); hits != n {
		b.Errorf("the probe read payments/api's manifest %d times in %d cold diagnoses", hits, n)
	}
	b.ReportMetric(float64(cold.Milliseconds())/float64(n), "cold-ms")
	b.ReportMetric(float64(warm.Milliseconds())/float64(n), "warm-ms")
}
