package bot

import (
	"regexp"
	"strings"
)

var (
	// urlPattern matches URLs in error texts. Response URLs carry a credential in their path
	// and Socket Mode URLs a ticket in their query, so only the scheme and host are kept.
	urlPattern = regexp.MustCompile(`(?i)\b(https?|wss?)://([^/\s"'?#]+)[^\s"']*`)
	// tokenPattern matches Slack tokens (xoxb-, xoxp-, xapp-, …).
	tokenPattern = regexp.MustCompile(`\bx(?:ox[a-z]|app)-[0-9A-Za-z-]+`)
)

// scrub removes URL paths and queries and Slack tokens from a text bound for the logs.
func scrub(s string) string {
	s = urlPattern.ReplaceAllString(s, "$1://$2/[redacted]")
	return tokenPattern.ReplaceAllString(s, "[redacted token]")
}

// scrubErr is scrub for an error; "" for nil.
func scrubErr(err error) string {
	if err == nil {
		return ""
	}
	return scrub(err.Error())
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
