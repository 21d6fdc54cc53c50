package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Markdown writes r as GitHub-flavoured markdown: the content of Text, with a heading per
// pod and per finding, bullet lists for evidence and notes, and commands in fenced sh
// blocks, verbatim.
func Markdown(w io.Writer, r diagnosis.Report) error {
	var m mdWriter
	m.report(r)
	return m.flush(w, "markdown")
}

// mdWriter collects markdown blocks and separates them with one blank line.
type mdWriter struct {
	b strings.Builder
}

func (m *mdWriter) block(lines ...string) {
	if m.b.Len() > 0 {
		m.b.WriteByte('\n')
	}
	for _, l := range lines {
		m.b.WriteString(l)
		m.b.WriteByte('\n')
	}
}

func (m *mdWriter) flush(w io.Writer, what string) error {
	if _, err := io.WriteString(w, m.b.String()); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

func (m *mdWriter) report(r diagnosis.Report) {
	ref := mdCode(r.Pod.String())
	if r.Status == diagnosis.StatusHealthy && len(r.Findings) == 0 {
		m.block("## " + ref + ": healthy")
		m.block("No image-pull problem found.")
		return
	}

	status := string(r.Status)
	if status == "" {
		status = "unknown"
	}
	head := "## " + ref + ": " + status + ", cause " + mdCode(causeText(r.Cause))
	if len(r.Findings) > 1 {
		head += " (" + strconv.Itoa(len(r.Findings)) + " findings)"
	}
	m.block(head)

	var facts []string
	if r.Workload != nil {
		facts = append(facts, "- **Workload:** "+mdText(r.Workload.Kind+"/"+r.Workload.Name))
	}
	if r.Node != "" {
		facts = append(facts, "- **Node:** "+mdCode(r.Node))
	}
	if r.Source != "" {
		facts = append(facts, "- **Source:** "+mdText(r.Source))
	}
	if len(facts) > 0 {
		m.block(facts...)
	}

	for _, f := range r.Findings {
		m.finding(f)
	}

	if len(r.Skipped) > 0 {
		m.block("### Not checked")
		var items []string
		for _, s := range r.Skipped {
			items = append(items, "- "+mdSkip(s))
		}
		m.block(items...)
	}
}

func (m *mdWriter) finding(f diagnosis.Finding) {
	if f.ContainerKind == diagnosis.KindSandbox {
		m.block("### Pod sandbox (pause image)")
	} else {
		h := "### Container " + mdCode(f.Container)
		if f.ContainerKind != "" {
			h += " (" + mdText(string(f.ContainerKind)) + ")"
		}
		m.block(h)
	}

	var facts []string
	if f.Image != "" {
		facts = append(facts, "- **Image:** "+mdCode(f.Image))
	}
	c := "- **Cause:** " + mdCode(causeText(f.Cause))
	if f.Confidence != "" {
		c += " (" + mdText(string(f.Confidence)) + ")"
	}
	m.block(append(facts, c)...)

	if s := mdText(f.Summary); s != "" {
		m.block(s)
	}

	if len(f.Evidence) > 0 {
		m.block("**Evidence**")
		m.bullets(f.Evidence)
	}

	for i, fix := range f.Fixes {
		lbl := "Fix:"
		if len(f.Fixes) > 1 {
			lbl = "Fix " + strconv.Itoa(i+1) + ":"
		}
		m.block(strings.TrimSpace("**" + lbl + "** " + mdText(fix.Title)))
		m.code(fix.Commands...)
	}

	if strings.TrimSpace(f.Verify) != "" {
		m.block("**Verify**")
		m.code(f.Verify)
	}

	if f.RestartHelps.Helps || f.RestartHelps.Reason != "" {
		verdict := "does not help."
		if f.RestartHelps.Helps {
			verdict = "helps once the cause is fixed."
		}
		m.block(strings.TrimSpace("**Rollout restart:** " + verdict + " " + mdText(f.RestartHelps.Reason)))
	}

	if len(f.Notes) > 0 {
		m.block("**Common advice that does not apply here**")
		m.bullets(f.Notes)
	}

	if len(f.Alternatives) > 0 {
		alts := make([]string, len(f.Alternatives))
		for i, a := range f.Alternatives {
			alts[i] = mdCode(string(a))
		}
		m.block("**Other possible causes:** " + strings.Join(alts, ", "))
	}
}

func (m *mdWriter) bullets(items []string) {
	lines := make([]string, 0, len(items))
	for _, it := range items {
		lines = append(lines, "- "+mdText(it))
	}
	m.block(lines...)
}

// code writes the commands, verbatim and one after the other, in one fenced sh block.
func (m *mdWriter) code(cmds ...string) {
	var body []string
	for _, c := range cmds {
		if strings.TrimSpace(c) == "" {
			continue
		}
		body = append(body, strings.Split(strings.TrimSuffix(c, "\n"), "\n")...)
	}
	if len(body) == 0 {
		return
	}
	fence := strings.Repeat("`", max(3, longestRun(strings.Join(body, "\n"), '`')+1))
	m.block(append(append([]string{fence + "sh"}, body...), fence)...)
}

func mdSkip(s diagnosis.Skip) string {
	t := mdCode(s.Check)
	if s.Reason != "" {
		if s.Check != "" {
			t += ": "
		}
		t += mdText(s.Reason)
	}
	if s.Needs != "" {
		t += " (needs " + mdText(s.Needs) + ")"
	}
	return t
}

// mdText makes s safe as inline markdown on one line: whitespace is collapsed, and
// characters that would start emphasis, links, HTML, tables or (at the start) a block
// are escaped with a backslash.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for i, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&':
			b.WriteByte('\\')
		case '#', '+', '-', '=':
			if i == 0 {
				b.WriteByte('\\')
			}
		case '.', ')':
			if isDigits(s[:i]) && i > 0 { // "1." or "1)" would start an ordered list
				b.WriteByte('\\')
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// mdCode writes s as an inline code span, with a delimiter longer than any run of
// backticks inside it. An empty s gives "".
func mdCode(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return ""
	}
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return delim + s + delim
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
