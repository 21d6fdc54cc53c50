package slackfake

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Channel is a channel of the workspace.
type Channel struct {
	ID   string // C… (G… for private channels created before 2021)
	Name string // without '#'
	// Private channels are listed and found only when the bot is a Member, as on Slack.
	Private bool
	// Member: the bot was invited. The bot posts only where it is a member (it has no
	// chat:write.public).
	Member   bool
	Archived bool
}

// visible reports whether the bot sees the channel at all.
func (ch Channel) visible() bool { return !ch.Private || ch.Member }

// object is the channel as conversations.list, users.conversations and conversations.info
// return it.
func (ch Channel) object() map[string]any {
	return map[string]any{
		"id": ch.ID, "name": ch.Name, "name_normalized": ch.Name,
		// is_channel is false only for the old G… private channels, which have is_group.
		"is_channel": !(ch.Private && strings.HasPrefix(ch.ID, "G")),
		"is_group":   ch.Private && strings.HasPrefix(ch.ID, "G"),
		"is_private": ch.Private, "is_member": ch.Member, "is_archived": ch.Archived,
		"is_im": false, "is_mpim": false,
	}
}

// postable says why the bot cannot post in channel, or "" when it can; s.mu must be held.
func (s *Server) postable(channel string) string {
	if len(s.channels) == 0 {
		return "" // no workspace configured: any channel
	}
	switch {
	case channel == "":
		return "channel_not_found"
	case strings.ContainsAny(channel[:1], "UWD"):
		return "" // a user or a DM: not modelled
	}
	ch, ok := s.channels[channel]
	switch {
	case !ok || !ch.visible():
		return "channel_not_found"
	case ch.Archived:
		return "is_archived"
	case !ch.Member:
		return "not_in_channel"
	}
	return ""
}

// conversationsInfo answers for a channel the bot can see.
func (s *Server) conversationsInfo(c *Call) answer {
	ch, ok := s.channels[c.Channel]
	if !ok || !ch.visible() {
		return answer{err: "channel_not_found"}
	}
	return answer{body: map[string]any{"channel": ch.object()}}
}

// conversationsList pages through the channels the bot can see of the types asked for
// (public_channel by default, as on Slack), limit at a time (100 by default; at most
// Options.PageSize). The cursor is opaque to clients.
func (s *Server) conversationsList(c *Call) answer {
	return s.listChannels(c, Channel.visible)
}

// usersConversations pages, as conversationsList does, through the channels the bot is a
// member of. It takes an optional user: only the bot's memberships are modelled, so another
// user fails the test.
func (s *Server) usersConversations(c *Call) answer {
	if u := c.Params.Get("user"); u != "" && u != s.opts.BotUserID {
		s.t.Errorf("slackfake: users.conversations of user %s: only the bot's (%s) memberships are modelled", u, s.opts.BotUserID)
		return answer{err: "user_not_found"}
	}
	return s.listChannels(c, func(ch Channel) bool { return ch.Member })
}

// listChannels answers a conversations.list-style call (types, exclude_archived, limit,
// cursor) over the workspace's channels that include accepts, in Options.Channels order.
func (s *Server) listChannels(c *Call, include func(Channel) bool) answer {
	p := c.Params
	public, private := true, false
	if types := p.Get("types"); types != "" {
		public = false
		for t := range strings.SplitSeq(types, ",") {
			switch strings.TrimSpace(t) {
			case "public_channel":
				public = true
			case "private_channel":
				private = true
			case "im", "mpim": // none modelled
			default:
				return answer{err: "invalid_types"}
			}
		}
	}
	excludeArchived := p.Get("exclude_archived") == "true" || p.Get("exclude_archived") == "1"
	limit := 100
	if l := p.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return answer{err: "invalid_limit"}
		}
		limit = n
	}
	if s.opts.PageSize > 0 {
		limit = min(limit, s.opts.PageSize)
	}
	offset := 0
	if cur := p.Get("cursor"); cur != "" {
		n, ok := decodeCursor(cur)
		if !ok {
			return answer{err: "invalid_cursor"}
		}
		offset = n
	}

	var matching []Channel
	for _, ch := range s.opts.Channels {
		if !include(ch) || (ch.Private && !private) || (!ch.Private && !public) || (ch.Archived && excludeArchived) {
			continue
		}
		matching = append(matching, ch)
	}
	if offset > len(matching) {
		return answer{err: "invalid_cursor"}
	}
	end := min(offset+limit, len(matching))
	page := make([]map[string]any, 0, end-offset)
	for _, ch := range matching[offset:end] {
		page = append(page, ch.object())
	}
	next := ""
	if end < len(matching) {
		next = encodeCursor(end)
	}
	return answer{body: map[string]any{"channels": page, "response_metadata": map[string]any{"next_cursor": next}}}
}

// Cursors look like Slack's: base64 of a position.
func encodeCursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodeCursor(cur string) (int, bool) {
	raw, err := base64.StdEncoding.DecodeString(cur)
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(raw), "offset:") {
		return 0, false
	}
	return n, true
}
