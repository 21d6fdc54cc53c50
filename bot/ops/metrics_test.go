package ops_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pullcheck/pullcheck/bot/ops"
)

func newMetrics(t *testing.T) (*ops.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := ops.NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	return m, reg
}

func TestMetricsCounters(t *testing.T) {
	m, reg := newMetrics(t)
	m.ScanDone(1500*time.Millisecond, ops.ScanOK)
	m.ScanDone(7*time.Minute, ops.ScanPartial)
	m.AlertPosted(ops.AlertFire)
	m.AlertPosted(ops.AlertFire)
	m.AlertPosted(ops.AlertResolve)
	m.SlackError("chat.postMessage")
	m.SlackError("response_url")
	m.SlackError("chat.postMessage")
	m.AWSError("ECR", "DescribeImages")
	m.AWSError("STS", "GetCallerIdentity")
	m.Restart(ops.RestartRefused)
	m.SetLeader(true)

	const want = `
# HELP pullcheck_scans_total Scheduled scans finished, by result (ok, partial, error).
# TYPE pullcheck_scans_total counter
pullcheck_scans_total{result="error"} 0
pullcheck_scans_total{result="ok"} 1
pullcheck_scans_total{result="partial"} 1
# HELP pullcheck_scan_duration_seconds How long scheduled scans took.
# TYPE pullcheck_scan_duration_seconds histogram
pullcheck_scan_duration_seconds_bucket{le="0.1"} 0
pullcheck_scan_duration_seconds_bucket{le="0.25"} 0
pullcheck_scan_duration_seconds_bucket{le="0.5"} 0
pullcheck_scan_duration_seconds_bucket{le="1"} 0
pullcheck_scan_duration_seconds_bucket{le="2.5"} 1
pullcheck_scan_duration_seconds_bucket{le="5"} 1
pullcheck_scan_duration_seconds_bucket{le="10"} 1
pullcheck_scan_duration_seconds_bucket{le="30"} 1
pullcheck_scan_duration_seconds_bucket{le="60"} 1
pullcheck_scan_duration_seconds_bucket{le="120"} 1
pullcheck_scan_duration_seconds_bucket{le="300"} 1
pullcheck_scan_duration_seconds_bucket{le="+Inf"} 2
pullcheck_scan_duration_seconds_sum 421.5
pullcheck_scan_duration_seconds_count 2
# HELP pullcheck_alerts_posted_total Alert messages posted to Slack, by kind (fire, update, remind, resolve).
# TYPE pullcheck_alerts_posted_total counter
pullcheck_alerts_posted_total{kind="fire"} 2
pullcheck_alerts_posted_total{kind="remind"} 0
pullcheck_alerts_posted_total{kind="resolve"} 1
pullcheck_alerts_posted_total{kind="update"} 0
# HELP pullcheck_slack_errors_total Slack calls finally failed (after retries), by API method.
# TYPE pullcheck_slack_errors_total counter
pullcheck_slack_errors_total{method="chat.postMessage"} 2
pullcheck_slack_errors_total{method="response_url"} 1
# HELP pullcheck_aws_errors_total AWS API calls that returned an error (after retries), by service and operation.
# TYPE pullcheck_aws_errors_total counter
pullcheck_aws_errors_total{operation="DescribeImages",service="ECR"} 1
pullcheck_aws_errors_total{operation="GetCallerIdentity",service="STS"} 1
# HELP pullcheck_restarts_total Approve-to-restart requests, by result (restarted, refused, failed).
# TYPE pullcheck_restarts_total counter
pullcheck_restarts_total{result="failed"} 0
pullcheck_restarts_total{result="refused"} 1
pullcheck_restarts_total{result="restarted"} 0
# HELP pullcheck_leader 1 while this replica is the leader (runs scans and posts alerts), else 0.
# TYPE pullcheck_leader gauge
pullcheck_leader 1
`
	names := []string{"pullcheck_scans_total", "pullcheck_scan_duration_seconds", "pullcheck_alerts_posted_total",
		"pullcheck_slack_errors_total", "pullcheck_aws_errors_total", "pullcheck_restarts_total", "pullcheck_leader"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	m.SetLeader(false)
	const follower = `
# HELP pullcheck_leader 1 while this replica is the leader (runs scans and posts alerts), else 0.
# TYPE pullcheck_leader gauge
pullcheck_leader 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(follower), "pullcheck_leader"); err != nil {
		t.Errorf("after SetLeader(false): %v", err)
	}
}

func TestSetIncidentsOpenZeroesCausesGone(t *testing.T) {
	m, reg := newMetrics(t)
	m.SetIncidentsOpen(map[string]int{"ECR_TAG_NOT_FOUND": 3, "PULL_SECRET_MISSING": 1})
	m.SetIncidentsOpen(map[string]int{"ECR_TAG_NOT_FOUND": 2, "ECR_AUTH": 1})

	const want = `
# HELP pullcheck_incidents_open Image-pull incidents currently open, by cause.
# TYPE pullcheck_incidents_open gauge
pullcheck_incidents_open{cause="ECR_AUTH"} 1
pullcheck_incidents_open{cause="ECR_TAG_NOT_FOUND"} 2
pullcheck_incidents_open{cause="PULL_SECRET_MISSING"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pullcheck_incidents_open"); err != nil {
		t.Error(err)
	}

	m.SetIncidentsOpen(nil)
	const none = `
# HELP pullcheck_incidents_open Image-pull incidents currently open, by cause.
# TYPE pullcheck_incidents_open gauge
pullcheck_incidents_open{cause="ECR_AUTH"} 0
pullcheck_incidents_open{cause="ECR_TAG_NOT_FOUND"} 0
pullcheck_incidents_open{cause="PULL_SECRET_MISSING"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(none), "pullcheck_incidents_open"); err != nil {
		t.Error(err)
	}
}

func TestMetricsPassLint(t *testing.T) {
	m, reg := newMetrics(t)
	// Every vector gets a sample, so the linter sees every metric.
	m.SetIncidentsOpen(map[string]int{"ECR_TAG_NOT_FOUND": 1})
	m.SlackError("chat.update")
	m.AWSError("ECR", "DescribeImages")
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n == 0 {
		t.Errorf("gathered %d samples (err %v), want some", n, err)
	}
}

func TestMetricsNotOnTheDefaultRegistry(t *testing.T) {
	m, _ := newMetrics(t)
	m.ScanDone(time.Second, ops.ScanOK)
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "pullcheck_") {
			t.Errorf("%s is on the default registry", mf.GetName())
		}
	}
}

func TestNewMetricsTwiceOnOneRegistryFails(t *testing.T) {
	_, reg := newMetrics(t)
	if _, err := ops.NewMetrics(reg); err == nil {
		t.Error("second NewMetrics on the same registry: got nil, want an error")
	}
}

func TestNewMetricsWithoutRegistry(t *testing.T) {
	m, err := ops.NewMetrics(nil)
	if err != nil {
		t.Fatal(err)
	}
	m.AlertPosted(ops.AlertRemind) // must not panic
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *ops.Metrics
	m.ScanDone(time.Second, ops.ScanError)
	m.SetIncidentsOpen(map[string]int{"x": 1})
	m.AlertPosted(ops.AlertFire)
	m.SlackError("chat.update")
	m.AWSError("ECR", "DescribeImages")
	m.Restart(ops.RestartFailed)
	m.SetLeader(true)
}
