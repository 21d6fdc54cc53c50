package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// channelWorkspace has nine channels. The bot is a member of six, one of them archived:
// users.conversations lists the other five, which at two a page takes three pages.
var channelWorkspace = []slackfake.Channel{
	{ID: "C0GENERAL", Name: "general", Member: true},
	{ID: "C0RANDOM1", Name: "random"},
	{ID: "C0OLDALRT", Name: "old-alerts", Member: true, Archived: true},
	{ID: "C0SECRET1", Name: "secret", Private: true},
	{ID: "C0PAYMENT", Name: "payments-alerts", Member: true},
	{ID: "G0SREPRIV", Name: "sre-private", Private: true, Member: true},
	{ID: "C0DEPLOYS", Name: "deploys", Member: true},
	{ID: "C0PLATFRM", Name: "platform"},
	{ID: "C0ALERTS2", Name: "alerts-2", Member: true},
}

// newChannelAPI returns the real slack-go client talking to a local Slack API holding
// channels, two channels a page.
func newChannelAPI(t *testing.T, channels []slackfake.Channel) (*slack.Client, *slackfake.Server) {
	t.Helper()
	fake := slackfake.New(t, slackfake.Options{Token: testBotToken, Channels: channels, PageSize: 2})
	return slack.New(testBotToken, slack.OptionAPIURL(fake.URL())), fake
}

// channelWaits is a ChannelResolver.Wait that records what it was asked to wait and returns at once.
type channelWaits struct {
	mu  sync.Mutex
	got []time.Duration
	err error // returned instead of waiting, when set
}

func (w *channelWaits) wait(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, d)
	return w.err
}

func (w *channelWaits) durations() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.got...)
}

// errLines splits a joined error into its messages.
func errLines(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

// callSummary is each call as "method cursor-or-channel", for comparing call sequences.
func callSummary(calls []slackfake.Call) []string {
	out := make([]string, 0, len(calls))
	for _, c := range calls {
		arg := c.Channel
		if c.Method == "users.conversations" {
			arg = "page"
			if c.Params.Get("cursor") == "" {
				arg = "first page"
			}
		}
		out = append(out, c.Method+" "+arg)
	}
	return out
}

func TestResolveChannels(t *testing.T) {
	api, fake := newChannelAPI(t, channelWorkspace)
	wanted := []string{
		"#payments-alerts", "payments-alerts", "#Payments-Alerts", // one channel, three spellings
		"C0DEPLOYS", "G0SREPRIV", "#alerts-2", // an ID, a private channel's ID, the last page
		"#general", "#general", // a duplicate
		"#random", "C0RANDOM1", " C0RANDOM1", // the bot is not a member: by name, by ID (twice)
		"#old-alerts", "C0OLDALRT", // archived
		"#secret", "C0SECRET1", // private, the bot not invited
		"#nope", "C0UNKNOWN", "#", " ", // unknown, an unknown ID, empty
	}
	w := &channelWaits{}
	got, err := ChannelResolver{Wait: w.wait}.Resolve(t.Context(), api, wanted)

	want := map[string]string{
		"#payments-alerts": "C0PAYMENT", "payments-alerts": "C0PAYMENT", "#Payments-Alerts": "C0PAYMENT",
		"C0DEPLOYS": "C0DEPLOYS", "G0SREPRIV": "G0SREPRIV", "#alerts-2": "C0ALERTS2", "#general": "C0GENERAL",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	wantErrs := []string{
		`channel "#random": no channel named #random has the bot as a member: check the name and invite the bot with /invite @pullcheck in #random`,
		`channel "C0RANDOM1": the bot is not a member of #random (C0RANDOM1) and must be to post: invite the bot with /invite @pullcheck in #random`,
		`channel " C0RANDOM1": the bot is not a member of #random (C0RANDOM1) and must be to post: invite the bot with /invite @pullcheck in #random`,
		`channel "#old-alerts": no channel named #old-alerts has the bot as a member: check the name and invite the bot with /invite @pullcheck in #old-alerts`,
		`channel "C0OLDALRT": #old-alerts (C0OLDALRT) is archived: unarchive it or choose another channel`,
		`channel "#secret": no channel named #secret has the bot as a member: check the name and invite the bot with /invite @pullcheck in #secret`,
		`channel "C0SECRET1": no channel with ID C0SECRET1 is visible to the bot (unknown, archived, or private without the bot): check the ID, or for a private channel invite the bot first`,
		`channel "#nope": no channel named #nope has the bot as a member: check the name and invite the bot with /invite @pullcheck in #nope`,
		`channel "C0UNKNOWN": no channel with ID C0UNKNOWN is visible to the bot (unknown, archived, or private without the bot): check the ID, or for a private channel invite the bot first`,
		`channel "#": give a channel name (#payments-alerts) or ID (C0123ABCD)`,
		`channel " ": give a channel name (#payments-alerts) or ID (C0123ABCD)`,
	}
	if diff := cmp.Diff(wantErrs, errLines(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if err != nil {
		assertNoSecrets(t, "the error", err.Error())
	}

	// Every page of the bot's channels was read (some entries are never found), then each ID
	// not found was looked up once; names were not, and the workspace was never listed.
	calls := fake.Calls()
	wantCalls := []string{
		"users.conversations first page", "users.conversations page", "users.conversations page",
		"conversations.info C0RANDOM1", "conversations.info C0OLDALRT", "conversations.info C0SECRET1", "conversations.info C0UNKNOWN",
	}
	if diff := cmp.Diff(wantCalls, callSummary(calls)); diff != "" {
		t.Fatalf("calls (-want +got):\n%s\n%s", diff, slackfake.Describe(calls))
	}
	prevCursor := "none"
	for i, c := range fake.Calls("users.conversations") {
		p := c.Params
		if p.Get("types") != "public_channel,private_channel" || p.Get("exclude_archived") != "true" || p.Get("limit") != "999" || p.Has("user") {
			t.Errorf("page %d: %v, want the bot's public and private channels, archived excluded, limit 999", i+1, p)
		}
		if (i == 0) != (p.Get("cursor") == "") || p.Get("cursor") == prevCursor {
			t.Errorf("page %d: cursor %q after %q: want none first, then the next one each time", i+1, p.Get("cursor"), prevCursor)
		}
		prevCursor = p.Get("cursor")
	}
	if len(w.durations()) != 0 {
		t.Errorf("waited %v without a rate limit", w.durations())
	}
}

// TestResolveChannelsStopsWhenFound: once every entry is found, no more pages are read.
func TestResolveChannelsStopsWhenFound(t *testing.T) {
	api, fake := newChannelAPI(t, channelWorkspace)
	got, err := ResolveChannels(t.Context(), api, []string{"general", "C0GENERAL"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"general": "C0GENERAL", "C0GENERAL": "C0GENERAL"}, got); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"users.conversations first page"}, callSummary(fake.Calls())); diff != "" {
		t.Errorf("calls (-want +got), want only the first page:\n%s", diff)
	}
}

// TestResolveChannelsCostsTheBotsChannels: the channels the bot is not in, however many,
// cost no page: users.conversations is called once per page of the bot's own channels.
func TestResolveChannelsCostsTheBotsChannels(t *testing.T) {
	var channels []slackfake.Channel
	mine := map[int]string{7: "payments-alerts", 1500: "deploys", 2999: "sre-private", 4000: "general", 4999: "alerts-2"}
	for i := range 5000 {
		ch := slackfake.Channel{ID: fmt.Sprintf("C%08d", i), Name: fmt.Sprintf("team-%d", i), Private: i%3 == 0, Archived: i%11 == 0}
		if name, ok := mine[i]; ok {
			ch = slackfake.Channel{ID: fmt.Sprintf("C%08d", i), Name: name, Member: true}
		}
		channels = append(channels, ch)
	}
	api, fake := newChannelAPI(t, channels)
	// "#nope" is never found, so every page of the bot's channels is read.
	got, err := ResolveChannels(t.Context(), api, []string{"#payments-alerts", "#deploys", "#sre-private", "#general", "#alerts-2", "#nope"})
	if len(got) != 5 || len(errLines(err)) != 1 || !strings.Contains(err.Error(), "no channel named #nope") {
		t.Errorf("ResolveChannels = %v, %v; want the bot's five channels and #nope reported", got, err)
	}
	calls := fake.Calls()
	if n := len(fake.Calls("users.conversations")); n != 3 || len(calls) != 3 {
		t.Errorf("%d calls, %d of users.conversations; want 3 pages of 2 for the bot's 5 channels of 5,000:\n%s", len(calls), n, slackfake.Describe(calls))
	}
}

// TestResolveChannelsNothingWanted: no entries, or only empty ones, no call.
func TestResolveChannelsNothingWanted(t *testing.T) {
	api, fake := newChannelAPI(t, channelWorkspace)
	got, err := ResolveChannels(t.Context(), api, nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("ResolveChannels(nil) = %v, %v; want an empty map", got, err)
	}
	got, err = ResolveChannels(t.Context(), api, []string{"", "#"})
	want := []string{
		`channel "": give a channel name (#payments-alerts) or ID (C0123ABCD)`,
		`channel "#": give a channel name (#payments-alerts) or ID (C0123ABCD)`,
	}
	if diff := cmp.Diff(want, errLines(err)); diff != "" || len(got) != 0 {
		t.Errorf("ResolveChannels of empty entries = %v; errors (-want +got):\n%s", got, diff)
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("Slack was called:\n%s", slackfake.Describe(calls))
	}
}

func TestResolveChannelsRateLimited(t *testing.T) {
	t.Run("once, then success", func(t *testing.T) {
		api, fake := newChannelAPI(t, channelWorkspace)
		fake.RateLimitNext("users.conversations", 7*time.Second, 1)
		w := &channelWaits{}
		got, err := ChannelResolver{Wait: w.wait}.Resolve(t.Context(), api, []string{"#alerts-2"})
		if err != nil || got["#alerts-2"] != "C0ALERTS2" {
			t.Fatalf("Resolve = %v, %v; want #alerts-2 resolved after the rate limit", got, err)
		}
		if diff := cmp.Diff([]time.Duration{7 * time.Second}, w.durations()); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
		calls := fake.Calls()
		if len(calls) != 4 || calls[0].Status != 429 || calls[1].Error != "" || calls[1].Params.Get("cursor") != "" {
			t.Errorf("want the first page rate limited, asked again, then the other two:\n%s", slackfake.Describe(calls))
		}
	})

	t.Run("a lookup, once, then success", func(t *testing.T) {
		api, fake := newChannelAPI(t, channelWorkspace)
		fake.RateLimitNext("conversations.info", 3*time.Second, 1)
		w := &channelWaits{}
		_, err := ChannelResolver{Wait: w.wait}.Resolve(t.Context(), api, []string{"C0RANDOM1"})
		if diff := cmp.Diff([]string{`channel "C0RANDOM1": the bot is not a member of #random (C0RANDOM1) and must be to post: invite the bot with /invite @pullcheck in #random`}, errLines(err)); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]time.Duration{3 * time.Second}, w.durations()); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
		if n := len(fake.Calls("conversations.info")); n != 2 {
			t.Errorf("%d conversations.info calls, want 2", n)
		}
	})

	t.Run("Retry-After 0", func(t *testing.T) {
		api, fake := newChannelAPI(t, channelWorkspace)
		fake.RateLimitNext("users.conversations", 0, 1)
		w := &channelWaits{}
		if _, err := (ChannelResolver{Wait: w.wait}).Resolve(t.Context(), api, []string{"#general"}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]time.Duration{time.Second}, w.durations()); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
	})

	t.Run("too many times", func(t *testing.T) {
		api, fake := newChannelAPI(t, channelWorkspace)
		fake.RateLimitNext("users.conversations", 2*time.Second, 3)
		w := &channelWaits{}
		got, err := ChannelResolver{Retries: 2, Wait: w.wait}.Resolve(t.Context(), api, []string{"#general"})
		if _, ok := errors.AsType[*slack.RateLimitedError](err); !ok || got != nil || !strings.Contains(err.Error(), "still rate limited after 2 retries") {
			t.Errorf("Resolve = %v, %v; want nil and a wrapped rate limit after 2 retries", got, err)
		}
		if n := len(fake.Calls()); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
		if got := len(w.durations()); got != 2 {
			t.Errorf("waited %d times, want 2", got)
		}
	})

	t.Run("wait past the deadline", func(t *testing.T) {
		api, fake := newChannelAPI(t, channelWorkspace)
		fake.RateLimitNext("users.conversations", 30*time.Second, 1)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		deadline, _ := ctx.Deadline()
		now := deadline.Add(-10 * time.Second) // the clock says 10s are left
		w := &channelWaits{}
		_, err := ChannelResolver{Wait: w.wait, Now: func() time.Time { return now }}.Resolve(ctx, api, []string{"#general"})
		if _, ok := errors.AsType[*slack.RateLimitedError](err); !ok || !strings.Contains(err.Error(), "waiting 30s would pass the deadline") {
			t.Errorf("error %v, want a wrapped rate limit not waited for", err)
		}
		if len(w.durations()) != 0 {
			t.Errorf("waited %v past the deadline", w.durations())
		}
	})

	t.Run("context ends while waiting", func(t *testing.T) {
		api, fake := newChannelAPI(t, channelWorkspace)
		fake.RateLimitNext("users.conversations", time.Second, 1)
		w := &channelWaits{err: context.Canceled}
		_, err := ChannelResolver{Wait: w.wait}.Resolve(t.Context(), api, []string{"#general"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled wrapped", err)
		}
		if n := len(fake.Calls()); n != 1 {
			t.Errorf("%d calls, want 1: no retry after the context ended", n)
		}
	})
}

// TestResolveChannelsSlackError: when Slack cannot be asked, listing or looking up, the error
// wraps slack-go's, says what was being done, and no map is returned.
func TestResolveChannelsSlackError(t *testing.T) {
	for _, tc := range []struct {
		name, method, slackErr, prefix string
		wanted                         []string
		calls                          int
	}{
		{"list", "users.conversations", "invalid_auth", "list the bot's slack channels (users.conversations, page 1): ", []string{"#general"}, 1},
		{"lookup", "conversations.info", "missing_scope", "look up slack channel C0RANDOM1 (conversations.info): ", []string{"#general", "C0RANDOM1"}, 4}, // 3 pages, 1 lookup
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, fake := newChannelAPI(t, channelWorkspace)
			fake.FailNext(tc.method, tc.slackErr, 1)
			got, err := ResolveChannels(t.Context(), api, tc.wanted)
			if got != nil {
				t.Errorf("resolved %v on a Slack error, want nil", got)
			}
			se, ok := errors.AsType[slack.SlackErrorResponse](err)
			if !ok || se.Err != tc.slackErr || !strings.HasPrefix(err.Error(), tc.prefix) {
				t.Errorf("error %v, want %s wrapped with what was being done", err, tc.slackErr)
			}
			if n := len(fake.Calls()); n != tc.calls {
				t.Errorf("%d calls, want %d: %s is not retried", n, tc.calls, tc.slackErr)
			}
		})
	}
}

// channelAPI is a ChannelLister made of functions, for answers the local Slack API does not
// give.
type channelAPI struct {
	list func(params *slack.GetConversationsForUserParameters) ([]slack.Channel, string, error)
	info func(id string) (*slack.Channel, error)
}

func (a channelAPI) GetConversationsForUserContext(_ context.Context, params *slack.GetConversationsForUserParameters) ([]slack.Channel, string, error) {
	return a.list(params)
}

func (a channelAPI) GetConversationInfoContext(_ context.Context, input *slack.GetConversationInfoInput) (*slack.Channel, error) {
	return a.info(input.ChannelID)
}

func channel(id, name string, member, archived bool) slack.Channel {
	var ch slack.Channel
	ch.ID, ch.Name, ch.IsMember, ch.IsArchived = id, name, member, archived
	return ch
}

// TestResolveChannelsAnswersOffModel: should Slack list an archived channel despite
// exclude_archived, it is still refused; should conversations.info say the bot is a member
// of a channel users.conversations did not list (an invitation just made), it is used.
func TestResolveChannelsAnswersOffModel(t *testing.T) {
	api := channelAPI{
		list: func(*slack.GetConversationsForUserParameters) ([]slack.Channel, string, error) {
			return []slack.Channel{channel("C0OLDALRT", "old-alerts", true, true)}, "", nil
		},
		info: func(id string) (*slack.Channel, error) {
			ch := channel(id, "just-invited", true, false)
			return &ch, nil
		},
	}
	got, err := ResolveChannels(t.Context(), api, []string{"#old-alerts", "C0JUSTINV"})
	want := []string{`channel "#old-alerts": #old-alerts (C0OLDALRT) is archived: unarchive it or choose another channel`}
	if diff := cmp.Diff(want, errLines(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"C0JUSTINV": "C0JUSTINV"}, got); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
}

// TestResolveChannelsCursorLoop: a cursor that does not move ends the listing with an error
// instead of looping.
func TestResolveChannelsCursorLoop(t *testing.T) {
	calls := 0
	api := channelAPI{list: func(*slack.GetConversationsForUserParameters) ([]slack.Channel, string, error) {
		calls++
		if calls > 3 {
			t.Fatalf("users.conversations called %d times", calls)
		}
		return nil, "dGVhbTpDMDYxRkE1UEI=", nil
	}}
	if _, err := ResolveChannels(t.Context(), api, []string{"#general"}); err == nil || !strings.Contains(err.Error(), "Slack returned the cursor it was given") {
		t.Errorf("error %v, want the cursor loop reported", err)
	}
}
