package mrkdwn

import (
	"strconv"
	"strings"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Fix renders fix i (0-based) of total as a bold label, its title (escaped, at most maxTitle
// runes when maxTitle > 0) and its commands in a code block.
func Fix(i, total int, fix diagnosis.Fix, maxTitle int) string {
	label := "*Fix:*"
	if total > 1 {
		label = "*Fix " + strconv.Itoa(i+1) + ":*"
	}
	title := Esc(OneLine(fix.Title))
	if maxTitle > 0 {
		title = Truncate(title, maxTitle)
	}
	text := strings.TrimSpace(label + " " + title)
	if cb := CodeBlock(fix.Commands...); cb != "" {
		text += "\n" + cb
	}
	return text
}

// Restart renders whether a rollout restart helps, and why; "" when the finding says nothing.
func Restart(a diagnosis.RestartAdvice) string {
	if !a.Helps && a.Reason == "" {
		return ""
	}
	verdict := "does not help"
	if a.Helps {
		verdict = "helps once the cause is fixed"
	}
	text := "*Rollout restart* " + verdict
	if reason := Esc(OneLine(a.Reason)); reason != "" {
		text += ": " + reason
	}
	return text
}
