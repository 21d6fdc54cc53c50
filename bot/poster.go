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
)

// Defaults for PosterOptions.
const (
	DefaultMaxAttempts = 5
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = 30 * time.Second
)

// PosterOptions configure a Poster. Zero values mean the defaults.
type PosterOptions struct {
	// Logger receives a line for every message finally not posted (default slog.Default()).
	Logger *slog.Logger
	// MaxAttempts bounds the calls per message, the first included (default 5).
	MaxAttempts int
	// MinBackoff is the wait after the first server error; it doubles with every attempt, up
	// to MaxBackoff (defaults 1s and 30s). A rate limit waits what Slack's Retry-After says.
	MinBackoff, MaxBackoff time.Duration
	// Wait waits d or until ctx ends, returning ctx's error then (default: a timer). Tests
	// inject one that records d and returns at once.
	Wait func(ctx context.Context, d time.Duration) error
	// Now is the clock used against ctx's deadline (default time.Now).
	Now func() time.Time
	// OnError, if set, is called once for every message finally not posted, with the Slack
	// API method ("chat.postMessage", "chat.update", "chat.postEphemeral", or "response_url"
	// for a reply through a response URL). It must not block; ops.Metrics.SlackError fits.
	OnError func(method string)
}

// Poster posts through Slack's Web API with retries. It has *slack.Client's method set for
// what the handlers send, so it satisfies a handler-side interface either satisfies.
//
// It retries a rate limit (429, honouring Retry-After), a server error (5xx) or Slack's
// internal_error / service_unavailable answers with exponential backoff, and a failed dial (no
// request sent), for at most MaxAttempts calls and never past ctx's deadline. Other errors
// (channel_not_found, invalid_blocks, …) are not retried. A message finally not posted is
// logged with the reason, and the error (wrapping Slack's, for errors.As) returned: callers
// need not log it again.
//
// Do not enable slack-go's own retries (slack.OptionRetry) on the client: they would multiply.
type Poster struct {
	api         *slack.Client
	log         *slog.Logger
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	wait        func(context.Context, time.Duration) error
	now         func() time.Time
	onError     func(method string)
}

// NewPoster returns a Poster calling api.
func NewPoster(api *slack.Client, opts PosterOptions) *Poster {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = opts.MinBackoff
	}
	if opts.Wait == nil {
		opts.Wait = sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Poster{
		api:         api,
		log:         opts.Logger.With("component", "slack-poster"),
		maxAttempts: opts.MaxAttempts,
		minBackoff:  opts.MinBackoff,
		maxBackoff:  opts.MaxBackoff,
		wait:        opts.Wait,
		now:         opts.Now,
		onError:     opts.OnError,
	}
}

// PostMessageContext is (*slack.Client).PostMessageContext with retries (chat.postMessage, or
// the response URL given with slack.MsgOptionResponseURL).
func (p *Poster) PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (respChannel, respTimestamp string, err error) {
	err = p.retry(ctx, "chat.postMessage", channelID, options, func(ctx context.Context) error {
		var err error
		respChannel, respTimestamp, err = p.api.PostMessageContext(ctx, channelID, options...)
		return err
	})
	return respChannel, respTimestamp, err
}

// UpdateMessageContext is (*slack.Client).UpdateMessageContext (chat.update) with retries.
func (p *Poster) UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (respChannel, respTimestamp, text string, err error) {
	err = p.retry(ctx, "chat.update", channelID, options, func(ctx context.Context) error {
		var err error
		respChannel, respTimestamp, text, err = p.api.UpdateMessageContext(ctx, channelID, timestamp, options...)
		return err
	})
	return respChannel, respTimestamp, text, err
}

// PostEphemeralContext is (*slack.Client).PostEphemeralContext (chat.postEphemeral) with retries.
func (p *Poster) PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slack.MsgOption) (timestamp string, err error) {
	err = p.retry(ctx, "chat.postEphemeral", channelID, options, func(ctx context.Context) error {
		var err error
		timestamp, err = p.api.PostEphemeralContext(ctx, channelID, userID, options...)
		return err
	})
	return timestamp, err
}

// GetUserGroupMembersContext is (*slack.Client).GetUserGroupMembersContext, unchanged.
func (p *Poster) GetUserGroupMembersContext(ctx context.Context, userGroup string, options ...slack.GetUserGroupMembersOption) ([]string, error) {
	return p.api.GetUserGroupMembersContext(ctx, userGroup, options...)
}

// retry calls call until it succeeds, fails for good, runs out of attempts or would run past
// ctx's deadline.
func (p *Poster) retry(ctx context.Context, method, channelID string, options []slack.MsgOption, call func(context.Context) error) error {
	var (
		err     error
		attempt int
		stop    string
	)
	for attempt = 1; ; attempt++ {
		err = call(ctx)
		if err == nil {
			if attempt > 1 {
				p.log.Info("slack call succeeded after retrying", "method", method, "channel_id", channelID,
					"attempts", attempt)
			}
			return nil
		}
		delay, retryable := p.backoff(err, attempt)
		if !retryable {
			stop = "not retryable"
			break
		}
		if attempt >= p.maxAttempts {
			stop = fmt.Sprintf("%d attempts made", attempt)
			break
		}
		if deadline, ok := ctx.Deadline(); ok && p.now().Add(delay).After(deadline) {
			stop = fmt.Sprintf("waiting %s would pass the deadline", delay)
			break
		}
		p.log.Debug("slack call failed; retrying", "method", method, "channel_id", channelID,
			"attempt", attempt, "wait", delay, "err", scrubErr(err))
		if werr := p.wait(ctx, delay); werr != nil {
			stop = "context ended while waiting to retry"
			err = fmt.Errorf("%w (%w)", err, werr)
			break
		}
	}
	p.lost(method, channelID, options, attempt, stop, err)
	return fmt.Errorf("%s: %s: %w", method, stop, err)
}

// lost logs a message finally not posted, with enough to tell which, and reports it to
// OnError.
func (p *Poster) lost(method, channelID string, options []slack.MsgOption, attempts int, stop string, err error) {
	attrs := []any{"method", method, "channel_id", channelID, "attempts", attempts,
		"reason", reason(err), "gave_up", stop, "err", scrubErr(err)}
	failed := method
	// Only the message's text is read back: the token is left empty, the endpoint not logged.
	if endpoint, values, aerr := slack.UnsafeApplyMsgOptions("", channelID, "", options...); aerr == nil {
		viaResponseURL := strings.Contains(endpoint, "://")
		attrs = append(attrs, "via_response_url", viaResponseURL,
			"text", scrub(truncate(values.Get("text"), 200)))
		if viaResponseURL {
			failed = "response_url" // a webhook, not chat.postMessage: it fails differently
		}
	}
	p.log.Error("slack message not posted", attrs...)
	if p.onError != nil {
		p.onError(failed)
	}
}

// backoff says whether err is worth retrying and after how long.
func (p *Poster) backoff(err error, attempt int) (time.Duration, bool) {
	exp := p.minBackoff << min(attempt-1, 30)
	if exp <= 0 || exp > p.maxBackoff {
		exp = p.maxBackoff
	}
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		if rl.RetryAfter > 0 {
			return rl.RetryAfter, true
		}
		return exp, true
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return exp, sc.Retryable()
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		switch se.Err {
		case "internal_error", "service_unavailable", "ratelimited":
			return exp, true
		}
		return 0, false
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return exp, true // nothing was sent
	}
	return 0, false
}

// reason classifies err for the logs.
func reason(err error) string {
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return fmt.Sprintf("rate limited (retry after %s)", rl.RetryAfter)
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return fmt.Sprintf("slack answered HTTP %d", sc.Code)
	}
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return "slack error " + se.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline exceeded"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return "network error"
	}
	return "other error"
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
