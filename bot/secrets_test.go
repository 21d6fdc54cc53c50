package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// TestSecretsNeverLogged drives every path that handles a credential, with every log level on,
// and checks that no credential reaches the logs or a response. (Every other test checks its own
// logs the same way, through newLogger.)
func TestSecretsNeverLogged(t *testing.T) {
	log, logs := newLogger(t)

	// HTTP: accepted, rejected, and a handler error that quotes a token.
	f := newHTTPFixture(t, Options{}, HTTPOptions{})
	body := slashForm("payments/api").Encode()
	f.post(t, CommandsPath, body, signed(testSigningSecret, f.now, body))
	f.post(t, CommandsPath, body, signed("wrong", f.now, body))
	ib := url.Values{"payload": {blockActionsPayload}}.Encode()
	f.post(t, InteractionsPath, ib, signed(testSigningSecret, f.now, ib))

	// Socket Mode: the app token opens the connection, whose URL carries a ticket.
	acked := make(chan socketAck, 1)
	slackSrv := newFakeSlack(t, openOK, func(t *testing.T, conn *websocket.Conn) {
		_ = conn.WriteMessage(websocket.TextMessage, []byte(helloMsg))
		_ = conn.WriteMessage(websocket.TextMessage, []byte(slashEnvelope))
		acked <- readAck(t, conn)
	})
	b, stopBot := startBot(t, Options{Logger: log}, handlerFuncs{
		cmd: func(context.Context, slack.SlashCommand) (*slack.Msg, func(context.Context)) {
			return &slack.Msg{Text: "ok"}, func(context.Context) {
				panic(fmt.Sprintf("work failed with token %s at %s", testBotToken, "https://hooks.slack.com/commands/T1/2/"+testHookToken))
			}
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- NewSocket(b, slackSrv.client()).Run(ctx) }()
	receive(t, slackSrv.opened, "apps.connections.open")

	// Poster: a failure logged with the message.
	api := newFakeWebAPI(t, reply{body: `{"ok":false,"error":"invalid_auth"}`})
	p, _, posterLogs := newTestPoster(t, api.srv.URL, PosterOptions{})
	if _, _, err := p.PostMessageContext(context.Background(), "C1", slack.MsgOptionText("report", false)); err == nil {
		t.Error("post: got nil, want invalid_auth")
	} else {
		assertNoSecrets(t, "the poster's error", err.Error())
	}

	receive(t, acked, "the socket ack")
	cancel()
	receive(t, stopped, "Socket.Run")
	if err := stopBot(); err != nil { // the panicking work has been logged
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "work panicked") {
		t.Errorf("the work's panic was not logged:\n%s", logs)
	}
	for name, l := range map[string]*logBuffer{"socket logs": logs, "http logs": f.logs, "poster logs": posterLogs} {
		assertNoSecrets(t, name, l.String())
		if l.String() == "" {
			t.Errorf("%s are empty: the check checked nothing", name)
		}
	}
}

func TestScrub(t *testing.T) {
	tests := []struct{ in, want string }{
		{
			in:   `Post "https://hooks.slack.com/commands/T0001/1234/` + testHookToken + `": context canceled`,
			want: `Post "https://hooks.slack.com/[redacted]": context canceled`,
		},
		{
			in:   "dial wss://wss-primary.slack.com/link/?ticket=" + testTicket + "&app_id=A1 failed",
			want: "dial wss://wss-primary.slack.com/[redacted] failed",
		},
		{in: "token " + testBotToken + " and " + testAppToken, want: "token [redacted token] and [redacted token]"},
		{in: "slack server error: 500 Internal Server Error", want: "slack server error: 500 Internal Server Error"},
	}
	for _, tt := range tests {
		if got := scrub(tt.in); got != tt.want {
			t.Errorf("scrub(%q):\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
	if got := scrubErr(errors.New("x")); got != "x" {
		t.Errorf("scrubErr: %q", got)
	}
	if got := scrubErr(nil); got != "" {
		t.Errorf("scrubErr(nil): %q", got)
	}
}

func TestAckPayloadJSON(t *testing.T) {
	ack := &slack.Msg{
		Text:         "payments/api-7d9f",
		ResponseType: slack.ResponseTypeEphemeral,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*tag not found*", false, false), nil, nil),
		}},
	}
	js, err := json.Marshal(payload(ack))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"text": "payments/api-7d9f", "response_type": "ephemeral", "replace_original": false, "delete_original": false,
		"blocks": []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "*tag not found*"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ack JSON (-want +got):\n%s", diff)
	}
	if payload(nil) != nil {
		t.Error("payload(nil) is not nil")
	}
	if strings.Contains(string(js), "metadata") {
		t.Errorf("ack carries metadata: %s", js)
	}
}

func TestUnsignedRequestsDoNotReadTheBody(t *testing.T) {
	// A request with no signature headers is refused before its body is read; a huge unsigned
	// body therefore costs nothing.
	f := newHTTPFixture(t, Options{}, HTTPOptions{MaxBodyBytes: 16})
	status, _ := f.post(t, CommandsPath, strings.Repeat("x", 1<<16), nil)
	if status != http.StatusUnauthorized {
		t.Errorf("got %d, want 401", status)
	}
}
