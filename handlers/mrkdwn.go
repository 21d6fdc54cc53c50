package handlers

import (
	"time"

	md "github.com/pullcheck/pullcheck/handlers/mrkdwn"
)

// Short local names for the shared mrkdwn helpers (handlers/mrkdwn), which every piece of
// text from the cluster, the cloud or the user goes through.

const ellipsis = md.Ellipsis

func esc(s string) string                      { return md.Esc(s) }
func oneLine(s string) string                  { return md.OneLine(s) }
func code(s string) string                     { return md.Code(s) }
func codeBlock(lines ...string) string         { return md.CodeBlock(lines...) }
func runes(s string) int                       { return md.Runes(s) }
func truncate(s string, n int) string          { return md.Truncate(s, n) }
func splitMrkdwn(s string, limit int) []string { return md.Split(s, limit) }
func slackDate(t time.Time) string             { return md.Date(t) }
func mention(id string) string                 { return md.Mention(id) }
func listOr(items []string) string             { return md.ListOr(items) }
func listAnd(items []string) string            { return md.ListAnd(items) }
func plural(n int, one, many string) string    { return md.Plural(n, one, many) }
