package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// The paths HTTPHandler serves; the Slack app's request URLs point at them.
const (
	CommandsPath     = "/slack/commands"
	InteractionsPath = "/slack/interactions"
	EventsPath       = "/slack/events"
)

const (
	// DefaultMaxBodyBytes bounds a request body: Slack's largest payloads (block_actions
	// carrying the whole message) are far smaller.
	DefaultMaxBodyBytes = 1 << 20
	// signatureWindow is how far a request's timestamp may be from now (Slack's rule).
	signatureWindow = 5 * time.Minute

	headerSignature = "X-Slack-Signature"
	headerTimestamp = "X-Slack-Request-Timestamp"

	// serverShutdownTimeout bounds the wait for in-flight HTTP requests (acks only) at shutdown.
	serverShutdownTimeout = 10 * time.Second
)

// HTTPOptions configure an HTTPHandler.
type HTTPOptions struct {
	// SigningSecret is the Slack app's signing secret (required).
	SigningSecret string
	// MaxBodyBytes bounds a request body (default 1 MiB); larger requests get 413.
	MaxBodyBytes int64
}

// HTTPHandler receives slash commands, interactions and Events API requests over HTTP, for
// Slack apps not using Socket Mode. Every request's v0 signature and timestamp are checked
// before anything else; a request that fails gets 401 and reaches no handler.
type HTTPHandler struct {
	bot     *Bot
	log     *slog.Logger
	secret  string
	maxBody int64
}

// NewHTTPHandler returns the HTTP transport for b.
func NewHTTPHandler(b *Bot, opts HTTPOptions) (*HTTPHandler, error) {
	if opts.SigningSecret == "" {
		return nil, errors.New("bot: the HTTP transport needs the Slack app's signing secret")
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &HTTPHandler{
		bot:     b,
		log:     b.log.With("transport", "http"),
		secret:  opts.SigningSecret,
		maxBody: opts.MaxBodyBytes,
	}, nil
}

// Serve listens on addr and serves h until ctx ends, then stops taking connections and waits
// briefly for requests in progress.
func (h *HTTPHandler) Serve(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return h.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened (so that it knows when the bot is
// listening, for a readiness probe). It closes ln when it returns.
func (h *HTTPHandler) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	h.log.Info("listening for slack requests", "addr", ln.Addr().String())
	select {
	case err := <-served:
		return fmt.Errorf("serve slack requests: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serverShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-served // http.ErrServerClosed once Shutdown has begun
	if err != nil {
		return fmt.Errorf("stop serving slack requests: %w", err)
	}
	return nil
}

// ServeHTTP routes, verifies and answers one request from Slack.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var serve func(http.ResponseWriter, *http.Request, []byte)
	switch r.URL.Path {
	case CommandsPath:
		serve = h.command
	case InteractionsPath:
		serve = h.interaction
	case EventsPath:
		serve = h.event
	default:
		http.NotFound(w, r)
		return
	}
	body, status, reason := h.verifiedBody(w, r)
	if status != http.StatusOK {
		h.log.Warn("slack request rejected", "path", r.URL.Path, "status", status, "reason", reason,
			"remote_addr", r.RemoteAddr)
		http.Error(w, http.StatusText(status), status)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if h.bot.isStopped() {
		unavailable(w)
		return
	}
	// Parsers read the form from the body again.
	r.Body = io.NopCloser(bytes.NewReader(body))
	serve(w, r, body)
}

// verifiedBody reads the body within the size limit and checks the request's signature and
// timestamp. status is 200 when the request is Slack's, else the status to answer with and
// reason says why (for the logs).
func (h *HTTPHandler) verifiedBody(w http.ResponseWriter, r *http.Request) (body []byte, status int, reason string) {
	// Refuse unsigned requests before reading their bodies.
	if r.Header.Get(headerSignature) == "" || r.Header.Get(headerTimestamp) == "" {
		return nil, http.StatusUnauthorized, "missing signature headers"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", h.maxBody)
		}
		return nil, http.StatusBadRequest, "reading body: " + scrubErr(err)
	}
	if reason := h.verify(r.Header, body); reason != "" {
		return nil, http.StatusUnauthorized, reason
	}
	return body, http.StatusOK, ""
}

// verify checks Slack's v0 signature: "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":"
// + body)), and that the timestamp is within five minutes of the injected clock. It returns
// why the request fails, or "".
func (h *HTTPHandler) verify(header http.Header, body []byte) string {
	// slack.NewSecretsVerifier checks the window too, but against the wall clock
	// (time.Since); the bot's clock is injectable, so the window is checked here first.
	sec, err := strconv.ParseInt(header.Get(headerTimestamp), 10, 64)
	if err != nil {
		return "malformed timestamp"
	}
	if skew := h.bot.opts.Now().Sub(time.Unix(sec, 0)); skew.Abs() > signatureWindow {
		return fmt.Sprintf("timestamp %s away from now (more than %s)", skew.Round(time.Second), signatureWindow)
	}
	sv, err := slack.NewSecretsVerifier(header, h.secret)
	if err != nil {
		return "signature: " + scrubErr(err)
	}
	if _, err := sv.Write(body); err != nil {
		return "signature: " + scrubErr(err)
	}
	if err := sv.Ensure(); err != nil {
		return "signature: " + scrubErr(err)
	}
	return ""
}

func (h *HTTPHandler) command(w http.ResponseWriter, r *http.Request, _ []byte) {
	cmd, err := slack.SlashCommandParse(r)
	if err != nil || cmd.Command == "" {
		h.log.Warn("signed request is not a slash command", "err", scrubErr(err))
		http.Error(w, "not a slash command", http.StatusBadRequest)
		return
	}
	ack, err := h.bot.command(r.Context(), h.bot.newCommand("http", cmd), cmd)
	if err != nil {
		unavailable(w)
		return
	}
	h.writeAck(w, ack)
}

func (h *HTTPHandler) interaction(w http.ResponseWriter, r *http.Request, _ []byte) {
	cb, err := slack.InteractionCallbackParse(r)
	if err != nil {
		h.log.Warn("signed request is not an interaction", "err", scrubErr(err))
		http.Error(w, "not an interaction payload", http.StatusBadRequest)
		return
	}
	ack, err := h.bot.interaction(r.Context(), h.bot.newInteraction("http", cb), cb)
	if err != nil {
		unavailable(w)
		return
	}
	h.writeAck(w, ack)
}

// event answers the Events API: the url_verification challenge is echoed, other events are
// acknowledged (the bot subscribes to none it acts on).
func (h *HTTPHandler) event(w http.ResponseWriter, _ *http.Request, body []byte) {
	var ev struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "not an Events API payload", http.StatusBadRequest)
		return
	}
	if ev.Type == "url_verification" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, ev.Challenge)
		return
	}
	h.log.Debug("events api request acknowledged", "type", ev.Type)
	w.WriteHeader(http.StatusOK)
}

// writeAck answers 200 with the acknowledgement as JSON, or with an empty body for nil.
func (h *HTTPHandler) writeAck(w http.ResponseWriter, ack *slack.Msg) {
	if ack == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	js, err := json.Marshal(payload(ack))
	if err != nil {
		h.log.Error("acknowledgement not encodable; answering empty", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(js)
}

func unavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "60")
	http.Error(w, "shutting down", http.StatusServiceUnavailable)
}
