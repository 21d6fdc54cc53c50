package ops

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the result label of pullcheck_scans_total.
const (
	ScanOK      = "ok"      // every namespace scanned
	ScanPartial = "partial" // some namespaces or pods could not be scanned
	ScanError   = "error"   // the scan failed as a whole
)

// Values of the kind label of pullcheck_alerts_posted_total.
const (
	AlertFire    = "fire"
	AlertUpdate  = "update"
	AlertRemind  = "remind"
	AlertResolve = "resolve"
)

// Values of the result label of pullcheck_restarts_total.
const (
	RestartDone    = "restarted"
	RestartRefused = "refused" // not approved, not allowed, or the token expired
	RestartFailed  = "failed"  // approved, but the API call failed
)

// scanBuckets span a single small namespace (~0.1s) to a cluster-wide scan with slow AWS
// lookups (minutes).
var scanBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// Metrics records pullcheck's metrics. Its methods are safe for concurrent use, and a nil
// *Metrics does nothing, so callers need not check.
//
// Label values are the callers' constants (the exported ones above, Slack method and AWS
// operation names): never user input, which would make series unbounded.
type Metrics struct {
	scans        *prometheus.CounterVec
	scanDuration prometheus.Histogram
	incidents    *prometheus.GaugeVec
	alerts       *prometheus.CounterVec
	slackErrors  *prometheus.CounterVec
	awsErrors    *prometheus.CounterVec
	restarts     *prometheus.CounterVec
	leader       prometheus.Gauge

	mu          sync.Mutex
	causesKnown map[string]bool // every cause SetIncidentsOpen has seen
}

// NewMetrics creates the metrics and registers them on reg. A nil reg leaves them
// unregistered (tests that only call the methods). It fails if one is already registered,
// e.g. when called twice with the same registry.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		scans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pullcheck_scans_total",
			Help: "Scheduled scans finished, by result (ok, partial, error).",
		}, []string{"result"}),
		scanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pullcheck_scan_duration_seconds",
			Help:    "How long scheduled scans took.",
			Buckets: scanBuckets,
		}),
		incidents: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pullcheck_incidents_open",
			Help: "Image-pull incidents currently open, by cause.",
		}, []string{"cause"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pullcheck_alerts_posted_total",
			Help: "Alert messages posted to Slack, by kind (fire, update, remind, resolve).",
		}, []string{"kind"}),
		slackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pullcheck_slack_errors_total",
			Help: "Slack calls finally failed (after retries), by API method.",
		}, []string{"method"}),
		awsErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pullcheck_aws_errors_total",
			Help: "AWS API calls that returned an error (after retries), by service and operation.",
		}, []string{"service", "operation"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pullcheck_restarts_total",
			Help: "Approve-to-restart requests, by result (restarted, refused, failed).",
		}, []string{"result"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pullcheck_leader",
			Help: "1 while this replica is the leader (runs scans and posts alerts), else 0.",
		}),
		causesKnown: map[string]bool{},
	}
	// Known label values start at 0, so rate() and absent-series alerts work from the start.
	for _, r := range []string{ScanOK, ScanPartial, ScanError} {
		m.scans.WithLabelValues(r)
	}
	for _, k := range []string{AlertFire, AlertUpdate, AlertRemind, AlertResolve} {
		m.alerts.WithLabelValues(k)
	}
	for _, r := range []string{RestartDone, RestartRefused, RestartFailed} {
		m.restarts.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.scans, m.scanDuration, m.incidents, m.alerts,
		m.slackErrors, m.awsErrors, m.restarts, m.leader} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	return m, nil
}

// ScanDone records a finished scan: its duration and result (ScanOK, ScanPartial, ScanError).
func (m *Metrics) ScanDone(d time.Duration, result string) {
	if m == nil {
		return
	}
	m.scans.WithLabelValues(result).Inc()
	m.scanDuration.Observe(d.Seconds())
}

// SetIncidentsOpen sets the number of open incidents for every cause in byCause. A cause
// seen before but absent now is set to 0 rather than deleted: the series stays continuous,
// so graphs and alerts see it drop to zero instead of vanishing (causes are a small, fixed
// set, so keeping them costs nothing).
func (m *Metrics) SetIncidentsOpen(byCause map[string]int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for cause := range m.causesKnown {
		if _, ok := byCause[cause]; !ok {
			m.incidents.WithLabelValues(cause).Set(0)
		}
	}
	for cause, n := range byCause {
		m.causesKnown[cause] = true
		m.incidents.WithLabelValues(cause).Set(float64(n))
	}
}

// AlertPosted counts an alert message posted (AlertFire, AlertUpdate, AlertRemind, AlertResolve).
func (m *Metrics) AlertPosted(kind string) {
	if m == nil {
		return
	}
	m.alerts.WithLabelValues(kind).Inc()
}

// SlackError counts a Slack call finally failed; method is the API method (chat.postMessage,
// chat.update, response_url, …). It fits bot.PosterOptions.OnError.
func (m *Metrics) SlackError(method string) {
	if m == nil {
		return
	}
	m.slackErrors.WithLabelValues(method).Inc()
}

// AWSError counts an AWS call that failed, e.g. ("ECR", "DescribeImages"). It fits
// cloud.CountErrors.
func (m *Metrics) AWSError(service, operation string) {
	if m == nil {
		return
	}
	m.awsErrors.WithLabelValues(service, operation).Inc()
}

// Restart counts an approve-to-restart request by result (RestartDone, RestartRefused,
// RestartFailed).
func (m *Metrics) Restart(result string) {
	if m == nil {
		return
	}
	m.restarts.WithLabelValues(result).Inc()
}

// SetLeader records whether this replica leads.
func (m *Metrics) SetLeader(leader bool) {
	if m == nil {
		return
	}
	v := 0.0
	if leader {
		v = 1
	}
	m.leader.Set(v)
}
