package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Defaults for the identity auth.test answers with.
const (
	DefaultTeamID    = "T0ACME"
	DefaultBotUserID = "U0PULLCHECK"
	DefaultBotID     = "B0PULLCHECK"
)

// Options configure a Server.
type Options struct {
	// Token is the bot token every Web API call must carry (required).
	Token string
	// Groups are the user groups usergroups.users.list knows: group ID -> member user IDs.
	Groups map[string][]string
	// Channels is the workspace's channels, in the order conversations.list and
	// users.conversations return them.
	// When empty, conversations.* know no channel and chat.* accept any channel.
	Channels []Channel
	// PageSize caps a conversations.list or users.conversations page whatever its limit
	// asks for (0: the limit only), as Slack may return fewer items than asked for before
	// the end of the list.
	PageSize int
	// TeamID, BotUserID and BotID are what auth.test answers (defaults DefaultTeamID,
	// DefaultBotUserID and DefaultBotID).
	TeamID, BotUserID, BotID string
}

// Server is a local Slack Web API. Its methods are safe for concurrent use.
type Server struct {
	t        testing.TB
	srv      *httptest.Server
	opts     Options
	handlers map[string]handler

	mu       sync.Mutex
	calls    []Call
	seq      int
	posted   map[string]map[string]bool // channel -> timestamps chat.postMessage returned there
	faults   map[string][]fault         // method -> the next answers to give, in order
	changed  chan struct{}              // closed and replaced on every recorded call
	channels map[string]Channel         // by ID
}

// fault is one injected failure.
type fault struct {
	slackError string        // {"ok":false,"error":slackError}, when not rate limited
	rateLimit  bool          // HTTP 429
	retryAfter time.Duration // Retry-After, rounded down to seconds
}

// answer is what a handler answers: a JSON body, with ok and error set by the server from
// err.
type answer struct {
	body map[string]any
	err  string // a Slack error: {"ok":false,"error":err}
}

// handler answers one Web API method; it runs with s.mu held and may fill in c.
type handler func(s *Server, c *Call) answer

// New starts a local Slack Web API; it stops when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Token == "" {
		t.Fatal("slackfake: Options.Token is required: the fake checks every call carries it")
		return nil // for a testing.TB whose Fatal returns
	}
	if opts.TeamID == "" {
		opts.TeamID = DefaultTeamID
	}
	if opts.BotUserID == "" {
		opts.BotUserID = DefaultBotUserID
	}
	if opts.BotID == "" {
		opts.BotID = DefaultBotID
	}
	opts.Channels = slices.Clone(opts.Channels)
	opts.Groups = maps.Clone(opts.Groups)
	s := &Server{
		t:        t,
		opts:     opts,
		handlers: handlers(),
		posted:   map[string]map[string]bool{},
		faults:   map[string][]fault{},
		changed:  make(chan struct{}),
		channels: map[string]Channel{},
	}
	for _, ch := range opts.Channels {
		if ch.ID == "" || ch.Name == "" {
			t.Fatalf("slackfake: channel %+v needs an ID and a name", ch)
		}
		if _, dup := s.channels[ch.ID]; dup {
			t.Fatalf("slackfake: channel ID %s given twice", ch.ID)
		}
		s.channels[ch.ID] = ch
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// handlers returns the Web API methods the server answers.
func handlers() map[string]handler {
	return map[string]handler{
		"auth.test":             (*Server).authTest,
		"chat.postMessage":      (*Server).postMessage,
		"chat.postEphemeral":    (*Server).postEphemeral,
		"chat.update":           (*Server).update,
		"conversations.info":    (*Server).conversationsInfo,
		"conversations.list":    (*Server).conversationsList,
		"usergroups.users.list": (*Server).userGroupMembers,
		"users.conversations":   (*Server).usersConversations,
	}
}

// Methods returns the Web API methods a Server answers, sorted. Any other fails the test.
func Methods() []string {
	return slices.Sorted(maps.Keys(handlers()))
}

// URL is what slack.OptionAPIURL takes.
func (s *Server) URL() string { return s.srv.URL + "/" }

// ResponseURL is a response URL as Slack gives one with every command and interaction; kind
// ("commands", "actions") only makes it readable.
func (s *Server) ResponseURL(kind string) string {
	return s.srv.URL + "/response/" + kind + "/T0ACME/1234567890/Yl3WmXc0eFAKEhook"
}

// FailNext makes the next times calls of method answer {"ok":false,"error":slackError}, after
// the faults already queued for it.
func (s *Server) FailNext(method, slackError string, times int) {
	s.t.Helper()
	if slackError == "" {
		s.t.Errorf("slackfake: FailNext(%s) without an error", method)
		return
	}
	s.queue(method, fault{slackError: slackError}, times)
}

// RateLimitNext makes the next times calls of method answer HTTP 429 with a Retry-After of
// retryAfter (whole seconds; 0 keeps clients that really wait fast), after the faults
// already queued for it. slack-go returns a *slack.RateLimitedError for it.
func (s *Server) RateLimitNext(method string, retryAfter time.Duration, times int) {
	s.t.Helper()
	s.queue(method, fault{rateLimit: true, retryAfter: retryAfter}, times)
}

func (s *Server) queue(method string, f fault, times int) {
	s.t.Helper()
	if _, ok := s.handlers[method]; !ok {
		s.t.Errorf("slackfake: no fault can be injected into %s: the server does not answer it (Methods: %v)", method, Methods())
		return
	}
	if times <= 0 {
		s.t.Errorf("slackfake: inject a fault into %s %d times: want at least once", method, times)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[method] = append(s.faults[method], f)
	}
}

// Calls returns the calls so far, of the given methods only when some are given.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Filter(s.calls, methods...)
}

// WaitFor blocks until done, given every call so far, returns true, and returns those calls.
// It fails the test when ctx ends first: give ctx a generous deadline, so that only a hang
// fails, never a slow machine.
func (s *Server) WaitFor(ctx context.Context, t testing.TB, what string, done func(calls []Call) bool) []Call {
	t.Helper()
	for {
		s.mu.Lock()
		calls := slices.Clone(s.calls)
		changed := s.changed
		s.mu.Unlock()
		if done(calls) {
			return calls
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; Slack calls so far:\n%s", what, Describe(calls))
			return nil
		}
	}
}

// WaitForCall waits for the first call that matches, and returns it.
func (s *Server) WaitForCall(ctx context.Context, t testing.TB, what string, match func(Call) bool) Call {
	t.Helper()
	var found Call
	s.WaitFor(ctx, t, what, func(calls []Call) bool {
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

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.t.Errorf("local Slack API: read body: %v", err)
	}
	method := strings.TrimPrefix(r.URL.Path, "/")
	w.Header().Set("Content-Type", "application/json")

	if strings.HasPrefix(method, "response/") {
		s.serveResponseURL(w, body)
		return
	}

	p, token, err := params(r, bytes.Clone(body))
	if err != nil {
		s.t.Errorf("local Slack API: %s: %v", method, err)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	if token != s.opts.Token {
		s.t.Errorf("local Slack API: %s called without the bot token", method)
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	h, ok := s.handlers[method]
	if !ok {
		s.t.Errorf("local Slack API: unexpected call %s (the fake answers %v)", method, Methods())
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	p.Del("token")
	c := Call{Method: method, Channel: p.Get("channel"), User: p.Get("user"), ThreadTS: p.Get("thread_ts"),
		Text: p.Get("text"), Blocks: p.Get("blocks"), Group: p.Get("usergroup"), Params: p, Status: http.StatusOK}

	s.mu.Lock()
	var a answer
	if f, ok := s.nextFault(method); ok {
		a = answer{err: f.slackError}
		if f.rateLimit {
			a.err = "ratelimited"
			c.Status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
		}
	} else {
		a = h(s, &c)
	}
	c.Error = a.err
	s.record(c)
	s.mu.Unlock()

	out := a.body
	switch {
	case a.err != "":
		out = map[string]any{"error": a.err}
	case out == nil:
		out = map[string]any{}
	}
	out["ok"] = a.err == ""
	writeJSON(w, c.Status, out)
}

// serveResponseURL takes a message posted to a response URL: JSON, no token.
func (s *Server) serveResponseURL(w http.ResponseWriter, body []byte) {
	var m slack.WebhookMessage
	if err := json.Unmarshal(body, &m); err != nil {
		s.t.Errorf("response URL body is not a message: %v\n%s", err, body)
	}
	var blocks []byte
	if m.Blocks != nil {
		blocks, _ = json.Marshal(m.Blocks)
	}
	p, _ := jsonParams(body) // a body that is not a message failed the test above
	s.mu.Lock()
	s.record(Call{Method: MethodResponseURL, Text: m.Text, Blocks: string(blocks), Response: m.ResponseType, Params: p, Status: http.StatusOK})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// nextFault pops the next fault queued for method; s.mu must be held.
func (s *Server) nextFault(method string) (fault, bool) {
	q := s.faults[method]
	if len(q) == 0 {
		return fault{}, false
	}
	s.faults[method] = q[1:]
	return q[0], true
}

// record appends c and wakes up the waiters; s.mu must be held.
func (s *Server) record(c Call) {
	s.calls = append(s.calls, c)
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextTS returns a message timestamp later than every one before; s.mu must be held.
func (s *Server) nextTS() string {
	s.seq++
	micros := 1_700_000_000_000_000 + int64(s.seq)*100
	return fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
}

// params reads a Web API request: a form (slack-go's usual), a query (GET) or a JSON body,
// and the token from the Authorization header or the parameters.
func params(r *http.Request, body []byte) (url.Values, string, error) {
	v := url.Values{}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch {
	case ct == "application/json":
		if v, err = jsonParams(body); err != nil {
			return nil, "", err
		}
	case len(body) > 0:
		if v, err = url.ParseQuery(string(body)); err != nil {
			return nil, "", fmt.Errorf("form body: %w", err)
		}
	}
	for k, vs := range r.URL.Query() {
		for _, x := range vs {
			v.Add(k, x)
		}
	}
	if token == "" {
		token = v.Get("token")
	}
	return v, token, nil
}

// jsonParams reads a JSON object's fields as parameters: strings as they are, other values
// (blocks and other structures, numbers, booleans) as JSON.
func jsonParams(body []byte) (url.Values, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("JSON body: %w", err)
	}
	v := url.Values{}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			v.Set(k, s)
		} else {
			v.Set(k, string(raw))
		}
	}
	return v, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
