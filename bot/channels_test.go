package bot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// channelWorkspace has nine channels. The bot sees seven: the archived one and the private
// one it is not in are not listed. With two a page, conversations.list takes four pages.
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
// channelWorkspace, two channels a page.
func newChannelAPI(t *testing.T) (*slack.Client, *slackfake.Server) {
	t.Helper()
	fake := slackfake.New(t, slackfake.Options{Token: testBotToken, Channels: channelWorkspace, PageSize: 2})
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

func TestResolveChannels(t *testing.T) {
	api, fake := newChannelAPI(t)
	wanted := []string{
		"#payments-alerts", "payments-alerts", "#Payments-Alerts", // one channel, three spellings
		"C0DEPLOYS", "G0SREPRIV", "#alerts-2", // an ID, a private channel's ID, the last page
		"#general", "#general", // a duplicate
		"#random",                      // the bot is not a member
		"#old-alerts",                  // archived: not listed
		"#secret",                      // private, the bot not invited: not listed
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
		`channel "#random": the bot is not a member of #random (C0RANDOM1) and must be to post: invite the bot with /invite @pullcheck in #random`,
		`channel "#old-alerts": no channel named #old-alerts is visible to the bot (unknown or archived): check the name, or for a private channel invite the bot first`,
		`channel "#secret": no channel named #secret is visible to the bot (unknown or archived): check the name, or for a private channel invite the bot first`,
		`channel "#nope": no channel named #nope is visible to the bot (unknown or archived): check the name, or for a private channel invite the bot first`,
		`channel "C0UNKNOWN": no channel with ID C0UNKNOWN is visible to the bot (unknown or archived): check the ID, or for a private channel invite the bot first`,
		`channel "#": give a channel name (#payments-alerts) or ID (C0123ABCD)`,
		`channel " ": give a channel name (#payments-alerts) or ID (C0123ABCD)`,
	}
	if diff := cmp.Diff(wantErrs, errLines(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if err != nil {
		assertNoSecrets(t, "the error", err.Error())
	}

	// Every page was read (some entries are never found), each asked the same way, following
	// the cursors.
	calls := fake.Calls()
	if len(calls) != 4 {
		t.Fatalf("%d calls, want 4 pages of conversations.list:\n%s", len(calls), slackfake.Describe(calls))
	}
	prevCursor := "none"
	for i, c := range calls {
		p := c.Params
		if c.Method != "conversations.list" || p.Get("types") != "public_channel,private_channel" || p.Get("exclude_archived") != "true" || p.Get("limit") != "1000" {
			t.Errorf("call %d: %s %v, want conversations.list of public and private channels, archived excluded, limit 1000", i+1, c.Method, p)
		}
		if (i == 0) != (p.Get("cursor") == "") || p.Get("cursor") == prevCursor {
			t.Errorf("call %d: cursor %q after %q: want none first, then the next one each time", i+1, p.Get("cursor"), prevCursor)
		}
		prevCursor = p.Get("cursor")
	}
	if len(w.durations()) != 0 {
		t.Errorf("waited %v without a rate limit", w.durations())
	}
}

// TestResolveChannelsStopsWhenFound: once every entry is found, no more pages are read.
func TestResolveChannelsStopsWhenFound(t *testing.T) {
	api, fake := newChannelAPI(t)
	got, err := ResolveChannels(t.Context(), api, []string{"general", "C0GENERAL"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"general": "C0GENERAL", "C0GENERAL": "C0GENERAL"}, got); diff != "" {
		t.Errorf("resolved (-want +got):\n%s", diff)
	}
	if calls := fake.Calls(); len(calls) != 1 {
		t.Errorf("%d calls, want only the first page:\n%s", len(calls), slackfake.Describe(calls))
	}
}

// TestResolveChannelsNothingWanted: no entries, or only empty ones, no call.
func TestResolveChannelsNothingWanted(t *testing.T) {
	api, fake := newChannelAPI(t)
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
		api, fake := newChannelAPI(t)
		fake.RateLimitNext("conversations.list", 7*time.Second, 1)
		w := &channelWaits{}
		got, err := ChannelResolver{Wait: w.wait}.Resolve(t.Context(), api, []string{"#alerts-2"})
		if err != nil || got["#alerts-2"] != "C0ALERTS2" {
			t.Fatalf("Resolve = %v, %v; want #alerts-2 resolved after the rate limit", got, err)
		}
		if diff := cmp.Diff([]time.Duration{7 * time.Second}, w.durations()); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
		calls := fake.Calls()
		if len(calls) != 5 || calls[0].Status != 429 || calls[1].Error != "" || calls[1].Params.Get("cursor") != "" {
			t.Errorf("want the first page rate limited, asked again, then the other four:\n%s", slackfake.Describe(calls))
		}
	})

	t.Run("Retry-After 0", func(t *testing.T) {
		api, fake := newChannelAPI(t)
		fake.RateLimitNext("conversations.list", 0, 1)
		w := &channelWaits{}
		if _, err := (ChannelResolver{Wait: w.wait}).Resolve(t.Context(), api, []string{"#general"}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]time.Duration{time.Second}, w.durations()); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
	})

	t.Run("too many times", func(t *testing.T) {
		api, fake := newChannelAPI(t)
		fake.RateLimitNext("conversations.list", 2*time.Second, 3)
		w := &channelWaits{}
		_, err := ChannelResolver{Retries: 2, Wait: w.wait}.Resolve(t.Context(), api, []string{"#general"})
		if _, ok := errors.AsType[*slack.RateLimitedError](err); !ok || !strings.Contains(err.Error(), "still rate limited after 2 retries") {
			t.Errorf("error %v, want a wrapped rate limit after 2 retries", err)
		}
		if n := len(fake.Calls()); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
		if got := len(w.durations()); got != 2 {
			t.Errorf("waited %d times, want 2", got)
		}
	})

	t.Run("wait past the deadline", func(t *testing.T) {
		api, fake := newChannelAPI(t)
		fake.RateLimitNext("conversations.list", 30*time.Second, 1)
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
		api, fake := newChannelAPI(t)
		fake.RateLimitNext("conversations.list", time.Second, 1)
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

func TestResolveChannelsSlackError(t *testing.T) {
	api, fake := newChannelAPI(t)
	fake.FailNext("conversations.list", "invalid_auth", 1)
	got, err := ResolveChannels(t.Context(), api, []string{"#general"})
	if got != nil {
		t.Errorf("resolved %v on a Slack error, want nil", got)
	}
	se, ok := errors.AsType[slack.SlackErrorResponse](err)
	if !ok || se.Err != "invalid_auth" || !strings.HasPrefix(err.Error(), "list slack channels (conversations.list, page 1): ") {
		t.Errorf("error %v, want invalid_auth wrapped with what was being done", err)
	}
	if n := len(fake.Calls()); n != 1 {
		t.Errorf("%d calls, want 1: invalid_auth is not retried", n)
	}
}

// listerFunc adapts a function to ChannelLister.
type listerFunc func(ctx context.Context, params *slack.GetConversationsParameters) ([]slack.Channel, string, error)

func (f listerFunc) GetConversationsContext(ctx context.Context, params *slack.GetConversationsParameters) ([]slack.Channel, string, error) {
	return f(ctx, params)
}

// TestResolveChannelsArchivedListed: should Slack list an archived channel despite
// exclude_archived, it is still refused.
func TestResolveChannelsArchivedListed(t *testing.T) {
	api := listerFunc(func(context.Context, *slack.GetConversationsParameters) ([]slack.Channel, string, error) {
		ch := slack.Channel{}
		ch.ID, ch.Name, ch.IsArchived, ch.IsMember = "C0OLDALRT", "old-alerts", true, true
		return []slack.Channel{ch}, "", nil
	})
	_, err := ResolveChannels(t.Context(), api, []string{"#old-alerts"})
	want := []string{`channel "#old-alerts": #old-alerts (C0OLDALRT) is archived: unarchive it or choose another channel`}
	if diff := cmp.Diff(want, errLines(err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestResolveChannelsCursorLoop: a cursor that does not move ends the listing with an error
// instead of looping.
func TestResolveChannelsCursorLoop(t *testing.T) {
	calls := 0
	api := listerFunc(func(context.Context, *slack.GetConversationsParameters) ([]slack.Channel, string, error) {
		calls++
		if calls > 3 {
			t.Fatalf("conversations.list called %d times", calls)
		}
		return nil, "dGVhbTpDMDYxRkE1UEI=", nil
	})
	if _, err := ResolveChannels(t.Context(), api, []string{"#general"}); err == nil || !strings.Contains(err.Error(), "Slack returned the cursor it was given") {
		t.Errorf("error %v, want the cursor loop reported", err)
	}
}
