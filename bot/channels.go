package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ChannelLister lists the workspace's conversations (conversations.list). *slack.Client
// satisfies it.
type ChannelLister interface {
	GetConversationsContext(ctx context.Context, params *slack.GetConversationsParameters) (channels []slack.Channel, nextCursor string, err error)
}

var _ ChannelLister = (*slack.Client)(nil)

// DefaultChannelRetries is how many times ChannelResolver retries a rate-limited page by
// default.
const DefaultChannelRetries = 3

// channelPageLimit is the page size asked of conversations.list: Slack's maximum.
const channelPageLimit = 1000

// ChannelResolver turns channel names and IDs from the configuration into channel IDs the
// bot can post to. Its zero value is ready to use; ResolveChannels uses it.
type ChannelResolver struct {
	// Retries bounds the retries of one rate-limited conversations.list page (default
	// DefaultChannelRetries; negative: none).
	Retries int
	// Wait waits d or until ctx ends, returning ctx's error then (default: a timer). Tests
	// inject one that records d and returns at once.
	Wait func(ctx context.Context, d time.Duration) error
	// Now is the clock checked against ctx's deadline before waiting (default time.Now).
	Now func() time.Time
}

// ResolveChannels resolves wanted channels with a zero ChannelResolver: see
// [ChannelResolver.Resolve].
func ResolveChannels(ctx context.Context, api ChannelLister, wanted []string) (map[string]string, error) {
	return ChannelResolver{}.Resolve(ctx, api, wanted)
}

// Resolve maps each wanted entry, as given, to its channel ID, and checks the bot can post
// there. An entry is a channel name with or without '#' ("#payments-alerts",
// "payments-alerts") or a channel ID ("C0123ABCD", or "G…" for older private channels).
//
// It lists the public and private channels the bot sees (conversations.list, archived ones
// excluded, following cursors until every entry is found), so the token needs the
// channels:read and groups:read scopes. A page answered with a rate limit is retried after
// Slack's Retry-After, a few times at most and never past ctx's deadline.
//
// Every problem is reported at once (errors.Join), one per entry, each saying what to
// change: a channel unknown or archived (Slack lists neither, nor the private channels the
// bot was not invited to), or the bot not a member (it must be, to post). On such errors the
// map still holds the entries that resolved. When Slack cannot be asked (invalid_auth, a
// missing scope, …) the error wraps slack-go's and the map is nil.
func (r ChannelResolver) Resolve(ctx context.Context, api ChannelLister, wanted []string) (map[string]string, error) {
	type target struct {
		entry string // as given
		id    string // when given as an ID
		name  string // when given as a name: lower case, without '#'
	}
	var targets []target
	seen := map[string]bool{}
	for _, e := range wanted {
		if seen[e] {
			continue
		}
		seen[e] = true
		s := strings.TrimSpace(e)
		if isChannelID(s) {
			targets = append(targets, target{entry: e, id: s})
		} else {
			targets = append(targets, target{entry: e, name: strings.ToLower(strings.TrimPrefix(s, "#"))})
		}
	}

	// List until every target is found or the list ends; nothing to find, no call.
	found := make([]*slack.Channel, len(targets))
	missing := 0
	for _, t := range targets {
		if t.id != "" || t.name != "" {
			missing++
		}
	}
	params := slack.GetConversationsParameters{
		Types:           []string{"public_channel", "private_channel"},
		ExcludeArchived: true,
		Limit:           channelPageLimit,
	}
	for page := 1; missing > 0; page++ {
		chs, next, err := r.listPage(ctx, api, params)
		if err != nil {
			return nil, fmt.Errorf("list slack channels (conversations.list, page %d): %w", page, err)
		}
		for i := range chs {
			ch := &chs[i]
			for j, t := range targets {
				if found[j] == nil && ((t.id != "" && t.id == ch.ID) || (t.name != "" && t.name == strings.ToLower(ch.Name))) {
					found[j] = ch
					missing--
				}
			}
		}
		if next == "" {
			break
		}
		if next == params.Cursor {
			return nil, fmt.Errorf("list slack channels (conversations.list, page %d): Slack returned the cursor it was given", page)
		}
		params.Cursor = next
	}

	ids := map[string]string{}
	var errs []error
	for j, t := range targets {
		ch := found[j]
		switch {
		case t.id == "" && t.name == "":
			errs = append(errs, fmt.Errorf("channel %q: give a channel name (#payments-alerts) or ID (C0123ABCD)", t.entry))
		case ch == nil && t.id != "":
			errs = append(errs, fmt.Errorf("channel %q: no channel with ID %s is visible to the bot (unknown or archived): check the ID, or for a private channel invite the bot first", t.entry, t.id))
		case ch == nil:
			errs = append(errs, fmt.Errorf("channel %q: no channel named #%s is visible to the bot (unknown or archived): check the name, or for a private channel invite the bot first", t.entry, t.name))
		case ch.IsArchived:
			errs = append(errs, fmt.Errorf("channel %q: #%s (%s) is archived: unarchive it or choose another channel", t.entry, ch.Name, ch.ID))
		case !ch.IsMember:
			errs = append(errs, fmt.Errorf("channel %q: the bot is not a member of #%s (%s) and must be to post: invite the bot with /invite @pullcheck in #%s", t.entry, ch.Name, ch.ID, ch.Name))
		default:
			ids[t.entry] = ch.ID
		}
	}
	return ids, errors.Join(errs...)
}

// listPage asks for one page, retrying rate limits after Slack's Retry-After.
func (r ChannelResolver) listPage(ctx context.Context, api ChannelLister, params slack.GetConversationsParameters) ([]slack.Channel, string, error) {
	retries := r.Retries
	switch {
	case retries == 0:
		retries = DefaultChannelRetries
	case retries < 0:
		retries = 0
	}
	wait, now := r.Wait, r.Now
	if wait == nil {
		wait = sleep
	}
	if now == nil {
		now = time.Now
	}
	for attempt := 0; ; attempt++ {
		chs, next, err := api.GetConversationsContext(ctx, &params)
		if err == nil {
			return chs, next, nil
		}
		rl, ok := errors.AsType[*slack.RateLimitedError](err)
		if !ok {
			return nil, "", err
		}
		if attempt >= retries {
			return nil, "", fmt.Errorf("still rate limited after %d retries: %w", retries, err)
		}
		d := max(rl.RetryAfter, time.Second) // Retry-After: 0 still means "not now"
		if deadline, ok := ctx.Deadline(); ok && now().Add(d).After(deadline) {
			return nil, "", fmt.Errorf("rate limited, and waiting %s would pass the deadline: %w", d, err)
		}
		if werr := wait(ctx, d); werr != nil {
			return nil, "", fmt.Errorf("%w (%w)", err, werr)
		}
	}
}

// isChannelID reports whether s is a channel ID rather than a name: channel names are lower
// case, IDs upper case letters and digits starting with C (G for older private channels).
func isChannelID(s string) bool {
	if len(s) < 7 || (s[0] != 'C' && s[0] != 'G') {
		return false
	}
	for _, c := range s {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
