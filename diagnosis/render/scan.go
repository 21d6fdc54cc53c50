package render

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// noFailures is what a scan that found nothing prints.
const noFailures = "no image-pull failures found"

const (
	scanPadding = 2
	// minImageWidth is the narrowest the image column is truncated to. When the other
	// columns leave less room, lines cannot fit anyway and images are left whole.
	minImageWidth = 20
)

// ScanText writes one line per failing container of the reports, under a header:
// "namespace/pod  container  cause  confidence  image", aligned in columns. Images are
// shortened from the left (the tag is the end worth keeping) so that lines fit
// opts.Width, when the other columns leave room for at least 20 columns of image;
// otherwise they are left whole. A summary by cause follows: how many
// containers and pods fail for each cause, most containers first. Healthy reports are
// skipped; without failures it writes a single line saying so.
func ScanText(w io.Writer, reports []diagnosis.Report, opts TextOptions) error {
	p := newPrinter(opts)
	rows := scanRows(reports)
	if len(rows) == 0 {
		p.line(noFailures)
		return p.flush(w, "scan")
	}

	header := scanRow{pod: "POD", container: "CONTAINER", cause: "CAUSE", confidence: "CONFIDENCE", image: "IMAGE"}
	var widths [4]int
	for _, r := range append([]scanRow{header}, rows...) {
		c := r.cells()
		for i := range widths {
			widths[i] = max(widths[i], utf8.RuneCountInString(c[i]))
		}
	}
	used := 0
	for _, wd := range widths {
		used += wd + scanPadding
	}
	imageWidth := p.width - used

	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, scanPadding, ' ', 0)
	for _, r := range append([]scanRow{header}, rows...) {
		c := r.cells()
		if imageWidth >= minImageWidth {
			c[4] = truncateLeft(c[4], imageWidth)
		}
		fmt.Fprintln(tw, strings.Join(c[:], "\t"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write scan: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")
	p.line(p.label(lines[0]))
	for i, l := range lines[1:] {
		r := rows[i]
		// The cause starts after the padded pod and container cells.
		off := len(r.pod) + widths[0] - utf8.RuneCountInString(r.pod) + scanPadding +
			len(r.container) + widths[1] - utf8.RuneCountInString(r.container) + scanPadding
		p.line(p.paintAt(l, off, r.cause, ansiRed))
	}

	total, pods, byCause := diagnosis.SummarizeScan(diagnosis.ScanRows(reports))
	p.gap()
	p.line(plural(total, "failing container", "failing containers") + " in " + plural(pods, "pod", "pods") + ":")
	var sum strings.Builder
	tw = tabwriter.NewWriter(&sum, 0, 0, scanPadding, ' ', 0)
	for _, c := range byCause {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", string(c.Cause), plural(c.Containers, "container", "containers"), plural(c.Pods, "pod", "pods"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write scan: %w", err)
	}
	for i, l := range strings.Split(strings.TrimSuffix(sum.String(), "\n"), "\n") {
		p.line(p.paintAt(l, 2, string(byCause[i].Cause), ansiRed))
	}
	return p.flush(w, "scan")
}

// paintAt colours the text s found at byte offset off of line; the line is returned
// unchanged when s is not there.
func (p *printer) paintAt(line string, off int, s, code string) string {
	if !p.color || off > len(line) || !strings.HasPrefix(line[off:], s) {
		return line
	}
	return line[:off] + p.paint(code, s) + line[off+len(s):]
}

// ScanMarkdown writes the failing containers of the reports as a markdown table, then a
// summary table by cause, like ScanText without truncation.
func ScanMarkdown(w io.Writer, reports []diagnosis.Report) error {
	var m mdWriter
	rows := scanRows(reports)
	if len(rows) == 0 {
		m.block("No image-pull failures found.")
		return m.flush(w, "scan markdown")
	}

	lines := []string{"| Pod | Container | Cause | Confidence | Image |", "| --- | --- | --- | --- | --- |"}
	for _, r := range rows {
		lines = append(lines, "| "+strings.Join([]string{
			mdCell(r.pod), mdCell(r.container), mdCell(r.cause), mdText(r.confidence), mdCell(r.image),
		}, " | ")+" |")
	}
	m.block(lines...)

	total, pods, byCause := diagnosis.SummarizeScan(diagnosis.ScanRows(reports))
	m.block("**" + plural(total, "failing container", "failing containers") + " in " + plural(pods, "pod", "pods") + "**")
	lines = []string{"| Cause | Containers | Pods |", "| --- | ---: | ---: |"}
	for _, c := range byCause {
		lines = append(lines, "| "+mdCell(string(c.Cause))+" | "+strconv.Itoa(c.Containers)+" | "+strconv.Itoa(c.Pods)+" |")
	}
	m.block(lines...)
	return m.flush(w, "scan markdown")
}

// mdCell is s as a code span that is safe inside a table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdCode(s), "|", `\|`)
}

// scanRow is one failing container of a scan.
type scanRow struct {
	pod, container, cause, confidence, image string
}

func (r scanRow) cells() [5]string {
	return [5]string{r.pod, r.container, r.cause, r.confidence, r.image}
}

// scanRows maps the core's scan rows to display cells.
func scanRows(reports []diagnosis.Report) []scanRow {
	var rows []scanRow
	for _, r := range diagnosis.ScanRows(reports) {
		rows = append(rows, scanRow{
			pod:        r.Pod.String(),
			container:  orDash(r.Container),
			cause:      causeText(r.Cause),
			confidence: orDash(string(r.Confidence)),
			image:      orDash(r.Image),
		})
	}
	return rows
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

// truncateLeft shortens s to width runes by replacing its beginning with "...".
func truncateLeft(s string, width int) string {
	n := utf8.RuneCountInString(s)
	if n <= width || width <= 3 {
		return s
	}
	r := []rune(s)
	return "..." + string(r[n-(width-3):])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
