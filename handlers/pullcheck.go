package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Diagnoser diagnoses one pod (diagnosis.ErrPodNotFound, *diagnosis.ForbiddenError, …).
type Diagnoser interface {
	Diagnose(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error)
}

// Scanner diagnoses the pods of a namespace that fail to pull, and returns the failing ones.
type Scanner interface {
	Scan(ctx context.Context, namespace string) ([]diagnosis.Report, error)
}

// Restarter restarts workloads the way kubectl rollout restart does, and follows rollouts.
type Restarter interface {
	// Restart does what `kubectl rollout restart` does to the workload, exactly once per
	// OfferID (concurrent or repeated calls with one OfferID return the first result with
	// Already=true).
	Restart(ctx context.Context, t RestartTarget) (RestartResult, error)
	// Follow watches the rollout until it completes, fails or ctx ends, calling progress on
	// changes; FailingPods lists the pods of the new revision that fail to start.
	Follow(ctx context.Context, t RestartTarget, progress func(RolloutUpdate)) (RolloutUpdate, error)
}

// RestartTarget is one approved restart.
type RestartTarget struct {
	Namespace, Kind, Name string // the workload: Deployment, StatefulSet or DaemonSet
	PodName, PodUID       string // the pod whose diagnosis offered the restart
	OfferID               string // the button's offer: at most one restart per offer
	ApprovedBy            string // Slack user ID
}

// RestartResult says when the workload was restarted, and whether by an earlier call.
type RestartResult struct {
	Already     bool
	RestartedAt time.Time
}

// RolloutUpdate is the state of a rollout.
type RolloutUpdate struct {
	Done, TimedOut          bool
	Message                 string
	Desired, Updated, Ready int32
	FailingPods             []diagnosis.PodRef
}

// Poster posts, updates and posts ephemeral Slack messages; *slack.Client satisfies it.
type Poster interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (string, error)
}

// GroupMembers lists a Slack user group's members; *slack.Client satisfies it.
type GroupMembers interface {
	GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slack.GetUserGroupMembersOption) ([]string, error)
}

// Defaults for the zero values of Config's durations.
const (
	DefaultOfferTTL       = 15 * time.Minute
	DefaultRolloutTimeout = 10 * time.Minute
	DefaultCommandTimeout = 60 * time.Second
	DefaultGroupCacheTTL  = time.Minute
)

// answerTimeout bounds each message pullcheck sends to Slack. Answers are sent even when
// the work's deadline has passed (to say so), so they get their own short deadline.
const answerTimeout = 15 * time.Second

// Config is what PullCheck needs from configuration. Call Validate before New.
type Config struct {
	// Cluster names the cluster in messages and is bound into restart tokens.
	Cluster string
	// Channels say which channels may ask about which namespaces.
	Channels []ChannelRule
	// DefaultNamespaces are the namespace globs of channels no rule names (none: refuse).
	DefaultNamespaces []string
	// Approvers say who may approve restarts, per namespace. Without any, no button is offered.
	Approvers []ApproverRule
	// TokenKey signs restart tokens: at least 32 random bytes.
	TokenKey SigningKey
	// OfferTTL is how long a restart button is valid (default 15m).
	OfferTTL time.Duration
	// AlertOfferTTL is how long the restart button of a channel alert is valid (default
	// OfferTTL). An alert stays up for hours and is re-rendered with a fresh button at each
	// reminder, so the reminder interval suits it; the click-time diagnosis and the pod UID
	// bound into the button keep a late click safe.
	AlertOfferTTL time.Duration
	// RolloutTimeout is how long a restart's rollout is followed (default 10m).
	RolloutTimeout time.Duration
	// CommandTimeout bounds one diagnosis or scan (default 60s).
	CommandTimeout time.Duration
	// GroupCacheTTL is how long user-group members are cached (default 1m).
	GroupCacheTTL time.Duration
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	if err := c.access().validate(); err != nil {
		errs = append(errs, err)
	}
	if len(c.Approvers) > 0 {
		if len(c.TokenKey) < minKeyLen {
			errs = append(errs, fmt.Errorf("the restart token key is %d bytes: approvers are configured, so it needs at least %d random bytes", len(c.TokenKey), minKeyLen))
		}
		if c.Cluster == "" {
			errs = append(errs, errors.New("approvers are configured, so the cluster needs a name (it is bound into restart tokens)"))
		}
	}
	if len(c.Cluster) > 100 {
		errs = append(errs, fmt.Errorf("cluster name is %d characters, at most 100", len(c.Cluster)))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"offer TTL", c.OfferTTL}, {"alert offer TTL", c.AlertOfferTTL}, {"rollout timeout", c.RolloutTimeout}, {"command timeout", c.CommandTimeout}, {"group cache TTL", c.GroupCacheTTL}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %s: it must be positive (or zero for the default)", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

func (c Config) access() access {
	return access{channels: c.Channels, defaults: c.DefaultNamespaces, approvers: c.Approvers}
}

func (c Config) withDefaults() Config {
	if c.OfferTTL <= 0 {
		c.OfferTTL = DefaultOfferTTL
	}
	if c.AlertOfferTTL <= 0 {
		c.AlertOfferTTL = c.OfferTTL
	}
	if c.RolloutTimeout <= 0 {
		c.RolloutTimeout = DefaultRolloutTimeout
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.GroupCacheTTL <= 0 {
		c.GroupCacheTTL = DefaultGroupCacheTTL
	}
	return c
}

// Deps are PullCheck's collaborators. Diagnoser, Scanner and Poster are needed; without a
// Restarter no restart is offered; without GroupMembers user-group approvers approve nobody.
type Deps struct {
	Diagnoser    Diagnoser
	Scanner      Scanner
	Restarter    Restarter
	Poster       Poster
	GroupMembers GroupMembers
	Logger       *slog.Logger     // default: discard
	Now          func() time.Time // default: time.Now
}

// PullCheck answers /pullcheck and the approve-to-restart button. It implements the
// transport's CommandHandler and InteractionHandler.
type PullCheck struct {
	cfg       Config
	access    access
	approvers *approverCheck
	signer    tokenSigner
	offers    *offerRegistry

	diag      Diagnoser
	scan      Scanner
	restarter Restarter
	poster    Poster
	log       *slog.Logger
	now       func() time.Time
}

// New returns a PullCheck. cfg should have passed Validate; zero durations get defaults.
func New(cfg Config, deps Deps) *PullCheck {
	cfg = cfg.withDefaults()
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PullCheck{
		cfg:       cfg,
		access:    cfg.access(),
		approvers: &approverCheck{members: deps.GroupMembers, now: now, ttl: cfg.GroupCacheTTL},
		signer:    tokenSigner{key: cfg.TokenKey, cluster: cfg.Cluster, now: now},
		offers:    &offerRegistry{now: now},
		diag:      deps.Diagnoser,
		scan:      deps.Scanner,
		restarter: deps.Restarter,
		poster:    deps.Poster,
		log:       log.With("component", "handlers"),
		now:       now,
	}
}

// InteractionTimeout is the longest a restart's work may run: the click-time diagnosis,
// the restart and following the rollout. The transport should give interaction work at
// least this deadline, or the rollout is followed for less than RolloutTimeout.
func (p *PullCheck) InteractionTimeout() time.Duration {
	return 2*p.cfg.CommandTimeout + p.cfg.RolloutTimeout + 4*answerTimeout
}

// answerTo is where answers to one user go.
type answerTo struct {
	channel, user, responseURL string
}

// HandleCommand answers /pullcheck. It never blocks: it parses and authorises the text,
// and returns the acknowledgement and, for a diagnosis or a scan, the work that runs it
// and posts the report in the channel.
func (p *PullCheck) HandleCommand(ctx context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
	log := p.log.With("user_id", cmd.UserID, "channel_id", cmd.ChannelID, "at", p.now())
	req, err := parseCommand(cmd.Text)
	if err != nil {
		var ue UserError
		errors.As(err, &ue)
		log.InfoContext(ctx, "command refused", "text", truncate(cmd.Text, 200), "result", "bad_text")
		return renderUsage(":warning: " + ue.Public).ack(), nil
	}
	if req.kind == reqHelp {
		log.InfoContext(ctx, "command answered", "command", "help", "result", "help")
		return renderHelp(p.access.namespacesFor(cmd.ChannelID, cmd.ChannelName)).ack(), nil
	}
	log = log.With("command", req.String(), "namespace", req.namespace)
	if !p.access.allowed(cmd.ChannelID, cmd.ChannelName, req.namespace) {
		log.InfoContext(ctx, "command refused", "result", "channel_not_allowed")
		return renderRefusal(req.namespace, p.access.namespacesFor(cmd.ChannelID, cmd.ChannelName)).ack(), nil
	}
	to := answerTo{channel: cmd.ChannelID, user: cmd.UserID, responseURL: cmd.ResponseURL}
	return renderChecking(req, p.cfg.Cluster).ack(), func(ctx context.Context) { p.runCommand(ctx, log, to, req) }
}

// runCommand diagnoses or scans, then posts the report in the channel, or tells the user
// why it could not.
func (p *PullCheck) runCommand(ctx context.Context, log *slog.Logger, to answerTo, req request) {
	start := p.now()
	dctx, cancel := context.WithTimeout(ctx, p.cfg.CommandTimeout)
	defer cancel()

	var (
		main   message
		thread []message
		result string
	)
	switch req.kind {
	case reqDiagnose:
		if p.diag == nil {
			p.fail(ctx, log, to, "diagnose", errors.New("no diagnoser configured"), req)
			return
		}
		report, err := p.diag.Diagnose(dctx, diagnosis.PodRef{Namespace: req.namespace, Name: req.pod})
		if err != nil {
			p.fail(ctx, log, to, "diagnose", err, req)
			return
		}
		ov, noOffer := p.restartOffer(report, log)
		main, thread = renderReport(report, reportView{cluster: p.cfg.Cluster, now: p.now(), offer: ov, noOffer: noOffer})
		result = string(report.Status) + " " + string(report.Cause)
		if ov != nil {
			log = log.With("offer_id", ov.offer.ID)
		}
	case reqScan:
		if p.scan == nil {
			p.fail(ctx, log, to, "scan", errors.New("no scanner configured"), req)
			return
		}
		reports, err := p.scan.Scan(dctx, req.namespace)
		if err != nil {
			p.fail(ctx, log, to, "scan", err, req)
			return
		}
		main, thread = renderScan(req.namespace, p.cfg.Cluster, reports, p.now())
		result = plural(len(reports), "failing pod", "failing pods")
	}
	if err := p.postWithThread(ctx, log, to, main, thread); err != nil {
		return // postWithThread logged it and told the user
	}
	log.InfoContext(ctx, "command answered", "result", result, "duration", p.now().Sub(start))
}

// postWithThread posts main in the channel and thread as replies to it. A main message
// that cannot be posted is logged and the user is told; a thread reply that cannot be
// posted is logged.
func (p *PullCheck) postWithThread(ctx context.Context, log *slog.Logger, to answerTo, main message, thread []message) error {
	actx, cancel := answerContext(ctx)
	defer cancel()
	channel, ts, err := p.poster.PostMessageContext(actx, to.channel, main.options()...)
	if err != nil {
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && (se.Err == "not_in_channel" || se.Err == "channel_not_found") {
			log.WarnContext(ctx, "report not posted", "result", "bot_not_in_channel", "err", err)
			p.tell(ctx, log, to, notice(":warning: I cannot post in this channel. Invite me with "+code("/invite @pullcheck")+", then ask again."))
			return err
		}
		ref := newRef()
		log.ErrorContext(ctx, "report not posted", "ref", ref, "result", "error", "err", err)
		p.tell(ctx, log, to, notice(":warning: The report could not be posted: internal error (ref "+ref+")."))
		return err
	}
	for i, t := range thread {
		tctx, cancel := answerContext(ctx)
		_, _, err := p.poster.PostMessageContext(tctx, channel, append(t.options(), slack.MsgOptionTS(ts))...)
		cancel()
		if err != nil {
			log.WarnContext(ctx, "thread reply not posted", "part", i+1, "of", len(thread), "err", err)
		}
	}
	return nil
}

// tell sends an ephemeral answer to the user: with chat.postEphemeral, or through the
// response URL when that fails (the bot may not be in the channel).
func (p *PullCheck) tell(ctx context.Context, log *slog.Logger, to answerTo, m message) {
	actx, cancel := answerContext(ctx)
	defer cancel()
	_, err := p.poster.PostEphemeralContext(actx, to.channel, to.user, m.options()...)
	if err == nil {
		return
	}
	if to.responseURL != "" {
		_, _, rerr := p.poster.PostMessageContext(actx, to.channel,
			append(m.options(), slack.MsgOptionResponseURL(to.responseURL, slack.ResponseTypeEphemeral))...)
		if rerr == nil {
			return
		}
		err = errors.Join(err, rerr)
	}
	log.ErrorContext(ctx, "answer not delivered", "answer", m.Text, "err", err)
}

// answerContext gives a message to Slack its own short deadline, which holds even when the
// work's context has ended (a timed-out diagnosis is still answered).
func answerContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), answerTimeout)
}

// fail tells the user why a diagnosis or scan failed, and logs it once: unexpected errors
// at error level with a reference the user also sees.
func (p *PullCheck) fail(ctx context.Context, log *slog.Logger, to answerTo, what string, err error, req request) {
	public, internal := p.explain(err, req)
	if internal {
		ref := newRef()
		public = "Something went wrong on pullcheck's side: internal error (ref " + ref + ")."
		log.ErrorContext(ctx, what+" failed", "ref", ref, "result", "error", "err", err)
	} else {
		log.InfoContext(ctx, what+" failed", "result", "user_error", "err", err)
	}
	p.tell(ctx, log, to, notice(":warning: "+public))
}

// explain turns an error from the engine into public text, or says it is internal.
func (p *PullCheck) explain(err error, req request) (public string, internal bool) {
	in := ""
	if p.cfg.Cluster != "" {
		in = " in cluster " + code(p.cfg.Cluster)
	}
	var ue UserError
	var forbidden *diagnosis.ForbiddenError
	switch {
	case errors.As(err, &ue):
		return ue.Public, false
	case errors.Is(err, diagnosis.ErrPodNotFound):
		return "There is no pod " + code(req.pod) + " in namespace " + code(req.namespace) + in + ". " +
			"Pod names change with every rollout: list them with " + code("kubectl -n "+req.namespace+" get pods") +
			", or run " + code("/pullcheck "+req.namespace) + " to find the failing ones.", false
	case errors.Is(err, diagnosis.ErrNamespaceNotFound):
		return "There is no namespace " + code(req.namespace) + in + ".", false
	case errors.As(err, &forbidden):
		return "pullcheck is not allowed to do this" + in + ": its service account needs the RBAC permission " +
			esc(forbidden.Permission()) + ". Ask a cluster admin to grant it (pullcheck's deploy/kubernetes/rbac.yaml lists what it needs).", false
	case errors.Is(err, context.DeadlineExceeded):
		return "The " + map[requestKind]string{reqDiagnose: "diagnosis", reqScan: "scan"}[req.kind] +
			" did not finish within " + shortDuration(p.cfg.CommandTimeout) + ": the cluster or AWS is slow to answer. Try again in a minute.", false
	case errors.Is(err, context.Canceled):
		return "pullcheck stopped before it finished (it is probably restarting). Ask again in a minute.", false
	}
	return "", true
}
