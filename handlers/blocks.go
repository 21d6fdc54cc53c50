package handlers

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
	md "github.com/pullcheck/pullcheck/handlers/mrkdwn"
)

// Block Kit limits (docs.slack.dev/reference/block-kit).
const (
	maxBlocks          = 50
	maxText            = 3000 // a section's or a context element's text
	maxHeaderText      = 150
	maxButtonText      = 75
	maxConfirmTitle    = 100
	maxConfirmText     = 300
	maxConfirmButton   = 30
	maxContextElements = 10
	// maxNotification bounds a message's top-level text, which Slack shows in notifications.
	maxNotification = 300
)

// What the main report message shows; the rest goes to the thread.
const (
	mainEvidence     = 3    // evidence lines per container
	mainEvidenceLine = 300  // characters per evidence line
	mainSummary      = 1500 // characters of a container's summary
	mainScanRows     = 20   // failing containers listed in a scan's main message
	// mainReserve is kept free for the blocks after the findings: the "more in the thread"
	// line, the restart offer (section and button) and the thread note.
	mainReserve = 4
)

// The restart button. Its action_id is how HandleInteraction recognises a click.
const (
	restartActionID = "pullcheck_restart"
	restartBlockID  = "pullcheck_restart"
	offerBlockID    = "pullcheck_restart_offer"
	approvedBlockID = "pullcheck_restart_approved"
)

// message is one Slack message: the notification text and its blocks.
type message struct {
	Text   string
	Blocks []slack.Block
}

func (m message) options() []slack.MsgOption {
	return []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...)}
}

// ack turns m into an ephemeral acknowledgement.
func (m message) ack() *slack.Msg {
	return &slack.Msg{ResponseType: slack.ResponseTypeEphemeral, Text: m.Text, Blocks: slack.Blocks{BlockSet: m.Blocks}}
}

// Block constructors.

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, true, false)
}

func header(text string) slack.Block {
	return slack.NewHeaderBlock(plain(truncate(oneLine(text), maxHeaderText)))
}

// sections renders mrkdwn text as one section, or several when it is longer than a
// section may be.
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

// notice is a one-section message, for acknowledgements, refusals and errors.
func notice(text string) message {
	return message{Text: notification(text), Blocks: []slack.Block{section(text)}}
}

// notification shortens mrkdwn to the top-level text Slack shows in notifications.
func notification(text string) string {
	return truncate(oneLine(strings.ReplaceAll(text, "```", "")), maxNotification)
}

// Help, usage and acknowledgements.

func usageText() string {
	return strings.Join([]string{
		"• " + code("/pullcheck <namespace>/<pod>") + " diagnose one pod",
		"• " + code("/pullcheck <pod> -n <namespace>") + " the same",
		"• " + code("/pullcheck <namespace>") + " list the pods of a namespace that cannot pull their images, by cause",
		"• " + code("/pullcheck help") + " this help",
	}, "\n")
}

// renderHelp explains the command and which namespaces this channel may ask about.
func renderHelp(namespaces []string) message {
	text := "*pullcheck* finds out why a pod cannot pull its image, shows the evidence and gives the fix.\n" + usageText()
	return message{
		Text:   "pullcheck: why a pod cannot pull its image",
		Blocks: []slack.Block{section(text), contextBlock(channelScope(namespaces))},
	}
}

func channelScope(namespaces []string) string {
	if len(namespaces) == 0 {
		return "This channel may not ask about any namespace yet: ask the pullcheck admins to add a channel rule for it."
	}
	return "In this channel you can ask about " + namespaceList(namespaces) + "."
}

func namespaceList(globs []string) string {
	const shown = 10
	items := make([]string, 0, min(len(globs), shown)+1)
	for i, g := range globs {
		if i == shown {
			items = append(items, plural(len(globs)-shown, "more", "more"))
			break
		}
		if g == "*" {
			return "every namespace"
		}
		items = append(items, code(g))
	}
	return listAnd(items)
}

// renderUsage answers malformed command text: what is wrong, then how to write it.
func renderUsage(problem string) message {
	return message{
		Text:   notification(problem),
		Blocks: []slack.Block{section(problem), section("*Usage*\n" + usageText())},
	}
}

func renderChecking(r request, cluster string) message {
	what := "Checking " + code(r.String())
	if r.kind == reqScan {
		what = "Scanning namespace " + code(r.namespace)
	}
	if cluster != "" {
		what += " in cluster " + code(cluster)
	}
	return notice(":mag: " + what + "… the report will appear in this channel.")
}

func renderRefusal(namespace string, namespaces []string) message {
	return notice(":no_entry: This channel may not ask about namespace " + code(namespace) + ". " + channelScope(namespaces))
}

// Reports.

// reportView is what a report message needs besides the report.
type reportView struct {
	cluster string
	now     time.Time
	// offer, when set, adds the approve-to-restart button.
	offer *offerView
	// noOffer says why a restart that would help has no button (mrkdwn), or is empty.
	noOffer string
	// heading replaces the header's text, and lead goes right under it (rollout follow-ups).
	heading, lead string
}

type offerView struct {
	token string
	offer offer
}

// renderReport renders a pod's diagnosis as a main message and, when the main message had
// to leave something out, the thread replies that hold the rest: the full evidence, the
// containers that did not fit and the checks that did not run.
func renderReport(r diagnosis.Report, v reportView) (message, []message) {
	title := r.Pod.String() + ": " + reportCause(r)
	if v.heading != "" {
		title = v.heading
	}
	main := []slack.Block{header(title)}
	if v.lead != "" {
		main = append(main, section(v.lead))
	}
	main = append(main, contextBlock(reportMeta(r, v)))
	var thread []slack.Block
	omitted := false

	if len(r.Findings) == 0 {
		if r.Status == diagnosis.StatusFailing {
			main = append(main, section("The pod is failing, but no container has an image-pull error pullcheck recognises. "+
				"Look at its events: "+code("kubectl -n "+r.Pod.Namespace+" describe pod "+r.Pod.Name)))
		} else {
			main = append(main, section(":white_check_mark: No image-pull problem found: every container has its image."))
		}
	}

	budget := maxBlocks - mainReserve
	var moved []diagnosis.Finding
	for i, f := range r.Findings {
		blocks, cut := findingBlocks(f, true)
		if i > 0 {
			blocks = append([]slack.Block{slack.NewDividerBlock()}, blocks...)
		}
		if len(main)+len(blocks) > budget {
			if i == 0 { // a single container too big for a message: show what fits
				main = append(main, blocks[:budget-len(main)]...)
			}
			moved = r.Findings[i:]
			break
		}
		main = append(main, blocks...)
		if cut {
			omitted = true
			thread = append(thread, fullEvidenceBlocks(f)...)
		}
	}
	if len(moved) > 0 {
		names := make([]string, len(moved))
		for i, f := range moved {
			names[i] = containerLabel(f)
		}
		verb := " are"
		if len(moved) == 1 {
			verb = " is"
		}
		main = append(main, section(":thread: "+plural(len(moved), "more failing container", "more failing containers")+
			" ("+listAnd(names)+")"+verb+" in the thread."))
		for _, f := range moved {
			blocks, _ := findingBlocks(f, false)
			thread = append(thread, slack.NewDividerBlock())
			thread = append(thread, blocks...)
		}
	}

	switch {
	case v.offer != nil:
		main = append(main, offerBlocks(*v.offer, v.cluster)...)
	case v.noOffer != "":
		main = append(main, contextBlock(":information_source: "+v.noOffer))
	}

	if len(r.Skipped) > 0 {
		thread = append(thread, skippedBlocks(r.Skipped)...)
	}
	var note []string
	if omitted || len(moved) > 0 {
		note = append(note, "the full evidence")
	}
	if len(r.Skipped) > 0 {
		note = append(note, plural(len(r.Skipped), "check that did not run", "checks that did not run"))
	}
	if len(note) > 0 {
		main = append(main, contextBlock(":thread: In the thread: "+listAnd(note)+"."))
	}

	msg := message{Text: reportNotification(r, title), Blocks: main}
	if len(thread) == 0 {
		return msg, nil
	}
	lead := section("*Details for " + code(r.Pod.String()) + "*")
	return msg, paginate(append([]slack.Block{lead}, thread...), "Details for "+r.Pod.String())
}

func reportCause(r diagnosis.Report) string {
	if r.Status == diagnosis.StatusHealthy && len(r.Findings) == 0 {
		return "healthy"
	}
	c := string(r.Cause)
	if c == "" {
		c = string(diagnosis.CauseUnknown)
	}
	if n := len(r.Findings); n > 1 {
		c += " (" + strconv.Itoa(n) + " failing containers)"
	}
	return c
}

func reportMeta(r diagnosis.Report, v reportView) string {
	var parts []string
	if r.Workload != nil && r.Workload.Kind != "" {
		parts = append(parts, esc(r.Workload.Kind+"/"+r.Workload.Name))
	}
	if r.Node != "" {
		parts = append(parts, "node "+code(r.Node))
	}
	if v.cluster != "" {
		parts = append(parts, "cluster "+code(v.cluster))
	}
	if !v.now.IsZero() {
		parts = append(parts, "diagnosed "+slackDate(v.now))
	}
	if len(parts) == 0 {
		return code(r.Pod.String())
	}
	return strings.Join(parts, " · ")
}

func reportNotification(r diagnosis.Report, title string) string {
	text := esc(title)
	if len(r.Findings) > 0 && r.Findings[0].Summary != "" {
		text += ". " + esc(oneLine(r.Findings[0].Summary))
	}
	return notification(text)
}

func containerLabel(f diagnosis.Finding) string {
	if f.ContainerKind == diagnosis.KindSandbox {
		return "the pod sandbox"
	}
	return code(f.Container)
}

// findingBlocks renders one failing container. compact (the main message) keeps the first
// few evidence lines and shortens long ones and the summary; cut says whether it did.
func findingBlocks(f diagnosis.Finding, compact bool) (blocks []slack.Block, cut bool) {
	var title string
	if f.ContainerKind == diagnosis.KindSandbox {
		title = "*Pod sandbox (pause image)*"
	} else {
		title = "*Container " + code(f.Container) + "*"
		if f.ContainerKind != "" && f.ContainerKind != diagnosis.KindRegular {
			title += " (" + esc(string(f.ContainerKind)) + ")"
		}
	}
	title += " · " + code(string(cmp.Or(f.Cause, diagnosis.CauseUnknown)))
	if f.Confidence != "" {
		title += " (" + esc(string(f.Confidence)) + ")"
	}
	lines := []string{title}
	if f.Image != "" {
		lines = append(lines, "Image "+code(f.Image))
	}
	if s := esc(oneLine(f.Summary)); s != "" {
		if compact && runes(s) > mainSummary {
			s, cut = truncate(s, mainSummary), true
		}
		lines = append(lines, s)
	}
	blocks = append(blocks, sections(strings.Join(lines, "\n"))...)

	if len(f.Evidence) > 0 {
		ev := f.Evidence
		var items []string
		if compact && len(ev) > mainEvidence {
			ev, cut = ev[:mainEvidence], true
		}
		for _, e := range ev {
			e = esc(oneLine(e))
			if compact && runes(e) > mainEvidenceLine {
				e, cut = truncate(e, mainEvidenceLine), true
			}
			items = append(items, "• "+e)
		}
		if compact && len(f.Evidence) > mainEvidence {
			items = append(items, "_"+plural(len(f.Evidence)-mainEvidence, "more line", "more lines")+" in the thread_")
		}
		blocks = append(blocks, sections("*Evidence*\n"+strings.Join(items, "\n"))...)
	}

	for i, fix := range f.Fixes {
		blocks = append(blocks, sections(md.Fix(i, len(f.Fixes), fix, 0))...)
	}

	if strings.TrimSpace(f.Verify) != "" {
		blocks = append(blocks, sections("*Verify*\n"+codeBlock(f.Verify))...)
	}

	if text := md.Restart(f.RestartHelps); text != "" {
		blocks = append(blocks, contextBlock(text))
	}

	if len(f.Notes) > 0 {
		items := make([]string, len(f.Notes))
		for i, n := range f.Notes {
			items[i] = "• " + esc(oneLine(n))
		}
		blocks = append(blocks, sections("*Common advice that does not apply here*\n"+strings.Join(items, "\n"))...)
	}

	if len(f.Alternatives) > 0 {
		alts := make([]string, len(f.Alternatives))
		for i, a := range f.Alternatives {
			alts[i] = code(string(a))
		}
		blocks = append(blocks, contextBlock("Other possible causes: "+strings.Join(alts, ", ")))
	}
	return blocks, cut
}

// fullEvidenceBlocks lists every evidence line of a container, unshortened, for the thread.
func fullEvidenceBlocks(f diagnosis.Finding) []slack.Block {
	items := make([]string, len(f.Evidence))
	for i, e := range f.Evidence {
		items[i] = "• " + esc(oneLine(e))
	}
	head := "*All evidence for container " + code(f.Container) + "*"
	if f.ContainerKind == diagnosis.KindSandbox {
		head = "*All evidence for the pod sandbox*"
	}
	if s := esc(oneLine(f.Summary)); runes(s) > mainSummary {
		head += "\n" + s
	}
	return sections(head + "\n" + strings.Join(items, "\n"))
}

func skippedBlocks(skipped []diagnosis.Skip) []slack.Block {
	items := make([]string, len(skipped))
	for i, s := range skipped {
		t := "• " + code(s.Check)
		if s.Reason != "" {
			t += ": " + esc(oneLine(s.Reason))
		}
		if s.Needs != "" {
			t += " (needs " + esc(oneLine(s.Needs)) + ")"
		}
		items[i] = t
	}
	return sections("*Not checked*\n" + strings.Join(items, "\n"))
}

// offerBlocks explains the restart and carries the button, with Slack's confirm dialog
// naming the workload, namespace and cluster.
func offerBlocks(v offerView, cluster string) []slack.Block {
	o := v.offer
	text := ":arrows_counterclockwise: *Restart from Slack:* once the fix is in, an approver for namespace " + code(o.Namespace) +
		" can restart " + esc(o.workload()) + " with this button. The offer ends " + slackDate(o.Expires) + "."
	explain := slack.NewSectionBlock(mrkdwn(truncate(text, maxText)), nil, nil, slack.SectionBlockOptionBlockID(offerBlockID))

	command := "kubectl -n " + o.Namespace + " rollout restart " + strings.ToLower(o.Kind) + "/" + o.Name
	where := ""
	if cluster != "" {
		where = " in cluster " + code(cluster)
	}
	dialog := "pullcheck will run the equivalent of " + code(command) + where + ": every pod of " +
		esc(o.workload()) + " in namespace " + code(o.Namespace) + " is replaced, a few at a time."
	if runes(dialog) > maxConfirmText {
		dialog = truncate("Every pod of "+esc(o.workload())+" in namespace "+code(o.Namespace)+where+" is replaced.", maxConfirmText)
	}
	confirm := slack.NewConfirmationBlockObject(
		plain(truncate("Restart "+o.workload()+"?", maxConfirmTitle)),
		mrkdwn(dialog),
		plain(truncate("Restart", maxConfirmButton)),
		plain(truncate("Cancel", maxConfirmButton)),
	)
	button := slack.NewButtonBlockElement(restartActionID, v.token, plain(truncate("Restart "+o.workload(), maxButtonText))).
		WithStyle(slack.StylePrimary).
		WithConfirm(confirm)
	return []slack.Block{explain, slack.NewActionBlock(restartBlockID, button)}
}

// paginate splits blocks into messages of at most maxBlocks blocks.
func paginate(blocks []slack.Block, text string) []message {
	var out []message
	for start := 0; start < len(blocks); start += maxBlocks {
		end := min(start+maxBlocks, len(blocks))
		out = append(out, message{Blocks: blocks[start:end]})
	}
	for i := range out {
		out[i].Text = notification(esc(text))
		if len(out) > 1 {
			out[i].Text = notification(esc(text) + " (" + strconv.Itoa(i+1) + "/" + strconv.Itoa(len(out)) + ")")
		}
	}
	return out
}

// Scans.

// renderScan lists the failing containers of a namespace, one line each, under a summary by
// cause. The first rows are in the main message, the rest in the thread.
func renderScan(namespace, cluster string, reports []diagnosis.Report, now time.Time) (message, []message) {
	rows := diagnosis.ScanRows(reports)
	meta := []string{"namespace " + code(namespace)}
	if cluster != "" {
		meta = append(meta, "cluster "+code(cluster))
	}
	if !now.IsZero() {
		meta = append(meta, "scanned "+slackDate(now))
	}
	if len(rows) == 0 {
		title := "Scan of " + namespace + ": no image-pull failures"
		return message{Text: notification(esc(title)), Blocks: []slack.Block{
			header(title), contextBlock(strings.Join(meta, " · ")),
			section(":white_check_mark: No pod in " + code(namespace) + " is failing to pull an image."),
		}}, nil
	}

	containers, pods, byCause := diagnosis.SummarizeScan(rows)
	title := "Scan of " + namespace + ": " + plural(pods, "failing pod", "failing pods")
	summary := []string{"*" + plural(containers, "failing container", "failing containers") + " in " + plural(pods, "pod", "pods") + "*"}
	for _, c := range byCause {
		summary = append(summary, "• "+code(string(c.Cause))+": "+plural(c.Containers, "container", "containers")+" in "+plural(c.Pods, "pod", "pods"))
	}
	main := []slack.Block{header(title), contextBlock(strings.Join(meta, " · "))}
	main = append(main, sections(strings.Join(summary, "\n"))...)

	lines := make([]string, len(rows))
	for i, r := range rows {
		l := "• " + code(r.Pod.Name) + " · " + code(r.Container) + " · " + code(string(r.Cause))
		if r.Confidence != "" {
			l += " (" + esc(string(r.Confidence)) + ")"
		}
		lines[i] = l
	}
	shown := lines[:min(len(lines), mainScanRows)]
	main = append(main, sections(strings.Join(shown, "\n"))...)
	tail := ""
	if rest := len(lines) - len(shown); rest > 0 {
		tail = ":thread: " + plural(rest, "more failing container is", "more failing containers are") + " in the thread. "
	}
	main = append(main, contextBlock(tail+"Diagnose one pod: "+code("/pullcheck "+namespace+"/<pod>")))
	msg := message{Text: notification(esc(title)), Blocks: main}
	if len(lines) == len(shown) {
		return msg, nil
	}
	var thread []slack.Block
	for _, part := range splitMrkdwn(strings.Join(lines[len(shown):], "\n"), maxText) {
		thread = append(thread, section(part))
	}
	return msg, paginate(thread, "More failing containers in "+namespace)
}

// Restarts and rollouts.

// approvalText is what replaces the button once a restart is approved.
func approvalText(who string, at time.Time, o offer) string {
	return ":white_check_mark: Approved by " + mention(who) + " at " + slackDate(at) + "; restarting " + esc(o.workload()) + "."
}

// approvedBlocks replaces the restart offer and its button in the original message's blocks
// with who approved and when. Without the original blocks, the line stands alone.
func approvedBlocks(original []slack.Block, who string, at time.Time, o offer) []slack.Block {
	line := slack.NewSectionBlock(mrkdwn(approvalText(who, at, o)), nil, nil, slack.SectionBlockOptionBlockID(approvedBlockID))
	var out []slack.Block
	placed := false
	for _, b := range original {
		switch b.ID() {
		case offerBlockID, restartBlockID:
			if !placed {
				out = append(out, line)
				placed = true
			}
		default:
			out = append(out, b)
		}
	}
	if !placed {
		out = append(out, line)
	}
	return out
}

func kubectlRollout(o offer, verb string) string {
	return "kubectl -n " + o.Namespace + " rollout " + verb + " " + strings.ToLower(o.Kind) + "/" + o.Name
}

func progressCounts(u RolloutUpdate) string {
	if u.Desired == 0 && u.Updated == 0 && u.Ready == 0 {
		return ""
	}
	return strconv.Itoa(int(u.Updated)) + " of " + plural(int(u.Desired), "pod", "pods") + " updated, " + strconv.Itoa(int(u.Ready)) + " ready"
}

func withMessage(text string, u RolloutUpdate) string {
	if m := esc(oneLine(u.Message)); m != "" {
		text += "\n>" + truncate(m, 1000)
	}
	return text
}

// renderRolloutStart opens the thread that follows a restart.
func renderRolloutStart(o offer, who string, res RestartResult, timeout time.Duration) message {
	text := ":arrows_counterclockwise: Restarting " + esc(o.workload()) + " in namespace " + code(o.Namespace) +
		", approved by " + mention(who) + "."
	if !res.RestartedAt.IsZero() {
		text += " Its pods get the annotation " + code("kubectl.kubernetes.io/restartedAt="+res.RestartedAt.UTC().Format(time.RFC3339)) + "."
	}
	text += " Following the rollout for up to " + shortDuration(timeout) + "."
	return notice(text)
}

// renderRolloutProgress is the same thread message, updated as the rollout moves.
func renderRolloutProgress(o offer, u RolloutUpdate) message {
	text := ":hourglass_flowing_sand: Rolling out " + esc(o.workload()) + " in namespace " + code(o.Namespace)
	if c := progressCounts(u); c != "" {
		text += ": " + c
	}
	return notice(withMessage(text+".", u))
}

func renderRolloutDone(o offer, u RolloutUpdate, took time.Duration) message {
	text := ":white_check_mark: " + esc(o.workload()) + " in namespace " + code(o.Namespace) + " rolled out"
	if c := progressCounts(u); c != "" {
		text += ": " + c
	}
	if took > 0 {
		text += ", in " + shortDuration(took)
	}
	return notice(text + ".")
}

func renderRolloutTimedOut(o offer, u RolloutUpdate, timeout time.Duration) message {
	text := ":warning: " + esc(o.workload()) + " in namespace " + code(o.Namespace) + " has not finished rolling out after " + shortDuration(timeout)
	if c := progressCounts(u); c != "" {
		text += ": " + c
	}
	text = withMessage(text+".", u)
	text += "\npullcheck stopped following it. Watch it with\n" + codeBlock(kubectlRollout(o, "status"))
	return notice(text)
}

// renderRolloutLost says pullcheck stopped following the rollout before it ended.
func renderRolloutLost(o offer, why string) message {
	return notice(":warning: pullcheck stopped following the rollout of " + esc(o.workload()) + " in namespace " +
		code(o.Namespace) + ": " + why + "\nWatch it with\n" + codeBlock(kubectlRollout(o, "status")))
}

// renderRolloutFailure reports that the new pods fail too, with the diagnosis of the first
// of them when there is one.
func renderRolloutFailure(o offer, u RolloutUpdate, failing diagnosis.PodRef, r *diagnosis.Report, failure string, cluster string, now time.Time) (message, []message) {
	lead := ":x: The new pods of " + esc(o.workload()) + " fail to start"
	if c := progressCounts(u); c != "" {
		lead += " (" + c + ")"
	}
	if r == nil || r.Status != diagnosis.StatusFailing {
		text := lead + ": " + code(failing.String())
		if failure != "" {
			text += ". " + failure
		}
		text = withMessage(text+".", u)
		return notice(text), nil
	}
	return renderReport(*r, reportView{cluster: cluster, now: now,
		heading: "New pods fail: " + r.Pod.String() + ": " + reportCause(*r),
		lead:    withMessage(lead+": "+code(failing.String())+" fails with "+code(string(r.Cause))+".", u)})
}

// shortDuration prints 10m, 1m30s or 45s.
func shortDuration(d time.Duration) string {
	if d < time.Second {
		return d.String()
	}
	d = d.Round(time.Second)
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return "0s"
	}
	return s
}
