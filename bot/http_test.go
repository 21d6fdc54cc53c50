package bot

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
)

// slashForm is a slash command request body as Slack sends it (application/x-www-form-urlencoded;
// fields from Slack's slash command docs).
func slashForm(text string) url.Values {
	return url.Values{
		"token":                 {"gIkuvaNzQIHg97ATvDxqgjtO"},
		"team_id":               {"T0001"},
		"team_domain":           {"example"},
		"enterprise_id":         {"E0001"},
		"enterprise_name":       {"Globular Construct Inc"},
		"channel_id":            {"C2147483705"},
		"channel_name":          {"platform"},
		"user_id":               {"U2147483697"},
		"user_name":             {"steve"},
		"command":               {"/pullcheck"},
		"text":                  {text},
		"response_url":          {"https://hooks.slack.com/commands/T0001/1234/" + testHookToken},
		"trigger_id":            {"13345224609.738474920.8088930838d88f008e0"},
		"api_app_id":            {"A123456"},
		"is_enterprise_install": {"false"},
	}
}

// blockActionsPayload is a block_actions interaction as Slack documents it: the JSON goes in
// the form field "payload".
const blockActionsPayload = `{
  "type": "block_actions",
  "user": {"id": "U2147483697", "username": "steve", "name": "steve", "team_id": "T0001"},
  "api_app_id": "A123456",
  "token": "gIkuvaNzQIHg97ATvDxqgjtO",
  "container": {"type": "message", "message_ts": "1548261231.000200", "channel_id": "C2147483705", "is_ephemeral": false},
  "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
  "team": {"id": "T0001", "domain": "example"},
  "enterprise": null,
  "is_enterprise_install": false,
  "channel": {"id": "C2147483705", "name": "platform"},
  "message": {"type": "message", "ts": "1548261231.000200", "text": "payments/api-7d9f: tag not found"},
  "state": {"values": {}},
  "response_url": "https://hooks.slack.com/actions/T0001/1234/` + testHookToken + `",
  "actions": [{
    "action_id": "pullcheck.restart",
    "block_id": "restart",
    "text": {"type": "plain_text", "text": "Restart", "emoji": true},
    "value": "opaque-signed-token",
    "type": "button",
    "action_ts": "1548426417.840180"
  }]
}`

const urlVerification = `{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`

const eventCallback = `{"token":"XXYYZZ","team_id":"T0001","api_app_id":"A123456","event":{"type":"app_mention","user":"U2147483697","text":"<@U0LAN0Z89> hi","ts":"1515449522.000016","channel":"C2147483705","event_ts":"1515449522000016"},"type":"event_callback","event_id":"Ev0LAN670R","event_time":1515449522}`

func TestSignMatchesSlackDocumentedExample(t *testing.T) {
	// From Slack's "Verifying requests from Slack".
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got := sign(testSigningSecret, 1531420618, body); got != want {
		t.Errorf("sign: got %s, want %s", got, want)
	}
}

// httpFixture is a bot behind its HTTP handler on an httptest server, with handlers that record
// their calls and run their work.
type httpFixture struct {
	srv     *httptest.Server
	bot     *Bot
	stop    func() error
	logs    *logBuffer
	now     time.Time // the bot's clock
	calls   atomic.Int32
	cmds    chan slack.SlashCommand
	cbs     chan slack.InteractionCallback
	workRan chan string
}

func newHTTPFixture(t *testing.T, opts Options, httpOpts HTTPOptions) *httpFixture {
	t.Helper()
	log, logs := newLogger(t)
	f := &httpFixture{
		logs:    logs,
		now:     time.Now(),
		cmds:    make(chan slack.SlashCommand, 10),
		cbs:     make(chan slack.InteractionCallback, 10),
		workRan: make(chan string, 10),
	}
	opts.Logger = log
	if opts.Now == nil {
		opts.Now = func() time.Time { return f.now }
	}
	f.bot, f.stop = startBot(t, opts, handlerFuncs{
		cmd: func(_ context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			f.calls.Add(1)
			f.cmds <- cmd
			return &slack.Msg{Text: "Checking " + cmd.Text + "…"}, func(context.Context) { f.workRan <- "command " + cmd.Text }
		},
		cb: func(_ context.Context, cb slack.InteractionCallback) (*slack.Msg, func(context.Context)) {
			f.calls.Add(1)
			f.cbs <- cb
			return nil, func(context.Context) { f.workRan <- "interaction " + string(cb.Type) }
		},
	})
	if httpOpts.SigningSecret == "" {
		httpOpts.SigningSecret = testSigningSecret
	}
	h, err := NewHTTPHandler(f.bot, httpOpts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// post sends body to path with the given headers and returns the status and body.
func (f *httpFixture) post(t *testing.T, path, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecrets(t, "response", string(b))
	return resp.StatusCode, string(b)
}

// signed returns Slack's signature headers for body at ts.
func signed(secret string, ts time.Time, body string) http.Header {
	return http.Header{
		"X-Slack-Request-Timestamp": {strconv.FormatInt(ts.Unix(), 10)},
		"X-Slack-Signature":         {sign(secret, ts.Unix(), body)},
	}
}

func TestHTTPSlashCommand(t *testing.T) {
	f := newHTTPFixture(t, Options{}, HTTPOptions{})
	body := slashForm("payments/api-7d9f").Encode()
	status, got := f.post(t, CommandsPath, body, signed(testSigningSecret, f.now, body))
	if status != http.StatusOK {
		t.Fatalf("status: got %d, want 200 (%s)", status, got)
	}
	var ack map[string]any
	if err := json.Unmarshal([]byte(got), &ack); err != nil {
		t.Fatalf("ack is not JSON: %v: %s", err, got)
	}
	wantAck := map[string]any{"text": "Checking payments/api-7d9f…", "response_type": "ephemeral",
		"replace_original": false, "delete_original": false}
	if diff := cmp.Diff(wantAck, ack); diff != "" {
		t.Errorf("ack (-want +got):\n%s", diff)
	}
	wantCmd := slack.SlashCommand{
		Token: "gIkuvaNzQIHg97ATvDxqgjtO", TeamID: "T0001", TeamDomain: "example", EnterpriseID: "E0001",
		EnterpriseName: "Globular Construct Inc", ChannelID: "C2147483705", ChannelName: "platform",
		UserID: "U2147483697", UserName: "steve", Command: "/pullcheck", Text: "payments/api-7d9f",
		ResponseURL: "https://hooks.slack.com/commands/T0001/1234/" + testHookToken,
		TriggerID:   "13345224609.738474920.8088930838d88f008e0", APIAppID: "A123456",
	}
	if diff := cmp.Diff(wantCmd, receive(t, f.cmds, "the command")); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	if got := receive(t, f.workRan, "work"); got != "command payments/api-7d9f" {
		t.Errorf("work: %q", got)
	}
}

func TestHTTPBlockActions(t *testing.T) {
	f := newHTTPFixture(t, Options{}, HTTPOptions{})
	body := url.Values{"payload": {blockActionsPayload}}.Encode()
	status, got := f.post(t, InteractionsPath, body, signed(testSigningSecret, f.now, body))
	if status != http.StatusOK || got != "" {
		t.Fatalf("got %d %q, want 200 with an empty body (nil ack)", status, got)
	}
	cb := receive(t, f.cbs, "the interaction")
	type summary struct {
		Type, UserID, ChannelID, MessageTs, ResponseURL, ActionID, Value string
	}
	gotSum := summary{Type: string(cb.Type), UserID: cb.User.ID, ChannelID: cb.Channel.ID,
		MessageTs: cb.Container.MessageTs, ResponseURL: cb.ResponseURL}
	if len(cb.ActionCallback.BlockActions) == 1 {
		gotSum.ActionID = cb.ActionCallback.BlockActions[0].ActionID
		gotSum.Value = cb.ActionCallback.BlockActions[0].Value
	}
	want := summary{Type: "block_actions", UserID: "U2147483697", ChannelID: "C2147483705",
		MessageTs: "1548261231.000200", ResponseURL: "https://hooks.slack.com/actions/T0001/1234/" + testHookToken,
		ActionID: "pullcheck.restart", Value: "opaque-signed-token"}
	if diff := cmp.Diff(want, gotSum); diff != "" {
		t.Errorf("interaction (-want +got):\n%s", diff)
	}
	if got := receive(t, f.workRan, "work"); got != "interaction block_actions" {
		t.Errorf("work: %q", got)
	}
}

func TestHTTPEvents(t *testing.T) {
	f := newHTTPFixture(t, Options{}, HTTPOptions{})
	status, got := f.post(t, EventsPath, urlVerification, signed(testSigningSecret, f.now, urlVerification))
	if status != http.StatusOK || got != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("url_verification: got %d %q, want 200 and the challenge", status, got)
	}
	status, got = f.post(t, EventsPath, eventCallback, signed(testSigningSecret, f.now, eventCallback))
	if status != http.StatusOK || got != "" {
		t.Errorf("event_callback: got %d %q, want an empty 200", status, got)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("handlers called %d times for events", n)
	}
}

func TestHTTPRejectsUnverifiedRequests(t *testing.T) {
	body := slashForm("payments/api").Encode()
	interaction := url.Values{"payload": {blockActionsPayload}}.Encode()
	tests := []struct {
		name string
		// clock is the bot's clock relative to the real time the request is signed at.
		clock  time.Duration
		body   string // sent; the signature is over sigBody
		header func(now time.Time, sigBody string) http.Header
	}{
		{
			name: "altered body",
			body: strings.Replace(body, "payments", "kube-system", 1),
			header: func(now time.Time, b string) http.Header {
				return signed(testSigningSecret, now, b)
			},
		},
		{
			name: "signed with another secret",
			header: func(now time.Time, b string) http.Header {
				return signed("not-the-signing-secret", now, b)
			},
		},
		{
			name: "stale timestamp",
			header: func(now time.Time, b string) http.Header {
				return signed(testSigningSecret, now.Add(-5*time.Minute-time.Second), b)
			},
		},
		{
			name: "timestamp from the future",
			header: func(now time.Time, b string) http.Header {
				return signed(testSigningSecret, now.Add(5*time.Minute+time.Second), b)
			},
		},
		{
			// Only the injected clock says this request is stale: slack.NewSecretsVerifier,
			// which reads the wall clock, would accept it.
			name:  "stale by the bot's clock",
			clock: 6 * time.Minute,
			header: func(now time.Time, b string) http.Header {
				return signed(testSigningSecret, now.Add(-6*time.Minute), b)
			},
		},
		{
			name: "missing signature",
			header: func(now time.Time, b string) http.Header {
				h := signed(testSigningSecret, now, b)
				h.Del("X-Slack-Signature")
				return h
			},
		},
		{
			name: "missing timestamp",
			header: func(now time.Time, b string) http.Header {
				h := signed(testSigningSecret, now, b)
				h.Del("X-Slack-Request-Timestamp")
				return h
			},
		},
		{
			name:   "no headers",
			header: func(time.Time, string) http.Header { return nil },
		},
		{
			name: "signature not hex",
			header: func(now time.Time, b string) http.Header {
				h := signed(testSigningSecret, now, b)
				h.Set("X-Slack-Signature", "v0=zz"+strings.Repeat("0", 62))
				return h
			},
		},
		{
			name: "other signature version",
			header: func(now time.Time, b string) http.Header {
				h := signed(testSigningSecret, now, b)
				h.Set("X-Slack-Signature", "v1="+strings.TrimPrefix(h.Get("X-Slack-Signature"), "v0="))
				return h
			},
		},
		{
			name: "timestamp not a number",
			header: func(now time.Time, b string) http.Header {
				h := signed(testSigningSecret, now, b)
				h.Set("X-Slack-Request-Timestamp", "yesterday")
				return h
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			real := time.Now()
			clock := real.Add(tt.clock)
			f := newHTTPFixture(t, Options{Now: func() time.Time { return clock }}, HTTPOptions{})
			for _, ep := range []struct{ path, body string }{
				{CommandsPath, body}, {InteractionsPath, interaction}, {EventsPath, urlVerification},
			} {
				sent := ep.body
				if tt.body != "" && ep.path == CommandsPath {
					sent = tt.body
				} else if tt.body != "" {
					sent = ep.body + "&x=1"
				}
				status, got := f.post(t, ep.path, sent, tt.header(real, ep.body))
				if status != http.StatusUnauthorized {
					t.Errorf("%s: got %d %q, want 401", ep.path, status, got)
				}
				if strings.Contains(got, "3eZbrw1aBm2rZgRNFdxV") {
					t.Errorf("%s: the challenge was echoed to an unverified request", ep.path)
				}
			}
			if n := f.calls.Load(); n != 0 {
				t.Errorf("handlers called %d times", n)
			}
			if !strings.Contains(f.logs.String(), "slack request rejected") {
				t.Errorf("rejection not logged:\n%s", f.logs)
			}
		})
	}
}

func TestHTTPRequestShapes(t *testing.T) {
	f := newHTTPFixture(t, Options{}, HTTPOptions{MaxBodyBytes: 2048})

	big := slashForm(strings.Repeat("x", 4096)).Encode()
	if status, _ := f.post(t, CommandsPath, big, signed(testSigningSecret, f.now, big)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: got %d, want 413", status)
	}

	empty := "foo=bar"
	if status, _ := f.post(t, CommandsPath, empty, signed(testSigningSecret, f.now, empty)); status != http.StatusBadRequest {
		t.Errorf("signed non-command: got %d, want 400", status)
	}
	if status, _ := f.post(t, InteractionsPath, empty, signed(testSigningSecret, f.now, empty)); status != http.StatusBadRequest {
		t.Errorf("signed interaction without payload: got %d, want 400", status)
	}
	notJSON := "{"
	if status, _ := f.post(t, EventsPath, notJSON, signed(testSigningSecret, f.now, notJSON)); status != http.StatusBadRequest {
		t.Errorf("signed event that is not JSON: got %d, want 400", status)
	}
	if status, _ := f.post(t, "/slack/other", empty, signed(testSigningSecret, f.now, empty)); status != http.StatusNotFound {
		t.Errorf("unknown path: got %d, want 404", status)
	}

	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+CommandsPath, nil)
	for k, v := range signed(testSigningSecret, f.now, "") {
		req.Header[k] = v
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("signed GET: got %d, want 405", resp.StatusCode)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("handlers called %d times", n)
	}
}

func TestHTTPAfterShutdownAnswers503(t *testing.T) {
	f := newHTTPFixture(t, Options{}, HTTPOptions{})
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	body := slashForm("payments/api").Encode()
	status, _ := f.post(t, CommandsPath, body, signed(testSigningSecret, f.now, body))
	if status != http.StatusServiceUnavailable {
		t.Errorf("command after shutdown: got %d, want 503", status)
	}
	ibody := url.Values{"payload": {blockActionsPayload}}.Encode()
	status, _ = f.post(t, InteractionsPath, ibody, signed(testSigningSecret, f.now, ibody))
	if status != http.StatusServiceUnavailable {
		t.Errorf("interaction after shutdown: got %d, want 503", status)
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("handlers called %d times after shutdown", n)
	}
}

func TestNewHTTPHandlerNeedsTheSecret(t *testing.T) {
	log, _ := newLogger(t)
	if _, err := NewHTTPHandler(New(Options{Logger: log}, nil, nil), HTTPOptions{}); err == nil {
		t.Error("got nil, want an error for an empty signing secret")
	}
}

func TestServeStopsWithItsContext(t *testing.T) {
	log, _ := newLogger(t)
	b, _ := startBot(t, Options{Logger: log}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			return &slack.Msg{Text: "ok"}, nil
		},
	})
	h, err := NewHTTPHandler(b, HTTPOptions{SigningSecret: testSigningSecret})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.ServeListener(ctx, ln) }()

	body := slashForm("help").Encode()
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+CommandsPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range signed(testSigningSecret, time.Now(), body) {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status: %d", resp.StatusCode)
	}

	cancel()
	if err := receive(t, served, "serve to return"); err != nil {
		t.Errorf("serve: %v", err)
	}
	if err := h.Serve(context.Background(), "127.0.0.1:notaport"); err == nil {
		t.Error("Serve on a bad address: got nil, want an error")
	}
}
