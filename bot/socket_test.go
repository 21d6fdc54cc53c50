package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// Socket Mode messages shaped as Slack's Socket Mode docs show them.
const (
	helloMsg = `{"type":"hello","num_connections":1,"debug_info":{"host":"applink-7fc4fdbb64-4x5xq","build_number":10,"approximate_connection_time":18060},"connection_info":{"app_id":"A123456"}}`

	slashEnvelope = `{
  "payload": {
    "token": "bHKJ2n9AW6Ju3MjciOHfbA1b",
    "team_id": "T0001",
    "team_domain": "example",
    "channel_id": "C2147483705",
    "channel_name": "platform",
    "user_id": "U2147483697",
    "user_name": "steve",
    "command": "/pullcheck",
    "text": "payments/api-7d9f",
    "api_app_id": "A123456",
    "is_enterprise_install": "false",
    "response_url": "https://hooks.slack.com/commands/T0001/1234/` + testHookToken + `",
    "trigger_id": "1000.2000.abc"
  },
  "envelope_id": "1d3c79ab-0ffb-41f3-a080-d19e85f53649",
  "type": "slash_commands",
  "accepts_response_payload": true
}`

	eventsEnvelope = `{"envelope_id":"57d6a792-4d35-4d0b-b6aa-3361493e1caf","payload":` + eventCallback + `,"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}`
)

func interactiveEnvelope() string {
	return `{"envelope_id":"c6f8a3c4-1a6e-4a43-ae4e-f1b3d5b0e5c2","payload":` + blockActionsPayload +
		`,"type":"interactive","accepts_response_payload":false}`
}

// socketAck is what the bot sends back over the WebSocket.
type socketAck struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload,omitempty"`
}

// fakeSlack is a local Slack: a Web API answering apps.connections.open with the URL of a
// WebSocket server that plays script on each connection.
type fakeSlack struct {
	api, ws *httptest.Server
	opened  chan string // the Authorization header of each apps.connections.open
}

func newFakeSlack(t *testing.T, openResponse func(wsURL string) string, script func(t *testing.T, conn *websocket.Conn)) *fakeSlack {
	t.Helper()
	f := &fakeSlack{opened: make(chan string, 10)}
	upgrader := websocket.Upgrader{
		// The socketmode client presents itself as Slack's own web origin.
		CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" },
	}
	f.ws = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("ticket") != testTicket {
			t.Errorf("websocket dialled without the ticket: %s", r.URL)
		}
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		script(t, conn)
		// Keep the connection until the client closes it.
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}))
	t.Cleanup(f.ws.Close)
	wsURL := "ws" + strings.TrimPrefix(f.ws.URL, "http") + "/link/?ticket=" + testTicket + "&app_id=A123456"
	f.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apps.connections.open" {
			t.Errorf("unexpected Web API call %s", r.URL.Path)
			http.NotFound(w, r)
			return
		}
		f.opened <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(openResponse(wsURL)))
	}))
	t.Cleanup(f.api.Close)
	return f
}

func (f *fakeSlack) client() *slack.Client {
	return slack.New(testBotToken, slack.OptionAppLevelToken(testAppToken), slack.OptionAPIURL(f.api.URL+"/"))
}

func openOK(wsURL string) string { return `{"ok":true,"url":"` + wsURL + `"}` }

func readAck(t *testing.T, conn *websocket.Conn) socketAck {
	t.Helper()
	var a socketAck
	if err := conn.ReadJSON(&a); err != nil {
		t.Errorf("reading ack: %v", err)
	}
	return a
}

func TestSocketModeAcksAndQueuesWork(t *testing.T) {
	log, logs := newLogger(t)
	acks := make(chan socketAck, 3)
	slackSrv := newFakeSlack(t, openOK, func(t *testing.T, conn *websocket.Conn) {
		for _, msg := range []string{helloMsg, slashEnvelope, interactiveEnvelope(), eventsEnvelope} {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				t.Errorf("write: %v", err)
				return
			}
			if msg != helloMsg {
				acks <- readAck(t, conn)
			}
		}
	})

	cmds := make(chan slack.SlashCommand, 1)
	cbs := make(chan slack.InteractionCallback, 1)
	workRan := make(chan string, 2)
	b, stopBot := startBot(t, Options{Logger: log}, handlerFuncs{
		cmd: func(_ context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			cmds <- cmd
			return &slack.Msg{Text: "Checking " + cmd.Text + "…"}, func(context.Context) { workRan <- "command" }
		},
		cb: func(_ context.Context, cb slack.InteractionCallback) (*slack.Msg, func(context.Context)) {
			cbs <- cb
			return nil, func(context.Context) { workRan <- "interaction" }
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sock := NewSocket(b, slackSrv.client())
	stopped := make(chan error, 1)
	go func() { stopped <- sock.Run(ctx) }()

	if got := receive(t, slackSrv.opened, "apps.connections.open"); got != "Bearer "+testAppToken {
		t.Errorf("apps.connections.open authorization: got %q, want the app-level token", got)
	}

	ack := receive(t, acks, "the slash command ack")
	if ack.EnvelopeID != "1d3c79ab-0ffb-41f3-a080-d19e85f53649" {
		t.Errorf("slash ack envelope: %q", ack.EnvelopeID)
	}
	var p map[string]any
	if err := json.Unmarshal(ack.Payload, &p); err != nil {
		t.Fatalf("slash ack payload %s: %v", ack.Payload, err)
	}
	wantPayload := map[string]any{"text": "Checking payments/api-7d9f…", "response_type": "ephemeral",
		"replace_original": false, "delete_original": false}
	if diff := cmp.Diff(wantPayload, p); diff != "" {
		t.Errorf("slash ack payload (-want +got):\n%s", diff)
	}
	cmd := receive(t, cmds, "the command")
	if cmd.Command != "/pullcheck" || cmd.Text != "payments/api-7d9f" || cmd.UserID != "U2147483697" || cmd.ChannelID != "C2147483705" {
		t.Errorf("command: %+v", cmd)
	}

	ack = receive(t, acks, "the interactive ack")
	if diff := cmp.Diff(socketAck{EnvelopeID: "c6f8a3c4-1a6e-4a43-ae4e-f1b3d5b0e5c2"}, ack); diff != "" {
		t.Errorf("interactive ack (-want +got):\n%s", diff)
	}
	cb := receive(t, cbs, "the interaction")
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 ||
		cb.ActionCallback.BlockActions[0].ActionID != "pullcheck.restart" || cb.User.ID != "U2147483697" {
		t.Errorf("interaction: %+v", cb)
	}

	ack = receive(t, acks, "the events_api ack")
	if diff := cmp.Diff(socketAck{EnvelopeID: "57d6a792-4d35-4d0b-b6aa-3361493e1caf"}, ack); diff != "" {
		t.Errorf("events_api ack (-want +got):\n%s", diff)
	}

	got := map[string]bool{receive(t, workRan, "work"): true, receive(t, workRan, "work"): true}
	if !got["command"] || !got["interaction"] {
		t.Errorf("work ran for %v, want command and interaction", got)
	}

	cancel()
	if err := receive(t, stopped, "Socket.Run to return"); err != nil {
		t.Errorf("Socket.Run: %v", err)
	}
	if err := stopBot(); err != nil {
		t.Errorf("Bot.Run: %v", err)
	}
	for _, want := range []string{"connecting to slack", "connected to slack", "slack said hello", "request accepted"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func TestSocketModeAcksBusyAndStopping(t *testing.T) {
	log, _ := newLogger(t)
	acks := make(chan socketAck, 3)
	next := make(chan struct{})
	slackSrv := newFakeSlack(t, openOK, func(t *testing.T, conn *websocket.Conn) {
		_ = conn.WriteMessage(websocket.TextMessage, []byte(helloMsg))
		for i, id := range []string{"1d3c79ab", "2e4d8abc", "3f5e9bcd"} {
			if i > 0 {
				<-next
			}
			_ = conn.WriteMessage(websocket.TextMessage, []byte(strings.Replace(slashEnvelope, "1d3c79ab", id, 1)))
			acks <- readAck(t, conn)
		}
	})
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	b, stopBot := startBot(t, Options{Logger: log, Workers: 1, QueueSize: 1}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			return &slack.Msg{Text: "Checking"}, func(context.Context) {
				started <- struct{}{}
				<-release
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- NewSocket(b, slackSrv.client()).Run(ctx) }()
	ackText := func(a socketAck) string {
		var p struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(a.Payload, &p); err != nil {
			t.Errorf("ack payload %s: %v", a.Payload, err)
		}
		return p.Text
	}

	if got := ackText(receive(t, acks, "first ack")); got != "Checking" {
		t.Errorf("first ack: %q", got)
	}
	receive(t, started, "first work")
	if _, err := submit(b, "fills the queue"); err != nil {
		t.Fatal(err)
	}
	next <- struct{}{}
	if got := ackText(receive(t, acks, "busy ack")); got != busyText {
		t.Errorf("ack when busy: got %q, want %q", got, busyText)
	}

	// The bot stops taking work while the connection is still up.
	close(release)
	if err := stopBot(); err != nil {
		t.Fatal(err)
	}
	next <- struct{}{}
	if got := ackText(receive(t, acks, "stopping ack")); got != stoppingText {
		t.Errorf("ack after the bot stopped: got %q, want %q", got, stoppingText)
	}
	cancel()
	if err := receive(t, stopped, "Socket.Run"); err != nil {
		t.Error(err)
	}
}

func TestSocketModeInvalidAuthEndsRun(t *testing.T) {
	log, logs := newLogger(t)
	slackSrv := newFakeSlack(t, func(string) string { return `{"ok":false,"error":"invalid_auth"}` },
		func(t *testing.T, _ *websocket.Conn) { t.Error("dialled the websocket despite invalid_auth") })
	b, _ := startBot(t, Options{Logger: log}, handlerFuncs{})
	err := NewSocket(b, slackSrv.client()).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Errorf("Run: got %v, want invalid_auth", err)
	}
	if !strings.Contains(logs.String(), "socket mode connection failed for good") {
		t.Errorf("logs lack the failure:\n%s", logs)
	}
}

func TestSocketModeReconnectsAndSurvivesBadInput(t *testing.T) {
	log, logs := newLogger(t)
	acks := make(chan socketAck, 1)
	reconnected := make(chan struct{})
	var conns atomic.Int32
	slackSrv := newFakeSlack(t, openOK, func(t *testing.T, conn *websocket.Conn) {
		if conns.Add(1) > 1 {
			_ = conn.WriteMessage(websocket.TextMessage, []byte(strings.Replace(helloMsg, `"num_connections":1`, `"num_connections":2`, 1)))
			// Acked after the bot handled (and logged) everything before it.
			_ = conn.WriteMessage(websocket.TextMessage, []byte(strings.Replace(slashEnvelope, "1d3c79ab", "2e4d8abc", 1)))
			readAck(t, conn)
			close(reconnected)
			return
		}
		_ = conn.WriteMessage(websocket.TextMessage, []byte(helloMsg))
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"surprise","envelope_id":"x"}`))
		_ = conn.WriteMessage(websocket.TextMessage, []byte(slashEnvelope))
		acks <- readAck(t, conn)
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"disconnect","reason":"refresh_requested","debug_info":{"host":"applink-1"}}`))
	})
	b, _ := startBot(t, Options{Logger: log}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			// Larger than the 20 KB Slack accepts in a Socket Mode acknowledgement.
			return &slack.Msg{Text: strings.Repeat("x", 25_000)}, nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	states := make(chan bool, 16)
	go func() {
		stopped <- NewSocket(b, slackSrv.client()).OnConnection(func(up bool) { states <- up }).Run(ctx)
	}()

	// The oversized acknowledgement is replaced by a bare one, so Slack still gets it in time.
	if diff := cmp.Diff(socketAck{EnvelopeID: "1d3c79ab-0ffb-41f3-a080-d19e85f53649"}, receive(t, acks, "the ack")); diff != "" {
		t.Errorf("ack (-want +got):\n%s", diff)
	}
	receive(t, reconnected, "the reconnection")
	receive(t, slackSrv.opened, "the first apps.connections.open")
	receive(t, slackSrv.opened, "the second apps.connections.open")
	cancel()
	if err := receive(t, stopped, "Socket.Run"); err != nil {
		t.Error(err)
	}
	// Readiness followed the connection: down while connecting, up at each hello, down at the
	// reconnection Slack asked for and when Run ended.
	var seen []bool
	for len(states) > 0 {
		seen = append(seen, <-states)
	}
	if n := len(seen); n < 5 || seen[n-1] || !slices.Contains(seen, true) || seen[0] {
		t.Errorf("connection states %v, want false (connecting), true (hello), false, true, …, false (stopped)", seen)
	}
	ups := 0
	for i, up := range seen {
		if up && (i == 0 || !seen[i-1]) {
			ups++
		}
	}
	if ups != 2 {
		t.Errorf("connection states %v: want two connections up", seen)
	}
	out := logs.String()
	if strings.Contains(out, `"level":"WARN","msg":"reading from slack failed"`) {
		t.Errorf("a reconnection Slack asked for was logged as a warning:\n%s", out)
	}
	for _, want := range []string{
		`"msg":"unreadable socket mode message"`,
		`"msg":"acknowledgement refused; acknowledging without it"`,
		`"msg":"connected to slack","component":"bot","transport":"socket","connection_count":1`,
		`"num_connections":2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}
