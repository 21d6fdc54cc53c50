package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"

	"github.com/pullcheck/pullcheck/handlers/detect"
	"github.com/pullcheck/pullcheck/handlers/incident/store"
)

// ServiceConfig says how the alerting runs.
type ServiceConfig struct {
	// Schedules are the cron specs of the scans (five fields or descriptors such as
	// "@every 10m"), in TimeZone (nil: UTC).
	Schedules []string
	TimeZone  *time.Location
	// Watch turns on the pod watch, which raises incidents within seconds.
	Watch bool
	// Namespaces limit the watch (as PipelineConfig.Namespaces limits the scans); empty: all.
	Namespaces []string
	// Namespace is the bot's own namespace, where the Lease lives; Identity is this replica's
	// name in it (the pod name).
	Namespace, Identity string
	// Election tunes the Lease (name and durations); zero values take the defaults.
	Election store.ElectorConfig
}

// Service runs the alerting on the replica that holds the Lease: the pipeline's term, the
// cron scans and the pod watch, all started when it is elected and stopped when it is not.
type Service struct {
	cfg      ServiceConfig
	client   kubernetes.Interface
	pipeline *Pipeline
	elector  *store.Elector
	leader   func(bool)
	log      *slog.Logger
}

// NewService checks the configuration (every invalid cron spec at once) and returns the
// service. leader, if set, is told when this replica starts and stops leading (a metric).
func NewService(cfg ServiceConfig, client kubernetes.Interface, p *Pipeline, leader func(bool), log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if p == nil || client == nil {
		return nil, errors.New("alerts: service needs a pipeline and a Kubernetes client")
	}
	var errs []error
	if err := CheckSchedules(cfg.Schedules, cfg.TimeZone); err != nil {
		errs = append(errs, err)
	}
	elector, err := store.NewElector(client, cfg.Namespace, cfg.Identity, cfg.Election)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if leader == nil {
		leader = func(bool) {}
	}
	return &Service{cfg: cfg, client: client, pipeline: p, elector: elector, leader: leader, log: log}, nil
}

// CheckSchedules reports every invalid cron spec at once, as NewService would.
func CheckSchedules(specs []string, tz *time.Location) error {
	_, err := detect.NewScheduler(specs, tz, func(context.Context) {}, nil)
	return err
}

// Run competes for the Lease until ctx ends, and leads when elected.
func (s *Service) Run(ctx context.Context) error {
	s.elector.Run(ctx, s.lead)
	return nil
}

// lead is one term: everything it starts ends before it returns, so the next leader never
// overlaps it.
func (s *Service) lead(ctx context.Context) {
	s.log.InfoContext(ctx, "alerts: elected leader", "identity", s.elector.Identity())
	s.leader(true)
	defer s.leader(false)
	g, gctx := errgroup.WithContext(ctx)
	// The watch starts once the term's state is loaded and its first scan done.
	started := make(chan struct{})
	g.Go(func() error { return s.pipeline.RunTerm(gctx, func() { close(started) }) })
	sched, err := detect.NewScheduler(s.cfg.Schedules, s.cfg.TimeZone, func(jctx context.Context) {
		if err := s.pipeline.Scan(jctx); err != nil && !errors.Is(err, ErrNotLeading) {
			s.log.WarnContext(jctx, "alerts: scheduled scan failed", "err", err)
		}
	}, s.log)
	if err != nil {
		// Checked by NewService.
		s.log.ErrorContext(ctx, "alerts: schedules", "err", err)
	} else {
		g.Go(func() error { return sched.Run(gctx) })
	}
	if s.cfg.Watch {
		w, err := detect.NewPodWatch(s.client, s.cfg.Namespaces, s.pipeline.PodFailing, s.pipeline.PodRecovered, s.log)
		if err != nil {
			s.log.ErrorContext(ctx, "alerts: pod watch not started", "err", err)
		} else {
			g.Go(func() error {
				select {
				case <-started:
				case <-gctx.Done():
					return nil
				}
				return w.Run(gctx)
			})
		}
	}
	if err := g.Wait(); err != nil {
		s.log.ErrorContext(ctx, "alerts: term ended with an error", "err", fmt.Errorf("lead: %w", err))
	}
	s.log.InfoContext(context.WithoutCancel(ctx), "alerts: no longer leading", "identity", s.elector.Identity())
}
