package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers/incident"
	"github.com/pullcheck/pullcheck/handlers/incident/store"
)

var start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const (
	payments   = "C0PAYMENTS"
	platform   = "C0PLATFORM"
	notFound   = diagnosis.CauseTagNotFound
	denied     = diagnosis.CauseAccessDenied
	testTimout = 30 * time.Second
)

// cluster is the pods the scanner and diagnoser see; tests change it between observations.
type cluster struct {
	mu      sync.Mutex
	pods    map[diagnosis.PodRef]diagnosis.Report
	scanErr error
	scans   int
	diags   int
}

func newCluster() *cluster { return &cluster{pods: map[diagnosis.PodRef]diagnosis.Report{}} }

func (c *cluster) fail(ns, pod, deploy string, cause diagnosis.Cause) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ref := diagnosis.PodRef{Namespace: ns, Name: pod}
	c.pods[ref] = diagnosis.Report{
		Pod: ref, PodUID: "uid-" + pod, Status: diagnosis.StatusFailing, Cause: cause,
		Workload: &diagnosis.Workload{Kind: "Deployment", Name: deploy},
		Findings: []diagnosis.Finding{{
			Container: "app", Image: "registry.example/" + deploy + ":1", Cause: cause, Confidence: diagnosis.Confirmed,
			Summary: string(cause) + " for " + deploy, Evidence: []string{"evidence for " + pod},
			Fixes: []diagnosis.Fix{{Title: "fix " + string(cause), Commands: []string{"fix-it " + deploy}}},
		}},
	}
}

func (c *cluster) heal(ns, pod string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pods, diagnosis.PodRef{Namespace: ns, Name: pod})
}

func (c *cluster) Scan(_ context.Context, namespace string) ([]diagnosis.Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.scans++
	if c.scanErr != nil {
		return nil, c.scanErr
	}
	var out []diagnosis.Report
	for ref, r := range c.pods {
		if namespace == "" || ref.Namespace == namespace {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b diagnosis.Report) int { return comparePods(a.Pod, b.Pod) })
	return out, nil
}

func (c *cluster) Diagnose(_ context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.diags++
	if r, ok := c.pods[ref]; ok {
		return r, nil
	}
	return diagnosis.Report{}, fmt.Errorf("pod %s: %w", ref, diagnosis.ErrPodNotFound)
}

// memStore is a StateStore with the ConfigMap's version semantics.
type memStore struct {
	mu      sync.Mutex
	state   []byte
	version int
	saves   [][]byte
}

func (s *memStore) Load(context.Context) ([]byte, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.version == 0 {
		return nil, "", nil
	}
	return s.state, fmt.Sprint(s.version), nil
}

func (s *memStore) Save(_ context.Context, state []byte, version string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := ""
	if s.version > 0 {
		cur = fmt.Sprint(s.version)
	}
	if version != cur {
		return "", fmt.Errorf("save at %q, stored %q: %w", version, cur, store.ErrConflict)
	}
	s.state, s.version = state, s.version+1
	s.saves = append(s.saves, state)
	return fmt.Sprint(s.version), nil
}

func (s *memStore) incidents(t *testing.T) []incident.Incident {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var st storedState
	if err := json.Unmarshal(s.state, &st); err != nil {
		t.Fatalf("stored state: %v", err)
	}
	return st.Incidents
}

// sent is one message the poster was asked to send.
type sent struct {
	method, channel, ts, thread, text string
	blocks                            string // JSON, as sent
}

// recorder is a local Slack Web API for chat.postMessage and chat.update; the pipeline talks
// to it through the real slack-go client.
type recorder struct {
	mu     sync.Mutex
	calls  []sent
	failTo int // the next failTo posts fail
	n      int
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	method := strings.TrimPrefix(req.URL.Path, "/")
	c := sent{method: method, channel: req.Form.Get("channel"), thread: req.Form.Get("thread_ts"),
		text: req.Form.Get("text"), blocks: req.Form.Get("blocks")}
	switch method {
	case "chat.postMessage":
		if r.failTo > 0 {
			r.failTo--
			_, _ = io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
			return
		}
		r.n++
		c.ts = fmt.Sprintf("1764061200.%06d", r.n)
	case "chat.update":
		c.ts = req.Form.Get("ts")
	default:
		_, _ = io.WriteString(w, `{"ok":false,"error":"unknown_method"}`)
		return
	}
	r.calls = append(r.calls, c)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": c.channel, "ts": c.ts})
}

// take returns the calls since the last take.
func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}

func summary(calls []sent) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "%s %s ts=%s thread=%s: %s\n", c.method, c.channel, c.ts, c.thread, c.text)
	}
	return b.String()
}

type offerer struct{}

func (offerer) AlertOffer(r diagnosis.Report, channel string) []slack.Block {
	return []slack.Block{slack.NewActionBlock("restart", slack.NewButtonBlockElement("pullcheck_restart", "token-for-"+r.Pod.Name+"-in-"+channel,
		slack.NewTextBlockObject(slack.PlainTextType, "Restart", false, false)))}
}

type fixture struct {
	t       *testing.T
	clock   *clocktesting.FakeClock
	cluster *cluster
	store   *memStore
	slack   *recorder
	api     *slack.Client
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, clock: clocktesting.NewFakeClock(start), cluster: newCluster(), store: &memStore{}, slack: &recorder{}}
	srv := httptest.NewServer(f.slack)
	t.Cleanup(srv.Close)
	f.api = slack.New("xoxb-test", slack.OptionAPIURL(srv.URL+"/"))
	return f
}

func (f *fixture) pipeline(observed func(string, []incident.Action)) *Pipeline {
	f.t.Helper()
	p, err := NewPipeline(PipelineConfig{
		Cluster: "prod-eks",
		Routes:  Routes{Rules: []Route{{Channel: payments, Namespaces: []string{"payments*"}}}, Default: platform},
	}, PipelineDeps{
		Scanner: f.cluster, Diagnoser: f.cluster, Poster: f.api, Store: f.store, Offerer: offerer{},
		Clock: f.clock, Observed: observed,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// lead loads the state the way Run does, without Run's loop: scans are driven by the test.
func (f *fixture) lead(p *Pipeline) {
	f.t.Helper()
	if err := p.load(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) scan(p *Pipeline) []sent {
	f.t.Helper()
	if err := p.Scan(context.Background()); err != nil {
		f.t.Fatalf("Scan: %v", err)
	}
	return f.slack.take()
}

func wantCalls(t *testing.T, calls []sent, want ...string) {
	t.Helper()
	if len(calls) != len(want) {
		t.Fatalf("Slack calls:\n%swant %d: %q", summary(calls), len(want), want)
	}
	for i, w := range want {
		method, channel, _ := strings.Cut(w, " ")
		if calls[i].method != method || calls[i].channel != channel {
			t.Fatalf("call %d = %s %s, want %s\nall:\n%s", i, calls[i].method, calls[i].channel, w, summary(calls))
		}
	}
}

func TestFireDelayAndOneAlertPerWorkload(t *testing.T) {
	f := newFixture(t)
	p := f.pipeline(nil)
	f.lead(p)

	f.cluster.fail("payments", "api-7d9f-aaaaa", "api", notFound)
	wantCalls(t, f.scan(p)) // first sight: pending
	f.clock.Step(time.Minute)
	f.cluster.fail("payments", "api-7d9f-bbbbb", "api", notFound)
	wantCalls(t, f.scan(p)) // still within the fire delay

	f.clock.Step(time.Minute)
	calls := f.scan(p)
	wantCalls(t, calls, "chat.postMessage "+payments)
	alert := calls[0]
	for _, want := range []string{"Deployment/api in payments cannot pull its image: tag-not-found", "(cluster prod-eks)"} {
		if !strings.Contains(alert.text, want) {
			t.Errorf("alert text %q lacks %q", alert.text, want)
		}
	}
	body := blocksText(t, alert.blocks)
	for _, want := range []string{"*Pods affected* 2", "api-7d9f-aaaaa", "fix-it api", "token-for-api-7d9f-aaaaa-in-" + payments} {
		if !strings.Contains(body, want) {
			t.Errorf("alert lacks %q:\n%s", want, body)
		}
	}

	// The same workload failing on: nothing new. A replacement pod for the same cause: the
	// count is edited in place, no second alert.
	f.clock.Step(10 * time.Minute)
	wantCalls(t, f.scan(p))
	f.cluster.heal("payments", "api-7d9f-aaaaa")
	f.cluster.fail("payments", "api-7d9f-ccccc", "api", notFound)
	f.cluster.fail("payments", "api-7d9f-ddddd", "api", notFound)
	calls = f.scan(p)
	wantCalls(t, calls, "chat.update "+payments)
	if calls[0].ts != alert.ts || !strings.Contains(blocksText(t, calls[0].blocks), "*Pods affected* 3") {
		t.Errorf("edit %s of %s, want the alert %s showing 3 pods:\n%s", calls[0].ts, calls[0].text, alert.ts, blocksText(t, calls[0].blocks))
	}
}

func TestRecoveredWithinFireDelayNeverAlerts(t *testing.T) {
	f := newFixture(t)
	p := f.pipeline(nil)
	f.lead(p)
	f.cluster.fail("shop", "web-1", "web", notFound)
	wantCalls(t, f.scan(p))
	f.clock.Step(90 * time.Second)
	f.cluster.heal("shop", "web-1")
	wantCalls(t, f.scan(p))
	f.clock.Step(time.Hour)
	wantCalls(t, f.scan(p))
	if inc := f.store.incidents(t); len(inc) != 0 {
		t.Errorf("stored incidents = %+v, want none", inc)
	}
}

func TestCauseChangeRemindAndResolve(t *testing.T) {
	f := newFixture(t)
	p := f.pipeline(nil)
	f.lead(p)
	f.cluster.fail("shop", "web-1", "web", notFound)
	f.scan(p)
	f.clock.Step(2 * time.Minute)
	calls := f.scan(p)
	wantCalls(t, calls, "chat.postMessage "+platform) // no route: the default channel
	ts := calls[0].ts

	// The cause changes: after the fire delay, the alert is edited and the thread told.
	f.cluster.fail("shop", "web-1", "web", denied)
	wantCalls(t, f.scan(p))
	f.clock.Step(2 * time.Minute)
	calls = f.scan(p)
	wantCalls(t, calls, "chat.update "+platform, "chat.postMessage "+platform)
	if calls[0].ts != ts || calls[1].thread != ts {
		t.Fatalf("cause change did not edit and reply to %s:\n%s", ts, summary(calls))
	}
	if !strings.Contains(blocksText(t, calls[0].blocks), "Cause changed") || !strings.Contains(calls[1].text, "access-denied") {
		t.Errorf("cause change messages:\n%s", summary(calls))
	}

	// Four hours after the last notification: one reminder, with the alert re-rendered.
	f.clock.Step(4 * time.Hour)
	calls = f.scan(p)
	wantCalls(t, calls, "chat.update "+platform, "chat.postMessage "+platform)
	if calls[1].thread != ts || !strings.Contains(calls[1].text, "Still failing") {
		t.Errorf("reminder:\n%s", summary(calls))
	}
	f.clock.Step(time.Hour)
	wantCalls(t, f.scan(p)) // no second reminder within the interval

	// Healthy: resolved only after the grace period, with the alert edited and a reply.
	f.cluster.heal("shop", "web-1")
	wantCalls(t, f.scan(p))
	f.clock.Step(4 * time.Minute)
	wantCalls(t, f.scan(p))
	f.clock.Step(time.Minute)
	calls = f.scan(p)
	wantCalls(t, calls, "chat.update "+platform, "chat.postMessage "+platform)
	if calls[0].ts != ts || !strings.Contains(calls[0].text, "Resolved") || calls[1].thread != ts {
		t.Errorf("resolution:\n%s", summary(calls))
	}
	if inc := f.store.incidents(t); len(inc) != 0 {
		t.Errorf("stored incidents after resolution = %+v", inc)
	}
}

func TestNewLeaderCarriesOn(t *testing.T) {
	f := newFixture(t)
	first := f.pipeline(nil)
	f.lead(first)
	f.cluster.fail("payments", "api-1", "api", notFound)
	f.scan(first)
	f.clock.Step(3 * time.Minute)
	calls := f.scan(first)
	wantCalls(t, calls, "chat.postMessage "+payments)
	ts := calls[0].ts

	// The intent was saved before the post: the first save of the fire names the channel
	// and no message yet.
	var intent storedState
	if err := json.Unmarshal(f.store.saves[len(f.store.saves)-2], &intent); err != nil {
		t.Fatal(err)
	}
	if len(intent.Incidents) != 1 || !intent.Incidents[0].Fired || intent.Incidents[0].Channel != payments || intent.Incidents[0].MessageTS != "" {
		t.Errorf("state saved before posting = %+v", intent.Incidents)
	}

	// A new leader (a restart, or another replica) loads the state: no second alert, and it
	// resolves the first leader's alert.
	second := f.pipeline(nil)
	if err := second.Scan(context.Background()); !errors.Is(err, ErrNotLeading) {
		t.Fatalf("Scan before leading = %v, want ErrNotLeading", err)
	}
	f.lead(second)
	f.clock.Step(10 * time.Minute)
	wantCalls(t, f.scan(second))
	f.cluster.heal("payments", "api-1")
	f.scan(second)
	f.clock.Step(5 * time.Minute)
	calls = f.scan(second)
	wantCalls(t, calls, "chat.update "+payments, "chat.postMessage "+payments)
	if calls[0].ts != ts {
		t.Errorf("resolved %s, want the first leader's alert %s", calls[0].ts, ts)
	}
}

func TestAlertNotPostedIsRetried(t *testing.T) {
	f := newFixture(t)
	p := f.pipeline(nil)
	f.lead(p)
	f.cluster.fail("payments", "api-1", "api", notFound)
	f.scan(p)
	f.clock.Step(2 * time.Minute)
	f.slack.failTo = 1
	wantCalls(t, f.scan(p)) // the post failed
	if inc := f.store.incidents(t); len(inc) != 1 || !inc[0].Fired || inc[0].Channel != payments || inc[0].MessageTS != "" {
		t.Fatalf("stored = %+v, want the alert still to post", inc)
	}
	f.clock.Step(30 * time.Second)
	wantCalls(t, f.scan(p)) // not before RetryPost

	// A new leader posts what the old one could not.
	next := f.pipeline(nil)
	f.lead(next)
	f.clock.Step(time.Minute)
	wantCalls(t, f.scan(next), "chat.postMessage "+payments)
	if inc := f.store.incidents(t); len(inc) != 1 || inc[0].MessageTS == "" {
		t.Errorf("stored = %+v, want the message recorded", inc)
	}
	f.clock.Step(time.Minute)
	wantCalls(t, f.scan(next))
}

func TestIncompleteScanDoesNotResolve(t *testing.T) {
	f := newFixture(t)
	p := f.pipeline(nil)
	f.lead(p)
	f.cluster.fail("shop", "web-1", "web", notFound)
	f.scan(p)
	f.clock.Step(2 * time.Minute)
	wantCalls(t, f.scan(p), "chat.postMessage "+platform)
	f.cluster.heal("shop", "web-1")
	f.cluster.mu.Lock()
	f.cluster.scanErr = errors.New("the API server is down")
	f.cluster.mu.Unlock()
	for range 3 {
		f.clock.Step(10 * time.Minute)
		if err := p.Scan(context.Background()); err == nil {
			t.Fatal("Scan() = nil with the API server down")
		}
		wantCalls(t, f.slack.take())
	}
	if inc := f.store.incidents(t); len(inc) != 1 {
		t.Errorf("stored = %+v, want the incident kept", inc)
	}
}

func TestSaveConflictTakesTheStoredState(t *testing.T) {
	f := newFixture(t)
	p := f.pipeline(nil)
	f.lead(p)
	// Another writer changes the state behind this leader's back.
	if _, err := f.store.Save(context.Background(), []byte(`{"version":1,"incidents":[]}`), ""); err != nil {
		t.Fatal(err)
	}
	f.cluster.fail("shop", "web-1", "web", notFound)
	f.scan(p) // its save conflicts; it reloads
	f.scan(p) // and saves on the reloaded version
	if inc := f.store.incidents(t); len(inc) != 1 {
		t.Errorf("stored = %+v, want the pending incident saved after the reload", inc)
	}
}

// TestWatchFiresAfterTheDelay drives Run: a pod reported by the watch is diagnosed, and its
// alert is posted when the injected clock passes the fire delay, without a scan.
func TestWatchFiresAfterTheDelay(t *testing.T) {
	f := newFixture(t)
	observed := make(chan string, 16)
	p := f.pipeline(func(source string, actions []incident.Action) {
		kinds := source
		for _, a := range actions {
			kinds += " " + string(a.Kind)
		}
		observed <- kinds
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	next := func(want string) {
		t.Helper()
		select {
		case got := <-observed:
			if got != want {
				t.Fatalf("observation %q, want %q", got, want)
			}
		case <-ctx.Done():
			t.Fatalf("no observation %q", want)
		}
	}
	next("due") // the term's first observation

	f.cluster.fail("payments", "api-1", "api", notFound)
	p.PodFailing(ctx, diagnosis.PodRef{Namespace: "payments", Name: "api-1"})
	next("watch")
	wantCalls(t, f.slack.take())
	f.clock.Step(2 * time.Minute)
	next("due fire")
	wantCalls(t, f.slack.take(), "chat.postMessage "+payments)

	// The pod recovers (the watch says so): a scan follows to start the grace period, and
	// another when it is over; the alert resolves without a scheduled scan.
	f.cluster.heal("payments", "api-1")
	p.PodRecovered(ctx, diagnosis.PodRef{Namespace: "payments", Name: "api-1"})
	next("watch")
	f.clock.Step(30 * time.Second)
	next("scan")
	f.clock.Step(5 * time.Minute)
	next("scan resolve")
	wantCalls(t, f.slack.take(), "chat.update "+payments, "chat.postMessage "+payments)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v", err)
	}
}

func blocksText(t *testing.T, blocks string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(blocks), &v); err != nil {
		t.Fatalf("blocks are not JSON: %v", err)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v + "\n")
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return b.String()
}

// TestWatchDiagnosesOnlyNewPods: the watch's first listing repeats the failing pods the start
// scan found; only a pod no incident counts is diagnosed.
func TestWatchDiagnosesOnlyNewPods(t *testing.T) {
	f := newFixture(t)
	observed := make(chan string, 16)
	p := f.pipeline(func(source string, _ []incident.Action) { observed <- source })
	f.cluster.fail("payments", "api-1", "api", notFound)
	f.cluster.fail("payments", "api-2", "api", notFound)
	ctx, cancel := context.WithTimeout(context.Background(), testTimout)
	defer cancel()
	p.cfg.ScanOnStart = true
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- p.RunTerm(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the term did not start")
	}
	if got := <-observed; got != "scan" {
		t.Fatalf("first observation %q, want the start scan", got)
	}
	f.cluster.fail("payments", "api-3", "api", notFound)
	for _, pod := range []string{"api-1", "api-2", "api-3"} {
		p.PodFailing(ctx, diagnosis.PodRef{Namespace: "payments", Name: pod})
	}
	if got := <-observed; got != "watch" {
		t.Fatalf("observation %q, want watch", got)
	}
	f.cluster.mu.Lock()
	diags := f.cluster.diags
	f.cluster.mu.Unlock()
	if diags != 1 {
		t.Errorf("%d diagnoses, want 1 (only api-3 is new)", diags)
	}
	if inc := p.tracker.Snapshot(); len(inc) != 1 || len(inc[0].Pods) != 3 {
		t.Errorf("incidents = %+v, want one counting 3 pods", inc)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunTerm() = %v", err)
	}
}

// TestUnreadableStateIsKept: a state no one can read (edited by hand) is not lost: the new
// state keeps it for an operator to inspect, across saves and leaders.
func TestUnreadableStateIsKept(t *testing.T) {
	f := newFixture(t)
	garbage := `{"version":1,"incidents":[{"key": oops`
	if _, err := f.store.Save(context.Background(), []byte(garbage), ""); err != nil {
		t.Fatal(err)
	}
	p := f.pipeline(nil)
	f.lead(p)
	f.cluster.fail("shop", "web-1", "web", notFound)
	f.scan(p)
	check := func() {
		t.Helper()
		var st storedState
		f.store.mu.Lock()
		err := json.Unmarshal(f.store.state, &st)
		f.store.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if st.Unreadable != garbage || len(st.Incidents) != 1 {
			t.Errorf("stored = %+v, want the new incident and the unreadable state kept", st)
		}
	}
	check()
	next := f.pipeline(nil)
	f.lead(next)
	f.clock.Step(time.Minute)
	f.scan(next)
	check()
}
