package alerts

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers/incident"
	md "github.com/pullcheck/pullcheck/handlers/mrkdwn"
)

// Block Kit limits (docs.slack.dev/reference/block-kit), as in handlers/blocks.go.
const (
	maxBlocks     = 50
	maxText       = 3000
	maxHeaderText = 150
	// maxNotification bounds a message's top-level text, which Slack shows in notifications.
	maxNotification = 300
)

// What an alert shows; the rest is one pullcheck diagnose away.
const (
	shownPods     = 5
	shownEvidence = 3
	evidenceLine  = 300
	summaryChars  = 1500
)

// Block IDs, so that the poster can find the parts of an alert it edits.
const (
	AlertHeaderBlockID = "pullcheck_alert_header"
	AlertStatusBlockID = "pullcheck_alert_status"
)

// Alert renders the channel alert of an incident (a Fire action, or the edited message of an
// Update action, which also says what the cause was) and its notification text. fix is the
// finding of one of the incident's pods, for the evidence and the fix; without it the alert
// says how to get them. offer, the approve-to-restart blocks, goes at the end when given. now
// is when the alert is rendered.
func Alert(cluster string, a incident.Action, fix *diagnosis.Finding, offer []slack.Block, now time.Time) ([]slack.Block, string) {
	inc := a.Incident
	cause := causeOf(inc)
	title := ":rotating_light: " + workload(inc.Key) + " in " + inc.Key.Namespace + " cannot pull its image: " + string(cause)
	blocks := []slack.Block{headerBlock(title)}

	var lines []string
	// The latest cause change stays on the alert through later edits (pod counts, reminders).
	if prev := previousCause(a); prev != "" {
		lines = append(lines, ":arrows_counterclockwise: *Cause changed* from "+code(string(prev))+" to "+code(string(cause))+
			" "+slackDate(cmp.Or(inc.CauseChangedAt, now))+".")
	}
	lines = append(lines, metaLines(cluster, inc)...)
	if s := esc(oneLine(cmp.Or(findingSummary(fix), inc.Summary))); s != "" {
		lines = append(lines, truncate(s, summaryChars))
	}
	blocks = append(blocks, statusBlocks(strings.Join(lines, "\n"))...)

	var body []slack.Block
	if fix == nil {
		body = append(body, section("Run "+code(diagnoseCommand(inc))+" for the evidence and the fix."))
	} else {
		body = append(body, findingBlocks(*fix, inc)...)
	}

	footer := contextBlock("Checked " + slackDate(now) + ". Cause changes, reminders and the resolution follow in the thread.")
	if len(offer) > maxBlocks-len(blocks)-2 {
		offer = offer[:max(0, maxBlocks-len(blocks)-2)]
	}
	room := maxBlocks - len(blocks) - len(offer) - 1 // the footer
	if len(body) > room {
		body = append(body[:room-1], section(":scissors: More fixes than fit here: "+code(diagnoseCommand(inc))+" shows them all."))
	}
	blocks = append(blocks, body...)
	blocks = append(blocks, offer...)
	blocks = append(blocks, footer)

	text := workload(inc.Key) + " in " + inc.Key.Namespace + " cannot pull its image: " + string(cause)
	if cluster != "" {
		text += " (cluster " + cluster + ")"
	}
	if a.Kind == incident.Update && a.Previous != nil {
		text = "Cause changed to " + string(cause) + ": " + workload(inc.Key) + " in " + inc.Key.Namespace
	}
	return blocks, notification(esc(text))
}

// Resolved renders the alert edited to show that the incident is resolved, and when
// (a.Incident.ResolvedAt). It keeps what the failure was and drops the fix and the restart
// button.
func Resolved(cluster string, a incident.Action) ([]slack.Block, string) {
	inc := a.Incident
	title := ":white_check_mark: Resolved: " + workload(inc.Key) + " in " + inc.Key.Namespace + " (" + string(causeOf(inc)) + ")"
	lines := []string{":white_check_mark: *Resolved*" + resolvedWhen(inc) + "."}
	lines = append(lines, metaLines(cluster, inc)...)
	if s := esc(oneLine(inc.Summary)); s != "" {
		lines = append(lines, "_Was:_ "+truncate(s, summaryChars))
	}
	blocks := []slack.Block{headerBlock(title)}
	blocks = append(blocks, statusBlocks(strings.Join(lines, "\n"))...)
	text := "Resolved: " + workload(inc.Key) + " in " + inc.Key.Namespace + " (" + string(causeOf(inc)) + ")"
	return blocks, notification(esc(text))
}

// ThreadUpdate renders the thread reply of an Update (what changed), Remind (still failing
// since when, how many pods) or Resolve action. A Fire action has no thread reply: nil, "".
func ThreadUpdate(a incident.Action) ([]slack.Block, string) {
	inc := a.Incident
	w := esc(workload(inc.Key)) + " in namespace " + code(inc.Key.Namespace)
	var text string
	switch a.Kind {
	case incident.Update:
		old := "another cause"
		if a.Previous != nil {
			old = code(string(causeOf(*a.Previous)))
		}
		text = ":arrows_counterclockwise: *Cause changed:* " + old + " → " + code(string(causeOf(inc))) + " for " + w + "."
		if s := esc(oneLine(inc.Summary)); s != "" {
			text += "\n" + truncate(s, summaryChars)
		}
		text += "\nThe alert above now shows the new cause and its fix."
	case incident.Remind:
		text = ":repeat: *Still failing* since " + slackDate(inc.FirstSeen) + ": " + w + ", " +
			code(string(causeOf(inc))) + ", " + plural(len(inc.Pods), "pod", "pods") + " affected."
		if p := podList(inc.Pods); p != "" {
			text += "\n" + p
		}
	case incident.Resolve:
		text = ":white_check_mark: *Resolved*" + resolvedWhen(inc) + ": no pod of " + w + " fails with " + code(string(causeOf(inc))) + " any more."
	default:
		return nil, ""
	}
	first, _, _ := strings.Cut(text, "\n")
	return sections(text), notification(first)
}

// previousCause is the cause the alert showed before its latest change, or "".
func previousCause(a incident.Action) diagnosis.Cause {
	if a.Kind == incident.Update && a.Previous != nil {
		return causeOf(*a.Previous)
	}
	return a.Incident.PreviousCause
}

func causeOf(inc incident.Incident) diagnosis.Cause {
	return cmp.Or(inc.Cause, inc.Key.Cause, diagnosis.CauseUnknown)
}

func workload(k incident.Key) string { return cmp.Or(k.Kind, incident.KindPod) + "/" + k.Name }

func metaLines(cluster string, inc incident.Incident) []string {
	var first []string
	if cluster != "" {
		first = append(first, "*Cluster* "+code(cluster))
	}
	first = append(first, "*Namespace* "+code(inc.Key.Namespace), "*Workload* "+esc(workload(inc.Key)))
	second := []string{"*Cause* " + code(string(causeOf(inc)))}
	if !inc.FirstSeen.IsZero() {
		second = append(second, "*First seen* "+slackDate(inc.FirstSeen))
	}
	lines := []string{strings.Join(first, " · "), strings.Join(second, " · ")}
	if len(inc.Pods) == 0 { // e.g. resolved: no pod fails any more
		return lines
	}
	return append(lines, "*Pods affected* "+strconv.Itoa(len(inc.Pods))+": "+podList(inc.Pods))
}

// podList names the first few pods: `a`, `b` and 3 more.
func podList(pods []string) string {
	var items []string
	for i, p := range pods {
		if i == shownPods {
			items = append(items, plural(len(pods)-shownPods, "more", "more"))
			break
		}
		items = append(items, code(truncate(p, 253)))
	}
	return listAnd(items)
}

// resolvedWhen is " <date>, after <duration>", or empty when the time is unknown.
func resolvedWhen(inc incident.Incident) string {
	if inc.ResolvedAt.IsZero() {
		return ""
	}
	s := " " + slackDate(inc.ResolvedAt)
	if !inc.FirstSeen.IsZero() && inc.ResolvedAt.After(inc.FirstSeen) {
		s += ", after " + shortDuration(inc.ResolvedAt.Sub(inc.FirstSeen))
	}
	return s
}

func findingSummary(f *diagnosis.Finding) string {
	if f == nil {
		return ""
	}
	return f.Summary
}

func diagnoseCommand(inc incident.Incident) string {
	pod := "<pod>"
	if len(inc.Pods) > 0 {
		pod = inc.Pods[0]
	}
	return "pullcheck diagnose " + inc.Key.Namespace + "/" + pod
}

// findingBlocks renders the key evidence, the fixes with their commands in code blocks, and
// the verify command of a finding.
func findingBlocks(f diagnosis.Finding, inc incident.Incident) []slack.Block {
	var blocks []slack.Block
	var head []string
	if f.Container != "" {
		head = append(head, "Container "+code(f.Container))
	}
	if f.Image != "" {
		head = append(head, "image "+code(truncate(f.Image, 500)))
	}
	if f.Confidence != "" {
		head = append(head, "confidence "+esc(string(f.Confidence)))
	}
	if len(f.Evidence) > 0 {
		items := []string{"*Key evidence*"}
		if len(head) > 0 {
			items[0] += " (" + strings.Join(head, ", ") + ")"
		}
		for _, e := range f.Evidence[:min(len(f.Evidence), shownEvidence)] {
			items = append(items, "• "+truncate(esc(oneLine(e)), evidenceLine))
		}
		if n := len(f.Evidence) - shownEvidence; n > 0 {
			items = append(items, "_"+plural(n, "more line", "more lines")+": "+code(diagnoseCommand(inc))+"_")
		}
		blocks = append(blocks, sections(strings.Join(items, "\n"))...)
	}
	for i, fix := range f.Fixes {
		blocks = append(blocks, sections(md.Fix(i, len(f.Fixes), fix, 500))...)
	}
	if strings.TrimSpace(f.Verify) != "" {
		blocks = append(blocks, sections("*Verify*\n"+codeBlock(f.Verify))...)
	}
	if text := md.Restart(f.RestartHelps); text != "" {
		blocks = append(blocks, contextBlock(text))
	}
	return blocks
}

// Block constructors.

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

func headerBlock(text string) slack.Block {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(oneLine(text), maxHeaderText), true, false),
		slack.HeaderBlockOptionBlockID(AlertHeaderBlockID))
}

// statusBlocks is the alert's status text: one section with the status block ID, and more
// without when the text is longer than a section may be.
func statusBlocks(text string) []slack.Block {
	var out []slack.Block
	for i, part := range splitMrkdwn(text, maxText) {
		var opts []slack.SectionBlockOption
		if i == 0 {
			opts = append(opts, slack.SectionBlockOptionBlockID(AlertStatusBlockID))
		}
		out = append(out, slack.NewSectionBlock(mrkdwn(part), nil, nil, opts...))
	}
	return out
}

func sections(text string) []slack.Block {
	var out []slack.Block
	for _, part := range splitMrkdwn(text, maxText) {
		out = append(out, slack.NewSectionBlock(mrkdwn(part), nil, nil))
	}
	return out
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(mrkdwn(truncate(text, maxText)), nil, nil)
}

func contextBlock(text string) slack.Block {
	return slack.NewContextBlock("", mrkdwn(truncate(text, maxText)))
}

// notification shortens mrkdwn to the top-level text Slack shows in notifications.
func notification(text string) string {
	return truncate(oneLine(strings.ReplaceAll(text, "```", "")), maxNotification)
}

// shortDuration prints 4h, 1h30m, 10m or 45s.
func shortDuration(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	s := d.Round(time.Second).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return cmp.Or(s, "0s")
}
