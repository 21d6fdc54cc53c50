package slackfake

// The Web API methods other than conversations.*: each runs with s.mu held.

func (s *Server) authTest(*Call) answer {
	return answer{body: map[string]any{
		"url": "https://acme.slack.com/", "team": "Acme", "user": "pullcheck",
		"team_id": s.opts.TeamID, "user_id": s.opts.BotUserID, "bot_id": s.opts.BotID,
	}}
}

func (s *Server) postMessage(c *Call) answer {
	if c.Channel == "" || (c.Text == "" && c.Blocks == "") {
		s.t.Errorf("chat.postMessage without a channel or a message: channel=%q text=%q blocks=%q", c.Channel, c.Text, c.Blocks)
	}
	if err := s.postable(c.Channel); err != "" {
		return answer{err: err}
	}
	c.TS = s.nextTS()
	if s.posted[c.Channel] == nil {
		s.posted[c.Channel] = map[string]bool{}
	}
	s.posted[c.Channel][c.TS] = true
	return answer{body: map[string]any{"channel": c.Channel, "ts": c.TS, "message": s.message(c)}}
}

func (s *Server) postEphemeral(c *Call) answer {
	if err := s.postable(c.Channel); err != "" {
		return answer{err: err}
	}
	c.TS = s.nextTS()
	return answer{body: map[string]any{"message_ts": c.TS}}
}

// update edits a message chat.postMessage posted in the channel; Slack knows no other.
func (s *Server) update(c *Call) answer {
	c.TS = c.Params.Get("ts")
	if err := s.postable(c.Channel); err != "" {
		return answer{err: err}
	}
	if !s.posted[c.Channel][c.TS] {
		return answer{err: "message_not_found"}
	}
	return answer{body: map[string]any{"channel": c.Channel, "ts": c.TS, "text": c.Text, "message": s.message(c)}}
}

// message is the message object chat.postMessage and chat.update answer with.
func (s *Server) message(c *Call) map[string]any {
	m := map[string]any{"type": "message", "text": c.Text, "ts": c.TS, "user": s.opts.BotUserID, "bot_id": s.opts.BotID}
	if c.ThreadTS != "" {
		m["thread_ts"] = c.ThreadTS
	}
	return m
}

func (s *Server) userGroupMembers(c *Call) answer {
	users, ok := s.opts.Groups[c.Group]
	if !ok {
		return answer{err: "no_such_subteam"}
	}
	return answer{body: map[string]any{"users": users}}
}
