package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
)

func testCommand(text string) slack.SlashCommand {
	return slack.SlashCommand{Command: "/pullcheck", Text: text, TeamID: "T0001", ChannelID: "C0001", UserID: "U0001",
		ResponseURL: "https://hooks.slack.com/commands/T0001/1/" + testHookToken}
}

// submit sends a slash command through the bot as a transport would.
func submit(b *Bot, text string) (*slack.Msg, error) {
	cmd := testCommand(text)
	return b.command(context.Background(), b.newCommand("test", cmd), cmd)
}

func TestWorkRunsWithDeadlineAndRequestID(t *testing.T) {
	log, _ := newLogger(t)
	type seen struct {
		requestID   string
		hasDeadline bool
		left        time.Duration
		err         error
	}
	ran := make(chan seen, 1)
	var ackID string
	b, _ := startBot(t, Options{Logger: log, WorkTimeout: time.Hour}, handlerFuncs{
		cmd: func(ctx context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			ackID = RequestID(ctx)
			return &slack.Msg{Text: "Checking " + cmd.Text + "…"}, func(ctx context.Context) {
				d, ok := ctx.Deadline()
				ran <- seen{RequestID(ctx), ok, time.Until(d), ctx.Err()}
			}
		},
	})
	ack, err := submit(b, "payments/api")
	if err != nil {
		t.Fatalf("command: %v", err)
	}
	want := &slack.Msg{Text: "Checking payments/api…", ResponseType: slack.ResponseTypeEphemeral}
	if diff := cmp.Diff(want, ack); diff != "" {
		t.Errorf("ack (-want +got):\n%s", diff)
	}
	got := receive(t, ran, "work")
	if !got.hasDeadline || got.left <= 59*time.Minute || got.left > time.Hour {
		t.Errorf("work deadline: got %v left (set %v), want about WorkTimeout (1h)", got.left, got.hasDeadline)
	}
	if got.err != nil {
		t.Errorf("work context: got %v, want live", got.err)
	}
	if got.requestID == "" || got.requestID != ackID {
		t.Errorf("request id: work %q, handler %q; want the same, non-empty", got.requestID, ackID)
	}
}

func TestAckKeepsInChannelResponseType(t *testing.T) {
	log, _ := newLogger(t)
	b, _ := startBot(t, Options{Logger: log}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			return &slack.Msg{Text: "help", ResponseType: slack.ResponseTypeInChannel}, nil
		},
	})
	ack, err := submit(b, "help")
	if err != nil {
		t.Fatal(err)
	}
	if ack.ResponseType != slack.ResponseTypeInChannel {
		t.Errorf("response_type: got %q, want in_channel", ack.ResponseType)
	}
}

func TestWorkTimeoutCancelsWithCause(t *testing.T) {
	log, logs := newLogger(t)
	cause := make(chan error, 1)
	b, stop := startBot(t, Options{Logger: log, WorkTimeout: time.Millisecond}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			return nil, func(ctx context.Context) {
				<-ctx.Done()
				cause <- context.Cause(ctx)
			}
		},
	})
	if _, err := submit(b, "ns/pod"); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, cause, "work cancellation"); !errors.Is(got, ErrWorkTimeout) {
		t.Errorf("cause: got %v, want ErrWorkTimeout", got)
	}
	if err := stop(); err != nil { // waits for the worker, which logs after the work returns
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "work ran into its deadline") {
		t.Errorf("logs lack the timeout:\n%s", logs)
	}
}

func TestBusyWhenWorkersAndQueueAreFull(t *testing.T) {
	log, logs := newLogger(t)
	notices := make(chan map[string]any, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("notice body: %v", err)
		}
		notices <- m
	}))
	defer hook.Close()

	release := make(chan struct{})
	started := make(chan string, 3)
	var calls atomic.Int32
	work := func(text string) func(context.Context) {
		return func(context.Context) {
			started <- text
			<-release
		}
	}
	b, stop := startBot(t, Options{Logger: log, Workers: 1, QueueSize: 1}, handlerFuncs{
		cmd: func(_ context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			calls.Add(1)
			return &slack.Msg{Text: "Checking"}, work(cmd.Text)
		},
		cb: func(context.Context, slack.InteractionCallback) (*slack.Msg, func(context.Context)) {
			return nil, work("click")
		},
	})

	if ack, _ := submit(b, "first"); ack.Text != "Checking" {
		t.Fatalf("first ack: %q", ack.Text)
	}
	receive(t, started, "first work") // the only worker is now busy
	if ack, _ := submit(b, "second"); ack.Text != "Checking" {
		t.Fatalf("second ack (queued): %q", ack.Text)
	}
	ack, err := submit(b, "third")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&slack.Msg{Text: busyText, ResponseType: "ephemeral"}, ack); diff != "" {
		t.Errorf("busy ack (-want +got):\n%s", diff)
	}

	// An interaction's ack is not shown by Slack: the busy notice goes to its response_url.
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, ResponseURL: hook.URL + "/actions/T1/1/" + testHookToken}
	ack, err = b.interaction(context.Background(), b.newInteraction("test", cb), cb)
	if err != nil || ack.Text != busyText {
		t.Fatalf("busy interaction ack: %v, %v", ack, err)
	}
	wantNotice := map[string]any{"text": busyText, "response_type": "ephemeral", "replace_original": false, "delete_original": false}
	if diff := cmp.Diff(wantNotice, receive(t, notices, "busy notice")); diff != "" {
		t.Errorf("busy notice (-want +got):\n%s", diff)
	}

	close(release)
	if got := receive(t, started, "queued work"); got != "second" {
		t.Errorf("second work: got %q", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case text := <-started:
		t.Errorf("refused work %q ran", text)
	default:
	}
	if calls.Load() != 3 {
		t.Errorf("handler calls: got %d, want 3", calls.Load())
	}
	if !strings.Contains(logs.String(), "request refused: busy") {
		t.Errorf("logs lack the refusal:\n%s", logs)
	}
}

func TestWorkersBoundConcurrency(t *testing.T) {
	log, _ := newLogger(t)
	const workers, jobs = 2, 6
	var running, most atomic.Int32
	release := make(chan struct{})
	var done sync.WaitGroup
	done.Add(jobs)
	b, stop := startBot(t, Options{Logger: log, Workers: workers, QueueSize: jobs}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			return nil, func(context.Context) {
				defer done.Done()
				n := running.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				<-release
				running.Add(-1)
			}
		},
	})
	for range jobs {
		if _, err := submit(b, "x"); err != nil {
			t.Fatal(err)
		}
	}
	for range jobs {
		release <- struct{}{} // one job at a time; the others stay blocked
	}
	done.Wait()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if most.Load() > workers {
		t.Errorf("at most %d work functions ran at once, want at most %d", most.Load(), workers)
	}
}

func TestPanicInWorkIsRecoveredAndLogged(t *testing.T) {
	log, logs := newLogger(t)
	ran := make(chan string, 1)
	b, stop := startBot(t, Options{Logger: log, Workers: 1}, handlerFuncs{
		cmd: func(_ context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			if cmd.Text == "boom" {
				return nil, func(context.Context) { panic("boom in work") }
			}
			return nil, func(context.Context) { ran <- cmd.Text }
		},
	})
	if _, err := submit(b, "boom"); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(b, "after"); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, ran, "work after the panic"); got != "after" {
		t.Errorf("got %q", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{`"msg":"work panicked"`, "boom in work", `"stack":`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

func TestPanicInHandlerAnswersWithReference(t *testing.T) {
	log, logs := newLogger(t)
	b, _ := startBot(t, Options{Logger: log}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			panic("boom in handler")
		},
	})
	ack, err := submit(b, "x")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ack.Text, "pullcheck hit an internal error (ref ") || ack.ResponseType != "ephemeral" {
		t.Errorf("ack: %+v", ack)
	}
	if strings.Contains(ack.Text, "boom") {
		t.Errorf("ack shows the panic: %q", ack.Text)
	}
	if !strings.Contains(logs.String(), "boom in handler") {
		t.Errorf("logs lack the panic:\n%s", logs)
	}
}

func TestShutdownFinishesInFlightAndQueuedWork(t *testing.T) {
	log, _ := newLogger(t)
	release := make(chan struct{})
	started := make(chan string, 2)
	finished := make(chan error, 2)
	b, stop := startBot(t, Options{Logger: log, Workers: 1, QueueSize: 2, ShutdownTimeout: time.Hour}, handlerFuncs{
		cmd: func(_ context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			return nil, func(ctx context.Context) {
				started <- cmd.Text
				if cmd.Text == "in-flight" {
					<-release
				}
				finished <- ctx.Err()
			}
		},
	})
	if _, err := submit(b, "in-flight"); err != nil {
		t.Fatal(err)
	}
	receive(t, started, "in-flight work")
	if _, err := submit(b, "queued"); err != nil {
		t.Fatal(err)
	}

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	receive(t, b.Stopping(), "the bot to stop taking work")
	if _, err := submit(b, "late"); !errors.Is(err, errStopped) {
		t.Errorf("work after shutdown began: got %v, want errStopped", err)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) while work was in flight", err)
	default:
	}

	close(release)
	for _, want := range []string{"in-flight", "queued"} {
		if err := receive(t, finished, want+" work to finish"); err != nil {
			t.Errorf("%s work saw its context end: %v", want, err)
		}
	}
	if got := receive(t, started, "queued work"); got != "queued" {
		t.Errorf("second work: %q", got)
	}
	if err := receive(t, stopped, "Run to return"); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestShutdownTimeoutCancelsWork(t *testing.T) {
	log, logs := newLogger(t)
	cause := make(chan error, 1)
	var queuedRan atomic.Bool
	b, stop := startBot(t, Options{Logger: log, Workers: 1, ShutdownTimeout: time.Millisecond}, handlerFuncs{
		cmd: func(_ context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			if cmd.Text == "queued" {
				return nil, func(context.Context) { queuedRan.Store(true) }
			}
			return nil, func(ctx context.Context) {
				cause <- nil // started
				<-ctx.Done()
				cause <- context.Cause(ctx)
			}
		},
	})
	if _, err := submit(b, "slow"); err != nil {
		t.Fatal(err)
	}
	receive(t, cause, "slow work to start")
	if _, err := submit(b, "queued"); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := receive(t, cause, "cancellation"); !errors.Is(got, ErrShutdown) {
		t.Errorf("cause: got %v, want ErrShutdown", got)
	}
	if queuedRan.Load() {
		t.Error("queued work ran after the shutdown timeout")
	}
	out := logs.String()
	for _, want := range []string{"shutdown timeout: cancelling in-flight work", "work cancelled at shutdown", "work dropped"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

func TestShutdownGivesUpOnWorkIgnoringCancellation(t *testing.T) {
	log, _ := newLogger(t)
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	h := handlerFuncs{cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
		return nil, func(context.Context) {
			close(started)
			<-release // ignores its context
		}
	}}
	b := New(Options{Logger: log, ShutdownTimeout: time.Millisecond}, h, h)
	b.cancelGrace = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	if _, err := submit(b, "stuck"); err != nil {
		t.Fatal(err)
	}
	<-started
	cancel()
	err := receive(t, done, "Run to give up")
	if err == nil || !strings.Contains(err.Error(), "1 work functions still running") {
		t.Errorf("Run: got %v, want an error naming the stuck work", err)
	}
}

func TestRunTwiceFails(t *testing.T) {
	log, _ := newLogger(t)
	b := New(Options{Logger: log}, handlerFuncs{}, handlerFuncs{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Run(ctx); err != nil {
		t.Fatalf("first Run: %v", err)
	}
	if err := b.Run(context.Background()); err == nil {
		t.Error("second Run: got nil, want an error")
	}
}

func TestBusyNoticeFailureIsLoggedWithoutTheURL(t *testing.T) {
	log, logs := newLogger(t)
	hit := make(chan struct{}, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hit <- struct{}{}
		http.Error(w, "expired_url", http.StatusNotFound)
	}))
	defer hook.Close()
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	b, stop := startBot(t, Options{Logger: log, Workers: 1, QueueSize: 1}, handlerFuncs{
		cb: func(context.Context, slack.InteractionCallback) (*slack.Msg, func(context.Context)) {
			return nil, func(context.Context) {
				started <- struct{}{}
				<-release
			}
		},
	})
	cb := slack.InteractionCallback{Type: slack.InteractionTypeBlockActions, ResponseURL: hook.URL + "/actions/T1/1/" + testHookToken}
	interact := func() *slack.Msg {
		ack, err := b.interaction(context.Background(), b.newInteraction("test", cb), cb)
		if err != nil {
			t.Fatal(err)
		}
		return ack
	}
	interact()
	receive(t, started, "first work")
	interact() // queued
	if ack := interact(); ack == nil || ack.Text != busyText {
		t.Fatalf("third ack: got %+v, want busy", ack)
	}
	receive(t, hit, "the busy notice")
	close(release)
	if err := stop(); err != nil { // waits for the notifier
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "busy notice not posted") {
		t.Errorf("logs lack the failed notice:\n%s", logs)
	}
}
