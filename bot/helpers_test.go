package bot

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Credentials the tests use. No test's logs may contain any of them (see newLogger).
const (
	testSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5" // Slack's documented example secret
	testBotToken      = "xoxb-1111-2222-bottokensecretvalue"
	testAppToken      = "xapp-1-A111-3333-apptokensecretvalue"
	testTicket        = "ticketsecretvalue42"
	testHookToken     = "hooksecretvalue77" // the credential part of a response_url
)

var testSecrets = []string{testSigningSecret, testBotToken, testAppToken, testTicket, testHookToken}

// logBuffer is a bytes.Buffer safe for the concurrent writes of a slog handler and reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLogger returns a debug-level JSON logger capturing into the returned buffer. When the
// test ends (after every cleanup registered later), it fails if a test secret was logged.
func newLogger(t testing.TB) (*slog.Logger, *logBuffer) {
	t.Helper()
	buf := &logBuffer{}
	t.Cleanup(func() {
		assertNoSecrets(t, "logs", buf.String())
	})
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func assertNoSecrets(t testing.TB, where, s string) {
	t.Helper()
	for _, secret := range testSecrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s contain the secret %q:\n%s", where, secret, s)
		}
	}
}

// handlerFuncs adapts functions to CommandHandler and InteractionHandler.
type handlerFuncs struct {
	cmd func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context))
	cb  func(context.Context, slack.InteractionCallback) (*slack.Msg, func(context.Context))
}

func (h handlerFuncs) HandleCommand(ctx context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
	if h.cmd == nil {
		panic("unexpected slash command")
	}
	return h.cmd(ctx, cmd)
}

func (h handlerFuncs) HandleInteraction(ctx context.Context, cb slack.InteractionCallback) (*slack.Msg, func(context.Context)) {
	if h.cb == nil {
		panic("unexpected interaction")
	}
	return h.cb(ctx, cb)
}

// startBot runs a Bot until the returned stop is called (or the test ends) and returns Run's
// error from stop.
func startBot(t testing.TB, opts Options, h handlerFuncs) (b *Bot, stop func() error) {
	t.Helper()
	b = New(opts, h, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var (
		once sync.Once
		err  error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return b, stop
}

// sign signs body exactly as Slack does: "v0=" + hex(HMAC-SHA256(secret, "v0:<ts>:<body>")).
func sign(secret string, ts int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + strconv.FormatInt(ts, 10) + ":" + body))
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// receive waits for a value on ch, failing the test after a generous bound (a hang, not a
// timing assumption).
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}
