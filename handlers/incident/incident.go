package incident

import (
	"cmp"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Default option values.
const (
	DefaultFireDelay      = 2 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
	DefaultResolveGrace   = 5 * time.Minute
)

// KindPod is the workload kind of a pod without a controller.
const KindPod = "Pod"

// Key identifies an incident: one workload failing for one cause.
type Key struct {
	Namespace string          `json:"namespace"`
	Kind      string          `json:"kind"`
	Name      string          `json:"name"`
	Cause     diagnosis.Cause `json:"cause"`
}

func (k Key) String() string {
	return k.Namespace + "/" + k.Kind + "/" + k.Name + " " + string(k.Cause)
}

// workload is a Key without its cause.
type workload struct{ Namespace, Kind, Name string }

func (k Key) workload() workload { return workload{k.Namespace, k.Kind, k.Name} }

func compareKeys(a, b Key) int {
	return cmp.Or(
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Cause, b.Cause),
	)
}

// KeyOf returns the incident key of a report, and false when the report is not failing.
// A report without a workload (or with an empty one) is keyed by its pod: Kind "Pod".
// A failing report without a cause is keyed as unknown.
func KeyOf(r diagnosis.Report) (Key, bool) {
	if r.Status != diagnosis.StatusFailing {
		return Key{}, false
	}
	k := Key{Namespace: r.Pod.Namespace, Kind: KindPod, Name: r.Pod.Name, Cause: r.Cause}
	if w := r.Workload; w != nil && w.Kind != "" && w.Name != "" {
		k.Kind, k.Name = w.Kind, w.Name
	}
	if k.Cause == "" || k.Cause == diagnosis.CauseNone {
		k.Cause = diagnosis.CauseUnknown
	}
	return k, true
}

// Incident is one workload failing for one cause, from first sight to resolution.
// It is JSON-serialisable so that it can be stored in the cluster.
type Incident struct {
	Key Key `json:"key"`
	// FirstSeen is when the incident was first observed; LastSeen the latest observation of a
	// failing pod.
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
	// FiredAt is when the alert was raised (or, after a cause change, taken over).
	FiredAt time.Time `json:"firedAt,omitzero"`
	// LastNotified is the latest alert, update or reminder; reminders count from it.
	LastNotified time.Time `json:"lastNotified,omitzero"`
	ResolvedAt   time.Time `json:"resolvedAt,omitzero"`
	// AbsentSince is the first complete observation that found no failing pod, zero while
	// failing pods are seen.
	AbsentSince time.Time `json:"absentSince,omitzero"`
	// Pods are the names of the pods currently failing (sorted, no duplicates).
	Pods  []string        `json:"pods"`
	Cause diagnosis.Cause `json:"cause"`
	// PreviousCause and CauseChangedAt record the latest cause change of the workload's
	// alert, so that every later rendering of the alert still says what it was.
	PreviousCause  diagnosis.Cause `json:"previousCause,omitempty"`
	CauseChangedAt time.Time       `json:"causeChangedAt,omitzero"`
	Summary        string          `json:"summary,omitempty"`
	// Channel and MessageTS locate the alert in Slack; set by the poster through SetPosted.
	Channel   string `json:"channel,omitempty"`
	MessageTS string `json:"messageTS,omitempty"`
	Fired     bool   `json:"fired"`
	Resolved  bool   `json:"resolved"`
}

func (i *Incident) clone() Incident {
	c := *i
	c.Pods = slices.Clone(i.Pods)
	return c
}

// ActionKind says what the poster has to do.
type ActionKind string

const (
	// Fire: post a new alert.
	Fire ActionKind = "fire"
	// Update: the workload's cause changed; edit Previous's message in place to show Incident
	// and reply in its thread with what changed.
	Update ActionKind = "update"
	// Remind: one reminder in the alert's thread.
	Remind ActionKind = "remind"
	// Resolve: edit the alert to show it resolved (Incident.ResolvedAt) and reply in the thread.
	Resolve ActionKind = "resolve"
)

// Action is one decision of the tracker. Incident is a copy taken after the decision.
type Action struct {
	Kind     ActionKind
	Incident Incident
	// Previous is the ended old-cause incident, for Update only.
	Previous *Incident
}

// Options tune the tracker; zero values take the defaults.
type Options struct {
	// FireDelay is how long an incident must fail continuously before it alerts (default 2m).
	FireDelay time.Duration
	// RepeatInterval is how long after the last notification a reminder is due (default 4h).
	RepeatInterval time.Duration
	// ResolveGrace is how long complete observations must see no failing pod before an alert
	// resolves (default 5m).
	ResolveGrace time.Duration
}

func (o Options) withDefaults() Options {
	if o.FireDelay <= 0 {
		o.FireDelay = DefaultFireDelay
	}
	if o.RepeatInterval <= 0 {
		o.RepeatInterval = DefaultRepeatInterval
	}
	if o.ResolveGrace <= 0 {
		o.ResolveGrace = DefaultResolveGrace
	}
	return o
}

// Tracker holds the open incidents and decides what to post. It is safe for concurrent use.
type Tracker struct {
	opts Options
	mu   sync.Mutex
	open map[Key]*Incident
}

// NewTracker returns an empty tracker.
func NewTracker(opts Options) *Tracker {
	return &Tracker{opts: opts.withDefaults(), open: map[Key]*Incident{}}
}

// Options returns the effective options (defaults filled in).
func (t *Tracker) Options() Options { return t.opts }

type seenKey struct {
	pods       map[string]bool
	summary    string
	summaryPod string // the summary is that of the first pod by name, whatever the report order
}

// Observe records the reports observed at now and returns the actions due, in a stable order
// (fires and updates, then reminders, then resolutions; by key within each).
//
// complete says the observation covered every pod in scope (a full scan): only then may
// incidents that were not seen resolve. An incomplete observation (a watch event, or a tick
// with no reports) is authoritative only for the pods it reports: a pod reported healthy or
// with another cause leaves the incidents it was counted in.
//
// Fires and reminders are due on any observation, so a caller that wants alerts on time calls
// Observe(now, nil, false) periodically (see NextDue). It must then report pods that recover or
// disappear, or a pending incident with no fresh evidence still fires.
func (t *Tracker) Observe(now time.Time, reports []diagnosis.Report, complete bool) []Action {
	t.mu.Lock()
	defer t.mu.Unlock()

	seen := map[Key]*seenKey{}
	reported := map[diagnosis.PodRef]bool{}
	for _, r := range reports {
		reported[r.Pod] = true
		k, ok := KeyOf(r)
		if !ok {
			continue
		}
		s := seen[k]
		if s == nil {
			s = &seenKey{pods: map[string]bool{}}
			seen[k] = s
		}
		s.pods[r.Pod.Name] = true
		if sum := summaryOf(r); sum != "" && (s.summary == "" || r.Pod.Name < s.summaryPod) {
			s.summary, s.summaryPod = sum, r.Pod.Name
		}
	}

	// Bring every open incident up to date with the observation.
	for k, inc := range t.open {
		s := seen[k]
		pods := map[string]bool{}
		if !complete {
			for _, p := range inc.Pods {
				if !reported[diagnosis.PodRef{Namespace: k.Namespace, Name: p}] {
					pods[p] = true
				}
			}
		}
		if s != nil {
			for p := range s.pods {
				pods[p] = true
			}
			inc.LastSeen = now
			inc.AbsentSince = time.Time{}
			if s.summary != "" {
				inc.Summary = s.summary
			}
		}
		inc.Pods = sortedNames(pods)
	}
	for k, s := range seen {
		if t.open[k] == nil {
			t.open[k] = &Incident{
				Key: k, Cause: k.Cause, FirstSeen: now, LastSeen: now,
				Pods: sortedNames(s.pods), Summary: s.summary,
			}
		}
	}

	// A pending incident whose pods all recovered never alerts; a fired one starts its grace
	// period at the first complete observation that finds no failing pod.
	for k, inc := range t.open {
		if len(inc.Pods) > 0 {
			continue
		}
		if !inc.Fired {
			delete(t.open, k)
		} else if complete && inc.AbsentSince.IsZero() {
			inc.AbsentSince = now
		}
	}

	var actions []Action
	for _, inc := range t.sorted() {
		if inc.Fired || len(inc.Pods) == 0 || now.Sub(inc.FirstSeen) < t.opts.FireDelay {
			continue
		}
		if prev := t.predecessor(inc.Key); prev != nil {
			ended := prev.clone()
			ended.Resolved, ended.ResolvedAt = true, now
			delete(t.open, prev.Key)
			inc.Fired, inc.FiredAt, inc.LastNotified = true, prev.FiredAt, now
			inc.Channel, inc.MessageTS = prev.Channel, prev.MessageTS
			inc.PreviousCause, inc.CauseChangedAt = prev.Key.Cause, now
			actions = append(actions, Action{Kind: Update, Incident: inc.clone(), Previous: &ended})
			continue
		}
		inc.Fired, inc.FiredAt, inc.LastNotified = true, now, now
		actions = append(actions, Action{Kind: Fire, Incident: inc.clone()})
	}
	for _, inc := range t.sorted() {
		if inc.Fired && len(inc.Pods) > 0 && now.Sub(inc.LastNotified) >= t.opts.RepeatInterval {
			inc.LastNotified = now
			actions = append(actions, Action{Kind: Remind, Incident: inc.clone()})
		}
	}
	if complete {
		for _, inc := range t.sorted() {
			if !inc.Fired || len(inc.Pods) > 0 || inc.AbsentSince.IsZero() ||
				now.Sub(inc.AbsentSince) < t.opts.ResolveGrace || t.pendingFor(inc.Key.workload()) {
				continue
			}
			inc.Resolved, inc.ResolvedAt = true, now
			delete(t.open, inc.Key)
			actions = append(actions, Action{Kind: Resolve, Incident: inc.clone()})
		}
	}
	return actions
}

// predecessor returns the fired incident of k's workload, for another cause, that no longer
// has failing pods: the alert a cause change takes over. The most recently fired one wins.
func (t *Tracker) predecessor(k Key) *Incident {
	var best *Incident
	for _, inc := range t.open {
		if !inc.Fired || len(inc.Pods) > 0 || inc.Key.Cause == k.Cause || inc.Key.workload() != k.workload() {
			continue
		}
		if best == nil || inc.FiredAt.After(best.FiredAt) ||
			(inc.FiredAt.Equal(best.FiredAt) && inc.Key.Cause < best.Key.Cause) {
			best = inc
		}
	}
	return best
}

// pendingFor says whether the workload has a pending incident with failing pods: an absent
// fired incident of the same workload waits for it, as it may become a cause change.
func (t *Tracker) pendingFor(w workload) bool {
	for _, inc := range t.open {
		if !inc.Fired && len(inc.Pods) > 0 && inc.Key.workload() == w {
			return true
		}
	}
	return false
}

func (t *Tracker) sorted() []*Incident {
	out := make([]*Incident, 0, len(t.open))
	for _, inc := range t.open {
		out = append(out, inc)
	}
	slices.SortFunc(out, func(a, b *Incident) int { return compareKeys(a.Key, b.Key) })
	return out
}

// NextDue returns the earliest time at which a fire or a reminder becomes due without new
// reports, and false when none is pending. Resolutions need a complete observation and are not
// included.
func (t *Tracker) NextDue() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var next time.Time
	for _, inc := range t.open {
		if len(inc.Pods) == 0 {
			continue
		}
		due := inc.LastNotified.Add(t.opts.RepeatInterval)
		if !inc.Fired {
			due = inc.FirstSeen.Add(t.opts.FireDelay)
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next, !next.IsZero()
}

// Get returns a copy of the open incident k, and false when it is not open.
func (t *Tracker) Get(k Key) (Incident, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	inc := t.open[k]
	if inc == nil {
		return Incident{}, false
	}
	return inc.clone(), true
}

// SetPosted records where the alert of an open incident was posted. It returns false when the
// incident is not open (it resolved or was never seen).
func (t *Tracker) SetPosted(k Key, channel, ts string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	inc := t.open[k]
	if inc == nil {
		return false
	}
	inc.Channel, inc.MessageTS = channel, ts
	return true
}

// Snapshot returns copies of the open incidents (pending and fired), sorted by key.
func (t *Tracker) Snapshot() []Incident {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Incident, 0, len(t.open))
	for _, inc := range t.sorted() {
		out = append(out, inc.clone())
	}
	return out
}

// Restore replaces the tracker's state with a snapshot. Resolved incidents are dropped; a
// later duplicate of a key wins.
func (t *Tracker) Restore(incidents []Incident) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open = make(map[Key]*Incident, len(incidents))
	for _, inc := range incidents {
		if inc.Resolved {
			continue
		}
		c := inc.clone()
		if c.Cause == "" {
			c.Cause = c.Key.Cause
		}
		slices.Sort(c.Pods)
		c.Pods = slices.Compact(c.Pods)
		t.open[c.Key] = &c
	}
}

// summaryOf returns the summary of the report's finding for its cause, else of its first finding.
func summaryOf(r diagnosis.Report) string {
	for _, f := range r.Findings {
		if f.Cause == r.Cause && f.Summary != "" {
			return f.Summary
		}
	}
	for _, f := range r.Findings {
		if f.Summary != "" {
			return f.Summary
		}
	}
	return ""
}

func sortedNames(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
