package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullcheck/pullcheck/bot"
	"github.com/pullcheck/pullcheck/bot/ops"
	"github.com/pullcheck/pullcheck/config"
	"github.com/pullcheck/pullcheck/handlers"
	"github.com/pullcheck/pullcheck/handlers/alerts"
	"github.com/pullcheck/pullcheck/handlers/incident"
	"github.com/pullcheck/pullcheck/handlers/incident/store"
)

// alertRoutes maps the configured routes onto alerts.Routes, with channel names replaced by
// the IDs Slack resolved (ids nil: as configured, for validation before Slack is asked).
func alertRoutes(a *config.Alerts, ids map[string]string) alerts.Routes {
	id := func(c string) string {
		if v, ok := ids[c]; ok {
			return v
		}
		return c
	}
	r := alerts.Routes{Default: id(strings.TrimSpace(a.DefaultChannel))}
	for _, rt := range a.Routes {
		r.Rules = append(r.Rules, alerts.Route{Channel: id(strings.TrimSpace(rt.Channel)), Namespaces: rt.Namespaces, Selector: rt.Selector})
	}
	return r
}

// checkAlerts reports every problem of the alert configuration that needs no Slack call:
// the cron specs and the routes.
func checkAlerts(a *config.Alerts) error {
	if a == nil {
		return nil
	}
	var errs []error
	if err := alertRoutes(a, nil).Validate(); err != nil {
		errs = append(errs, err)
	}
	loc, err := a.Location()
	if err != nil {
		loc = time.UTC // the bad zone is reported by config; the specs are still checked
	}
	if err := alerts.CheckSchedules(a.Schedules, loc); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// alertDeps are the parts of serve the alerts reuse.
type alertDeps struct {
	client   kubernetes.Interface
	engine   engineAdapter
	poster   *bot.Poster
	channels map[string]string // the alert channels' IDs, by the names configured
	handlers *handlers.PullCheck
	metrics  *ops.Metrics
	log      *slog.Logger
}

// resolveAlertChannels resolves the alert channels in Slack, every unusable one reported at
// once.
func resolveAlertChannels(ctx context.Context, api bot.ChannelLister, a *config.Alerts) (map[string]string, error) {
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	ids, err := bot.ResolveChannels(rctx, api, a.Channels())
	if err != nil {
		return nil, fmt.Errorf("the alert channels are not usable:\n%w", err)
	}
	return ids, nil
}

// newAlertService builds the leader-elected alert service, with the channels resolved by
// resolveAlertChannels.
func (c *cli) newAlertService(ctx context.Context, s config.Slack, d alertDeps) (*alerts.Service, error) {
	a := s.Rules.Alerts
	loc, err := a.Location()
	if err != nil {
		return nil, configError{err.Error()}
	}
	identity := s.Identity
	if identity == "" {
		if identity, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("leader election needs an identity: set POD_NAME: %w", err)
		}
	}
	p, err := alerts.NewPipeline(alerts.PipelineConfig{
		Cluster:    c.cluster,
		Routes:     alertRoutes(a, d.channels),
		Namespaces: c.scanNS,
		Tracker: incident.Options{
			FireDelay:      time.Duration(a.FireDelay),
			RepeatInterval: time.Duration(a.RepeatInterval),
			ResolveGrace:   time.Duration(a.ResolveGrace),
		},
		Timeout:     c.timeout,
		ScanOnStart: true,
	}, alerts.PipelineDeps{
		Scanner:   d.engine,
		Diagnoser: d.engine,
		Poster:    d.poster,
		Store:     store.NewConfigMapStore(d.client, s.Namespace, a.StateConfigMap),
		Offerer:   d.handlers,
		Labels:    namespaceLabels(d.client),
		Metrics:   d.metrics,
		Logger:    d.log,
	})
	if err != nil {
		return nil, configError{"the alert configuration is invalid:\n" + err.Error()}
	}
	return alerts.NewService(alerts.ServiceConfig{
		Schedules:  a.Schedules,
		TimeZone:   loc,
		Watch:      a.WatchOn(),
		Namespaces: c.scanNS,
		Namespace:  s.Namespace,
		Identity:   identity,
		Election:   store.ElectorConfig{LeaseName: a.LeaseName},
	}, d.client, p, d.metrics.SetLeader, d.log)
}

// namespaceLabels reads a namespace's labels for the selector routes.
func namespaceLabels(client kubernetes.Interface) alerts.NamespaceLabels {
	return func(ctx context.Context, namespace string) (map[string]string, error) {
		ns, err := client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read namespace %s: %w", namespace, err)
		}
		return ns.Labels, nil
	}
}
