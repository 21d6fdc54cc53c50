package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// ChannelLister lists the conversations the bot is a member of (users.conversations) and
// looks one channel up (conversations.info). *slack.Client satisfies it.
type ChannelLister interface {
	GetConversationsForUserContext(ctx context.Context, params *slack.GetConversationsForUserParameters) (channels []slack.Channel, nextCursor string, err error)
	GetConversationInfoContext(ctx context.Context, input *slack.GetConversationInfoInput) (*slack.Channel, error)
}

var _ ChannelLister = (*slack.Client)(nil)

// DefaultChannelRetries is how many times ChannelResolver retries a rate-limited call by
// default.
const DefaultChannelRetries = 3

// channelPageLimit is the page size asked of users.conversations. Slack documents its limit
// as an integer under 1000 (conversations.list allows 1000), so 999 is safe for both.
const channelPageLimit = 999

// ChannelResolver turns channel names and IDs from the configuration into channel IDs the
// bot can post to. Its zero value is ready to use; ResolveChannels uses it.
type ChannelResolver struct {
	// Retries bounds the retries of one rate-limited Slack call (default
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
// there. An entry is a channel name with or without '#', in any case ("#payments-alerts",
// "Payments-Alerts") or a channel ID ("C0123ABCD", or "G…" for older private channels).
//
// The bot posts only where it is a member, so Resolve lists only the public and private
// channels the bot is a member of (users.conversations, archived ones excluded, following
// cursors until every entry is found): the cost grows with the bot's channels, not the
// workspace's. An ID not among them is looked up once (conversations.info) to say why; a name
// is not, as that would take listing the whole workspace. Both need the channels:read and
// groups:read scopes. A call answered with a rate limit is retried after Slack's
// Retry-After, a few times at most and never past ctx's deadline.
//
// Every problem is reported at once (errors.Join), one per entry in the order given, each
// saying what to change: an ID unknown (or of a private channel without the bot), archived,
// or of a channel the bot is not a member of; a name of no channel that has the bot as a
// member. On such errors the map still holds the entries that resolved. When Slack cannot be
// asked (invalid_auth, a missing scope, …) the error wraps slack-go's and the map is nil.
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

	// List the bot's channels until every target is found or the list ends; nothing to
	// find, no call.
	found := make([]*slack.Channel, len(targets))
	missing := 0
	for _, t := range targets {
		if t.id != "" || t.name != "" {
			missing++
		}
	}
	params := slack.GetConversationsForUserParameters{
		Types:           []string{"public_channel", "private_channel"},
		ExcludeArchived: true,
		Limit:           channelPageLimit,
	}
	type page struct {
		channels []slack.Channel
		next     string
	}
	for n := 1; missing > 0; n++ {
		p, err := withRetries(ctx, r, func() (page, error) {
			chs, next, err := api.GetConversationsForUserContext(ctx, &params)
			return page{chs, next}, err
		})
		if err != nil {
			return nil, fmt.Errorf("list the bot's slack channels (users.conversations, page %d): %w", n, err)
		}
		for i := range p.channels {
			ch := &p.channels[i]
			for j, t := range targets {
				if found[j] == nil && ((t.id != "" && t.id == ch.ID) || (t.name != "" && t.name == strings.ToLower(ch.Name))) {
					found[j] = ch
					missing--
				}
			}
		}
		if p.next == "" {
			break
		}
		if p.next == params.Cursor {
			return nil, fmt.Errorf("list the bot's slack channels (users.conversations, page %d): Slack returned the cursor it was given", n)
		}
		params.Cursor = p.next
	}

	ids := map[string]string{}
	var errs []error
	info := map[string]*slack.Channel{} // conversations.info by ID; nil: channel_not_found
	for j, t := range targets {
		ch, member := found[j], found[j] != nil
		if ch == nil && t.id != "" {
			looked, ok := info[t.id]
			if !ok {
				var err error
				if looked, err = lookUpChannel(ctx, r, api, t.id); err != nil {
					return nil, err
				}
				info[t.id] = looked
			}
			ch, member = looked, looked != nil && looked.IsMember
		}
		switch {
		case t.id == "" && t.name == "":
			errs = append(errs, fmt.Errorf("channel %q: give a channel name (#payments-alerts) or ID (C0123ABCD)", t.entry))
		case ch == nil && t.id != "":
			errs = append(errs, fmt.Errorf("channel %q: no channel with ID %s is visible to the bot (unknown, archived, or private without the bot): check the ID, or for a private channel invite the bot first", t.entry, t.id))
		case ch == nil:
			errs = append(errs, fmt.Errorf("channel %q: no channel named #%s has the bot as a member: check the name and invite the bot with /invite @pullcheck in #%s", t.entry, t.name, t.name))
		case ch.IsArchived:
			errs = append(errs, fmt.Errorf("channel %q: #%s (%s) is archived: unarchive it or choose another channel", t.entry, ch.Name, ch.ID))
		case !member:
			errs = append(errs, fmt.Errorf("channel %q: the bot is not a member of #%s (%s) and must be to post: invite the bot with /invite @pullcheck in #%s", t.entry, ch.Name, ch.ID, ch.Name))
		default:
			ids[t.entry] = ch.ID
		}
	}
	return ids, errors.Join(errs...)
}

// lookUpChannel asks conversations.info about a channel the bot is not listed in, to say
// why: it returns nil, nil when Slack answers channel_not_found (unknown, or private without
// the bot), and an error only when Slack cannot be asked.
func lookUpChannel(ctx context.Context, r ChannelResolver, api ChannelLister, id string) (*slack.Channel, error) {
	ch, err := withRetries(ctx, r, func() (*slack.Channel, error) {
		return api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	})
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok && se.Err == "channel_not_found" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up slack channel %s (conversations.info): %w", id, err)
	}
	return ch, nil
}

// withRetries makes call, retrying rate limits after Slack's Retry-After.
func withRetries[T any](ctx context.Context, r ChannelResolver, call func() (T, error)) (T, error) {
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
	var zero T
	for attempt := 0; ; attempt++ {
		v, err := call()
		if err == nil {
			return v, nil
		}
		rl, ok := errors.AsType[*slack.RateLimitedError](err)
		if !ok {
			return zero, err
		}
		if attempt >= retries {
			return zero, fmt.Errorf("still rate limited after %d retries: %w", retries, err)
		}
		d := max(rl.RetryAfter, time.Second) // Retry-After: 0 still means "not now"
		if deadline, ok := ctx.Deadline(); ok && now().Add(d).After(deadline) {
			return zero, fmt.Errorf("rate limited, and waiting %s would pass the deadline: %w", d, err)
		}
		if werr := wait(ctx, d); werr != nil {
			return zero, fmt.Errorf("%w (%w)", err, werr)
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
