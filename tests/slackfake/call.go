package slackfake

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// MethodResponseURL is the Method of a Call made to a response URL.
const MethodResponseURL = "response_url"

// Call is one call the local Slack API received.
type Call struct {
	// Method is the Web API method (chat.postMessage, conversations.list, …) or
	// MethodResponseURL.
	Method   string
	Channel  string
	User     string // chat.postEphemeral: who sees it
	TS       string // chat.update: the message updated; chat.postMessage, chat.postEphemeral: the ts returned
	ThreadTS string
	Text     string
	Blocks   string // JSON, as sent
	Group    string // usergroups.users.list
	Response string // response URL: response_type
	// Params are the call's parameters as sent (form, query or JSON body), without the
	// token; for a response URL, the fields of the message posted to it.
	Params url.Values
	// Error is the Slack error the call was answered with ("" when ok); a rate-limited call
	// has "ratelimited" and Status 429.
	Error string
	// Status is the HTTP status of the answer.
	Status int
}

// OK reports whether Slack answered the call with ok: true.
func (c Call) OK() bool { return c.Error == "" }

// AllText is the call's text and every string inside its blocks.
func (c Call) AllText() string {
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

// DecodeBlocks decodes the call's blocks as slack-go does; it fails the test when they do
// not decode. (The Blocks field holds the JSON as sent.)
func (c Call) DecodeBlocks(t testing.TB) []slack.Block {
	t.Helper()
	if c.Blocks == "" {
		return nil
	}
	var bs slack.Blocks
	if err := json.Unmarshal([]byte(c.Blocks), &bs); err != nil {
		t.Fatalf("%s: blocks do not decode: %v\n%s", c.Method, err, c.Blocks)
	}
	return bs.BlockSet
}

// Filter returns the calls of the given methods, or all of them when none are given.
func Filter(calls []Call, methods ...string) []Call {
	var out []Call
	for _, c := range calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// Describe lists calls one a line, for failure messages.
func Describe(calls []Call) string {
	var b strings.Builder
	for i, c := range calls {
		fmt.Fprintf(&b, "%2d. %s channel=%s user=%s ts=%s thread=%s", i+1, c.Method, c.Channel, c.User, c.TS, c.ThreadTS)
		if c.Error != "" {
			fmt.Fprintf(&b, " error=%s (HTTP %d)", c.Error, c.Status)
		}
		if c.Method == "conversations.list" || c.Method == "users.conversations" {
			fmt.Fprintf(&b, " cursor=%q", c.Params.Get("cursor"))
		}
		fmt.Fprintf(&b, ": %q\n", truncate(c.AllText(), 300))
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
