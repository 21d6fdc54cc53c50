package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
)

// CommandHandler answers slash commands. Package handlers implements it.
//
// HandleCommand must not have side effects: when the bot is busy or shutting down it may call
// HandleCommand and then drop work, telling the user to try again. Side effects belong in work.
type CommandHandler interface {
	// HandleCommand returns at once: the acknowledgement (nil for an empty 200) and the slow
	// part, which the bot runs on its worker pool with a deadline. work may be nil.
	HandleCommand(ctx context.Context, cmd slack.SlashCommand) (ack *slack.Msg, work func(ctx context.Context))
}

// InteractionHandler answers interactions (block_actions: button clicks). Package handlers
// implements it. The same rules as for [CommandHandler] apply. Slack shows no message from
// the acknowledgement of a block_actions payload: reply through the callback's response_url
// or the Web API, in work.
type InteractionHandler interface {
	HandleInteraction(ctx context.Context, cb slack.InteractionCallback) (ack *slack.Msg, work func(ctx context.Context))
}

// Causes of a work context's cancellation, read with context.Cause.
var (
	// ErrWorkTimeout: the work ran for Options.WorkTimeout.
	ErrWorkTimeout = errors.New("bot: work timed out")
	// ErrShutdown: the bot is shutting down and Options.ShutdownTimeout has passed.
	ErrShutdown = errors.New("bot: shutting down")
)

// errStopped: the bot takes no new work (HTTP answers 503).
var errStopped = errors.New("bot: not accepting work")

// errBusy: every worker is busy and the queue is full.
var errBusy = errors.New("bot: work queue full")

// Texts the bot itself sends to users.
const (
	busyText     = "pullcheck is busy with other requests right now. Please try again in a minute."
	stoppingText = "pullcheck is restarting. Please try again in a minute."
	internalText = "pullcheck hit an internal error (ref %s). Please try again; if it keeps happening, tell whoever runs pullcheck."
)

// Defaults for Options.
const (
	DefaultWorkers         = 16
	DefaultQueueSize       = 64
	DefaultWorkTimeout     = 2 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
)

const (
	// noticeTimeout bounds one busy notice posted to a response_url.
	noticeTimeout = 10 * time.Second
	// noticeQueue is how many busy notices may wait to be posted; more are logged and dropped.
	noticeQueue = 16
	// defaultCancelGrace is how long Run waits, after cancelling work at the shutdown timeout,
	// for it to wrap up (tell its user it was cut short, under context.WithoutCancel and a
	// short deadline of its own) before giving up on it.
	defaultCancelGrace = 15 * time.Second
)

// Options configure a Bot. Zero values mean the defaults.
type Options struct {
	// Logger receives the bot's logs (default slog.Default()). Secrets are never logged.
	Logger *slog.Logger
	// Workers is how many work functions run at once (default 16).
	Workers int
	// QueueSize is how many accepted work functions may wait for a worker (default 64).
	// Beyond Workers+QueueSize the user is told the bot is busy.
	QueueSize int
	// WorkTimeout is the deadline of each work function (default 2m).
	WorkTimeout time.Duration
	// ShutdownTimeout is how long in-flight work may run once Run's context ends (default 30s);
	// then its context is cancelled with ErrShutdown.
	ShutdownTimeout time.Duration
	// Now is the clock (default time.Now); the HTTP transport checks request timestamps with it.
	Now func() time.Time
	// HTTPClient posts the bot's own busy notices to response URLs (default: 10s timeout).
	HTTPClient *http.Client
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.WorkTimeout <= 0 {
		o.WorkTimeout = DefaultWorkTimeout
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: noticeTimeout}
	}
	return o
}

// Bot runs the handlers' work on a bounded worker pool. The transports (Socket, HTTPHandler)
// deliver requests to it; Run owns the workers.
type Bot struct {
	opts         Options
	log          *slog.Logger
	commands     CommandHandler
	interactions InteractionHandler

	// mu guards stopped and, through it, every send on queue and notices against their close.
	mu       sync.RWMutex
	stopped  bool
	queue    chan job
	notices  chan notice
	stopping chan struct{}

	running     atomic.Bool
	inFlight    atomic.Int64
	cancelGrace time.Duration
}

// job is accepted work waiting for a worker.
type job struct {
	id   string
	log  *slog.Logger
	work func(context.Context)
}

// notice is a busy message for a user whose acknowledgement Slack does not show.
type notice struct {
	responseURL string
	log         *slog.Logger
}

// New returns a Bot that answers with commands and interactions. Call Run to start its workers.
func New(opts Options, commands CommandHandler, interactions InteractionHandler) *Bot {
	opts = opts.withDefaults()
	return &Bot{
		opts:         opts,
		log:          opts.Logger.With("component", "bot"),
		commands:     commands,
		interactions: interactions,
		queue:        make(chan job, opts.QueueSize),
		notices:      make(chan notice, noticeQueue),
		stopping:     make(chan struct{}),
		cancelGrace:  defaultCancelGrace,
	}
}

// Stopping is closed when the bot stops taking new work (its Run context ended): a readiness
// probe can report not-ready from then on.
func (b *Bot) Stopping() <-chan struct{} { return b.stopping }

// Run starts the workers and blocks until ctx ends. Then it takes no new work, lets in-flight
// and queued work finish for up to ShutdownTimeout, cancels what is left (context cause
// ErrShutdown), waits for it to return, and returns nil. Work gets 15 seconds after the
// cancellation to wrap up; Run returns an error naming what is still running then. Queued work
// that no worker started before the shutdown timeout is dropped, and logged. Run may be called
// once.
func (b *Bot) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("bot: Run called more than once")
	}
	// Work outlives ctx (SIGTERM) until the shutdown timeout: its root is cancelled separately.
	root, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(ErrShutdown)

	var workers, notifier sync.WaitGroup
	for range b.opts.Workers {
		workers.Go(func() {
			for j := range b.queue {
				b.run(root, j)
			}
		})
	}
	notifier.Go(func() { b.notify(root) })
	b.log.Info("bot started", "workers", b.opts.Workers, "queue_size", b.opts.QueueSize,
		"work_timeout", b.opts.WorkTimeout)

	<-ctx.Done()
	b.stop()
	b.log.Info("bot stopping: finishing in-flight work", "in_flight", b.inFlight.Load(),
		"queued", len(b.queue), "shutdown_timeout", b.opts.ShutdownTimeout)

	err := b.drain(&workers, cancel)
	cancel(ErrShutdown) // busy notices still waiting are not worth delaying the exit
	notifier.Wait()
	if err != nil {
		return err
	}
	b.log.Info("bot stopped")
	return nil
}

// stop closes the queues to new work. Workers drain what was already accepted.
func (b *Bot) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	b.stopped = true
	close(b.queue)
	close(b.notices)
	close(b.stopping)
}

func (b *Bot) isStopped() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.stopped
}

// drain waits for the workers for ShutdownTimeout, then cancels the work and waits for it to
// return for cancelGrace more.
func (b *Bot) drain(workers *sync.WaitGroup, cancel context.CancelCauseFunc) error {
	done := make(chan struct{})
	// Exits when the workers do; if a work function never returns, the process exit ends it.
	go func() {
		workers.Wait()
		close(done)
	}()
	grace := time.NewTimer(b.opts.ShutdownTimeout)
	defer grace.Stop()
	select {
	case <-done:
		return nil
	case <-grace.C:
	}
	b.log.Warn("shutdown timeout: cancelling in-flight work", "in_flight", b.inFlight.Load(),
		"queued", len(b.queue), "shutdown_timeout", b.opts.ShutdownTimeout)
	cancel(ErrShutdown)
	abandon := time.NewTimer(b.cancelGrace)
	defer abandon.Stop()
	select {
	case <-done:
		return nil
	case <-abandon.C:
		n := b.inFlight.Load()
		b.log.Error("work ignores cancellation: giving up on it", "in_flight", n)
		return fmt.Errorf("bot: %d work functions still running %s after cancellation", n, b.cancelGrace)
	}
}

// run runs one job on a worker, with its deadline, recovering a panic.
func (b *Bot) run(root context.Context, j job) {
	if root.Err() != nil {
		j.log.Warn("work dropped: shutdown timeout passed before a worker was free")
		return
	}
	ctx, cancel := context.WithTimeoutCause(withRequestID(root, j.id), b.opts.WorkTimeout, ErrWorkTimeout)
	defer cancel()
	b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	start := b.opts.Now()
	defer func() {
		took := b.opts.Now().Sub(start)
		if p := recover(); p != nil {
			j.log.Error("work panicked", "panic", scrub(fmt.Sprint(p)), "duration", took,
				"stack", string(debug.Stack()))
			return
		}
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, ErrWorkTimeout):
			j.log.Warn("work ran into its deadline", "duration", took, "work_timeout", b.opts.WorkTimeout)
		case errors.Is(cause, ErrShutdown):
			j.log.Warn("work cancelled at shutdown", "duration", took)
		default:
			j.log.Debug("work done", "duration", took)
		}
	}()
	j.work(ctx)
}

// request is one slash command or interaction on its way through dispatch.
type request struct {
	id  string
	log *slog.Logger
	// noticeURL is where to tell the user the bot is busy when Slack does not show the
	// acknowledgement (interactions); empty for commands.
	noticeURL string
}

func (b *Bot) newCommand(transport string, cmd slack.SlashCommand) request {
	id := newRequestID()
	return request{id: id, log: b.log.With("transport", transport, "request_id", id,
		"command", cmd.Command, "text", cmd.Text, "team_id", cmd.TeamID,
		"channel_id", cmd.ChannelID, "user_id", cmd.UserID)}
}

func (b *Bot) newInteraction(transport string, cb slack.InteractionCallback) request {
	id := newRequestID()
	attrs := []any{"transport", transport, "request_id", id, "interaction", string(cb.Type),
		"team_id", cb.Team.ID, "channel_id", cb.Channel.ID, "user_id", cb.User.ID}
	if len(cb.ActionCallback.BlockActions) > 0 {
		attrs = append(attrs, "action_id", cb.ActionCallback.BlockActions[0].ActionID)
	}
	return request{id: id, log: b.log.With(attrs...), noticeURL: cb.ResponseURL}
}

// command calls the command handler and queues its work. It returns the acknowledgement, or
// errStopped when the bot takes no new work.
func (b *Bot) command(ctx context.Context, r request, cmd slack.SlashCommand) (*slack.Msg, error) {
	return b.dispatch(ctx, r, func(ctx context.Context) (*slack.Msg, func(context.Context)) {
		return b.commands.HandleCommand(ctx, cmd)
	})
}

// interaction is command for interactions.
func (b *Bot) interaction(ctx context.Context, r request, cb slack.InteractionCallback) (*slack.Msg, error) {
	return b.dispatch(ctx, r, func(ctx context.Context) (*slack.Msg, func(context.Context)) {
		return b.interactions.HandleInteraction(ctx, cb)
	})
}

func (b *Bot) dispatch(ctx context.Context, r request, handle func(context.Context) (*slack.Msg, func(context.Context))) (*slack.Msg, error) {
	if b.isStopped() {
		r.log.Info("request refused: shutting down")
		return nil, errStopped
	}
	ack, work, ok := callHandler(withRequestID(ctx, r.id), r, handle)
	if !ok {
		return ephemeral(&slack.Msg{Text: fmt.Sprintf(internalText, r.id)}), nil
	}
	if work == nil {
		r.log.Info("request answered")
		return ephemeral(ack), nil
	}
	switch err := b.enqueue(job{id: r.id, log: r.log, work: work}); {
	case errors.Is(err, errBusy):
		r.log.Warn("request refused: busy", "workers", b.opts.Workers, "queue_size", b.opts.QueueSize)
		b.noticeBusy(r)
		return ephemeral(&slack.Msg{Text: busyText}), nil
	case err != nil:
		r.log.Info("request refused: shutting down")
		return nil, err
	}
	r.log.Info("request accepted")
	return ephemeral(ack), nil
}

// callHandler calls a handler, recovering a panic (ok false).
func callHandler(ctx context.Context, r request, handle func(context.Context) (*slack.Msg, func(context.Context))) (ack *slack.Msg, work func(context.Context), ok bool) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("handler panicked", "panic", scrub(fmt.Sprint(p)), "stack", string(debug.Stack()))
			ack, work, ok = nil, nil, false
		}
	}()
	ack, work = handle(ctx)
	return ack, work, true
}

// enqueue hands work to the pool without blocking.
func (b *Bot) enqueue(j job) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.stopped {
		return errStopped
	}
	select {
	case b.queue <- j:
		return nil
	default:
		return errBusy
	}
}

// noticeBusy queues a busy message to the request's response URL, without blocking.
func (b *Bot) noticeBusy(r request) {
	if r.noticeURL == "" {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.stopped {
		return
	}
	select {
	case b.notices <- notice{responseURL: r.noticeURL, log: r.log}:
	default:
		r.log.Warn("busy notice not posted: too many pending")
	}
}

// notify posts busy notices until the notices queue is closed and drained.
func (b *Bot) notify(root context.Context) {
	for n := range b.notices {
		ctx, cancel := context.WithTimeout(root, noticeTimeout)
		err := slack.PostWebhookCustomHTTPContext(ctx, n.responseURL, b.opts.HTTPClient, &slack.WebhookMessage{
			Text:         busyText,
			ResponseType: slack.ResponseTypeEphemeral,
		})
		cancel()
		if err != nil {
			n.log.Warn("busy notice not posted", "err", scrubErr(err))
		}
	}
}

// ephemeral returns a copy of ack that Slack shows only to the user, unless the handler
// chose otherwise.
func ephemeral(ack *slack.Msg) *slack.Msg {
	if ack == nil {
		return nil
	}
	m := *ack
	if m.ResponseType == "" {
		m.ResponseType = slack.ResponseTypeEphemeral
	}
	return &m
}

// payload is the body Slack reads from an acknowledgement: a message's text, blocks and
// attachments with the response fields (slack.Msg would also carry "blocks": null and an empty
// "metadata" object). nil for nil.
func payload(ack *slack.Msg) *slack.WebhookMessage {
	if ack == nil {
		return nil
	}
	p := &slack.WebhookMessage{
		Text:            ack.Text,
		Attachments:     ack.Attachments,
		ThreadTimestamp: ack.ThreadTimestamp,
		ResponseType:    ack.ResponseType,
		ReplaceOriginal: ack.ReplaceOriginal,
		DeleteOriginal:  ack.DeleteOriginal,
	}
	if len(ack.Blocks.BlockSet) > 0 {
		blocks := ack.Blocks
		p.Blocks = &blocks
	}
	return p
}

type requestIDKey struct{}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id the bot gave the request that ctx (a handler's or a work
// function's) belongs to, as logged with "request_id"; "" outside a request. Show it to users
// as a reference for internal errors.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
