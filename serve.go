package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/slack-go/slack"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/klog/v2"

	"github.com/pullcheck/pullcheck/bot"
	"github.com/pullcheck/pullcheck/bot/ops"
	"github.com/pullcheck/pullcheck/config"
	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers"
	"github.com/pullcheck/pullcheck/handlers/alerts"
	"github.com/pullcheck/pullcheck/handlers/rollout"
)

// The handlers serve both transports.
var (
	_ bot.CommandHandler     = (*handlers.PullCheck)(nil)
	_ bot.InteractionHandler = (*handlers.PullCheck)(nil)
	_ handlers.Poster        = (*bot.Poster)(nil)
	_ handlers.GroupMembers  = (*bot.Poster)(nil)
	_ handlers.Restarter     = (*rollout.Restarter)(nil)
)

func (c *cli) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the Slack bot: /pullcheck, the approve-to-restart button and channel alerts",
		Long: `Run the Slack bot. Settings come from the environment (see README "Slack bot",
"Channel alerts" and "Configuration reference"): SLACK_BOT_TOKEN, SLACK_APP_TOKEN (Socket
Mode, the default) or SLACK_SIGNING_SECRET with PULLCHECK_SLACK_MODE=http and PULLCHECK_LISTEN,
PULLCHECK_RESTART_KEY, PULLCHECK_HEALTH_LISTEN (/metrics, /healthz, /readyz), POD_NAMESPACE and
POD_NAME (alert state and leader election), and the channel, approver and alert rules in the
file named by PULLCHECK_SLACK_CONFIG. Every configuration problem is reported at start-up, at
once (exit status 2).`,
		Args: cobra.NoArgs,
		RunE: c.runServe,
	}
}

// engineAdapter serves handlers' Diagnoser and Scanner from the engine and a collector.
type engineAdapter struct {
	engine    *diagnosis.Engine
	collector clusterFacts
}

func (a engineAdapter) Diagnose(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
	return a.engine.Diagnose(ctx, a.collector, ref)
}

func (a engineAdapter) Scan(ctx context.Context, namespace string) ([]diagnosis.Report, error) {
	return a.engine.Scan(ctx, a.collector, namespace)
}

func (c *cli) runServe(cmd *cobra.Command, _ []string) error {
	ctx := cmd.Context()
	settings, err := config.LoadSlack(c.lookupEnv, os.ReadFile)
	hcfg := handlersConfig(c.cluster, settings)
	if verr := hcfg.Validate(); verr != nil {
		err = errors.Join(err, verr)
	}
	if aerr := checkAlerts(settings.Rules.Alerts); aerr != nil {
		err = errors.Join(err, aerr)
	}
	opts := []slack.Option{}
	if settings.Mode == "socket" {
		opts = append(opts, slack.OptionAppLevelToken(settings.AppToken.Reveal()))
	}
	if u := settings.APIURL; u != "" {
		opts = append(opts, slack.OptionAPIURL(u))
	}
	api := slack.New(settings.BotToken.Reveal(), opts...)
	// The alert channels are checked in Slack before anything else starts, so that their
	// problems are reported with the rest of the configuration's; only a bot token can ask.
	var alertChannels map[string]string
	if a := settings.Rules.Alerts; a != nil && strings.HasPrefix(settings.BotToken.Reveal(), "xoxb-") {
		var cerr error
		if alertChannels, cerr = resolveAlertChannels(ctx, api, a); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	if err != nil {
		return configError{"the bot's configuration is invalid:\n" + err.Error()}
	}
	// Each part names itself once with a "component" attribute: base has none.
	base := slog.New(slog.NewJSONHandler(c.stderr, nil))
	log := base.With("component", "pullcheck")
	// client-go (leader election, informers) logs through klog: in the same JSON lines.
	klog.SetSlogLogger(base.With("component", "client-go"))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := ops.NewMetrics(reg)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	c.awsErrors = metrics.AWSError

	client, contextName, err := c.kubeClient()
	if err != nil {
		return err
	}
	collector, _, err := c.collectorFor(ctx, client, contextName)
	if err != nil {
		return err
	}
	poster := bot.NewPoster(api, bot.PosterOptions{Logger: base, OnError: metrics.SlackError})
	engine := engineAdapter{engine: diagnosis.NewEngine(), collector: collector}
	pc := handlers.New(hcfg, handlers.Deps{Diagnoser: engine, Scanner: engine, Restarter: countedRestarter{rollout.New(client, nil), metrics},
		Poster: poster, GroupMembers: poster, Logger: base})
	// A followed rollout runs for up to the rollout timeout inside one piece of work.
	b := bot.New(bot.Options{Logger: base, WorkTimeout: pc.InteractionTimeout()}, pc, pc)

	var alertService *alerts.Service
	if settings.Rules.Alerts != nil {
		alertService, err = c.newAlertService(ctx, settings, alertDeps{client: client, engine: engine, poster: poster,
			channels: alertChannels, handlers: pc, metrics: metrics, log: base.With("component", "alerts")})
		if err != nil {
			return err
		}
	}

	health := ops.NewServer(settings.HealthListen, reg, ops.ServerOptions{Logger: base})
	// Everything that can fail at start-up has been checked by now (configuration, Kubernetes
	// and AWS clients, the alert channels in Slack).
	health.SetReady("started", true, "")
	// Not ready until Slack can reach the bot: listening (HTTP) or connected (Socket Mode).
	health.SetReady("slack", false, "not connected to slack")
	log.Info("pullcheck bot starting", "mode", settings.Mode, "context", contextName, "cluster", c.cluster, "aws", c.aws,
		"probe", c.probe, "alerts", alertService != nil, "health", settings.HealthListen)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.Run(gctx) })
	g.Go(func() error { return health.Run(gctx) })
	switch settings.Mode {
	case "http":
		h, err := bot.NewHTTPHandler(b, bot.HTTPOptions{SigningSecret: settings.SigningSecret.Reveal()})
		if err != nil {
			return err
		}
		// Ready once listening for Slack's requests.
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", settings.Listen)
		if err != nil {
			return fmt.Errorf("listen for slack requests on %s (PULLCHECK_LISTEN): %w", settings.Listen, err)
		}
		health.SetReady("slack", true, "")
		g.Go(func() error { return h.ServeListener(gctx, ln) })
	default:
		// Ready once Slack said hello on the Socket Mode connection, not ready while it is down.
		sock := bot.NewSocket(b, api).OnConnection(func(up bool) { health.SetReady("slack", up, "not connected to slack") })
		g.Go(func() error { return sock.Run(gctx) })
	}
	if alertService != nil {
		g.Go(func() error { return alertService.Run(gctx) })
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("the bot stopped: %w", err)
	}
	log.Info("pullcheck bot stopped")
	return nil
}

// countedRestarter counts the restarts in the metrics.
type countedRestarter struct {
	handlers.Restarter
	metrics *ops.Metrics
}

func (r countedRestarter) Restart(ctx context.Context, t handlers.RestartTarget) (handlers.RestartResult, error) {
	res, err := r.Restarter.Restart(ctx, t)
	switch {
	case err != nil:
		r.metrics.Restart("failed")
	case res.Already:
		r.metrics.Restart("already")
	default:
		r.metrics.Restart("restarted")
	}
	return res, err
}

// handlersConfig maps the settings onto handlers.Config.
func handlersConfig(cluster string, s config.Slack) handlers.Config {
	hc := handlers.Config{
		Cluster:           cluster,
		DefaultNamespaces: s.Rules.DefaultNamespaces,
		TokenKey:          handlers.SigningKey(s.RestartKey.Reveal()),
		OfferTTL:          time.Duration(s.Rules.OfferTTL),
		RolloutTimeout:    time.Duration(s.Rules.RolloutTimeout),
	}
	if a := s.Rules.Alerts; a != nil {
		// An alert's button is renewed with each reminder.
		hc.AlertOfferTTL = time.Duration(a.RepeatInterval)
	}
	for _, ch := range s.Rules.Channels {
		hc.Channels = append(hc.Channels, handlers.ChannelRule{Channel: ch.Channel, Namespaces: ch.Namespaces})
	}
	for _, a := range s.Rules.Approvers {
		hc.Approvers = append(hc.Approvers, handlers.ApproverRule{Namespaces: a.Namespaces, Approvers: a.Approvers})
	}
	return hc
}
