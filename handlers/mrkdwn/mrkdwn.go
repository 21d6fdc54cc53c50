package mrkdwn

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Slack mrkdwn helpers. Every piece of text that comes from the cluster, the cloud or the
// user goes through esc (or code / codeBlock), so that an event message cannot mention
// @here, link somewhere or break the layout.

// Ellipsis marks text that was cut; the full text is in the thread.
const Ellipsis = "…"

// Esc escapes the three characters Slack's mrkdwn treats as control characters, and breaks
// runs of backticks with zero-width spaces, so that no ``` (a code block) remains.
func Esc(s string) string {
	if !strings.ContainsAny(s, "&<>`") {
		return s
	}
	return escaper.Replace(s)
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "``", "`\u200b`")

// OneLine collapses all whitespace runs (newlines included) into single spaces.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Code renders s as inline code on one line. mrkdwn has no escape for a backtick inside
// inline code, so such text is shown escaped but without the code style.
func Code(s string) string {
	s = OneLine(s)
	if s == "" {
		return ""
	}
	if strings.Contains(s, "`") {
		return Esc(s)
	}
	return "`" + Esc(s) + "`"
}

// CodeBlock renders lines as one preformatted block. A ``` inside would end the block
// early, so it is broken with a zero-width space.
func CodeBlock(lines ...string) string {
	var body []string
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		body = append(body, strings.TrimRight(l, "\n"))
	}
	if len(body) == 0 {
		return ""
	}
	return "```\n" + Esc(strings.Join(body, "\n")) + "\n```"
}

// Runes is the length Slack counts: characters, not bytes.
func Runes(s string) int { return utf8.RuneCountInString(s) }

// Truncate cuts s to at most n characters, ending in "…" when it was cut. It never cuts
// inside an escaped entity (&amp; &lt; &gt;).
func Truncate(s string, n int) string {
	if Runes(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	cut := []rune(s)[:n-1]
	// An entity cut in half would show as garbage: drop the partial entity.
	if i := lastIndexRune(cut, '&'); i >= 0 && i > len(cut)-5 && !containsRune(cut[i:], ';') {
		cut = cut[:i]
	}
	return strings.TrimRightFunc(string(cut), unicode.IsSpace) + Ellipsis
}

func lastIndexRune(rs []rune, r rune) int {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == r {
			return i
		}
	}
	return -1
}

func containsRune(rs []rune, r rune) bool { return lastIndexRune(rs, r) >= 0 }

// Split cuts a mrkdwn text into pieces of at most limit characters, at line breaks
// where it can. A piece that ends inside a ``` block closes it, and the next piece reopens
// it, so that every piece renders on its own. Lines longer than a piece are cut.
func Split(s string, limit int) []string {
	if Runes(s) <= limit {
		return []string{s}
	}
	const fence = "```"
	const closing = len("\n" + fence)
	var (
		out    []string
		cur    []string
		curLen int
		// inFence says whether the text in cur ends inside a ``` block.
		inFence bool
	)
	flush := func() {
		if inFence && cur[len(cur)-1] == fence {
			// A block that opens at the very end of a piece opens in the next one instead.
			cur = cur[:len(cur)-1]
			if len(cur) > 0 {
				out = append(out, strings.Join(cur, "\n"))
			}
			cur, curLen = []string{fence}, len(fence)
			return
		}
		text := strings.Join(cur, "\n")
		if inFence {
			text += "\n" + fence
		}
		out = append(out, text)
		cur, curLen = nil, 0
		if inFence {
			cur, curLen = []string{fence}, len(fence)
		}
	}
	// add appends a line; fenced says whether the text is inside a ``` block after it.
	add := func(line string, fenced bool) {
		cost := Runes(line)
		if len(cur) > 0 {
			cost++ // the newline before it
		}
		if fenced {
			cost += closing
		}
		if len(cur) > 0 && curLen+cost > limit {
			flush()
		}
		if len(cur) > 0 {
			curLen++
		}
		cur = append(cur, line)
		curLen += Runes(line)
		inFence = fenced
	}
	// Room for a reopened fence, the line and a closing fence.
	maxLine := limit - 2*len(fence) - 2
	for _, line := range strings.Split(s, "\n") {
		fenced := inFence != (strings.Count(line, fence)%2 == 1)
		for Runes(line) > maxLine {
			rs := []rune(line)
			cut := maxLine
			// Do not cut an escaped entity (&amp; &lt; &gt;) in half.
			if i := lastIndexRune(rs[:cut], '&'); i > 0 && i > cut-5 && !containsRune(rs[i:cut], ';') {
				cut = i
			}
			add(string(rs[:cut]), inFence)
			line = string(rs[cut:])
		}
		add(line, fenced)
	}
	if len(cur) > 0 {
		out = append(out, strings.Join(cur, "\n"))
	}
	return out
}

// Date renders t with Slack's date formatting, shown in each reader's time zone, with a
// UTC fallback for clients that cannot format it.
func Date(t time.Time) string {
	fallback := t.UTC().Format("2006-01-02 15:04 UTC")
	return "<!date^" + strconv.FormatInt(t.Unix(), 10) + "^{date_short_pretty} at {time}|" + fallback + ">"
}

// Mention renders a Slack user ID (U…, W…) or user-group ID (S…) as a mention.
func Mention(id string) string {
	if strings.HasPrefix(id, "S") {
		return "<!subteam^" + id + ">"
	}
	return "<@" + id + ">"
}

// ListOr joins items as "a, b or c".
func ListOr(items []string) string { return joinList(items, " or ") }

// ListAnd joins items as "a, b and c".
func ListAnd(items []string) string { return joinList(items, " and ") }

func joinList(items []string, last string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + last + items[len(items)-1]
}

func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
