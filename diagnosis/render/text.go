package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// TextOptions controls Text and ScanText.
type TextOptions struct {
	// Color adds ANSI colours. Set it only when the output is a terminal.
	Color bool
	// Width is the number of columns prose is wrapped to; 0 or less means 80.
	Width int
}

const defaultWidth = 80

const (
	ansiReset = "\x1b[0m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiDim   = "\x1b[2m"
)

// commandPrefix starts the first line of every command; later lines of a multi-line
// command start with commandIndent. Nothing else of a command is changed.
const (
	commandPrefix = "  $ "
	commandIndent = "    "
)

// Text writes r for a terminal: a header line with the pod, its status and its cause,
// then one block per finding and the checks that could not run. A healthy pod gives a
// single line. Prose is wrapped to opts.Width at spaces only (a longer token, such as a
// URL, keeps its own line); commands are never wrapped.
func Text(w io.Writer, r diagnosis.Report, opts TextOptions) error {
	p := newPrinter(opts)
	p.report(r)
	return p.flush(w, "text")
}

// printer builds text output line by line. Blank lines between blocks are requested with
// gap and written only between two non-blank lines.
type printer struct {
	b     strings.Builder
	width int
	color bool
	gapOn bool
}

func newPrinter(opts TextOptions) *printer {
	width := opts.Width
	if width <= 0 {
		width = defaultWidth
	}
	return &printer{width: width, color: opts.Color}
}

func (p *printer) flush(w io.Writer, what string) error {
	if _, err := io.WriteString(w, p.b.String()); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

func (p *printer) gap() { p.gapOn = true }

func (p *printer) line(s string) {
	if p.gapOn && p.b.Len() > 0 {
		p.b.WriteByte('\n')
	}
	p.gapOn = false
	p.b.WriteString(s)
	p.b.WriteByte('\n')
}

// paint wraps s in an ANSI colour when colour is on.
func (p *printer) paint(code, s string) string {
	if !p.color || s == "" {
		return s
	}
	return code + s + ansiReset
}

func (p *printer) label(s string) string { return p.paint(ansiDim, s) }

// word is one unbreakable unit of prose: text is what it looks like, styled is what is
// written (text with colour codes), or "" when it is the same as text.
type word struct {
	text, styled string
}

func (w word) show() string {
	if w.styled != "" {
		return w.styled
	}
	return w.text
}

// words splits s at whitespace into plain words.
func words(s string) []word {
	var ws []word
	for f := range strings.FieldsSeq(s) {
		ws = append(ws, word{text: f})
	}
	return ws
}

// painted is a single word in colour, followed by suffix in the default colour.
func (p *printer) painted(code, s, suffix string) word {
	return word{text: s + suffix, styled: p.paint(code, s) + suffix}
}

// wrap writes ws as a paragraph: the first line starts with first, the others with rest.
// Both prefixes may carry colour codes; their visible widths count against the width.
func (p *printer) wrap(first, rest string, ws ...[]word) {
	var all []word
	for _, w := range ws {
		all = append(all, w...)
	}
	for i, l := range wrapWords(all, p.width, visibleWidth(first), visibleWidth(rest)) {
		prefix := rest
		if i == 0 {
			prefix = first
		}
		p.line(strings.TrimRight(prefix+l, " "))
	}
}

// command writes cmd verbatim: "  $ " before its first line, four spaces before the others.
func (p *printer) command(cmd string) {
	if strings.TrimSpace(cmd) == "" {
		return
	}
	for i, l := range strings.Split(strings.TrimSuffix(cmd, "\n"), "\n") {
		if i == 0 {
			p.line(commandPrefix + l)
		} else {
			p.line(commandIndent + l)
		}
	}
}

// wrapWords fills lines greedily: a word goes on the current line when it fits in width
// (counting the prefix widths first and rest); a word that fits on no line gets a line of
// its own. It returns at least one line.
func wrapWords(ws []word, width, first, rest int) []string {
	var (
		lines []string
		cur   strings.Builder
		n     int // visible width of cur
	)
	avail := width - first
	for _, w := range ws {
		l := utf8.RuneCountInString(w.text)
		if n > 0 && n+1+l > avail {
			lines = append(lines, cur.String())
			cur.Reset()
			n = 0
			avail = width - rest
		}
		if n > 0 {
			cur.WriteByte(' ')
			n++
		}
		cur.WriteString(w.show())
		n += l
	}
	return append(lines, cur.String())
}

// visibleWidth is the number of columns s takes on a terminal: runes, not counting ANSI
// CSI sequences such as "\x1b[31m".
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
			i++ // the final byte
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	return n
}

// field is a label and its value, written as aligned "Label: value" lines.
type field struct {
	label string // without the colon
	value []word
}

// fields writes the non-empty fields with their values aligned, each wrapped with a
// hanging indent under its value.
func (p *printer) fields(indent string, fs []field) {
	pad := 0
	for _, f := range fs {
		if len(f.value) > 0 {
			pad = max(pad, utf8.RuneCountInString(f.label)+2)
		}
	}
	for _, f := range fs {
		if len(f.value) == 0 {
			continue
		}
		lbl := f.label + ":"
		spaces := strings.Repeat(" ", pad-utf8.RuneCountInString(lbl))
		p.wrap(indent+p.label(lbl)+spaces, indent+strings.Repeat(" ", pad), f.value)
	}
}

func (p *printer) report(r diagnosis.Report) {
	ref := r.Pod.String()
	if r.Status == diagnosis.StatusHealthy && len(r.Findings) == 0 {
		p.wrap("", "  ", words(ref+":"), []word{p.painted(ansiGreen, "healthy", ",")},
			words("no image-pull problem found"))
		return
	}

	status := string(r.Status)
	if status == "" {
		status = "unknown"
	}
	head := append(words(ref+":"), word{text: status + ","}, word{text: "cause"})
	causeColor := ansiRed
	if r.Status == diagnosis.StatusHealthy {
		causeColor = ansiGreen
	}
	head = append(head, p.painted(causeColor, causeText(r.Cause), ""))
	if len(r.Findings) > 1 {
		head = append(head, words("("+strconv.Itoa(len(r.Findings))+" findings)")...)
	}
	p.wrap("", "  ", head)

	var workload string
	if r.Workload != nil {
		workload = r.Workload.Kind + "/" + r.Workload.Name
	}
	p.fields("", []field{
		{"Workload", words(workload)},
		{"Node", words(r.Node)},
		{"Source", words(r.Source)},
	})

	for _, f := range r.Findings {
		p.gap()
		p.finding(f)
	}

	if len(r.Skipped) > 0 {
		p.gap()
		for _, s := range r.Skipped {
			p.wrap(p.label("Not checked:")+" ", "  ", words(skipText(s)))
		}
	}
}

func (p *printer) finding(f diagnosis.Finding) {
	p.wrap("", "  ", words(findingHeading(f)))
	p.fields("  ", []field{
		{"Image", words(f.Image)},
		{"Cause", append([]word{p.painted(ansiRed, causeText(f.Cause), "")}, confidenceWords(f.Confidence)...)},
	})

	if strings.TrimSpace(f.Summary) != "" {
		p.gap()
		p.wrap("  ", "  ", words(f.Summary))
	}

	if len(f.Evidence) > 0 {
		p.gap()
		p.line("  " + p.label("Evidence:"))
		for _, e := range f.Evidence {
			p.wrap("  - ", "    ", words(e))
		}
	}

	for i, fix := range f.Fixes {
		p.gap()
		lbl := "Fix:"
		if len(f.Fixes) > 1 {
			lbl = "Fix " + strconv.Itoa(i+1) + ":"
		}
		p.wrap("  "+p.label(lbl)+" ", "  "+strings.Repeat(" ", len(lbl)+1), words(fix.Title))
		for _, c := range fix.Commands {
			p.command(c)
		}
	}

	if strings.TrimSpace(f.Verify) != "" {
		p.gap()
		p.line("  " + p.label("Verify:"))
		p.command(f.Verify)
	}

	if f.RestartHelps.Helps || f.RestartHelps.Reason != "" {
		p.gap()
		verdict := "does not help."
		if f.RestartHelps.Helps {
			verdict = "helps once the cause is fixed."
		}
		p.wrap("  "+p.label("Rollout restart:")+" ", "    ", words(verdict), words(f.RestartHelps.Reason))
	}

	if len(f.Notes) > 0 {
		p.gap()
		p.line("  " + p.label("Common advice that does not apply here:"))
		for _, n := range f.Notes {
			p.wrap("  - ", "    ", words(n))
		}
	}

	if len(f.Alternatives) > 0 {
		p.gap()
		p.wrap("  "+p.label("Other possible causes:")+" ", "    ", words(joinCauses(f.Alternatives)))
	}
}

// findingHeading names the container a finding is about, e.g. "Container api (init)".
func findingHeading(f diagnosis.Finding) string {
	if f.ContainerKind == diagnosis.KindSandbox {
		return "Pod sandbox (pause image)"
	}
	name := f.Container
	if name == "" {
		name = "(unnamed)"
	}
	if f.ContainerKind == "" {
		return "Container " + name
	}
	return "Container " + name + " (" + string(f.ContainerKind) + ")"
}

func confidenceWords(c diagnosis.Confidence) []word {
	if c == "" {
		return nil
	}
	return words("(" + string(c) + ")")
}

func causeText(c diagnosis.Cause) string {
	if c == "" {
		return string(diagnosis.CauseUnknown)
	}
	return string(c)
}

func joinCauses(cs []diagnosis.Cause) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// skipText describes a skipped check: "pull-secret: cannot read secrets (needs get secrets)".
func skipText(s diagnosis.Skip) string {
	t := s.Check
	if s.Reason != "" {
		if t != "" {
			t += ": "
		}
		t += s.Reason
	}
	if s.Needs != "" {
		t += " (needs " + s.Needs + ")"
	}
	return t
}
