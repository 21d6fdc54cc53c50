package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	slackapi "github.com/slack-go/slack"
)

// call is one call the local Slack Web API received.
type call struct {
	Method   string // chat.postMessage, chat.update, chat.postEphemeral, usergroups.users.list, response_url
	Channel  string
	User     string // chat.postEphemeral: who sees it
	TS       string // chat.update: the message updated; chat.postMessage, chat.postEphemeral: the ts returned
	ThreadTS string
	Text     string
	Blocks   string // JSON, as sent
	Group    string // usergroups.users.list
	Response string // response_url: response_type
}

// allText is the call's text and every string inside its blocks.
func (c call) allText() string {
	var b strings.Builder
	b.WriteString(c.Text)
	if c.Blocks != "" {
		var v any
		if err := json.Unmarshal([]byte(c.Blocks), &v); err == nil {
			collectStrings(v, &b)
		}
	}
	return b.String()
}

func collectStrings(v any, b *strings.Builder) {
	switch v := v.(type) {
	case string:
		b.WriteString("\n")
		b.WriteString(v)
	case []any:
		for _, x := range v {
			collectStrings(x, b)
		}
	case map[string]any:
		for _, x := range v {
			collectStrings(x, b)
		}
	}
}

// blocks decodes the call's blocks as slack-go does.
func (c call) blocks(t *testing.T) []slackapi.Block {
	t.Helper()
	if c.Blocks == "" {
		return nil
	}
	var bs slackapi.Blocks
	if err := json.Unmarshal([]byte(c.Blocks), &bs); err != nil {
		t.Fatalf("%s: blocks do not decode: %v\n%s", c.Method, err, c.Blocks)
	}
	return bs.BlockSet
}

// fakeSlack is a local Slack Web API answering as Slack documents it. It records every call
// and wakes up whoever waits for calls (waitFor).
type fakeSlack struct {
	t     *testing.T
	srv   *httptest.Server
	token string // the bot token every Web API call must carry

	mu      sync.Mutex
	calls   []call
	seq     int
	groups  map[string][]string // user-group ID -> members
	changed chan struct{}       // closed and replaced on every recorded call
}

func newFakeSlack(t *testing.T, token string, groups map[string][]string) *fakeSlack {
	f := &fakeSlack{t: t, token: token, groups: groups, changed: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// apiURL is what slack.OptionAPIURL takes.
func (f *fakeSlack) apiURL() string { return f.srv.URL + "/" }

// responseURL is a response URL as Slack gives one with every command and interaction.
func (f *fakeSlack) responseURL(kind string) string {
	return f.srv.URL + "/response/" + kind + "/T0ACME/1234567890/Yl3WmXc0eFAKEhook"
}

// params reads a Web API request: a form (slack-go's chat.* and usergroups.* calls) or a
// JSON body, and the token from the Authorization header or the form.
func params(r *http.Request, body []byte) (url.Values, string, error) {
	v := url.Values{}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, "", fmt.Errorf("JSON body: %w", err)
		}
		for k, raw := range m {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				v.Set(k, s)
			} else {
				v.Set(k, string(raw)) // blocks and other structures, as JSON
			}
		}
	default:
		var err error
		if v, err = url.ParseQuery(string(body)); err != nil {
			return nil, "", fmt.Errorf("form body: %w", err)
		}
	}
	if token == "" {
		token = v.Get("token")
	}
	return v, token, nil
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("local Slack API: read body: %v", err)
	}
	method := strings.TrimPrefix(r.URL.Path, "/")
	w.Header().Set("Content-Type", "application/json")

	if strings.HasPrefix(method, "response/") {
		// Response URLs take a JSON message and need no token.
		var m slackapi.WebhookMessage
		if err := json.Unmarshal(body, &m); err != nil {
			f.t.Errorf("response URL body is not a message: %v\n%s", err, body)
		}
		var blocks []byte
		if m.Blocks != nil {
			blocks, _ = json.Marshal(m.Blocks)
		}
		f.record(call{Method: "response_url", Text: m.Text, Blocks: string(blocks), Response: m.ResponseType})
		_, _ = io.WriteString(w, `{"ok":true}`)
		return
	}

	p, token, err := params(r, bytes.Clone(body))
	if err != nil {
		f.t.Errorf("local Slack API: %s: %v", method, err)
		_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_arguments"}`)
		return
	}
	if token != f.token {
		f.t.Errorf("local Slack API: %s called without the bot token", method)
		_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	c := call{Method: method, Channel: p.Get("channel"), User: p.Get("user"), ThreadTS: p.Get("thread_ts"),
		Text: p.Get("text"), Blocks: p.Get("blocks"), Group: p.Get("usergroup")}
	switch method {
	case "chat.postMessage":
		if c.Channel == "" || (c.Text == "" && c.Blocks == "") {
			f.t.Errorf("chat.postMessage without a channel or a message: %s", body)
		}
		c.TS = f.nextTS()
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS,
			"message": map[string]any{"type": "message", "text": c.Text, "ts": c.TS}})
	case "chat.update":
		c.TS = p.Get("ts")
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "channel": c.Channel, "ts": c.TS, "text": c.Text})
	case "chat.postEphemeral":
		c.TS = f.nextTS()
		f.record(c)
		writeJSON(w, map[string]any{"ok": true, "message_ts": c.TS})
	case "usergroups.users.list":
		f.record(c)
		f.mu.Lock()
		users, ok := f.groups[c.Group]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, map[string]any{"ok": false, "error": "no_such_subteam"})
			return
		}
		writeJSON(w, map[string]any{"ok": true, "users": users})
	default:
		f.t.Errorf("local Slack API: unexpected call %s", method)
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSlack) nextTS() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return fmt.Sprintf("1764080000.%06d", f.seq)
}

func (f *fakeSlack) record(c call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	close(f.changed)
	f.changed = make(chan struct{})
}

// all returns the calls so far, of the given methods only when some are given.
func (f *fakeSlack) all(methods ...string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return filter(f.calls, methods...)
}

func filter(calls []call, methods ...string) []call {
	var out []call
	for _, c := range calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// waitFor blocks until done, given every call so far, returns true; it fails the test when
// ctx ends first (a hang, not a timing assumption: ctx has a generous deadline).
func (f *fakeSlack) waitFor(ctx context.Context, t *testing.T, what string, done func(calls []call) bool) []call {
	t.Helper()
	for {
		f.mu.Lock()
		calls := append([]call(nil), f.calls...)
		changed := f.changed
		f.mu.Unlock()
		if done(calls) {
			return calls
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; Slack calls so far:\n%s", what, describe(calls))
			return nil
		}
	}
}

// waitForCall waits for the first call that matches, and returns it.
func (f *fakeSlack) waitForCall(ctx context.Context, t *testing.T, what string, match func(call) bool) call {
	t.Helper()
	var found call
	f.waitFor(ctx, t, what, func(calls []call) bool {
		for _, c := range calls {
			if match(c) {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

func describe(calls []call) string {
	var b strings.Builder
	for i, c := range calls {
		fmt.Fprintf(&b, "%2d. %s channel=%s user=%s ts=%s thread=%s: %q\n", i+1, c.Method, c.Channel, c.User, c.TS, c.ThreadTS, truncate(c.allText(), 300))
	}
	return b.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
