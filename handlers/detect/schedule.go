package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Scheduler runs a job on cron schedules. Build it with NewScheduler and run it once
// with Run.
type Scheduler struct {
	cron *cron.Cron
	log  *slog.Logger

	mu     sync.Mutex
	ran    bool
	runCtx context.Context // set by Run before the cron starts
}

// NewScheduler checks every spec (standard five-field cron specs or descriptors such as
// "@hourly" and "@every 10m"), interpreted in tz (nil means UTC), and returns a scheduler
// that calls job on each of them. It reports every invalid spec at once, each with the
// spec and what is wrong with it. A nil log discards.
//
// The job runs behind cron.Recover and cron.SkipIfStillRunning: a panic is logged and
// the schedule goes on; a tick that comes while the previous run (from any spec) is
// still going is skipped and logged, so runs never overlap.
func NewScheduler(specs []string, tz *time.Location, job func(ctx context.Context), log *slog.Logger) (*Scheduler, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if tz == nil {
		tz = time.UTC
	}
	if job == nil {
		return nil, errors.New("detect: schedule: no job")
	}
	if len(specs) == 0 {
		return nil, errors.New("detect: schedule: no cron spec; give at least one, e.g. \"*/15 * * * *\"")
	}
	var errs []error
	for i, spec := range specs {
		if strings.TrimSpace(spec) == "" {
			errs = append(errs, fmt.Errorf("schedule %d: empty cron spec", i+1))
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(spec), "TZ=") || strings.HasPrefix(strings.TrimSpace(spec), "CRON_TZ=") {
			errs = append(errs, fmt.Errorf("schedule %d %q: set the time zone in the configuration, not in the spec", i+1, spec))
			continue
		}
		if _, err := cron.ParseStandard(spec); err != nil {
			errs = append(errs, fmt.Errorf("schedule %d %q: %w", i+1, spec, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("detect: invalid cron schedules (use five fields: minute hour day-of-month month day-of-week, or @hourly, @every 10m, …):\n%w", errors.Join(errs...))
	}
	s := &Scheduler{log: log}
	s.cron = cron.New(cron.WithLocation(tz), cron.WithLogger(cronLogger{log}), cron.WithChain(s.wrappers()...))
	run := cron.FuncJob(func() {
		// cron.Job has no context: the job gets Run's context, stored before Start.
		s.mu.Lock()
		ctx := s.runCtx
		s.mu.Unlock()
		job(ctx)
	})
	for _, spec := range specs {
		if _, err := s.cron.AddJob(spec, run); err != nil {
			return nil, fmt.Errorf("detect: schedule %q: %w", spec, err) // checked above; cannot happen
		}
	}
	return s, nil
}

// wrappers are the chain every run goes through (tests drive it directly). Recover is
// inside SkipIfStillRunning on purpose: in cron v3.0.1 SkipIfStillRunning hands its
// token back only when the job returns normally, so a panic that unwinds through it
// would skip every later run.
func (s *Scheduler) wrappers() []cron.JobWrapper {
	l := cronLogger{s.log}
	return []cron.JobWrapper{cron.SkipIfStillRunning(l), cron.Recover(l)}
}

// Run starts the schedules and blocks until ctx ends; then it stops them and waits for a
// running job to return. The job's context is ctx, so it sees the end too. Run may be
// called once.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.ran {
		s.mu.Unlock()
		return errors.New("detect: scheduler already ran")
	}
	s.ran = true
	s.runCtx = ctx
	s.mu.Unlock()
	s.cron.Start()
	<-ctx.Done()
	<-s.cron.Stop().Done()
	return nil
}

// cronLogger adapts slog to cron.Logger. cron reports its routine (start, wake, run,
// added) at info level; those go to debug, a skipped tick stays info.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	level := slog.LevelDebug
	if msg == "skip" {
		level = slog.LevelInfo
		msg = "skip: the previous scan is still running"
	}
	l.log.Log(context.Background(), level, "cron: "+msg, kv...)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append([]any{"err", err}, kv...)...)
}
