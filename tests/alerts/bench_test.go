package alerts

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pullcheck/pullcheck/handlers/incident"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// BenchmarkAlertLatency measures, on the real clock with the watch on, how long after the
// fire delay an alert reaches Slack: from the kubelet's status write that puts a container
// into ErrImagePull to the alert's chat.postMessage at the local Slack API, less the fire
// delay. Each iteration is a new workload. The target is an alert within the fire
// delay plus 5s; the benchmark fails when any iteration misses it.
//
//	go test -run '^$' -bench BenchmarkAlertLatency -benchtime 3x ./tests/alerts/
func BenchmarkAlertLatency(b *testing.B) {
	const (
		delay  = 2 * time.Second
		target = 5 * time.Second
	)
	// Each iteration takes the fire delay and a little more; the deadline allows ~100.
	e := newEnv(b, 5*time.Minute, nil, incident.Options{FireDelay: delay, ResolveGrace: time.Hour})
	bot := e.start("pullcheck-bench", true)
	bot.waitReady()

	var total, worst time.Duration
	n := 0
	for b.Loop() {
		n++
		w := e.deploy(e.payments, fmt.Sprintf("svc-%03d", n))
		pod := e.pod(w, "x1y2z")
		pullErr := notFound(w.image)
		// The kubelet records the events as the pull fails and then writes the status,
		// which is what the watch sees.
		e.failEvents(pod, w.image, pullErr, time.Now())
		start := time.Now()
		e.setFailing(pod, pullErr)
		e.waitCall("the alert of "+w.name, func(c slackfake.Call) bool {
			return c.Method == "chat.postMessage" && c.ThreadTS == "" && c.OK() && strings.Contains(c.Text, "Deployment/"+w.name+" in ")
		})
		over := time.Since(start) - delay
		total += over
		worst = max(worst, over)
		if over < 0 {
			b.Fatalf("%s: alert %s after the status write, before the fire delay %s", w.name, over+delay, delay)
		}
	}
	if n == 0 {
		return
	}
	mean := total / time.Duration(n)
	b.ReportMetric(mean.Seconds(), "s-over-delay/op")
	b.ReportMetric(worst.Seconds(), "max-s-over-delay")
	if worst > target {
		b.Fatalf("an alert came %s after the fire delay (mean %s over %d alerts), want within %s", worst, mean, n, target)
	}
	e.wantAlerts(n, "after the benchmark")
}
