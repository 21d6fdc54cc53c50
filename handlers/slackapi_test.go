package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"
)

// botToken is the bot token the real slack-go client sends; tests check it never shows in
// a message or a log line.
const botToken = "xoxb-1111111111-2222222222-s3cr3tB0tT0kenValue"

// slackCall is one call the local Slack Web API received.
type slackCall struct {
	Method   string // chat.postMessage, chat.update, chat.postEphemeral, usergroups.users.list, response_url
	Channel  string
	User     string // chat.postEphemeral's user
	TS       string // chat.update: the message updated; otherwise the ts returned
	ThreadTS string
	Text     string
	Blocks   string // the blocks as sent (JSON)
	Group    string // usergroups.users.list
	Response string // response_url: response_type
	Raw      string // the request body, token removed
}

// allText is every string in the message: its text and every string inside its blocks.
func (c slackCall) allText() string {
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

// blocks decodes the blocks as slack-go does.
func (c slackCall) blocks(t *testing.T) []slack.Block {
	t.Helper()
	var bs slack.Blocks
	if err := json.Unmarshal([]byte(c.Blocks), &bs); err != nil {
		t.Fatalf("%s blocks do not decode: %v", c.Method, err)
	}
	return bs.BlockSet
}

// fakeSlack is a local Slack Web API: chat.postMessage, chat.update, chat.postEphemeral,
// usergroups.users.list and response URLs, answering as Slack documents them. It records
// every call; fail makes a method answer with a Slack error.
type fakeSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	calls  []slackCall
	seq    int
	groups map[string][]string
	fail   map[string]string // method -> Slack error code
	// onCall, when set, sees every call after it is recorded (tests synchronise on it).
	onCall func(slackCall)
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{t: t, groups: map[string][]string{}, fail: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// client is the real slack-go client, pointed at the local API.
func (f *fakeSlack) client() *slack.Client {
	return slack.New(botToken, slack.OptionAPIURL(f.srv.URL+"/"))
}

func (f *fakeSlack) responseURL(name string) string { return f.srv.URL + "/response/" + name }

func (f *fakeSlack) setFail(method, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = code
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	method := strings.TrimPrefix(r.URL.Path, "/")
	w.Header().Set("Content-Type", "application/json")

	if strings.HasPrefix(method, "response/") {
		var m slack.Msg
		if err := json.Unmarshal(body, &m); err != nil {
			f.t.Errorf("response URL body is not a message: %v", err)
		}
		blocks, _ := json.Marshal(m.Blocks.BlockSet)
		f.record(slackCall{Method: "response_url", Text: m.Text, Blocks: string(blocks), Response: m.ResponseType, Raw: string(body)})
		_, _ = io.WriteString(w, `{"ok":true}`)
		return
	}

	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("%s: bad form: %v", method, err)
	}
	auth := r.Form.Get("token")
	if h := r.Header.Get("Authorization"); h != "" {
		auth = strings.TrimPrefix(h, "Bearer ")
	}
	if auth != botToken {
		_, _ = io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
		return
	}
	form := r.Form
	raw := strings.ReplaceAll(string(body), "token="+botToken, "token=REMOVED")

	f.mu.Lock()
	code := f.fail[method]
	f.mu.Unlock()
	c := slackCall{Method: method, Channel: form.Get("channel"), User: form.Get("user"), ThreadTS: form.Get("thread_ts"),
		Text: form.Get("text"), Blocks: form.Get("blocks"), Group: form.Get("usergroup"), Raw: raw}
	if code != "" {
		f.record(c)
		fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
		return
	}
	switch method {
	case "chat.postMessage":
		c.TS = f.nextTS()
		f.record(c)
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q,"message":{"type":"message","text":%q,"ts":%q}}`, c.Channel, c.TS, c.Text, c.TS)
	case "chat.update":
		c.TS = form.Get("ts")
		f.record(c)
		fmt.Fprintf(w, `{"ok":true,"channel":%q,"ts":%q,"text":%q}`, c.Channel, c.TS, c.Text)
	case "chat.postEphemeral":
		c.TS = f.nextTS()
		f.record(c)
		fmt.Fprintf(w, `{"ok":true,"message_ts":%q}`, c.TS)
	case "usergroups.users.list":
		f.record(c)
		f.mu.Lock()
		users, ok := f.groups[c.Group]
		f.mu.Unlock()
		if !ok {
			_, _ = io.WriteString(w, `{"ok":false,"error":"no_such_subteam"}`)
			return
		}
		js, _ := json.Marshal(users)
		fmt.Fprintf(w, `{"ok":true,"users":%s}`, js)
	default:
		f.t.Errorf("unexpected Slack API call %s", method)
		_, _ = io.WriteString(w, `{"ok":false,"error":"unknown_method"}`)
	}
}

func (f *fakeSlack) nextTS() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return fmt.Sprintf("1764065520.%06d", f.seq)
}

func (f *fakeSlack) record(c slackCall) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	hook := f.onCall
	f.mu.Unlock()
	if hook != nil {
		hook(c)
	}
}

// all returns the calls so far; only lists the given methods when some are given.
func (f *fakeSlack) all(methods ...string) []slackCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []slackCall
	for _, c := range f.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSlack) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}
