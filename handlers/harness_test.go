package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// botToken is the bot token the real slack-go client sends; tests check it never shows in
// a message or a log line.
const botToken = "xoxb-1111111111-2222222222-s3cr3tB0tT0kenValue"

// slackAPI is the local Slack Web API (tests/slackfake) the harness's slack-go client talks
// to. reset forgets the calls so far, so that a test sees only what one step sent.
type slackAPI struct {
	*slackfake.Server
	mu    sync.Mutex
	since int // calls before this one were reset
}

// client is the real slack-go client, pointed at the local API.
func (s *slackAPI) client() *slack.Client {
	return slack.New(botToken, slack.OptionAPIURL(s.URL()))
}

// all returns the calls since the last reset; only those of the given methods when some
// are given.
func (s *slackAPI) all(methods ...string) []slackfake.Call {
	s.mu.Lock()
	since := s.since
	s.mu.Unlock()
	return slackfake.Filter(s.Calls()[since:], methods...)
}

func (s *slackAPI) reset() {
	n := len(s.Calls())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since = n
}

// verificationToken is the deprecated verification token Slack puts in every payload; it
// must never be logged or posted either.
const verificationToken = "vErIfIcAtIoNtOkEnSeCrEt42"

// logBuffer collects JSON log lines from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// records returns the log records whose message is msg (all when msg is empty).
func (l *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if msg == "" || r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// harness is a PullCheck wired to fakes of the engine and the Restarter, and to the real
// slack-go client talking to a local Slack Web API.
type harness struct {
	t         *testing.T
	slack     *slackAPI
	p         *PullCheck
	restarter *fakeRestarter
	logs      *logBuffer
	diagCalls atomic.Int32

	mu       sync.Mutex
	now      time.Time
	diagnose func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error)
	scan     func(ctx context.Context, namespace string) ([]diagnosis.Report, error)
}

func newHarness(t *testing.T, change ...func(*Config)) *harness {
	t.Helper()
	api := slackfake.New(t, slackfake.Options{Token: botToken, Groups: map[string][]string{"S0PAYOPS": {"U0CAROL"}}})
	h := &harness{t: t, slack: &slackAPI{Server: api}, restarter: &fakeRestarter{}, logs: &logBuffer{}, now: testNow}
	h.diagnose = func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
		return credentialsReport(), nil
	}
	h.scan = func(ctx context.Context, ns string) ([]diagnosis.Report, error) { return scanReports(3), nil }
	cfg := testConfig()
	for _, c := range change {
		c(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	client := h.slack.client()
	h.p = New(cfg, Deps{
		Diagnoser: fakeDiagnoser{diagnose: func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
			h.diagCalls.Add(1)
			h.mu.Lock()
			f := h.diagnose
			h.mu.Unlock()
			return f(ctx, ref)
		}},
		Scanner: fakeScanner{scan: func(ctx context.Context, ns string) ([]diagnosis.Report, error) {
			h.mu.Lock()
			f := h.scan
			h.mu.Unlock()
			return f(ctx, ns)
		}},
		Restarter:    h.restarter,
		Poster:       client,
		GroupMembers: client,
		Logger:       slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          h.clock,
	})
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

// setDiagnose makes the engine answer report (or err) from now on.
func (h *harness) setDiagnose(f func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.diagnose = f
}

func (h *harness) answer(r diagnosis.Report) {
	h.setDiagnose(func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) { return r, nil })
}

// slashCommand is a /pullcheck command shaped as Slack sends it.
func (h *harness) slashCommand(text, channelID, channelName, userID string) slack.SlashCommand {
	return slack.SlashCommand{
		Token:       verificationToken,
		TeamID:      "T0ACME",
		TeamDomain:  "acme",
		ChannelID:   channelID,
		ChannelName: channelName,
		UserID:      userID,
		UserName:    strings.ToLower(strings.TrimPrefix(userID, "U0")),
		Command:     "/pullcheck",
		Text:        text,
		ResponseURL: h.slack.ResponseURL("commands"),
		TriggerID:   "13345224609.738474920.8088930838d88f008e0",
		APIAppID:    "A0PULLCHECK",
	}
}

// command runs /pullcheck text in #payments-alerts as U0DEV: the acknowledgement, then the work.
func (h *harness) command(text string) *slack.Msg {
	return h.run(h.slashCommand(text, "C0PAYMENTS", "payments-alerts", "U0DEV"))
}

func (h *harness) run(cmd slack.SlashCommand) *slack.Msg {
	h.t.Helper()
	ack, work := h.p.HandleCommand(context.Background(), cmd)
	if work != nil {
		work(context.Background())
	}
	return ack
}

// postReport has the engine answer r, runs /pullcheck for its pod and returns the posted
// report message and its restart token ("" without a button).
func (h *harness) postReport(r diagnosis.Report) (slackfake.Call, string) {
	h.t.Helper()
	h.answer(r)
	h.command(r.Pod.String())
	posts := h.slack.all("chat.postMessage")
	var main *slackfake.Call
	for i := range posts {
		if posts[i].ThreadTS == "" {
			main = &posts[i]
		}
	}
	if main == nil {
		h.t.Fatalf("no report posted; Slack calls: %+v", h.slack.all())
	}
	return *main, buttonValue(h.t, *main)
}

// buttonValue is the restart button's value in a posted message, or "".
func buttonValue(t *testing.T, c slackfake.Call) string {
	t.Helper()
	for _, b := range c.DecodeBlocks(t) {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == restartActionID {
					return btn.Value
				}
			}
		}
	}
	return ""
}

// click builds a block_actions payload for a click on the restart button of msg, as Slack
// documents it, and decodes it with slack-go.
func (h *harness) click(msg slackfake.Call, userID, value string) slack.InteractionCallback {
	h.t.Helper()
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": userID, "username": strings.ToLower(userID), "name": strings.ToLower(userID), "team_id": "T0ACME"},
		"api_app_id": "A0PULLCHECK",
		"token":      verificationToken,
		"container":  map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": msg.Channel, "is_ephemeral": false},
		"trigger_id": "13345224609.738474920.8088930838d88f008e0",
		"team":       map[string]any{"id": "T0ACME", "domain": "acme"},
		"channel":    map[string]any{"id": msg.Channel, "name": "payments-alerts"},
		"message": map[string]any{
			"type": "message", "subtype": "bot_message", "bot_id": "B0PULLCHECK", "text": msg.Text, "ts": msg.TS,
			"blocks": json.RawMessage(msg.Blocks),
		},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": h.slack.ResponseURL("actions"),
		"actions": []any{map[string]any{
			"action_id": restartActionID, "block_id": restartBlockID, "type": "button", "value": value, "style": "primary",
			"text":      map[string]any{"type": "plain_text", "text": "Restart Deployment/payments-api", "emoji": true},
			"action_ts": "1764065530.123456",
		}},
	}
	js, err := json.Marshal(payload)
	if err != nil {
		h.t.Fatal(err)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal(js, &cb); err != nil {
		h.t.Fatalf("block_actions payload does not decode: %v", err)
	}
	return cb
}

// approve clicks and runs the work.
func (h *harness) approve(cb slack.InteractionCallback) {
	h.t.Helper()
	ack, work := h.p.HandleInteraction(context.Background(), cb)
	if ack != nil {
		h.t.Errorf("HandleInteraction acknowledged with %+v, want nothing (Slack shows none)", ack)
	}
	if work == nil {
		h.t.Fatal("HandleInteraction returned no work for a restart click")
	}
	work(context.Background())
}

// ephemerals returns the texts of the ephemeral messages sent to user.
func (h *harness) ephemerals(user string) []string {
	var out []string
	for _, c := range h.slack.all("chat.postEphemeral") {
		if c.User == user {
			out = append(out, c.AllText())
		}
	}
	return out
}

// threadReplies returns the messages posted in the thread of ts.
func (h *harness) threadReplies(ts string) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range h.slack.all("chat.postMessage") {
		if c.ThreadTS == ts {
			out = append(out, c)
		}
	}
	return out
}

func ackText(m *slack.Msg) string {
	if m == nil {
		return ""
	}
	js, _ := json.Marshal(m.Blocks.BlockSet)
	return slackfake.Call{Text: m.Text, Blocks: string(js)}.AllText()
}
