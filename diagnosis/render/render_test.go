package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pullcheck/pullcheck/diagnosis"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/name.golden, or rewrites the file with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s\nrun go test ./diagnosis/render/ -update if the change is intended", path, diff)
	}
}

func render(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, fx := range fixtures() {
		r := fx.report
		t.Run("text_"+fx.name, func(t *testing.T) {
			checkGolden(t, "text_"+fx.name, render(t, func(b *bytes.Buffer) error { return Text(b, r, TextOptions{}) }))
		})
		t.Run("md_"+fx.name, func(t *testing.T) {
			checkGolden(t, "md_"+fx.name, render(t, func(b *bytes.Buffer) error { return Markdown(b, r) }))
		})
		t.Run("json_"+fx.name, func(t *testing.T) {
			checkGolden(t, "json_"+fx.name, render(t, func(b *bytes.Buffer) error { return JSON(b, r) }))
		})
	}

	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"text_failing_color", func(b *bytes.Buffer) error { return Text(b, failingReport(), TextOptions{Color: true}) }},
		{"text_healthy_color", func(b *bytes.Buffer) error { return Text(b, healthyReport(), TextOptions{Color: true}) }},
		{"text_failing_width60", func(b *bytes.Buffer) error { return Text(b, failingReport(), TextOptions{Width: 60}) }},
		{"json_list", func(b *bytes.Buffer) error { return JSONList(b, scanReports()) }},
		{"json_list_empty", func(b *bytes.Buffer) error { return JSONList(b, nil) }},
		{"scan_text", func(b *bytes.Buffer) error { return ScanText(b, scanReports(), TextOptions{}) }},
		{"scan_text_color", func(b *bytes.Buffer) error { return ScanText(b, scanReports(), TextOptions{Color: true}) }},
		{"scan_text_width120", func(b *bytes.Buffer) error { return ScanText(b, scanReports(), TextOptions{Width: 120}) }},
		{"scan_text_empty", func(b *bytes.Buffer) error { return ScanText(b, []diagnosis.Report{healthyReport()}, TextOptions{}) }},
		{"scan_md", func(b *bytes.Buffer) error { return ScanMarkdown(b, scanReports()) }},
		{"scan_md_empty", func(b *bytes.Buffer) error { return ScanMarkdown(b, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkGolden(t, tt.name, render(t, tt.render))
		})
	}
}

// textOutputs renders every fixture and the scan as text with the given options.
func textOutputs(t *testing.T, opts TextOptions) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, fx := range fixtures() {
		out[fx.name] = string(render(t, func(b *bytes.Buffer) error { return Text(b, fx.report, opts) }))
	}
	out["scan"] = string(render(t, func(b *bytes.Buffer) error { return ScanText(b, scanReports(), opts) }))
	out["scan-empty"] = string(render(t, func(b *bytes.Buffer) error { return ScanText(b, nil, opts) }))
	return out
}

func TestTextNoANSIWithoutColor(t *testing.T) {
	for _, width := range []int{0, 60, 120} {
		for name, out := range textOutputs(t, TextOptions{Width: width}) {
			if i := strings.IndexByte(out, 0x1b); i >= 0 {
				t.Errorf("%s (width %d): escape character at byte %d without Color:\n%s", name, width, i, out)
			}
		}
	}
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// Colour must change nothing but the escape codes: the layout is computed on the visible text.
func TestTextColorOnlyAddsEscapes(t *testing.T) {
	plain := textOutputs(t, TextOptions{})
	for name, out := range textOutputs(t, TextOptions{Color: true}) {
		if diff := cmp.Diff(plain[name], ansiRE.ReplaceAllString(out, "")); diff != "" {
			t.Errorf("%s: coloured output without escapes differs from plain output (-plain +stripped):\n%s", name, diff)
		}
	}
}

func TestTextColorOfCause(t *testing.T) {
	tests := []struct {
		name   string
		report diagnosis.Report
		want   string
	}{
		{"failing is red", failingReport(), ansiRed + "tag-not-found" + ansiReset},
		{"healthy is green", healthyReport(), ansiGreen + "healthy" + ansiReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(render(t, func(b *bytes.Buffer) error { return Text(b, tt.report, TextOptions{Color: true}) }))
			first, _, _ := strings.Cut(out, "\n")
			if !strings.Contains(first, tt.want) {
				t.Errorf("first line = %q, want it to contain %q", first, tt.want)
			}
		})
	}
	out := string(render(t, func(b *bytes.Buffer) error { return Text(b, failingReport(), TextOptions{Color: true}) }))
	if !strings.Contains(out, ansiDim+"Evidence:"+ansiReset) {
		t.Errorf("the Evidence label is not dim:\n%s", out)
	}
}

func TestHealthyTextIsOneLine(t *testing.T) {
	out := string(render(t, func(b *bytes.Buffer) error { return Text(b, healthyReport(), TextOptions{}) }))
	want := "payments/web-6b8d9c7f5-q4w2e: healthy, no image-pull problem found\n"
	if out != want {
		t.Errorf("Text(healthy) = %q, want %q", out, want)
	}
}

// commandLines returns the lines Text writes for the commands of r, which are exempt from
// the width limit.
func commandLines(r diagnosis.Report) map[string]bool {
	lines := map[string]bool{}
	add := func(cmd string) {
		for i, l := range strings.Split(cmd, "\n") {
			if i == 0 {
				lines[commandPrefix+l] = true
			} else {
				lines[commandIndent+l] = true
			}
		}
	}
	for _, f := range r.Findings {
		for _, fix := range f.Fixes {
			for _, c := range fix.Commands {
				add(c)
			}
		}
		add(f.Verify)
	}
	return lines
}

// labelRE matches what may precede an unbreakable token on an overlong line: a bullet or
// a field label.
var labelRE = regexp.MustCompile(`^(- |Fix( \d+)?: |[A-Z][a-z]+( [a-z]+)*: +)`)

func TestTextFitsWidth(t *testing.T) {
	for _, width := range []int{80, 60, 100} {
		for _, fx := range fixtures() {
			out := string(render(t, func(b *bytes.Buffer) error { return Text(b, fx.report, TextOptions{Width: width}) }))
			cmds := commandLines(fx.report)
			for i, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if cmds[l] || visibleWidth(l) <= width {
					continue
				}
				// Prose breaks only at spaces: an overlong line must be one token after
				// its indentation and label.
				rest := labelRE.ReplaceAllString(strings.TrimLeft(l, " "), "")
				if len(strings.Fields(rest)) != 1 {
					t.Errorf("%s, width %d, line %d has %d columns and could have been wrapped:\n%s",
						fx.name, width, i+1, visibleWidth(l), l)
				}
			}
		}
	}
}

func TestTextCommandsVerbatim(t *testing.T) {
	for _, fx := range fixtures() {
		out := string(render(t, func(b *bytes.Buffer) error { return Text(b, fx.report, TextOptions{Width: 40, Color: true}) }))
		for _, f := range fx.report.Findings {
			cmds := []string{f.Verify}
			for _, fix := range f.Fixes {
				cmds = append(cmds, fix.Commands...)
			}
			for _, c := range cmds {
				if c == "" {
					continue
				}
				want := "\n" + commandPrefix + strings.ReplaceAll(c, "\n", "\n"+commandIndent) + "\n"
				if !strings.Contains(out, want) {
					t.Errorf("%s: command not printed verbatim; want %q in:\n%s", fx.name, want, out)
				}
			}
		}
	}
}

func TestMarkdownCommandsInFences(t *testing.T) {
	for _, fx := range fixtures() {
		out := string(render(t, func(b *bytes.Buffer) error { return Markdown(b, fx.report) }))
		for _, f := range fx.report.Findings {
			if f.Verify != "" && !strings.Contains(out, "```sh\n"+f.Verify+"\n```\n") {
				t.Errorf("%s: verify command %q not in its own sh block:\n%s", fx.name, f.Verify, out)
			}
			for _, fix := range f.Fixes {
				if len(fix.Commands) == 0 {
					continue
				}
				want := "```sh\n" + strings.Join(fix.Commands, "\n") + "\n```\n"
				if !strings.Contains(out, want) {
					t.Errorf("%s: fix %q: want block %q in:\n%s", fx.name, fix.Title, want, out)
				}
			}
		}
	}
}

func TestMarkdownFenceLongerThanBackticks(t *testing.T) {
	r := sparseReport()
	r.Findings[0].Fixes[0].Commands = []string{"printf '```\\n' > fence.md"}
	out := string(render(t, func(b *bytes.Buffer) error { return Markdown(b, r) }))
	want := "````sh\nprintf '```\\n' > fence.md\n````\n"
	if !strings.Contains(out, want) {
		t.Errorf("Markdown = \n%s\nwant it to contain\n%s", out, want)
	}
}

func TestJSONContract(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			var got map[string]any
			if err := json.Unmarshal(render(t, func(b *bytes.Buffer) error { return JSON(b, fx.report) }), &got); err != nil {
				t.Fatal(err)
			}
			requireKeys(t, "report", got, "pod", "status", "cause", "findings")
			requireKeys(t, "pod", got["pod"], "namespace", "name")
			if got["status"] == diagnosis.StatusHealthy && got["cause"] != "none" {
				t.Errorf("healthy report: cause = %v, want none", got["cause"])
			}
			findings, ok := got["findings"].([]any)
			if !ok {
				t.Fatalf("findings = %#v, want a list", got["findings"])
			}
			for _, f := range findings {
				requireKeys(t, "finding", f, "container", "container_kind", "image", "cause", "confidence",
					"summary", "evidence", "fixes", "verify", "restart_helps", "check")
				m := f.(map[string]any)
				requireKeys(t, "restart_helps", m["restart_helps"], "helps", "reason")
				requireList(t, "evidence", m["evidence"])
				for _, fix := range requireList(t, "fixes", m["fixes"]) {
					requireKeys(t, "fix", fix, "title", "commands")
					requireList(t, "commands", fix.(map[string]any)["commands"])
				}
			}
		})
	}
}

func requireKeys(t *testing.T, what string, v any, keys ...string) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s = %#v, want an object", what, v)
		return
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s has no key %q: %v", what, k, m)
		}
	}
}

func requireList(t *testing.T, what string, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Errorf("%s = %#v, want a list", what, v)
	}
	return l
}

func TestJSONEmptyListsAreNotNull(t *testing.T) {
	tests := []struct {
		name   string
		report diagnosis.Report
		want   []string
	}{
		{"no findings", healthyReport(), []string{`"findings": []`}},
		{"nil finding lists", sparseReport(), []string{`"evidence": []`, `"commands": []`}},
		{"nil fixes", func() diagnosis.Report {
			r := sparseReport()
			r.Findings[0].Fixes = nil
			return r
		}(), []string{`"fixes": []`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(render(t, func(b *bytes.Buffer) error { return JSON(b, tt.report) }))
			if strings.Contains(out, "null") {
				t.Errorf("JSON contains null:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("JSON does not contain %s:\n%s", w, out)
				}
			}
		})
	}
}

// Rendering must not touch the caller's report: nil slices stay nil.
func TestRenderDoesNotModifyReport(t *testing.T) {
	writers := map[string]func(*bytes.Buffer, diagnosis.Report) error{
		"json":     func(b *bytes.Buffer, r diagnosis.Report) error { return JSON(b, r) },
		"markdown": func(b *bytes.Buffer, r diagnosis.Report) error { return Markdown(b, r) },
		"text":     func(b *bytes.Buffer, r diagnosis.Report) error { return Text(b, r, TextOptions{}) },
		"jsonlist": func(b *bytes.Buffer, r diagnosis.Report) error { return JSONList(b, []diagnosis.Report{r}) },
	}
	for wname, write := range writers {
		for i, fx := range fixtures() {
			r := fx.report
			if err := write(&bytes.Buffer{}, r); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fixtures()[i].report, r); diff != "" {
				t.Errorf("%s(%s) modified the report (-want +got):\n%s", wname, fx.name, diff)
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.name, func(t *testing.T) {
			var got diagnosis.Report
			if err := json.Unmarshal(render(t, func(b *bytes.Buffer) error { return JSON(b, fx.report) }), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fx.report, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("JSON round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJSONHealthyWithoutCauseSaysNone(t *testing.T) {
	r := healthyReport()
	r.Cause = ""
	var got diagnosis.Report
	if err := json.Unmarshal(render(t, func(b *bytes.Buffer) error { return JSON(b, r) }), &got); err != nil {
		t.Fatal(err)
	}
	if got.Cause != diagnosis.CauseNone {
		t.Errorf("cause = %q, want %q", got.Cause, diagnosis.CauseNone)
	}
}

func TestJSONListEmpty(t *testing.T) {
	for _, in := range [][]diagnosis.Report{nil, {}} {
		if got := string(render(t, func(b *bytes.Buffer) error { return JSONList(b, in) })); got != "[]\n" {
			t.Errorf("JSONList(%#v) = %q, want %q", in, got, "[]\n")
		}
	}
}

func TestScanTextFitsWidth(t *testing.T) {
	short := failingReport()
	short.Pod = diagnosis.PodRef{Namespace: "pay", Name: "api-7d9f"}
	tests := []struct {
		name    string
		reports []diagnosis.Report
		width   int
	}{
		{"short names", []diagnosis.Report{short}, 80},
		{"short names wide", []diagnosis.Report{short}, 100},
		{"long names", scanReports(), 120},
		{"long names wide", scanReports(), 140},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := string(render(t, func(b *bytes.Buffer) error { return ScanText(b, tt.reports, TextOptions{Width: tt.width}) }))
			for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if visibleWidth(l) > tt.width {
					t.Errorf("width %d: line has %d columns: %q", tt.width, visibleWidth(l), l)
				}
			}
			if !strings.Contains(out, "payments/api:1.8.2\n") {
				t.Errorf("the image lost its tag:\n%s", out)
			}
		})
	}
}

func TestScanTextTruncatesImageFromTheLeft(t *testing.T) {
	short := failingReport()
	short.Pod = diagnosis.PodRef{Namespace: "pay", Name: "api-7d9f"}
	out := string(render(t, func(b *bytes.Buffer) error { return ScanText(b, []diagnosis.Report{short}, TextOptions{Width: 80}) }))
	// The pod, container, cause and confidence columns take 12+15+13+10 columns plus
	// 4*2 of padding, which leaves 80-58 = 22 for the image.
	if want := " ..." + apiImage[len(apiImage)-19:] + "\n"; !strings.Contains(out, want) {
		t.Errorf("want the image shortened to %q, got:\n%s", want, out)
	}
	// When the other columns leave less than minImageWidth, lines cannot fit: the
	// images are left whole rather than cut for nothing.
	out = string(render(t, func(b *bytes.Buffer) error { return ScanText(b, scanReports(), TextOptions{Width: 80}) }))
	if want := " " + apiImage + "\n"; !strings.Contains(out, want) {
		t.Errorf("want the whole image %q, got:\n%s", apiImage, out)
	}
}

func TestScanTextEmpty(t *testing.T) {
	for _, in := range [][]diagnosis.Report{nil, {healthyReport()}} {
		got := string(render(t, func(b *bytes.Buffer) error { return ScanText(b, in, TextOptions{}) }))
		if got != noFailures+"\n" {
			t.Errorf("ScanText(%d healthy) = %q, want %q", len(in), got, noFailures+"\n")
		}
	}
}

func TestScanRowsKeepsFailingReportWithoutFindings(t *testing.T) {
	r := diagnosis.Report{Pod: diagnosis.PodRef{Namespace: "ns", Name: "p"}, Status: diagnosis.StatusFailing}
	got := scanRows([]diagnosis.Report{r, healthyReport()})
	want := []scanRow{{pod: "ns/p", container: "-", cause: "unknown", confidence: "-", image: "-"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(scanRow{})); diff != "" {
		t.Errorf("scanRows (-want +got):\n%s", diff)
	}
}

func TestWrapWords(t *testing.T) {
	tests := []struct {
		name               string
		text               string
		width, first, rest int
		want               []string
	}{
		{"empty", "", 20, 0, 0, []string{""}},
		{"fits", "a b c", 20, 0, 0, []string{"a b c"}},
		{"exact", "aaaa bbbb", 9, 0, 0, []string{"aaaa bbbb"}},
		{"breaks at space", "aaaa bbbb", 8, 0, 0, []string{"aaaa", "bbbb"}},
		{"prefix widths count", "aa bb cc", 10, 4, 6, []string{"aa bb", "cc"}},
		{"long token alone", "see https://example.com/a/very/long/path now", 16, 2, 2,
			[]string{"see", "https://example.com/a/very/long/path", "now"}},
		{"long first token", "https://example.com/a/very/long/path x", 10, 0, 0,
			[]string{"https://example.com/a/very/long/path", "x"}},
		{"collapses whitespace", "a \n\t b", 20, 0, 0, []string{"a b"}},
		{"counts runes", "ééé ééé", 7, 0, 0, []string{"ééé ééé"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrapWords(words(tt.text), tt.width, tt.first, tt.rest)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("wrapWords(%q, %d, %d, %d) (-want +got):\n%s", tt.text, tt.width, tt.first, tt.rest, diff)
			}
		})
	}
}

func TestMarkdownEscaping(t *testing.T) {
	tests := []struct {
		name, in, want string
		f              func(string) string
	}{
		{"emphasis and html", "a *b* _c_ <ref>", `a \*b\* \_c\_ \<ref\>`, mdText},
		{"table pipe", "a | b", `a \| b`, mdText},
		{"heading start", "# not a heading", `\# not a heading`, mdText},
		{"list start", "- item", `\- item`, mdText},
		{"ordered list start", "1. one", `1\. one`, mdText},
		{"inner hash", "issue #12", "issue #12", mdText},
		{"newlines", "a\n\nb", "a b", mdText},
		{"code", "payments/api", "`payments/api`", mdCode},
		{"code with backticks", "a `b` c", "``a `b` c``", mdCode},
		{"code starting with backtick", "`x", "`` `x ``", mdCode},
		{"empty code", "", "", mdCode},
		{"cell pipe", "a|b", "`a\\|b`", mdCell},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestVisibleWidth(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"abc", 3},
		{ansiRed + "abc" + ansiReset, 3},
		{"  " + ansiDim + "Image:" + ansiReset + " x", 10},
		{"é…", 2},
	}
	for _, tt := range tests {
		if got := visibleWidth(tt.in); got != tt.want {
			t.Errorf("visibleWidth(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrorsAreReturned(t *testing.T) {
	calls := map[string]func() error{
		"JSON":         func() error { return JSON(failingWriter{}, failingReport()) },
		"JSONList":     func() error { return JSONList(failingWriter{}, nil) },
		"Text":         func() error { return Text(failingWriter{}, failingReport(), TextOptions{}) },
		"Markdown":     func() error { return Markdown(failingWriter{}, failingReport()) },
		"ScanText":     func() error { return ScanText(failingWriter{}, scanReports(), TextOptions{}) },
		"ScanMarkdown": func() error { return ScanMarkdown(failingWriter{}, scanReports()) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, errWrite) {
			t.Errorf("%s to a failing writer: err = %v, want %v", name, err, errWrite)
		}
	}
}
