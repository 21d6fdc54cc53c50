package slackfake_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/tests/slackfake"
)

const token = "xoxb-fake-test"

// workspace: five channels the bot sees with both types asked for (two per page), and
// two it never lists: an archived one (with exclude_archived) and a private one it is not in.
var workspace = []slackfake.Channel{
	{ID: "C0000001", Name: "general", Member: true},
	{ID: "C0000002", Name: "random"},
	{ID: "C0000003", Name: "payments-alerts", Member: true},
	{ID: "C0000004", Name: "old-alerts", Member: true, Archived: true},
	{ID: "C0000005", Name: "secret", Private: true},
	{ID: "G0000006", Name: "sre-private", Private: true, Member: true},
	{ID: "C0000007", Name: "deploys", Member: true},
	{ID: "C0000008", Name: "platform"},
}

func newClient(s *slackfake.Server, tok string) *slack.Client {
	return slack.New(tok, slack.OptionAPIURL(s.URL()))
}

// slackError returns the Slack error code err carries, or "" when it carries none.
func slackError(err error) string {
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return se.Err
	}
	return ""
}

// listAll follows a channel listing to its end: call asks for one page, with *cursor set to
// the cursor of the page before. It returns the channels and the number of pages, and fails
// the test on an error or on a page longer than the PageSize of 2 the tests use.
func listAll(t *testing.T, cursor *string, call func() ([]slack.Channel, string, error)) ([]slack.Channel, int) {
	t.Helper()
	var all []slack.Channel
	for pages := 1; ; pages++ {
		chs, next, err := call()
		if err != nil {
			t.Fatalf("page %d (cursor %q): %v", pages, *cursor, err)
		}
		if len(chs) > 2 {
			t.Errorf("page of %d channels, want at most PageSize 2", len(chs))
		}
		all = append(all, chs...)
		if next == "" {
			return all, pages
		}
		*cursor = next
	}
}

func TestConversationsListPages(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token, Channels: workspace, PageSize: 2})
	api := newClient(s, token)
	ctx := t.Context()

	list := func(params slack.GetConversationsParameters) ([]string, int) {
		t.Helper()
		chs, pages := listAll(t, &params.Cursor, func() ([]slack.Channel, string, error) {
			return api.GetConversationsContext(ctx, &params)
		})
		var names []string
		for _, ch := range chs {
			names = append(names, ch.Name)
		}
		return names, pages
	}

	names, pages := list(slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 1000})
	if want := []string{"general", "random", "payments-alerts", "sre-private", "deploys", "platform"}; !slices.Equal(names, want) {
		t.Errorf("listed %v, want %v", names, want)
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	calls := s.Calls("conversations.list")
	if len(calls) != 3 || calls[0].Params.Get("cursor") != "" || calls[1].Params.Get("cursor") == "" ||
		calls[0].Params.Get("types") != "public_channel,private_channel" || calls[0].Params.Get("exclude_archived") != "true" || calls[0].Params.Get("limit") != "1000" {
		t.Errorf("conversations.list calls:\n%s", slackfake.Describe(calls))
	}
	if calls[0].Params.Has("token") {
		t.Error("the recorded parameters hold the token")
	}

	// A limit below the page size is honoured; no types means public channels; archived
	// ones are listed unless excluded.
	names, pages = list(slack.GetConversationsParameters{Limit: 1})
	if want := []string{"general", "random", "payments-alerts", "old-alerts", "deploys", "platform"}; !slices.Equal(names, want) || pages != 6 {
		t.Errorf("listed %v in %d pages, want %v in 6", names, pages, want)
	}

	// The channel fields the bot reads.
	chs, _, err := api.GetConversationsContext(ctx, &slack.GetConversationsParameters{Types: []string{"private_channel"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 1 || chs[0].ID != "G0000006" || !chs[0].IsPrivate || !chs[0].IsMember || chs[0].IsArchived || !chs[0].IsGroup {
		t.Errorf("private channels %+v, want G0000006 only, private, member", chs)
	}

	for _, tc := range []struct {
		params slack.GetConversationsParameters
		want   string
	}{
		{slack.GetConversationsParameters{Cursor: "bm90LWEtY3Vyc29y"}, "invalid_cursor"},
		{slack.GetConversationsParameters{Cursor: "%%%"}, "invalid_cursor"},
		{slack.GetConversationsParameters{Limit: 1001}, "invalid_limit"},
		{slack.GetConversationsParameters{Types: []string{"public_channels"}}, "invalid_types"},
	} {
		if _, _, err := api.GetConversationsContext(ctx, &tc.params); slackError(err) != tc.want {
			t.Errorf("conversations.list %+v: %v, want %s", tc.params, err, tc.want)
		}
	}
}

// TestUsersConversations: users.conversations lists, page by page, only the channels the
// bot is a member of, whatever else the workspace holds.
func TestUsersConversations(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token, Channels: workspace, PageSize: 2})
	api := newClient(s, token)
	ctx := t.Context()

	list := func(params slack.GetConversationsForUserParameters) ([]string, int) {
		t.Helper()
		chs, pages := listAll(t, &params.Cursor, func() ([]slack.Channel, string, error) {
			return api.GetConversationsForUserContext(ctx, &params)
		})
		var ids []string
		for _, ch := range chs {
			if !ch.IsMember {
				t.Errorf("users.conversations listed %s with is_member false", ch.ID)
			}
			ids = append(ids, ch.ID)
		}
		return ids, pages
	}

	// Members of general, payments-alerts, sre-private and deploys (old-alerts is archived);
	// random, secret and platform are not listed.
	ids, pages := list(slack.GetConversationsForUserParameters{Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 1000})
	if want := []string{"C0000001", "C0000003", "G0000006", "C0000007"}; !slices.Equal(ids, want) || pages != 2 {
		t.Errorf("listed %v in %d pages, want %v in 2", ids, pages, want)
	}
	calls := s.Calls("users.conversations")
	if len(calls) != 2 || calls[0].Params.Get("cursor") != "" || calls[1].Params.Get("cursor") == "" || calls[0].Params.Has("user") ||
		calls[0].Params.Get("types") != "public_channel,private_channel" || calls[0].Params.Get("exclude_archived") != "true" || calls[0].Params.Get("limit") != "1000" {
		t.Errorf("users.conversations calls:\n%s", slackfake.Describe(calls))
	}
	if len(s.Calls("conversations.list")) != 0 {
		t.Error("users.conversations recorded as conversations.list")
	}

	// No types means public channels; archived ones are listed unless excluded; a limit below
	// the page size is honoured; the bot's own user ID is the default.
	ids, pages = list(slack.GetConversationsForUserParameters{Limit: 1, UserID: slackfake.DefaultBotUserID})
	if want := []string{"C0000001", "C0000003", "C0000004", "C0000007"}; !slices.Equal(ids, want) || pages != 4 {
		t.Errorf("listed %v in %d pages, want %v in 4", ids, pages, want)
	}
	chs, _, err := api.GetConversationsForUserContext(ctx, &slack.GetConversationsForUserParameters{Types: []string{"private_channel"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 1 || chs[0].ID != "G0000006" || chs[0].Name != "sre-private" || !chs[0].IsPrivate || !chs[0].IsGroup || chs[0].IsArchived {
		t.Errorf("private channels %+v, want sre-private (G0000006) only", chs)
	}

	for _, tc := range []struct {
		params slack.GetConversationsForUserParameters
		want   string
	}{
		{slack.GetConversationsForUserParameters{Cursor: "bm90LWEtY3Vyc29y"}, "invalid_cursor"},
		{slack.GetConversationsForUserParameters{Cursor: "%%%"}, "invalid_cursor"},
		{slack.GetConversationsForUserParameters{Limit: 1001}, "invalid_limit"},
		{slack.GetConversationsForUserParameters{Limit: -1}, "invalid_limit"},
		{slack.GetConversationsForUserParameters{Types: []string{"public_channels"}}, "invalid_types"},
	} {
		if _, _, err := api.GetConversationsForUserContext(ctx, &tc.params); slackError(err) != tc.want {
			t.Errorf("users.conversations %+v: %v, want %s", tc.params, err, tc.want)
		}
	}
}

func TestConversationsInfo(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token, Channels: workspace})
	api := newClient(s, token)
	ch, err := api.GetConversationInfoContext(t.Context(), &slack.GetConversationInfoInput{ChannelID: "C0000004"})
	if err != nil || ch.Name != "old-alerts" || !ch.IsArchived || !ch.IsMember {
		t.Errorf("conversations.info C0000004: %+v, %v; want old-alerts, archived, member", ch, err)
	}
	for _, id := range []string{"C0000005", "C9999999"} { // private without the bot; unknown
		if _, err := api.GetConversationInfoContext(t.Context(), &slack.GetConversationInfoInput{ChannelID: id}); slackError(err) != "channel_not_found" {
			t.Errorf("conversations.info %s: %v, want channel_not_found", id, err)
		}
	}
}

func TestAuthTest(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token, BotID: "B0OTHER"})
	got, err := newClient(s, token).AuthTestContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != slackfake.DefaultBotUserID || got.TeamID != slackfake.DefaultTeamID || got.BotID != "B0OTHER" {
		t.Errorf("auth.test = %+v", got)
	}
}

func TestPostAndUpdate(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token, Channels: workspace})
	api := newClient(s, token)
	ctx := t.Context()

	ch, ts, err := api.PostMessageContext(ctx, "C0000001", slack.MsgOptionText("hello", false))
	if err != nil || ch != "C0000001" || ts != "1700000000.000100" {
		t.Fatalf("chat.postMessage = %s %s %v, want C0000001 1700000000.000100", ch, ts, err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "C0000001", ts, slack.MsgOptionText("edited", false)); err != nil {
		t.Errorf("chat.update of the message posted: %v", err)
	}
	for _, tc := range []struct{ channel, ts, want string }{
		{"C0000001", "1700000000.000999", "message_not_found"}, // never posted
		{"C0000003", ts, "message_not_found"},                  // posted in another channel
		{"C9999999", ts, "channel_not_found"},
	} {
		if _, _, _, err := api.UpdateMessageContext(ctx, tc.channel, tc.ts, slack.MsgOptionText("x", false)); slackError(err) != tc.want {
			t.Errorf("chat.update %s %s: %v, want %s", tc.channel, tc.ts, err, tc.want)
		}
	}
	for _, tc := range []struct{ channel, want string }{
		{"C0000002", "not_in_channel"},
		{"C0000004", "is_archived"},
		{"C0000005", "channel_not_found"}, // private without the bot
		{"C9999999", "channel_not_found"},
		{"payments-alerts", "channel_not_found"}, // names are not IDs
		{"G0000006", ""},
		{"U0ALICE", ""}, // a DM
	} {
		_, _, err := api.PostMessageContext(ctx, tc.channel, slack.MsgOptionText("x", false))
		if slackError(err) != tc.want || (tc.want == "" && err != nil) {
			t.Errorf("chat.postMessage %s: %v, want %q", tc.channel, err, tc.want)
		}
	}
	if _, err := api.PostEphemeralContext(ctx, "C0000002", "U0DEV", slack.MsgOptionText("x", false)); slackError(err) != "not_in_channel" {
		t.Errorf("chat.postEphemeral in a channel without the bot: %v, want not_in_channel", err)
	}

	updates := s.Calls("chat.update")
	got := make([]string, 0, len(updates))
	for _, c := range updates {
		got = append(got, c.Channel+" "+c.TS+" "+c.Error)
	}
	want := []string{"C0000001 " + ts + " ", "C0000001 1700000000.000999 message_not_found", "C0000003 " + ts + " message_not_found", "C9999999 " + ts + " channel_not_found"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded chat.update calls (-want +got):\n%s", diff)
	}
}

// TestAnyChannelWithoutWorkspace: with no channels configured, chat.* post anywhere, and
// concurrent posts get unique, increasing timestamps.
func TestAnyChannelWithoutWorkspace(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token})
	api := newClient(s, token)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, _, err := api.PostMessageContext(t.Context(), fmt.Sprintf("C%07d", i), slack.MsgOptionText("x", false)); err != nil {
				t.Errorf("chat.postMessage: %v", err)
			}
		})
	}
	wg.Wait()
	calls := s.Calls("chat.postMessage")
	if len(calls) != n {
		t.Fatalf("%d calls recorded, want %d", len(calls), n)
	}
	prev := 0.0
	for _, c := range calls {
		ts, err := strconv.ParseFloat(c.TS, 64)
		if err != nil || ts <= prev || len(c.TS) != len("1700000000.000100") {
			t.Fatalf("timestamps not unique and increasing in call order:\n%s", slackfake.Describe(calls))
		}
		prev = ts
	}
}

func TestFaults(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token, Groups: map[string][]string{"S0OPS": {"U0A", "U0B"}}})
	api := newClient(s, token)
	ctx := t.Context()

	s.RateLimitNext("usergroups.users.list", 7*time.Second, 1)
	s.FailNext("usergroups.users.list", "internal_error", 2)
	_, err := api.GetUserGroupMembersContext(ctx, "S0OPS")
	if rl, ok := errors.AsType[*slack.RateLimitedError](err); !ok || rl.RetryAfter != 7*time.Second {
		t.Errorf("first call: %v, want rate limited for 7s", err)
	}
	for i := range 2 {
		if _, err := api.GetUserGroupMembersContext(ctx, "S0OPS"); slackError(err) != "internal_error" {
			t.Errorf("call %d: %v, want internal_error", i+2, err)
		}
	}
	if users, err := api.GetUserGroupMembersContext(ctx, "S0OPS"); err != nil || !slices.Equal(users, []string{"U0A", "U0B"}) {
		t.Errorf("after the faults: %v %v, want the members", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S0NONE"); slackError(err) != "no_such_subteam" {
		t.Errorf("unknown group: %v, want no_such_subteam", err)
	}

	var got []string
	for _, c := range s.Calls() {
		got = append(got, fmt.Sprintf("%d %s", c.Status, c.Error))
	}
	want := []string{"429 ratelimited", "200 internal_error", "200 internal_error", "200 ", "200 no_such_subteam"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recorded calls (-want +got):\n%s", diff)
	}
	// Faults are per method: another method is not affected.
	s.FailNext("chat.postMessage", "fatal_error", 1)
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Errorf("auth.test: %v", err)
	}
}

// TestResponseURL: a message posted to a response URL needs no token and is recorded with
// every field it was posted with.
func TestResponseURL(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token})
	_, _, err := newClient(s, "").PostMessageContext(t.Context(), "C1", slack.MsgOptionText("not found", false),
		slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*not found*", false, false), nil, nil)),
		slack.MsgOptionResponseURL(s.ResponseURL("commands"), slack.ResponseTypeEphemeral), slack.MsgOptionReplaceOriginal(s.ResponseURL("commands")))
	if err != nil {
		t.Fatal(err)
	}
	calls := s.Calls(slackfake.MethodResponseURL)
	if len(calls) != 1 {
		t.Fatalf("calls:\n%s", slackfake.Describe(s.Calls()))
	}
	c := calls[0]
	if c.Text != "not found" || c.Response != slack.ResponseTypeEphemeral || !c.OK() || !strings.Contains(c.AllText(), "*not found*") {
		t.Errorf("response URL call = %+v", c)
	}
	for k, want := range map[string]string{"text": "not found", "response_type": "ephemeral", "replace_original": "true"} {
		if got := c.Params.Get(k); got != want {
			t.Errorf("Params %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(c.Params.Get("blocks"), `"*not found*"`) {
		t.Errorf("Params blocks = %q, want the blocks as JSON", c.Params.Get("blocks"))
	}
}

func TestWaitFor(t *testing.T) {
	s := slackfake.New(t, slackfake.Options{Token: token})
	api := newClient(s, token)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// The post happens only once WaitFor has looked and found nothing: it must wake up.
	posted := make(chan error, 1)
	waiting := make(chan struct{})
	go func() {
		<-waiting
		_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("late", false))
		posted <- err
	}()
	var looked sync.Once
	calls := s.WaitFor(ctx, t, "the late message", func(calls []slackfake.Call) bool {
		looked.Do(func() { close(waiting) })
		return len(calls) == 1
	})
	if err := <-posted; err != nil {
		t.Fatal(err)
	}
	got := s.WaitForCall(ctx, t, "the late message", func(c slackfake.Call) bool { return c.Text == "late" })
	if got.Method != "chat.postMessage" || got.Channel != "C1" || !cmp.Equal(got, calls[0]) {
		t.Errorf("WaitForCall = %+v, want the message WaitFor saw: %+v", got, calls[0])
	}

	// A wait whose context ends fails the test and says what it waited for.
	rec := &recorder{TB: t}
	done, stop := context.WithCancel(t.Context())
	stop()
	if calls := s.WaitFor(done, rec, "a message that never comes", func([]slackfake.Call) bool { return false }); calls != nil {
		t.Errorf("WaitFor returned %v after timing out", calls)
	}
	if msgs := rec.messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "timed out waiting for a message that never comes") || !strings.Contains(msgs[0], "chat.postMessage channel=C1") {
		t.Errorf("failures %q, want one naming the wait and the calls so far", msgs)
	}
}

// TestStrict: calls without the bot token, of methods the fake does not know, and faults for
// such methods fail the test.
func TestStrict(t *testing.T) {
	for _, tc := range []struct {
		name string
		do   func(s *slackfake.Server) error
		want string // in the failure
		err  string // the Slack error answered ("" when no call is made)
	}{
		{"wrong token", func(s *slackfake.Server) error {
			_, _, err := newClient(s, "xoxb-someone-else").PostMessageContext(t.Context(), "C1", slack.MsgOptionText("x", false))
			return err
		}, "chat.postMessage called without the bot token", "invalid_auth"},
		{"no token", func(s *slackfake.Server) error {
			_, err := newClient(s, "").AuthTestContext(t.Context())
			return err
		}, "auth.test called without the bot token", "invalid_auth"},
		{"unexpected method", func(s *slackfake.Server) error {
			_, err := newClient(s, token).GetUserInfoContext(t.Context(), "U0DEV")
			return err
		}, "unexpected call users.info", "unknown_method"},
		{"fault for an unknown method", func(s *slackfake.Server) error {
			s.FailNext("users.info", "fatal_error", 1)
			return nil
		}, "no fault can be injected into users.info", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := slackfake.New(rec, slackfake.Options{Token: token})
			err := tc.do(s)
			if slackError(err) != tc.err {
				t.Errorf("answer %v, want %q", err, tc.err)
			}
			if msgs := rec.messages(); len(msgs) != 1 || !strings.Contains(msgs[0], tc.want) {
				t.Errorf("test failures %q, want one saying %q", msgs, tc.want)
			}
			if calls := s.Calls(); len(calls) != 0 {
				t.Errorf("refused calls recorded:\n%s", slackfake.Describe(calls))
			}
		})
	}

	t.Run("users.conversations of another user", func(t *testing.T) {
		rec := &recorder{TB: t}
		s := slackfake.New(rec, slackfake.Options{Token: token, Channels: workspace})
		_, _, err := newClient(s, token).GetConversationsForUserContext(t.Context(), &slack.GetConversationsForUserParameters{UserID: "U0ALICE"})
		if slackError(err) != "user_not_found" {
			t.Errorf("answer %v, want user_not_found", err)
		}
		if msgs := rec.messages(); len(msgs) != 1 || !strings.Contains(msgs[0], "users.conversations of user U0ALICE: only the bot's") {
			t.Errorf("test failures %q, want one saying other users' memberships are not modelled", msgs)
		}
	})

	t.Run("no token configured", func(t *testing.T) {
		rec := &recorder{TB: t}
		if s := slackfake.New(rec, slackfake.Options{}); s != nil {
			t.Error("New returned a server without a token")
		}
		if msgs := rec.messages(); len(msgs) == 0 || !strings.Contains(msgs[0], "Options.Token is required") {
			t.Errorf("failures %q, want Options.Token is required", msgs)
		}
	})
}

func TestMethods(t *testing.T) {
	want := []string{"auth.test", "chat.postEphemeral", "chat.postMessage", "chat.update", "conversations.info", "conversations.list", "usergroups.users.list", "users.conversations"}
	if diff := cmp.Diff(want, slackfake.Methods()); diff != "" {
		t.Errorf("Methods (-want +got):\n%s", diff)
	}
}

// recorder is a testing.TB that records failures instead of failing the test; everything
// else (Cleanup, Context, …) is the real test's.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) { r.add(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatalf(format string, args ...any) { r.add(fmt.Sprintf(format, args...)) }
func (r *recorder) Fatal(args ...any)                 { r.add(fmt.Sprint(args...)) }

func (r *recorder) add(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
}

func (r *recorder) messages() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}
