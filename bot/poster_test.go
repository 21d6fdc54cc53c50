package bot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
)

// reply is one scripted answer of the fake Slack Web API.
type reply struct {
	status int
	header map[string]string
	body   string
}

const postOK = `{"ok":true,"channel":"C2147483705","ts":"1503435956.000247","message":{"text":"report","ts":"1503435956.000247"}}`

// call is what the fake Web API saw.
type call struct {
	path, authorization, channel, text string
}

// fakeWebAPI answers with replies in order (the last one repeats) and records the calls.
type fakeWebAPI struct {
	srv *httptest.Server

	mu      sync.Mutex
	replies []reply
	calls   []call
}

func newFakeWebAPI(t *testing.T, replies ...reply) *fakeWebAPI {
	t.Helper()
	f := &fakeWebAPI{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := call{path: r.URL.Path, authorization: r.Header.Get("Authorization")}
		if err := r.ParseForm(); err == nil {
			c.channel, c.text = r.PostForm.Get("channel"), r.PostForm.Get("text")
			if tok := r.PostForm.Get("token"); tok != "" {
				c.authorization = "Bearer " + tok // chat methods carry the token in the form
			}
		}
		f.mu.Lock()
		f.calls = append(f.calls, c)
		rep := f.replies[0]
		if len(f.replies) > 1 {
			f.replies = f.replies[1:]
		}
		f.mu.Unlock()
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		if rep.status == 0 {
			rep.status = http.StatusOK
		}
		if rep.status == http.StatusOK {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(rep.status)
		_, _ = w.Write([]byte(rep.body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWebAPI) seen() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// waits records what the poster asked to wait, and returns at once (or err).
type waits struct {
	mu  sync.Mutex
	got []time.Duration
	err error
}

func (w *waits) wait(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, d)
	return w.err
}

func newTestPoster(t *testing.T, apiURL string, opts PosterOptions) (*Poster, *waits, *logBuffer) {
	t.Helper()
	log, logs := newLogger(t)
	w := &waits{}
	opts.Logger = log
	if opts.Wait == nil {
		opts.Wait = w.wait
	}
	api := slack.New(testBotToken, slack.OptionAPIURL(apiURL+"/"))
	return NewPoster(api, opts), w, logs
}

func TestPosterRetries(t *testing.T) {
	server500 := reply{status: http.StatusInternalServerError, body: "<html>oops</html>"}
	tests := []struct {
		name      string
		replies   []reply
		opts      PosterOptions
		send      func(ctx context.Context, p *Poster, hookURL string) error
		wantPaths []string
		wantWaits []time.Duration
		wantErr   func(error) bool
		wantLogs  []string
	}{
		{
			name:      "429 waits what Retry-After says",
			replies:   []reply{{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "7"}}, {body: postOK}},
			wantPaths: []string{"/chat.postMessage", "/chat.postMessage"},
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:      "429 without Retry-After backs off",
			replies:   []reply{{status: http.StatusTooManyRequests}, {body: postOK}},
			wantPaths: []string{"/chat.postMessage", "/chat.postMessage"},
			wantWaits: []time.Duration{time.Second},
		},
		{
			name:      "5xx backs off exponentially",
			replies:   []reply{server500, {status: http.StatusBadGateway}, {status: http.StatusServiceUnavailable}, {body: postOK}},
			wantPaths: []string{"/chat.postMessage", "/chat.postMessage", "/chat.postMessage", "/chat.postMessage"},
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name:      "backoff is capped",
			replies:   []reply{server500, server500, server500, server500, {body: postOK}},
			opts:      PosterOptions{MinBackoff: time.Second, MaxBackoff: 3 * time.Second},
			wantPaths: []string{"/chat.postMessage", "/chat.postMessage", "/chat.postMessage", "/chat.postMessage", "/chat.postMessage"},
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second},
		},
		{
			name:      "slack internal_error is retried",
			replies:   []reply{{body: `{"ok":false,"error":"internal_error"}`}, {body: postOK}},
			wantPaths: []string{"/chat.postMessage", "/chat.postMessage"},
			wantWaits: []time.Duration{time.Second},
		},
		{
			name:      "permanent error: logged, returned, not retried",
			replies:   []reply{{body: `{"ok":false,"error":"channel_not_found"}`}},
			wantPaths: []string{"/chat.postMessage"},
			wantErr: func(err error) bool {
				se, ok := errors.AsType[slack.SlackErrorResponse](err)
				return ok && se.Err == "channel_not_found"
			},
			wantLogs: []string{`"msg":"slack message not posted"`, `"reason":"slack error channel_not_found"`,
				`"gave_up":"not retryable"`, `"text":"payments/api-7d9f: tag v1.2.3 not found"`, `"channel_id":"C2147483705"`},
		},
		{
			name:      "5xx until the attempts run out",
			replies:   []reply{server500},
			opts:      PosterOptions{MaxAttempts: 3},
			wantPaths: []string{"/chat.postMessage", "/chat.postMessage", "/chat.postMessage"},
			wantWaits: []time.Duration{time.Second, 2 * time.Second},
			wantErr: func(err error) bool {
				sc, ok := errors.AsType[slack.StatusCodeError](err)
				return ok && sc.Code == http.StatusInternalServerError
			},
			wantLogs: []string{`"reason":"slack answered HTTP 500"`, `"gave_up":"3 attempts made"`, `"attempts":3`},
		},
		{
			name:    "a wait past the deadline is not started",
			replies: []reply{{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "30"}}},
			send: func(ctx context.Context, p *Poster, _ string) error {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				_, _, err := p.PostMessageContext(ctx, "C2147483705", slack.MsgOptionText("payments/api-7d9f: tag v1.2.3 not found", false))
				return err
			},
			wantPaths: []string{"/chat.postMessage"},
			wantErr: func(err error) bool {
				_, ok := errors.AsType[*slack.RateLimitedError](err)
				return ok
			},
			wantLogs: []string{`"gave_up":"waiting 30s would pass the deadline"`, `"reason":"rate limited (retry after 30s)"`},
		},
		{
			name:      "the context ends while waiting",
			replies:   []reply{server500},
			opts:      PosterOptions{Wait: func(context.Context, time.Duration) error { return context.Canceled }},
			wantPaths: []string{"/chat.postMessage"},
			wantErr: func(err error) bool {
				_, ok := errors.AsType[slack.StatusCodeError](err)
				return ok && errors.Is(err, context.Canceled)
			},
			wantLogs: []string{`"gave_up":"context ended while waiting to retry"`},
		},
		{
			name:    "chat.update is retried",
			replies: []reply{{status: http.StatusServiceUnavailable}, {body: postOK}},
			send: func(ctx context.Context, p *Poster, _ string) error {
				_, _, _, err := p.UpdateMessageContext(ctx, "C2147483705", "1503435956.000247", slack.MsgOptionText("approved by <@U1>", false))
				return err
			},
			wantPaths: []string{"/chat.update", "/chat.update"},
			wantWaits: []time.Duration{time.Second},
		},
		{
			name:    "chat.postEphemeral is retried",
			replies: []reply{{status: http.StatusTooManyRequests, header: map[string]string{"Retry-After": "2"}}, {body: `{"ok":true,"message_ts":"1503435956.000247"}`}},
			send: func(ctx context.Context, p *Poster, _ string) error {
				_, err := p.PostEphemeralContext(ctx, "C2147483705", "U2147483697", slack.MsgOptionText("not allowed", false))
				return err
			},
			wantPaths: []string{"/chat.postEphemeral", "/chat.postEphemeral"},
			wantWaits: []time.Duration{2 * time.Second},
		},
		{
			name:    "a response_url post is retried and its URL never logged",
			replies: []reply{server500},
			opts:    PosterOptions{MaxAttempts: 2},
			send: func(ctx context.Context, p *Poster, hookURL string) error {
				_, _, err := p.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(hookURL, slack.ResponseTypeEphemeral),
					slack.MsgOptionText("report", false))
				return err
			},
			wantPaths: []string{"/commands/T0001/1234/" + testHookToken, "/commands/T0001/1234/" + testHookToken},
			wantWaits: []time.Duration{time.Second},
			wantErr:   func(err error) bool { return err != nil },
			wantLogs:  []string{`"via_response_url":true`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeWebAPI(t, tt.replies...)
			p, w, logs := newTestPoster(t, api.srv.URL, tt.opts)
			send := tt.send
			if send == nil {
				send = func(ctx context.Context, p *Poster, _ string) error {
					ch, ts, err := p.PostMessageContext(ctx, "C2147483705", slack.MsgOptionText("payments/api-7d9f: tag v1.2.3 not found", false))
					if err == nil && (ch != "C2147483705" || ts != "1503435956.000247") {
						t.Errorf("posted to %s at %s", ch, ts)
					}
					return err
				}
			}
			err := send(context.Background(), p, api.srv.URL+"/commands/T0001/1234/"+testHookToken)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if tt.wantErr != nil && !tt.wantErr(err) {
				t.Errorf("error: got %v", err)
			}
			var paths []string
			for _, c := range api.seen() {
				paths = append(paths, c.path)
				if strings.HasPrefix(c.path, "/chat.") && c.authorization != "Bearer "+testBotToken {
					t.Errorf("%s sent without the bot token", c.path)
				}
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantWaits, w.got); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			for _, want := range tt.wantLogs {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("logs lack %s:\n%s", want, logs)
				}
			}
			if err == nil && strings.Contains(logs.String(), "not posted") {
				t.Errorf("a posted message was logged as lost:\n%s", logs)
			}
		})
	}
}

func TestPosterRetriesAFailedDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	p, w, logs := newTestPoster(t, "http://"+addr, PosterOptions{MaxAttempts: 2})
	_, _, err = p.PostMessageContext(context.Background(), "C2147483705", slack.MsgOptionText("report", false))
	if err == nil {
		t.Fatal("got nil, want an error")
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, w.got); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), `"reason":"network error"`) {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestPosterPassesUserGroupMembersThrough(t *testing.T) {
	api := newFakeWebAPI(t, reply{body: `{"ok":true,"users":["U1","U2"]}`})
	p, _, _ := newTestPoster(t, api.srv.URL, PosterOptions{})
	got, err := p.GetUserGroupMembersContext(context.Background(), "S0614TZR7")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"U1", "U2"}, got); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if paths := api.seen(); len(paths) != 1 || paths[0].path != "/usergroups.users.list" {
		t.Errorf("calls: %+v", paths)
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if err := sleep(context.Background(), 0); err != nil {
		t.Errorf("zero wait: %v", err)
	}
}

func TestPosterOnError(t *testing.T) {
	server500 := reply{status: http.StatusInternalServerError}
	tests := []struct {
		name    string
		replies []reply
		send    func(ctx context.Context, p *Poster, hookURL string) error
		calls   int // calls the fake Web API must see
		want    []string
	}{
		{
			name:    "succeeds after a retry",
			calls:   2,
			replies: []reply{server500, {body: postOK}},
			send: func(ctx context.Context, p *Poster, _ string) error {
				_, _, err := p.PostMessageContext(ctx, "C2147483705", slack.MsgOptionText("report", false))
				return err
			},
		},
		{
			name:    "lost after every attempt",
			calls:   3,
			replies: []reply{server500},
			send: func(ctx context.Context, p *Poster, _ string) error {
				_, _, err := p.PostMessageContext(ctx, "C2147483705", slack.MsgOptionText("report", false))
				return err
			},
			want: []string{"chat.postMessage"},
		},
		{
			name:    "update lost, not retryable",
			calls:   1,
			replies: []reply{{body: `{"ok":false,"error":"message_not_found"}`}},
			send: func(ctx context.Context, p *Poster, _ string) error {
				_, _, _, err := p.UpdateMessageContext(ctx, "C2147483705", "1503435956.000247", slack.MsgOptionText("resolved", false))
				return err
			},
			want: []string{"chat.update"},
		},
		{
			name:    "ephemeral lost",
			calls:   1,
			replies: []reply{{body: `{"ok":false,"error":"user_not_in_channel"}`}},
			send: func(ctx context.Context, p *Poster, _ string) error {
				_, err := p.PostEphemeralContext(ctx, "C2147483705", "U2147483697", slack.MsgOptionText("not allowed", false))
				return err
			},
			want: []string{"chat.postEphemeral"},
		},
		{
			name:    "response_url reply lost",
			calls:   3,
			replies: []reply{server500},
			send: func(ctx context.Context, p *Poster, hookURL string) error {
				_, _, err := p.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(hookURL, slack.ResponseTypeEphemeral),
					slack.MsgOptionText("report", false))
				return err
			},
			want: []string{"response_url"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeWebAPI(t, tt.replies...)
			var got []string
			p, _, _ := newTestPoster(t, api.srv.URL, PosterOptions{MaxAttempts: 3,
				OnError: func(method string) { got = append(got, method) }})
			err := tt.send(context.Background(), p, api.srv.URL+"/commands/T0001/1234/"+testHookToken)
			if (err != nil) != (len(tt.want) > 0) {
				t.Errorf("got error %v, want one: %t", err, len(tt.want) > 0)
			}
			if n := len(api.seen()); n != tt.calls {
				t.Errorf("the fake Web API saw %d calls, want %d", n, tt.calls)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("OnError calls (-want +got):\n%s", diff)
			}
		})
	}
}
