package detect

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// syncBuffer is a log sink safe for the cron goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo})), buf
}

func TestNewSchedulerReportsAllBadSpecs(t *testing.T) {
	specs := []string{"*/5 * * * *", "61 * * * *", "@hourly", "* * *", "", "CRON_TZ=UTC 0 * * * *", "@sometimes"}
	_, err := NewScheduler(specs, time.UTC, func(context.Context) {}, nil)
	if err == nil {
		t.Fatal("NewScheduler: no error for invalid specs")
	}
	msg := err.Error()
	for _, want := range []string{
		`schedule 2 "61 * * * *"`, "above maximum",
		`schedule 4 "* * *"`, "expected exactly 5 fields",
		"schedule 5: empty cron spec",
		`schedule 6 "CRON_TZ=UTC 0 * * * *": set the time zone in the configuration`,
		`schedule 7 "@sometimes"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, good := range []string{`"*/5 * * * *"`, `"@hourly"`} {
		if strings.Contains(msg, good) {
			t.Errorf("error names valid spec %s:\n%s", good, msg)
		}
	}
	if _, err := NewScheduler(nil, nil, func(context.Context) {}, nil); err == nil {
		t.Error("NewScheduler: no error without specs")
	}
	s, err := NewScheduler([]string{"0 9 * * 1-5", "@every 10m"}, time.FixedZone("X", 3600), func(context.Context) {}, nil)
	if err != nil || s == nil {
		t.Fatalf("NewScheduler(valid) = %v, %v", s, err)
	}
}

func TestChainRecoversPanic(t *testing.T) {
	log, buf := testLogger()
	s := &Scheduler{log: log}
	calls := 0
	job := cron.NewChain(s.wrappers()...).Then(cron.FuncJob(func() {
		calls++
		if calls == 1 {
			panic("scan exploded")
		}
	}))
	job.Run() // must not panic
	job.Run()
	if calls != 2 {
		t.Errorf("job ran %d times after a panic, want 2", calls)
	}
	if out := buf.String(); !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "scan exploded") {
		t.Errorf("panic not logged as an error:\n%s", out)
	}
}

func TestChainSkipsOverlap(t *testing.T) {
	log, buf := testLogger()
	s := &Scheduler{log: log}
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	job := cron.NewChain(s.wrappers()...).Then(cron.FuncJob(func() {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
	}))
	done := make(chan struct{})
	go func() { defer close(done); job.Run() }()
	<-started
	job.Run() // the first is still running: skipped, returns at once
	if n := runs.Load(); n != 1 {
		t.Fatalf("overlapping run was not skipped: %d runs", n)
	}
	if out := buf.String(); !strings.Contains(out, "skip") {
		t.Errorf("skip not logged:\n%s", out)
	}
	close(release)
	<-done
	job.Run() // the previous run ended: runs again
	if n := runs.Load(); n != 2 {
		t.Errorf("run after the previous ended: %d runs, want 2", n)
	}
}

// TestSchedulerRun runs a real schedule: the first run panics, the second sees Run's
// context and blocks until it ends; Run returns only after that job has returned.
func TestSchedulerRun(t *testing.T) {
	log, buf := testLogger()
	var calls atomic.Int32
	second := make(chan struct{})
	var jobReturned atomic.Bool
	s, err := NewScheduler([]string{"@every 1s"}, time.UTC, func(ctx context.Context) {
		if calls.Add(1) == 1 {
			panic("first scan")
		}
		close(second)
		<-ctx.Done()
		jobReturned.Store(true)
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatalf("no second run after a panic (runs %d); log:\n%s", calls.Load(), buf.String())
	}
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !jobReturned.Load() {
		t.Error("Run returned before the running job")
	}
	if !strings.Contains(buf.String(), "first scan") {
		t.Errorf("panic not logged:\n%s", buf.String())
	}
	if err := s.Run(t.Context()); err == nil {
		t.Error("second Run: no error")
	}
}
