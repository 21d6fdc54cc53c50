package alerts

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/sync/errgroup"
	"k8s.io/utils/clock"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers/incident"
	"github.com/pullcheck/pullcheck/handlers/incident/store"
)

// ErrNotLeading is returned by Scan on a replica that does not lead: only the leader scans
// and posts.
var ErrNotLeading = errors.New("alerts: this replica is not the leader")

// Diagnoser diagnoses one pod (diagnosis.ErrPodNotFound when it is gone).
type Diagnoser interface {
	Diagnose(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error)
}

// Scanner diagnoses the pods of a namespace ("" for all) that fail to pull and returns the
// failing ones.
type Scanner interface {
	Scan(ctx context.Context, namespace string) ([]diagnosis.Report, error)
}

// Poster posts and edits channel messages; *slack.Client and the bot's retrying poster
// satisfy it.
type Poster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
}

// StateStore keeps the incident state in the cluster (store.ConfigMapStore): Save writes only
// over the version Load returned.
type StateStore interface {
	Load(ctx context.Context) (state []byte, version string, err error)
	Save(ctx context.Context, state []byte, version string) (newVersion string, err error)
}

// Offerer renders the approve-to-restart blocks for a failing report posted in a channel, or
// nil when a restart does not help or restarts are not enabled (handlers.PullCheck).
type Offerer interface {
	AlertOffer(r diagnosis.Report, channelID string) []slack.Block
}

// Metrics receives the pipeline's figures (ops.Metrics); nil methods are not called.
type Metrics interface {
	ScanDone(d time.Duration, result string)
	AlertPosted(kind string)
	SetIncidentsOpen(byCause map[string]int)
}

// NamespaceLabels returns a namespace's labels, for routes with a label selector.
type NamespaceLabels func(ctx context.Context, namespace string) (map[string]string, error)

// PipelineConfig is what the pipeline needs from configuration.
type PipelineConfig struct {
	// Cluster names the cluster in alerts.
	Cluster string
	// Routes pick each namespace's channel; channels are IDs (resolved at start-up).
	Routes Routes
	// Namespaces limit the scans; empty means all namespaces.
	Namespaces []string
	// Tracker holds the fire delay, the repeat interval and the resolve grace.
	Tracker incident.Options
	// Timeout bounds one scan and one diagnosis (default 60s).
	Timeout time.Duration
	// Concurrency bounds the diagnoses run at once for watch events and due incidents
	// (default 8).
	Concurrency int
	// RetryPost is the least time between two attempts to post an alert that could not be
	// posted (default 1m).
	RetryPost time.Duration
	// ScanOnStart scans as soon as a term begins, so that a new leader resolves and fires
	// without waiting for the schedule.
	ScanOnStart bool
	// ResolveScanGap is the least time between two scans the pipeline runs on its own to
	// start or end a resolution's grace period (default 30s).
	ResolveScanGap time.Duration
}

// PipelineDeps are the pipeline's collaborators. Scanner, Diagnoser, Poster and Store are
// needed.
type PipelineDeps struct {
	Scanner   Scanner
	Diagnoser Diagnoser
	Poster    Poster
	Store     StateStore
	Offerer   Offerer         // nil: no restart buttons
	Labels    NamespaceLabels // nil: selector routes match no namespace
	Metrics   Metrics         // nil: none
	Clock     clock.Clock     // default: the real clock
	Logger    *slog.Logger    // default: discard
	// Observed, if set, is called after each observation has been handled, with its source
	// ("scan", "watch", "due") and the actions taken. Tests wait on it.
	Observed func(source string, actions []incident.Action)
}

// Pipeline turns scans and watch events into alerts: it feeds the incident tracker, posts
// and edits the alerts it decides on, and keeps the state in the cluster so that a restarted
// or new leader carries on the same incidents.
//
// Only a leader works: Run is the leader's term (it loads the state first), and Scan and the
// watch callbacks do nothing outside a term. Observations are serialised: each one is
// observed, posted and saved before the next.
type Pipeline struct {
	cfg     PipelineConfig
	deps    PipelineDeps
	clock   clock.Clock
	log     *slog.Logger
	tracker *incident.Tracker

	// mu serialises observations, posting and saving; it guards the fields below it.
	mu       sync.Mutex
	leading  bool
	version  string
	lastScan time.Time
	// unreadable is carried from load to every save (see storedState.Unreadable).
	unreadable string
	// rendered is the pod count each posted alert shows; reports the latest failing report
	// of each open incident (what its alert shows: evidence, fix, restart button).
	rendered map[incident.Key]int
	reports  map[incident.Key]*diagnosis.Report
	retryAt  map[incident.Key]time.Time

	// qmu guards the watch queue.
	qmu   sync.Mutex
	queue map[diagnosis.PodRef]bool // true: diagnose it; false: it recovered or is gone
	wake  chan struct{}
	rearm chan struct{}
}

// freshFor is how recent an incident's last observation must be for a due fire or reminder
// to go out without diagnosing a pod again.
const freshFor = 30 * time.Second

// stateVersion is the format of the stored state.
const stateVersion = 1

// storedState is the blob kept in the cluster.
type storedState struct {
	Version   int                 `json:"version"`
	Incidents []incident.Incident `json:"incidents"`
	// Unreadable keeps a stored state no one could read (edited by hand?), so that starting
	// afresh loses nothing: an operator can look at it and delete the key.
	Unreadable string `json:"unreadable,omitempty"`
}

// maxUnreadable bounds what is kept of an unreadable state, leaving room in the ConfigMap.
const maxUnreadable = 64 << 10

// NewPipeline checks the configuration and returns a pipeline.
func NewPipeline(cfg PipelineConfig, deps PipelineDeps) (*Pipeline, error) {
	var errs []error
	if deps.Scanner == nil || deps.Diagnoser == nil {
		errs = append(errs, errors.New("alerts: a scanner and a diagnoser are required"))
	}
	if deps.Poster == nil {
		errs = append(errs, errors.New("alerts: a Slack poster is required"))
	}
	if deps.Store == nil {
		errs = append(errs, errors.New("alerts: a state store is required"))
	}
	if err := cfg.Routes.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.RetryPost <= 0 {
		cfg.RetryPost = time.Minute
	}
	if cfg.ResolveScanGap <= 0 {
		cfg.ResolveScanGap = 30 * time.Second
	}
	if deps.Clock == nil {
		deps.Clock = clock.RealClock{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{
		cfg:      cfg,
		deps:     deps,
		clock:    deps.Clock,
		log:      deps.Logger,
		tracker:  incident.NewTracker(cfg.Tracker),
		rendered: map[incident.Key]int{},
		reports:  map[incident.Key]*diagnosis.Report{},
		retryAt:  map[incident.Key]time.Time{},
		queue:    map[diagnosis.PodRef]bool{},
		wake:     make(chan struct{}, 1),
		rearm:    make(chan struct{}, 1),
	}, nil
}

// Run is one leader's term: it loads the incident state (retrying until it can: leading on
// a stale state would alert twice), posts alerts a previous leader decided on but could not
// post, then serves watch events, due fires and reminders, and the scans that resolutions
// wait for, until ctx ends. Scheduled scans come through Scan meanwhile. Run returns nil when
// ctx ends.
func (p *Pipeline) Run(ctx context.Context) error { return p.RunTerm(ctx, nil) }

// RunTerm is Run that calls started, if set, once the state is loaded and the start scan (with
// ScanOnStart) is done: the pod watch starts then, so that its first listing does not run
// alongside the scan (twice the memory) and finds the failing pods already known.
func (p *Pipeline) RunTerm(ctx context.Context, started func()) error {
	if !p.start(ctx) {
		return nil
	}
	defer func() {
		p.mu.Lock()
		p.leading = false
		p.mu.Unlock()
	}()
	if p.cfg.ScanOnStart {
		p.scanAndLog(ctx, "start")
	} else {
		p.observe(ctx, "due", nil, false)
	}
	if started != nil {
		started()
	}

	timer := p.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		// A fake clock's timer set to a time already passed fires only at its next step, so
		// work that is due now is done without it.
		next, ok := p.nextWake()
		if now := p.clock.Now(); ok && !next.After(now) {
			p.wakeUp(ctx, now)
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
		before := p.clock.Now()
		d := time.Hour
		if ok {
			d = next.Sub(before)
		}
		timer.Reset(d)
		// Reset counts d from the clock's time at the call: a fake clock stepped since d was
		// computed leaves the timer late by the step, so compute again. (A real clock moves
		// by microseconds here; a pause of over a millisecond costs one more round.)
		if p.clock.Since(before) > time.Millisecond {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.rearm:
		case <-p.wake:
			p.drainQueue(ctx)
		case <-timer.C():
		}
	}
}

// nextWake is the earliest time at which a fire or reminder is due, or a scan that starts or
// ends a resolution's grace period: an alert whose pods all recovered (seen by the watch)
// needs a complete scan to start its grace, and another once the grace is over.
func (p *Pipeline) nextWake() (time.Time, bool) {
	next, ok := p.tracker.NextDue()
	p.mu.Lock()
	lastScan := p.lastScan
	p.mu.Unlock()
	grace := p.tracker.Options().ResolveGrace
	for _, inc := range p.tracker.Snapshot() {
		if !inc.Fired || len(inc.Pods) > 0 {
			continue
		}
		at := lastScan.Add(p.cfg.ResolveScanGap)
		if !inc.AbsentSince.IsZero() {
			at = later(at, inc.AbsentSince.Add(grace))
		}
		if !ok || at.Before(next) {
			next, ok = at, true
		}
	}
	return next, ok
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// wakeUp does what nextWake said is due.
func (p *Pipeline) wakeUp(ctx context.Context, now time.Time) {
	if due, ok := p.tracker.NextDue(); ok && !due.After(now) {
		p.due(ctx)
	}
	if next, ok := p.nextWake(); ok && !next.After(now) {
		p.scanAndLog(ctx, "resolve")
	}
}

func (p *Pipeline) scanAndLog(ctx context.Context, why string) {
	if err := p.Scan(ctx); err != nil && !errors.Is(err, ErrNotLeading) {
		p.log.WarnContext(ctx, "alerts: scan failed", "why", why, "err", err)
	}
}

// start loads the state and begins the term; false when ctx ended first.
func (p *Pipeline) start(ctx context.Context) bool {
	backoff := time.Second
	for {
		err := p.load(ctx)
		if err == nil {
			return true
		}
		p.log.ErrorContext(ctx, "alerts: incident state not loaded; not leading until it is", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return false
		case <-p.clock.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

func (p *Pipeline) load(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	raw, version, err := p.deps.Store.Load(lctx)
	if err != nil {
		return err
	}
	var st storedState
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &st); err != nil {
			// A state no one can read is kept beside the new one (its alerts are not
			// resolved, but nothing posts twice for the incidents still failing either).
			p.log.ErrorContext(ctx, "alerts: stored incident state is not readable; starting afresh and keeping it under \"unreadable\" in the state", "err", err, "bytes", len(raw))
			st = storedState{Unreadable: string(raw[:min(len(raw), maxUnreadable)])}
		} else if st.Version != stateVersion {
			return fmt.Errorf("alerts: stored incident state has version %d, this pullcheck reads %d", st.Version, stateVersion)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tracker.Restore(st.Incidents)
	p.version = version
	p.unreadable = st.Unreadable
	p.rendered = map[incident.Key]int{}
	p.reports = map[incident.Key]*diagnosis.Report{}
	p.retryAt = map[incident.Key]time.Time{}
	p.leading = true
	p.log.InfoContext(ctx, "alerts: leading", "open_incidents", len(st.Incidents))
	return nil
}

// Scan runs one complete scan of the configured namespaces and handles it. A replica that
// does not lead returns ErrNotLeading without scanning.
func (p *Pipeline) Scan(ctx context.Context) error {
	if !p.isLeading() {
		return ErrNotLeading
	}
	start := p.clock.Now()
	p.mu.Lock()
	p.lastScan = start
	p.mu.Unlock()
	namespaces := p.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{""}
	}
	var reports []diagnosis.Report
	var errs []error
	for _, ns := range namespaces {
		sctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		rs, err := p.deps.Scanner.Scan(sctx, ns)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("scan namespace %q: %w", cmp.Or(ns, "(all)"), err))
			continue
		}
		reports = append(reports, rs...)
	}
	result := "ok"
	switch {
	case len(errs) == len(namespaces):
		result = "error"
	case len(errs) > 0:
		result = "partial"
	}
	if m := p.deps.Metrics; m != nil {
		m.ScanDone(p.clock.Since(start), result)
	}
	err := errors.Join(errs...)
	if err != nil {
		p.log.WarnContext(ctx, "alerts: scan incomplete; alerts will not resolve on it", "result", result, "err", err)
	}
	if result == "error" {
		return err
	}
	// Only a scan that covered every namespace may resolve alerts.
	p.observe(ctx, "scan", reports, len(errs) == 0)
	return err
}

// PodFailing queues a pod that entered an image-pull failure, for diagnosis. It never blocks
// (it runs on the informer's goroutine).
func (p *Pipeline) PodFailing(_ context.Context, ref diagnosis.PodRef) { p.enqueue(ref, true) }

// PodRecovered queues a pod that stopped failing or was deleted.
func (p *Pipeline) PodRecovered(_ context.Context, ref diagnosis.PodRef) { p.enqueue(ref, false) }

func (p *Pipeline) enqueue(ref diagnosis.PodRef, failing bool) {
	p.qmu.Lock()
	p.queue[ref] = failing
	p.qmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// drainQueue diagnoses the queued failing pods and observes them with the recovered ones.
func (p *Pipeline) drainQueue(ctx context.Context) {
	p.qmu.Lock()
	queued := p.queue
	p.queue = map[diagnosis.PodRef]bool{}
	p.qmu.Unlock()
	if len(queued) == 0 || !p.isLeading() {
		return
	}
	// A pod already counted in an incident tells nothing new by failing (the watch's first
	// listing repeats every failing pod the start scan found): only new ones are diagnosed.
	known := map[diagnosis.PodRef]bool{}
	for _, inc := range p.tracker.Snapshot() {
		for _, pod := range inc.Pods {
			known[diagnosis.PodRef{Namespace: inc.Key.Namespace, Name: pod}] = true
		}
	}
	var failing []diagnosis.PodRef
	var reports []diagnosis.Report
	for _, ref := range slices.SortedFunc(maps.Keys(queued), comparePods) {
		switch {
		case !queued[ref]:
			reports = append(reports, healthy(ref))
		case !known[ref]:
			failing = append(failing, ref)
		}
	}
	if len(failing)+len(reports) == 0 {
		return
	}
	reports = append(reports, p.diagnoseAll(ctx, failing)...)
	p.observe(ctx, "watch", reports, false)
}

// due re-diagnoses a pod of each incident whose fire or reminder is due and was not seen
// lately, so that an alert carries fresh evidence and a pod that recovered unseen does not
// alert, then observes.
func (p *Pipeline) due(ctx context.Context) {
	if !p.isLeading() {
		return
	}
	now := p.clock.Now()
	opts := p.tracker.Options()
	var refs []diagnosis.PodRef
	for _, inc := range p.tracker.Snapshot() {
		if len(inc.Pods) == 0 {
			continue
		}
		dueAt := inc.LastNotified.Add(opts.RepeatInterval)
		if !inc.Fired {
			dueAt = inc.FirstSeen.Add(opts.FireDelay)
		}
		if dueAt.After(now) || now.Sub(inc.LastSeen) < freshFor {
			continue
		}
		// One pod is enough evidence; the others keep their membership.
		refs = append(refs, diagnosis.PodRef{Namespace: inc.Key.Namespace, Name: inc.Pods[0]})
	}
	slices.SortFunc(refs, comparePods)
	refs = slices.Compact(refs)
	p.observe(ctx, "due", p.diagnoseAll(ctx, refs), false)
}

// diagnoseAll diagnoses pods, a few at a time. A pod that is gone is reported healthy; one
// that cannot be diagnosed is left out (its incidents keep it).
func (p *Pipeline) diagnoseAll(ctx context.Context, refs []diagnosis.PodRef) []diagnosis.Report {
	out := make([]*diagnosis.Report, len(refs))
	var g errgroup.Group
	g.SetLimit(p.cfg.Concurrency)
	for i, ref := range refs {
		g.Go(func() error {
			dctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
			defer cancel()
			r, err := p.deps.Diagnoser.Diagnose(dctx, ref)
			switch {
			case errors.Is(err, diagnosis.ErrPodNotFound):
				h := healthy(ref)
				out[i] = &h
			case err != nil:
				p.log.WarnContext(ctx, "alerts: pod not diagnosed; the next scan will", "pod", ref.String(), "err", err)
			default:
				out[i] = &r
			}
			return nil
		})
	}
	_ = g.Wait()
	reports := make([]diagnosis.Report, 0, len(refs))
	for _, r := range out {
		if r != nil {
			reports = append(reports, *r)
		}
	}
	return reports
}

func healthy(ref diagnosis.PodRef) diagnosis.Report {
	return diagnosis.Report{Pod: ref, Status: diagnosis.StatusHealthy, Cause: diagnosis.CauseNone}
}

func comparePods(a, b diagnosis.PodRef) int {
	return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

func (p *Pipeline) isLeading() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leading
}

// observe hands one observation to the tracker, posts what it decides and saves the state.
func (p *Pipeline) observe(ctx context.Context, source string, reports []diagnosis.Report, complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leading {
		return
	}
	now := p.clock.Now()
	actions := p.tracker.Observe(now, reports, complete)
	for k, r := range reportsByKey(reports) {
		p.reports[k] = r
	}
	if len(actions) > 0 {
		p.log.InfoContext(ctx, "alerts: incidents changed", "source", source, "actions", describeActions(actions))
	}

	// Save the intent to post before posting: a leader that dies in between leaves an
	// incident marked fired with a channel and no message, which the next leader posts
	// (at least once); saving after posting would alert twice on every such crash.
	intent := false
	for _, a := range actions {
		if a.Kind == incident.Fire || (a.Kind == incident.Update && a.Incident.MessageTS == "") {
			channel := p.channelFor(ctx, a.Incident.Key.Namespace)
			p.tracker.SetPosted(a.Incident.Key, channel, "")
			intent = true
		}
	}
	if intent {
		p.save(ctx)
	}
	for _, a := range actions {
		p.apply(ctx, a, now)
	}
	p.postPending(ctx, now, actions)
	p.refreshCounts(ctx, now, actions)
	p.forgetClosed()
	p.save(ctx)
	p.reportOpen()
	if p.deps.Observed != nil {
		p.deps.Observed(source, actions)
	}
	select {
	case p.rearm <- struct{}{}:
	default:
	}
}

// reportsByKey picks, for each incident key, the failing report of the first pod by name.
func reportsByKey(reports []diagnosis.Report) map[incident.Key]*diagnosis.Report {
	out := map[incident.Key]*diagnosis.Report{}
	for i := range reports {
		k, ok := incident.KeyOf(reports[i])
		if !ok {
			continue
		}
		if cur := out[k]; cur == nil || reports[i].Pod.Name < cur.Pod.Name {
			out[k] = &reports[i]
		}
	}
	return out
}

func describeActions(actions []incident.Action) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = string(a.Kind) + " " + a.Incident.Key.String()
	}
	return out
}

// channelFor returns the namespace's alert channel, or "" when no route names one.
func (p *Pipeline) channelFor(ctx context.Context, namespace string) string {
	var nsLabels map[string]string
	if p.deps.Labels != nil && p.cfg.Routes.needsLabels() {
		lctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		l, err := p.deps.Labels(lctx, namespace)
		cancel()
		if err != nil {
			p.log.WarnContext(ctx, "alerts: namespace labels not read; selector routes skipped", "namespace", namespace, "err", err)
		}
		nsLabels = l
	}
	channel, ok := p.cfg.Routes.ChannelFor(namespace, nsLabels)
	if !ok {
		p.log.WarnContext(ctx, "alerts: no route for namespace; no alert posted", "namespace", namespace)
	}
	return channel
}

// apply posts one action.
func (p *Pipeline) apply(ctx context.Context, a incident.Action, now time.Time) {
	k := a.Incident.Key
	log := p.log.With("incident", k.String(), "action", string(a.Kind))
	report := p.reports[k]
	ok := false
	switch a.Kind {
	case incident.Fire:
		ok = p.post(ctx, log, k, now)
	case incident.Update:
		if a.Incident.MessageTS == "" {
			ok = p.post(ctx, log, k, now)
			break
		}
		blocks, text := Alert(p.cfg.Cluster, a, findingFor(report, k.Cause), p.offer(report, a.Incident.Channel), now)
		if ok = p.edit(ctx, log, a.Incident, blocks, text); ok {
			p.rendered[k] = len(a.Incident.Pods)
		}
		p.reply(ctx, log, a)
	case incident.Remind:
		if a.Incident.MessageTS == "" {
			return
		}
		// Re-render the alert too: its restart button has expired by now.
		if report != nil {
			blocks, text := Alert(p.cfg.Cluster, incident.Action{Kind: incident.Fire, Incident: a.Incident}, findingFor(report, k.Cause), p.offer(report, a.Incident.Channel), now)
			if p.edit(ctx, log, a.Incident, blocks, text) {
				p.rendered[k] = len(a.Incident.Pods)
			}
		}
		ok = p.reply(ctx, log, a)
	case incident.Resolve:
		if a.Incident.MessageTS == "" {
			return
		}
		blocks, text := Resolved(p.cfg.Cluster, a)
		ok = p.edit(ctx, log, a.Incident, blocks, text)
		p.reply(ctx, log, a)
	}
	if m := p.deps.Metrics; m != nil && ok {
		m.AlertPosted(string(a.Kind))
	}
}

// post posts the alert of a fired incident to its channel and records where.
func (p *Pipeline) post(ctx context.Context, log *slog.Logger, k incident.Key, now time.Time) bool {
	inc, ok := p.tracker.Get(k)
	if !ok || inc.Channel == "" {
		return false
	}
	report := p.reports[k]
	blocks, text := Alert(p.cfg.Cluster, incident.Action{Kind: incident.Fire, Incident: inc}, findingFor(report, k.Cause), p.offer(report, inc.Channel), now)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	channel, ts, err := p.deps.Poster.PostMessageContext(pctx, inc.Channel, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
	if err != nil {
		p.retryAt[k] = now.Add(p.cfg.RetryPost)
		log.ErrorContext(ctx, "alerts: alert not posted; will retry", "channel", inc.Channel, "err", err)
		return false
	}
	delete(p.retryAt, k)
	p.tracker.SetPosted(k, cmp.Or(channel, inc.Channel), ts)
	p.rendered[k] = len(inc.Pods)
	log.InfoContext(ctx, "alerts: alert posted", "channel", inc.Channel, "ts", ts, "pods", len(inc.Pods))
	return true
}

// postPending posts the alerts of fired incidents that have a channel but no message: a
// post that failed, or one a previous leader meant to send when it stopped.
func (p *Pipeline) postPending(ctx context.Context, now time.Time, acted []incident.Action) {
	done := map[incident.Key]bool{}
	for _, a := range acted {
		done[a.Incident.Key] = true
	}
	for _, inc := range p.tracker.Snapshot() {
		if !inc.Fired || inc.Channel == "" || inc.MessageTS != "" || len(inc.Pods) == 0 || done[inc.Key] {
			continue
		}
		if at, ok := p.retryAt[inc.Key]; ok && now.Before(at) {
			continue
		}
		log := p.log.With("incident", inc.Key.String(), "action", "post-pending")
		if p.post(ctx, log, inc.Key, now) && p.deps.Metrics != nil {
			p.deps.Metrics.AlertPosted(string(incident.Fire))
		}
	}
}

// refreshCounts edits alerts whose count of failing pods changed, quietly (an edit does not
// notify). An alert is only edited when the report it shows is known, so that the edit
// keeps its evidence and fix.
func (p *Pipeline) refreshCounts(ctx context.Context, now time.Time, acted []incident.Action) {
	done := map[incident.Key]bool{}
	for _, a := range acted {
		done[a.Incident.Key] = true
	}
	for _, inc := range p.tracker.Snapshot() {
		if !inc.Fired || inc.MessageTS == "" || len(inc.Pods) == 0 || done[inc.Key] {
			continue
		}
		shown, ok := p.rendered[inc.Key]
		report := p.reports[inc.Key]
		if !ok || report == nil || shown == len(inc.Pods) {
			continue
		}
		log := p.log.With("incident", inc.Key.String(), "action", "count")
		blocks, text := Alert(p.cfg.Cluster, incident.Action{Kind: incident.Fire, Incident: inc}, findingFor(report, inc.Key.Cause), p.offer(report, inc.Channel), now)
		if p.edit(ctx, log, inc, blocks, text) {
			p.rendered[inc.Key] = len(inc.Pods)
		}
	}
}

// forgetClosed drops what is kept in memory for incidents that are no longer open.
func (p *Pipeline) forgetClosed() {
	open := map[incident.Key]bool{}
	for _, inc := range p.tracker.Snapshot() {
		open[inc.Key] = true
	}
	maps.DeleteFunc(p.rendered, func(k incident.Key, _ int) bool { return !open[k] })
	maps.DeleteFunc(p.reports, func(k incident.Key, _ *diagnosis.Report) bool { return !open[k] })
	maps.DeleteFunc(p.retryAt, func(k incident.Key, _ time.Time) bool { return !open[k] })
}

func (p *Pipeline) edit(ctx context.Context, log *slog.Logger, inc incident.Incident, blocks []slack.Block, text string) bool {
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	_, _, _, err := p.deps.Poster.UpdateMessageContext(ectx, inc.Channel, inc.MessageTS, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(text, false))
	if err != nil {
		log.ErrorContext(ctx, "alerts: alert not edited", "channel", inc.Channel, "ts", inc.MessageTS, "err", err)
		return false
	}
	return true
}

func (p *Pipeline) reply(ctx context.Context, log *slog.Logger, a incident.Action) bool {
	blocks, text := ThreadUpdate(a)
	if blocks == nil {
		return false
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	_, _, err := p.deps.Poster.PostMessageContext(rctx, a.Incident.Channel, slack.MsgOptionBlocks(blocks...),
		slack.MsgOptionText(text, false), slack.MsgOptionTS(a.Incident.MessageTS))
	if err != nil {
		log.ErrorContext(ctx, "alerts: thread reply not posted", "channel", a.Incident.Channel, "ts", a.Incident.MessageTS, "err", err)
		return false
	}
	return true
}

func (p *Pipeline) offer(r *diagnosis.Report, channel string) []slack.Block {
	if r == nil || p.deps.Offerer == nil || channel == "" {
		return nil
	}
	return p.deps.Offerer.AlertOffer(*r, channel)
}

// findingFor returns the report's finding for the cause, else its first.
func findingFor(r *diagnosis.Report, cause diagnosis.Cause) *diagnosis.Finding {
	if r == nil || len(r.Findings) == 0 {
		return nil
	}
	for i := range r.Findings {
		if r.Findings[i].Cause == cause {
			return &r.Findings[i]
		}
	}
	return &r.Findings[0]
}

// save writes the tracker's state. A conflict means another replica wrote it: this one is
// no longer the only leader, so it takes the stored state and carries on from there.
func (p *Pipeline) save(ctx context.Context) {
	raw, err := json.Marshal(storedState{Version: stateVersion, Incidents: p.tracker.Snapshot(), Unreadable: p.unreadable})
	if err != nil {
		p.log.ErrorContext(ctx, "alerts: incident state not encoded", "err", err)
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	version, err := p.deps.Store.Save(sctx, raw, p.version)
	if err == nil {
		p.version = version
		return
	}
	p.log.ErrorContext(ctx, "alerts: incident state not saved", "err", err)
	if !errors.Is(err, store.ErrConflict) {
		return
	}
	stored, version, lerr := p.deps.Store.Load(sctx)
	if lerr != nil {
		p.log.ErrorContext(ctx, "alerts: incident state not reloaded after a conflict", "err", lerr)
		return
	}
	var st storedState
	if err := json.Unmarshal(stored, &st); err == nil && (len(stored) == 0 || st.Version == stateVersion) {
		p.tracker.Restore(st.Incidents)
		p.unreadable = st.Unreadable
	}
	p.version = version
}

func (p *Pipeline) reportOpen() {
	m := p.deps.Metrics
	if m == nil {
		return
	}
	byCause := map[string]int{}
	for _, inc := range p.tracker.Snapshot() {
		if inc.Fired {
			byCause[string(inc.Key.Cause)]++
		}
	}
	m.SetIncidentsOpen(byCause)
}
