package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// ackTimeout bounds handing an acknowledgement to the Socket Mode connection: Slack gives up on
// it after 3 seconds.
const ackTimeout = 3 * time.Second

// Socket receives slash commands and interactions over Socket Mode: an outbound WebSocket, so
// the bot needs no ingress. The socketmode client opens and reopens the connection (with
// backoff); Socket runs its own event loop, acknowledges each request at once and queues the
// work on the Bot.
type Socket struct {
	bot       *Bot
	client    *socketmode.Client
	log       *slog.Logger
	connected func(bool)
}

// NewSocket returns the Socket Mode transport for b. api must carry the app-level token
// (slack.OptionAppLevelToken with the xapp- token) beside the bot token.
func NewSocket(b *Bot, api *slack.Client) *Socket {
	log := b.log.With("transport", "socket")
	return &Socket{
		bot:       b,
		client:    socketmode.New(api, socketmode.OptionLog(debugLogger{log})),
		log:       log,
		connected: func(bool) {},
	}
}

// OnConnection sets f to be told when the connection to Slack is up (Slack said hello) and
// when it is down (reconnecting, or Run ended), for a readiness probe. It must be called before
// Run and f must return quickly.
func (s *Socket) OnConnection(f func(connected bool)) *Socket {
	if f != nil {
		s.connected = f
	}
	return s
}

// Run connects and handles requests until ctx ends (then it returns nil) or Slack refuses the
// app-level token (then it returns the error).
func (s *Socket) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.connected(false)
	stopped := make(chan error, 1)
	go func() { stopped <- s.client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			<-stopped
			s.log.Info("socket mode stopped")
			return nil
		case err := <-stopped:
			if ctx.Err() != nil {
				s.log.Info("socket mode stopped")
				return nil
			}
			s.log.Error("socket mode connection failed for good", "err", scrubErr(err))
			return fmt.Errorf("socket mode: %w", err)
		case evt := <-s.client.Events:
			s.handle(ctx, evt)
		}
	}
}

func (s *Socket) handle(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			s.log.Warn("slash command event without a command; acknowledged", "data", fmt.Sprintf("%T", evt.Data))
			s.ack(ctx, evt.Request, nil, s.log)
			return
		}
		r := s.bot.newCommand("socket", cmd)
		ack, err := s.bot.command(ctx, r, cmd)
		if err != nil {
			ack = ephemeral(&slack.Msg{Text: stoppingText})
		}
		s.ack(ctx, evt.Request, ack, r.log)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			s.log.Warn("interactive event without a callback; acknowledged", "data", fmt.Sprintf("%T", evt.Data))
			s.ack(ctx, evt.Request, nil, s.log)
			return
		}
		r := s.bot.newInteraction("socket", cb)
		ack, err := s.bot.interaction(ctx, r, cb)
		if err != nil {
			ack = ephemeral(&slack.Msg{Text: stoppingText})
		}
		s.ack(ctx, evt.Request, ack, r.log)
	case socketmode.EventTypeEventsAPI:
		// The bot subscribes to no events it acts on; acknowledge so Slack does not retry.
		s.log.Debug("events api event acknowledged")
		s.ack(ctx, evt.Request, nil, s.log)

	case socketmode.EventTypeConnecting:
		s.connected(false)
		if e, ok := evt.Data.(*slack.ConnectingEvent); ok {
			s.log.Info("connecting to slack", "attempt", e.Attempt, "connection_count", e.ConnectionCount)
		}
	case socketmode.EventTypeConnected:
		if e, ok := evt.Data.(*socketmode.ConnectedEvent); ok {
			// connection_count > 0 is a reconnection.
			s.log.Info("connected to slack", "connection_count", e.ConnectionCount)
		}
	case socketmode.EventTypeHello:
		s.connected(true)
		if evt.Request != nil {
			s.log.Info("slack said hello", "num_connections", evt.Request.NumConnections,
				"host", evt.Request.DebugInfo.Host)
		}
	case socketmode.EventTypeConnectionError:
		s.connected(false)
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			s.log.Warn("connecting to slack failed; retrying", "attempt", e.Attempt, "backoff", e.Backoff,
				"err", scrubErr(e.ErrorObj))
		}
	case socketmode.EventTypeInvalidAuth:
		s.log.Error("slack refused the app-level token (SLACK_APP_TOKEN)")
	case socketmode.EventTypeIncomingError:
		// Slack's disconnect requests (every few hours) are handled inside socketmode and show
		// here only as a read on the closed connection, then as connecting/connected.
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			level := slog.LevelWarn
			if errors.Is(e.ErrorObj, net.ErrClosed) {
				level = slog.LevelDebug
			}
			s.log.Log(ctx, level, "reading from slack failed", "err", scrubErr(e.ErrorObj))
		}
	case socketmode.EventTypeErrorBadMessage:
		// The message itself is not logged: it may carry user content.
		if e, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			s.log.Warn("unreadable socket mode message", "err", scrubErr(e.Cause))
		}
	case socketmode.EventTypeErrorWriteFailed:
		if e, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			envelope := ""
			if e.Response != nil {
				envelope = e.Response.EnvelopeID
			}
			s.log.Error("acknowledgement not sent to slack", "envelope_id", envelope, "err", scrubErr(e.Cause))
		}
	default:
		s.log.Debug("socket mode event ignored", "type", string(evt.Type))
	}
}

// ack acknowledges a Socket Mode request with ack as its payload (nil for none). A payload
// Slack would drop (20 KB or more) is replaced by an empty acknowledgement.
func (s *Socket) ack(ctx context.Context, req *socketmode.Request, ack *slack.Msg, log *slog.Logger) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	var p any // a nil pointer in p would be sent as "payload": null
	if ack != nil {
		p = payload(ack)
	}
	err := s.client.AckCtx(actx, req.EnvelopeID, p)
	if err != nil && p != nil {
		log.Error("acknowledgement refused; acknowledging without it", "envelope_id", req.EnvelopeID, "err", scrubErr(err))
		err = s.client.AckCtx(actx, req.EnvelopeID, nil)
	}
	if err != nil {
		log.Error("acknowledgement not sent", "envelope_id", req.EnvelopeID, "err", scrubErr(err))
	}
}

// debugLogger receives socketmode's own debug output (off unless socketmode.OptionDebug) so it
// never reaches stderr unstructured.
type debugLogger struct{ log *slog.Logger }

func (l debugLogger) Output(_ int, s string) error {
	l.log.Debug(scrub(strings.TrimSpace(s)))
	return nil
}
