package incident

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pullcheck/pullcheck/diagnosis"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const (
	tagNotFound  = diagnosis.CauseTagNotFound
	accessDenied = diagnosis.CauseAccessDenied
)

func deploy(name string) *diagnosis.Workload {
	return &diagnosis.Workload{Kind: "Deployment", Name: name}
}

func failing(pod string, w *diagnosis.Workload, cause diagnosis.Cause) diagnosis.Report {
	return diagnosis.Report{
		Pod:      diagnosis.PodRef{Namespace: "shop", Name: pod},
		Status:   diagnosis.StatusFailing,
		Cause:    cause,
		Workload: w,
		Findings: []diagnosis.Finding{{Cause: cause, Summary: string(cause) + " on " + pod}},
	}
}

func healthy(pod string, w *diagnosis.Workload) diagnosis.Report {
	return diagnosis.Report{
		Pod: diagnosis.PodRef{Namespace: "shop", Name: pod}, Status: diagnosis.StatusHealthy,
		Cause: diagnosis.CauseNone, Workload: w,
	}
}

func key(kind, name string, cause diagnosis.Cause) Key {
	return Key{Namespace: "shop", Kind: kind, Name: name, Cause: cause}
}

// got is the part of an Action a test asserts on.
type got struct {
	Kind      ActionKind
	Key       Key
	Pods      []string
	MessageTS string
	Prev      diagnosis.Cause // Update only
}

func summarise(as []Action) []got {
	var out []got
	for _, a := range as {
		g := got{Kind: a.Kind, Key: a.Incident.Key, Pods: a.Incident.Pods, MessageTS: a.Incident.MessageTS}
		if a.Previous != nil {
			g.Prev = a.Previous.Key.Cause
		}
		out = append(out, g)
	}
	return out
}

type step struct {
	at       time.Duration
	reports  []diagnosis.Report
	complete bool
	// restart replaces the tracker, before this step, by a new one restored from a JSON
	// round trip of the old one's snapshot.
	restart bool
	want    []got
	// wantOpen, when not nil, is the keys and pods of the open incidents after the step.
	wantOpen map[Key][]string
}

func tsOf(k Key) string { return "ts:" + k.String() }

func TestTracker(t *testing.T) {
	web := deploy("web")
	webKey := key("Deployment", "web", tagNotFound)
	webDenied := key("Deployment", "web", accessDenied)
	fireWebA := []got{{Kind: Fire, Key: webKey, Pods: []string{"web-a"}}}
	// fired runs web-a failing on tag-not-found until it alerts at 2m.
	fired := []step{
		{at: 0, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
		{at: 2 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true, want: fireWebA},
	}
	with := func(steps ...step) []step { return append(append([]step(nil), fired...), steps...) }
	none := map[Key][]string{}

	tests := []struct {
		name  string
		opts  Options
		steps []step
	}{
		{
			name: "fire delay honoured: recovers on its own retry before the delay",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				{at: time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				{at: 90 * time.Second, reports: []diagnosis.Report{healthy("web-a", web)}, complete: true, wantOpen: none},
				{at: 3 * time.Minute, reports: []diagnosis.Report{healthy("web-a", web)}, complete: true},
				{at: 10 * time.Minute, complete: true},
			},
		},
		{
			name: "fire delay honoured: recovery reported by the watch",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}},
				{at: 30 * time.Second, reports: []diagnosis.Report{healthy("web-a", web)}, wantOpen: none},
				{at: 5 * time.Minute},
			},
		},
		{
			name: "fire delay restarts after an interruption",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				{at: time.Minute, complete: true, wantOpen: none},
				{at: 90 * time.Second, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				{at: 150 * time.Second, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				{at: 210 * time.Second, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true, want: fireWebA},
			},
		},
		{
			name: "watch event then periodic ticks fire on time",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}},
				{at: 119 * time.Second},
				{at: 2 * time.Minute, want: fireWebA},
				{at: 3 * time.Minute},
			},
		},
		{
			name: "replacement pod: same workload and cause, no new alert, pods counted",
			steps: with(
				// a scan sees only the replacement; the summary (message) changed: still one incident
				step{at: 3 * time.Minute, reports: []diagnosis.Report{failing("web-b", web, tagNotFound)}, complete: true,
					wantOpen: map[Key][]string{webKey: {"web-b"}}},
				// the watch adds a further replacement without dropping web-b
				step{at: 4 * time.Minute, reports: []diagnosis.Report{failing("web-c", web, tagNotFound)},
					wantOpen: map[Key][]string{webKey: {"web-b", "web-c"}}},
				step{at: 10 * time.Minute, reports: []diagnosis.Report{failing("web-c", web, tagNotFound), failing("web-d", web, tagNotFound)}, complete: true,
					wantOpen: map[Key][]string{webKey: {"web-c", "web-d"}}},
			),
		},
		{
			name: "several pods of one workload are one incident counting them",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{
					failing("web-b", web, tagNotFound), failing("web-a", web, tagNotFound), failing("web-a", web, tagNotFound),
					healthy("api-x", deploy("api")),
				}, complete: true},
				{at: 2 * time.Minute, reports: []diagnosis.Report{
					failing("web-c", web, tagNotFound), failing("web-a", web, tagNotFound), failing("web-b", web, tagNotFound),
				}, complete: true, want: []got{{Kind: Fire, Key: webKey, Pods: []string{"web-a", "web-b", "web-c"}}}},
			},
		},
		{
			name: "cause change: one update in place, no second alert",
			steps: with(
				step{at: 3 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, accessDenied)}, complete: true},
				// the old cause has no pod any more, but its alert waits for the new cause
				step{at: 9 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, accessDenied)}, complete: true,
					want:     []got{{Kind: Update, Key: webDenied, Pods: []string{"web-a"}, MessageTS: tsOf(webKey), Prev: tagNotFound}},
					wantOpen: map[Key][]string{webDenied: {"web-a"}}},
				step{at: 20 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, accessDenied)}, complete: true},
				step{at: 21 * time.Minute, complete: true},
				step{at: 26 * time.Minute, complete: true,
					want: []got{{Kind: Resolve, Key: webDenied, MessageTS: tsOf(webKey)}}, wantOpen: none},
			),
		},
		{
			name: "cause change with a grace shorter than the fire delay: the old alert waits",
			opts: Options{ResolveGrace: time.Minute},
			steps: with(
				step{at: 3 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, accessDenied)}, complete: true},
				step{at: 4 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, accessDenied)}, complete: true},
				step{at: 5 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, accessDenied)}, complete: true,
					want: []got{{Kind: Update, Key: webDenied, Pods: []string{"web-a"}, MessageTS: tsOf(webKey), Prev: tagNotFound}}},
			),
		},
		{
			name: "cause flapping back within the fire delay: no update",
			steps: with(
				step{at: 3 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, accessDenied)}, complete: true},
				step{at: 4 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true,
					wantOpen: map[Key][]string{webKey: {"web-a"}}},
				step{at: 10 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
			),
		},
		{
			name: "two causes at once in one workload are two incidents",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{failing("web-a", web, tagNotFound), failing("web-b", web, accessDenied)}, complete: true},
				{at: 2 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound), failing("web-b", web, accessDenied)}, complete: true,
					want: []got{
						{Kind: Fire, Key: webDenied, Pods: []string{"web-b"}},
						{Kind: Fire, Key: webKey, Pods: []string{"web-a"}},
					}},
			},
		},
		{
			name: "reminder after the repeat interval, once per interval",
			steps: with(
				step{at: time.Hour, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				step{at: 4*time.Hour + time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				step{at: 4*time.Hour + 2*time.Minute, want: []got{{Kind: Remind, Key: webKey, Pods: []string{"web-a"}, MessageTS: tsOf(webKey)}}},
				step{at: 4*time.Hour + 3*time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				step{at: 8 * time.Hour},
				step{at: 8*time.Hour + 2*time.Minute, want: []got{{Kind: Remind, Key: webKey, Pods: []string{"web-a"}, MessageTS: tsOf(webKey)}}},
				step{at: 8*time.Hour + 3*time.Minute},
			),
		},
		{
			name: "no reminder while the incident is absent",
			opts: Options{RepeatInterval: 10 * time.Minute, ResolveGrace: time.Hour},
			steps: with(
				step{at: 5 * time.Minute, complete: true},
				step{at: 30 * time.Minute, complete: true},
			),
		},
		{
			name: "resolution after the grace period, only on complete observations",
			steps: with(
				// the watch says the pod is healthy: not enough to resolve
				step{at: 3 * time.Minute, reports: []diagnosis.Report{healthy("web-a", web)},
					wantOpen: map[Key][]string{webKey: {}}},
				step{at: 30 * time.Minute},
				step{at: 31 * time.Minute, complete: true},  // absent since 31m
				step{at: 35 * time.Minute, complete: true},  // 4m < grace
				step{at: 36 * time.Minute, complete: false}, // grace over, but incomplete
				step{at: 37 * time.Minute, complete: true,
					want: []got{{Kind: Resolve, Key: webKey, MessageTS: tsOf(webKey)}}, wantOpen: none},
				step{at: 50 * time.Minute, complete: true},
			),
		},
		{
			name: "reappearing during the grace period restarts it",
			steps: with(
				step{at: 10 * time.Minute, complete: true},
				step{at: 12 * time.Minute, reports: []diagnosis.Report{failing("web-b", web, tagNotFound)}},
				step{at: 16 * time.Minute, complete: true},
				step{at: 20 * time.Minute, complete: true},
				step{at: 21 * time.Minute, complete: true, want: []got{{Kind: Resolve, Key: webKey, MessageTS: tsOf(webKey)}}},
			),
		},
		{
			name: "restart: no duplicate alert, later resolution still emitted",
			steps: with(
				step{at: 3 * time.Minute, restart: true, reports: []diagnosis.Report{failing("web-b", web, tagNotFound)}, complete: true,
					wantOpen: map[Key][]string{webKey: {"web-b"}}},
				step{at: 10 * time.Minute, complete: true},
				step{at: 12 * time.Minute, restart: true, complete: true},
				step{at: 15 * time.Minute, complete: true, want: []got{{Kind: Resolve, Key: webKey, MessageTS: tsOf(webKey)}}},
			),
		},
		{
			name: "restart while pending keeps the fire delay running and fires once",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				{at: time.Minute, restart: true, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
				{at: 2 * time.Minute, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true, want: fireWebA},
				{at: 3 * time.Minute, restart: true, reports: []diagnosis.Report{failing("web-a", web, tagNotFound)}, complete: true},
			},
		},
		{
			name: "bare pods are keyed by pod name",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{failing("debug-1", nil, tagNotFound), failing("debug-2", &diagnosis.Workload{}, tagNotFound)}, complete: true},
				{at: 2 * time.Minute, reports: []diagnosis.Report{failing("debug-1", nil, tagNotFound), failing("debug-2", nil, tagNotFound)}, complete: true,
					want: []got{
						{Kind: Fire, Key: key(KindPod, "debug-1", tagNotFound), Pods: []string{"debug-1"}},
						{Kind: Fire, Key: key(KindPod, "debug-2", tagNotFound), Pods: []string{"debug-2"}},
					}},
			},
		},
		{
			name: "healthy reports are ignored",
			steps: []step{
				{at: 0, reports: []diagnosis.Report{healthy("web-a", web), healthy("solo", nil)}, complete: true, wantOpen: none},
				{at: time.Hour, reports: []diagnosis.Report{healthy("web-a", web)}, wantOpen: none},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(tc.opts)
			for i, s := range tc.steps {
				if s.restart {
					tr = restarted(t, tr, tc.opts)
				}
				actions := tr.Observe(t0.Add(s.at), s.reports, s.complete)
				for _, a := range actions {
					if a.Kind == Fire {
						tr.SetPosted(a.Incident.Key, "C1", tsOf(a.Incident.Key))
					}
				}
				if diff := cmp.Diff(s.want, summarise(actions), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("step %d (at %v): actions (-want +got):\n%s", i, s.at, diff)
				}
				if s.wantOpen != nil {
					open := map[Key][]string{}
					for _, inc := range tr.Snapshot() {
						open[inc.Key] = inc.Pods
					}
					if diff := cmp.Diff(s.wantOpen, open, cmpopts.EquateEmpty()); diff != "" {
						t.Errorf("step %d (at %v): open incidents (-want +got):\n%s", i, s.at, diff)
					}
				}
			}
		})
	}
}

// restarted returns a new tracker restored from a JSON round trip of tr's snapshot, as a
// restarted bot reading its ConfigMap would.
func restarted(t *testing.T, tr *Tracker, opts Options) *Tracker {
	t.Helper()
	data, err := json.Marshal(tr.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var incs []Incident
	if err := json.Unmarshal(data, &incs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tr.Snapshot(), incs, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("JSON round trip (-before +after):\n%s", diff)
	}
	n := NewTracker(opts)
	n.Restore(incs)
	return n
}

func TestKeyOf(t *testing.T) {
	tests := []struct {
		name   string
		report diagnosis.Report
		want   Key
		wantOK bool
	}{
		{"healthy", healthy("web-a", deploy("web")), Key{}, false},
		{"workload", failing("web-a", deploy("web"), tagNotFound), key("Deployment", "web", tagNotFound), true},
		{"cronjob", failing("nightly-29-x", &diagnosis.Workload{Kind: "CronJob", Name: "nightly"}, accessDenied), key("CronJob", "nightly", accessDenied), true},
		{"bare pod", failing("solo", nil, tagNotFound), key(KindPod, "solo", tagNotFound), true},
		{"empty workload", failing("solo", &diagnosis.Workload{Kind: "Deployment"}, tagNotFound), key(KindPod, "solo", tagNotFound), true},
		{"failing without cause", failing("solo", nil, ""), key(KindPod, "solo", diagnosis.CauseUnknown), true},
		{"failing with cause none", failing("solo", nil, diagnosis.CauseNone), key(KindPod, "solo", diagnosis.CauseUnknown), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := KeyOf(tc.report)
			if k != tc.want || ok != tc.wantOK {
				t.Errorf("KeyOf = %v, %v; want %v, %v", k, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestUpdateCarriesBothIncidents(t *testing.T) {
	web := deploy("web")
	tr := NewTracker(Options{})
	tr.Observe(t0, []diagnosis.Report{failing("web-a", web, tagNotFound)}, true)
	fire := tr.Observe(t0.Add(2*time.Minute), []diagnosis.Report{failing("web-a", web, tagNotFound)}, true)
	if len(fire) != 1 {
		t.Fatalf("want one fire, got %v", summarise(fire))
	}
	tr.SetPosted(fire[0].Incident.Key, "C1", "111.222")
	tr.Observe(t0.Add(3*time.Minute), []diagnosis.Report{failing("web-a", web, accessDenied)}, true)
	got := tr.Observe(t0.Add(5*time.Minute), []diagnosis.Report{failing("web-a", web, accessDenied)}, true)

	want := []Action{{
		Kind: Update,
		Incident: Incident{
			Key: key("Deployment", "web", accessDenied), Cause: accessDenied,
			FirstSeen: t0.Add(3 * time.Minute), LastSeen: t0.Add(5 * time.Minute),
			FiredAt: t0.Add(2 * time.Minute), LastNotified: t0.Add(5 * time.Minute),
			Pods: []string{"web-a"}, Summary: "access-denied on web-a",
			Channel: "C1", MessageTS: "111.222", Fired: true,
			PreviousCause: tagNotFound, CauseChangedAt: t0.Add(5 * time.Minute),
		},
		Previous: &Incident{
			Key: key("Deployment", "web", tagNotFound), Cause: tagNotFound,
			FirstSeen: t0, LastSeen: t0.Add(2 * time.Minute),
			FiredAt: t0.Add(2 * time.Minute), LastNotified: t0.Add(2 * time.Minute),
			ResolvedAt: t0.Add(5 * time.Minute), AbsentSince: t0.Add(3 * time.Minute),
			Pods: []string{}, Summary: "tag-not-found on web-a",
			Channel: "C1", MessageTS: "111.222", Fired: true, Resolved: true,
		},
	}}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
}

func TestOptionsDefaults(t *testing.T) {
	got := NewTracker(Options{}).Options()
	want := Options{FireDelay: 2 * time.Minute, RepeatInterval: 4 * time.Hour, ResolveGrace: 5 * time.Minute}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	custom := Options{FireDelay: time.Second, RepeatInterval: time.Minute, ResolveGrace: time.Hour}
	if got := NewTracker(custom).Options(); got != custom {
		t.Errorf("custom = %+v, want %+v", got, custom)
	}
}

func TestNextDue(t *testing.T) {
	web := deploy("web")
	tr := NewTracker(Options{})
	if _, ok := tr.NextDue(); ok {
		t.Fatal("empty tracker has something due")
	}
	tr.Observe(t0, []diagnosis.Report{failing("web-a", web, tagNotFound)}, false)
	if due, ok := tr.NextDue(); !ok || !due.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("pending: NextDue = %v, %v; want fire delay", due, ok)
	}
	tr.Observe(t0.Add(2*time.Minute), nil, false)
	if due, ok := tr.NextDue(); !ok || !due.Equal(t0.Add(2*time.Minute+4*time.Hour)) {
		t.Errorf("fired: NextDue = %v, %v; want repeat interval", due, ok)
	}
}

func TestSetPosted(t *testing.T) {
	tr := NewTracker(Options{})
	k := key("Deployment", "web", tagNotFound)
	if tr.SetPosted(k, "C1", "1.2") {
		t.Error("SetPosted on an unknown incident reported success")
	}
	tr.Observe(t0, []diagnosis.Report{failing("web-a", deploy("web"), tagNotFound)}, true)
	if !tr.SetPosted(k, "C1", "1.2") {
		t.Fatal("SetPosted on an open incident failed")
	}
	snap := tr.Snapshot()
	if len(snap) != 1 || snap[0].Channel != "C1" || snap[0].MessageTS != "1.2" {
		t.Errorf("snapshot = %+v", snap)
	}
	// Snapshots are copies.
	snap[0].Pods[0] = "changed"
	if tr.Snapshot()[0].Pods[0] != "web-a" {
		t.Error("Snapshot shares the tracker's pods slice")
	}
	got, ok := tr.Get(k)
	if !ok || got.MessageTS != "1.2" {
		t.Errorf("Get(%s) = %+v, %v", k, got, ok)
	}
	got.Pods[0] = "changed"
	if again, _ := tr.Get(k); again.Pods[0] != "web-a" {
		t.Error("Get shares the tracker's pods slice")
	}
	if _, ok := tr.Get(key("Deployment", "other", tagNotFound)); ok {
		t.Error("Get found an incident that is not open")
	}
}
