package handlers

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type goldenMessage struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

type golden struct {
	Main   goldenMessage   `json:"main"`
	Thread []goldenMessage `json:"thread,omitempty"`
}

// checkGolden compares the messages with testdata/name.golden.json, or rewrites it with
// -update, after checking every message is within Block Kit's limits.
func checkGolden(t *testing.T, name string, main message, thread []message) {
	t.Helper()
	checkLimits(t, name+" main", main)
	checkRoundTrip(t, name+" main", main)
	g := golden{Main: goldenMessage{main.Text, main.Blocks}}
	for i, m := range thread {
		checkLimits(t, fmt.Sprintf("%s thread %d", name, i+1), m)
		checkRoundTrip(t, fmt.Sprintf("%s thread %d", name, i+1), m)
		g.Thread = append(g.Thread, goldenMessage{m.Text, m.Blocks})
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g); err != nil {
		t.Fatal(err)
	}
	// slack-go's block marshalers escape <, > and & as \u003c…; undo that for readable diffs.
	got := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(b.String())
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./handlers -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s\nrun go test ./handlers -update if the change is intended", path, diff)
	}
}

// checkLimits fails when m breaks a Block Kit limit or a rule of ours: at most 50 blocks,
// section and context texts of at most 3000 characters, headers of at most 150, buttons
// with values of at most 2000 and unique action IDs, balanced code fences, whole escaped
// entities, and no mention or link that pullcheck did not write itself.
func checkLimits(t *testing.T, name string, m message) {
	t.Helper()
	if len(m.Blocks) == 0 || len(m.Blocks) > maxBlocks {
		t.Errorf("%s: %d blocks, want 1 to %d", name, len(m.Blocks), maxBlocks)
	}
	if m.Text == "" || runes(m.Text) > maxNotification {
		t.Errorf("%s: notification text of %d characters, want 1 to %d", name, runes(m.Text), maxNotification)
	}
	text := func(where string, o *slack.TextBlockObject, limit int) {
		t.Helper()
		if o == nil || o.Text == "" {
			t.Errorf("%s: %s has no text", name, where)
			return
		}
		if n := runes(o.Text); n > limit {
			t.Errorf("%s: %s text is %d characters, more than %d", name, where, n, limit)
		}
		if o.Type == slack.MarkdownType {
			if strings.Count(o.Text, "```")%2 != 0 {
				t.Errorf("%s: %s has unbalanced code fences:\n%.300s", name, where, o.Text)
			}
			if brokenEntity(o.Text) {
				t.Errorf("%s: %s cuts an escaped entity:\n%.300s", name, where, o.Text)
			}
			for _, bad := range []string{"<!here", "<!channel", "<!everyone", "<http", "<mailto"} {
				if strings.Contains(o.Text, bad) {
					t.Errorf("%s: %s contains %q", name, where, bad)
				}
			}
		}
	}
	blockIDs, actionIDs := map[string]bool{}, map[string]bool{}
	for i, b := range m.Blocks {
		where := fmt.Sprintf("block %d (%s)", i, b.BlockType())
		if id := b.ID(); id != "" {
			if blockIDs[id] || len(id) > 255 {
				t.Errorf("%s: %s: block_id %q repeated or too long", name, where, id)
			}
			blockIDs[id] = true
		}
		switch b := b.(type) {
		case *slack.HeaderBlock:
			if b.Text.Type != slack.PlainTextType {
				t.Errorf("%s: %s: header text is %s, want plain_text", name, where, b.Text.Type)
			}
			text(where, b.Text, maxHeaderText)
		case *slack.SectionBlock:
			text(where, b.Text, maxText)
			if len(b.Fields) > 10 {
				t.Errorf("%s: %s: %d fields", name, where, len(b.Fields))
			}
		case *slack.ContextBlock:
			if n := len(b.ContextElements.Elements); n == 0 || n > maxContextElements {
				t.Errorf("%s: %s: %d elements", name, where, n)
			}
			for _, e := range b.ContextElements.Elements {
				if o, ok := e.(*slack.TextBlockObject); ok {
					text(where, o, maxText)
				}
			}
		case *slack.ActionBlock:
			if n := len(b.Elements.ElementSet); n == 0 || n > 25 {
				t.Errorf("%s: %s: %d elements", name, where, n)
			}
			for _, e := range b.Elements.ElementSet {
				btn, ok := e.(*slack.ButtonBlockElement)
				if !ok {
					t.Errorf("%s: %s: unexpected element %T", name, where, e)
					continue
				}
				text(where+" button", btn.Text, maxButtonText)
				if len(btn.Value) > maxButtonValue {
					t.Errorf("%s: %s: button value is %d characters", name, where, len(btn.Value))
				}
				if actionIDs[btn.ActionID] || btn.ActionID == "" || len(btn.ActionID) > 255 {
					t.Errorf("%s: %s: action_id %q empty, repeated or too long", name, where, btn.ActionID)
				}
				actionIDs[btn.ActionID] = true
				if c := btn.Confirm; c != nil {
					text(where+" confirm title", c.Title, maxConfirmTitle)
					text(where+" confirm text", c.Text, maxConfirmText)
					text(where+" confirm button", c.Confirm, maxConfirmButton)
					text(where+" deny button", c.Deny, maxConfirmButton)
				}
			}
		case *slack.DividerBlock:
		default:
			t.Errorf("%s: %s: unexpected block type %T", name, where, b)
		}
	}
}

// checkRoundTrip checks that the blocks survive Slack's JSON both ways.
func checkRoundTrip(t *testing.T, name string, m message) {
	t.Helper()
	js, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatalf("%s: marshal blocks: %v", name, err)
	}
	var back slack.Blocks
	if err := json.Unmarshal(js, &back); err != nil || len(back.BlockSet) != len(m.Blocks) {
		t.Errorf("%s: blocks do not round-trip: %v (%d of %d)", name, err, len(back.BlockSet), len(m.Blocks))
	}
}

func testOfferView() *offerView {
	o := testOffer()
	o.PodUID = ""
	o.ID = "offer-1"
	return &offerView{token: "TOKEN", offer: o}
}

// testPullCheck is a PullCheck with the test configuration and no Slack.
func testPullCheck(restarter Restarter) *PullCheck {
	return New(testConfig(), Deps{Restarter: restarter, Now: func() time.Time { return testNow }})
}

func testConfig() Config {
	return Config{
		Cluster: "prod-eks",
		Channels: []ChannelRule{
			{Channel: "C0PAYMENTS", Namespaces: []string{"payments", "payments-*"}},
			{Channel: "#platform", Namespaces: []string{"*"}},
		},
		Approvers: []ApproverRule{
			{Namespaces: []string{"payments*"}, Approvers: []string{"U0ALICE", "S0PAYOPS"}},
		},
		TokenKey:       testKey,
		CommandTimeout: 30 * time.Second,
	}
}

func TestGoldenReports(t *testing.T) {
	p := testPullCheck(&fakeRestarter{})
	noOffer := func(r diagnosis.Report) string {
		ov, why := p.restartOffer(r, p.log)
		if ov != nil {
			t.Fatalf("restartOffer(%s) offered a restart", r.Pod)
		}
		return why
	}
	view := reportView{cluster: "prod-eks", now: testNow}
	withOffer := view
	withOffer.offer = testOfferView()
	tests := []struct {
		name   string
		report diagnosis.Report
		view   reportView
	}{
		{"report_credentials_offer", credentialsReport(), withOffer},
		{"report_tag_not_found_offer", tagNotFoundReport(), withOffer},
		{"report_mixed_no_offer", mixedReport(), reportView{cluster: "prod-eks", now: testNow, noOffer: noOffer(mixedReport())}},
		{"report_cronjob_no_offer", cronJobReport(), reportView{cluster: "prod-eks", now: testNow, noOffer: noOffer(cronJobReport())}},
		{"report_sandbox", sandboxReport(), withOffer},
		{"report_healthy", healthyReport(), view},
		{"report_long", longReport(), withOffer},
		{"report_bare", diagnosis.Report{Pod: diagnosis.PodRef{Namespace: "payments", Name: "api-0"}, Status: diagnosis.StatusFailing}, reportView{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main, thread := renderReport(tt.report, tt.view)
			checkGolden(t, tt.name, main, thread)
		})
	}
}

func TestGoldenOtherMessages(t *testing.T) {
	o := testOffer()
	o.ID = "offer-1"
	credMain, _ := renderReport(credentialsReport(), reportView{cluster: "prod-eks", now: testNow, offer: testOfferView()})
	newPod := tagNotFoundReport()
	newPod.Pod.Name = "payments-api-5c8d7f6b9-qq7lm"
	update := RolloutUpdate{Desired: 3, Updated: 1, Ready: 0, Message: `Waiting for deployment "payments-api" rollout to finish: 1 out of 3 new replicas have been updated...`,
		FailingPods: []diagnosis.PodRef{newPod.Pod}}
	tests := []struct {
		name   string
		render func() (message, []message)
	}{
		{"help", func() (message, []message) { return renderHelp([]string{"payments", "payments-*"}), nil }},
		{"help_all_namespaces", func() (message, []message) { return renderHelp([]string{"*"}), nil }},
		{"help_no_namespaces", func() (message, []message) { return renderHelp(nil), nil }},
		{"usage", func() (message, []message) {
			_, err := parseCommand("Payments/api-0")
			return renderUsage(":warning: " + err.(UserError).Public), nil
		}},
		{"refusal", func() (message, []message) {
			return renderRefusal("kube-system", []string{"payments", "payments-*"}), nil
		}},
		{"checking", func() (message, []message) {
			return renderChecking(request{kind: reqDiagnose, namespace: "payments", pod: apiPod}, "prod-eks"), nil
		}},
		{"scan", func() (message, []message) { return renderScan("payments", "prod-eks", scanReports(4), testNow) }},
		{"scan_empty", func() (message, []message) { return renderScan("payments", "prod-eks", nil, testNow) }},
		{"scan_long", func() (message, []message) { return renderScan("payments", "prod-eks", scanReports(400), testNow) }},
		{"approved", func() (message, []message) {
			return message{Text: credMain.Text, Blocks: approvedBlocks(credMain.Blocks, "U0ALICE", testNow.Add(3*time.Minute), o)}, nil
		}},
		{"approved_without_original", func() (message, []message) {
			return message{Text: "approved", Blocks: approvedBlocks(nil, "U0ALICE", testNow, o)}, nil
		}},
		{"rollout_start", func() (message, []message) {
			return renderRolloutStart(o, "U0ALICE", RestartResult{RestartedAt: testNow}, 10*time.Minute), nil
		}},
		{"rollout_progress", func() (message, []message) { return renderRolloutProgress(o, update), nil }},
		{"rollout_done", func() (message, []message) {
			return renderRolloutDone(o, RolloutUpdate{Done: true, Desired: 3, Updated: 3, Ready: 3}, 95*time.Second), nil
		}},
		{"rollout_timed_out", func() (message, []message) {
			return renderRolloutTimedOut(o, RolloutUpdate{TimedOut: true, Desired: 3, Updated: 1, Ready: 0, Message: update.Message}, 10*time.Minute), nil
		}},
		{"rollout_new_failure", func() (message, []message) {
			return renderRolloutFailure(o, update, newPod.Pod, &newPod, "", "prod-eks", testNow)
		}},
		{"rollout_new_failure_undiagnosed", func() (message, []message) {
			return renderRolloutFailure(o, update, newPod.Pod, nil, "It could not be diagnosed: internal error (ref 0a1b2c3d4e)", "prod-eks", testNow)
		}},
		{"rollout_lost", func() (message, []message) { return renderRolloutLost(o, "pullcheck is shutting down."), nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main, thread := tt.render()
			checkGolden(t, tt.name, main, thread)
		})
	}
}

// TestLongReportSplits: a report too long for one message keeps the main message within the
// limits, marks what it shortened with "…", and puts every evidence line, every container
// and every skipped check in the thread.
func TestLongReportSplits(t *testing.T) {
	r := longReport()
	main, thread := renderReport(r, reportView{cluster: "prod-eks", now: testNow, offer: testOfferView()})
	checkLimits(t, "main", main)
	if len(thread) == 0 {
		t.Fatal("a long report has no thread")
	}
	mainText := messageText(main)
	if !strings.Contains(mainText, ellipsis) {
		t.Error("the main message shortened nothing visibly (no …)")
	}
	if !strings.Contains(mainText, "in the thread") {
		t.Error("the main message does not point to the thread")
	}
	var threadText strings.Builder
	for i, m := range thread {
		checkLimits(t, fmt.Sprintf("thread %d", i+1), m)
		threadText.WriteString(messageText(m))
	}
	for _, f := range r.Findings {
		for _, e := range f.Evidence {
			if !strings.Contains(threadText.String(), esc(oneLine(e))) {
				t.Errorf("evidence of %s missing from the thread: %.60s…", f.Container, e)
			}
		}
		if !strings.Contains(mainText+threadText.String(), "`"+f.Container+"`") {
			t.Errorf("container %s is in neither message", f.Container)
		}
	}
	for _, s := range r.Skipped {
		if !strings.Contains(threadText.String(), s.Check) {
			t.Errorf("skipped check %s missing from the thread", s.Check)
		}
	}
	// The button stays in the main message.
	if !strings.Contains(mainText, "TOKEN") {
		t.Error("the restart button is not in the main message")
	}
}

// TestRenderedWithinLimits renders random reports, from empty to absurdly large, and checks
// every message against the limits.
func TestRenderedWithinLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 -_/:.&<>`*~\"'\n"
		b := make([]rune, n)
		for i := range b {
			b[i] = rune(alphabet[rng.IntN(len(alphabet))])
		}
		return string(b) + "é✓"
	}
	for i := range 60 {
		r := diagnosis.Report{
			Pod:      diagnosis.PodRef{Namespace: "payments", Name: strings.Repeat("p", 1+rng.IntN(253))},
			Status:   diagnosis.StatusFailing,
			Cause:    diagnosis.CauseTagNotFound,
			Workload: &diagnosis.Workload{Kind: "Deployment", Name: strings.Repeat("w", 1+rng.IntN(253))},
		}
		for range rng.IntN(14) {
			f := diagnosis.Finding{Container: word(1 + rng.IntN(60)), Image: word(rng.IntN(400)), Cause: diagnosis.CauseTagNotFound,
				Confidence: diagnosis.Likely, Summary: word(rng.IntN(6000)), Verify: word(rng.IntN(5000)),
				RestartHelps: diagnosis.RestartAdvice{Helps: true, Reason: word(rng.IntN(4000))}}
			for range rng.IntN(25) {
				f.Evidence = append(f.Evidence, word(rng.IntN(3500)))
			}
			for range rng.IntN(8) {
				fix := diagnosis.Fix{Title: word(rng.IntN(500))}
				for range rng.IntN(5) {
					fix.Commands = append(fix.Commands, word(rng.IntN(5000)))
				}
				f.Fixes = append(f.Fixes, fix)
			}
			for range rng.IntN(6) {
				f.Notes = append(f.Notes, word(rng.IntN(2000)))
			}
			r.Findings = append(r.Findings, f)
		}
		for range rng.IntN(30) {
			r.Skipped = append(r.Skipped, diagnosis.Skip{Check: word(20), Reason: word(rng.IntN(400)), Needs: word(rng.IntN(200))})
		}
		o := testOfferView()
		o.offer.Name = r.Workload.Name
		o.offer.Pod = r.Pod.Name
		main, thread := renderReport(r, reportView{cluster: strings.Repeat("c", 100), now: testNow, offer: o})
		checkLimits(t, fmt.Sprintf("report %d main", i), main)
		for j, m := range thread {
			checkLimits(t, fmt.Sprintf("report %d thread %d", i, j+1), m)
		}
		approved := message{Text: "x", Blocks: approvedBlocks(main.Blocks, "U0ALICE", testNow, o.offer)}
		checkLimits(t, fmt.Sprintf("report %d approved", i), approved)
		fm, ft := renderRolloutFailure(o.offer, RolloutUpdate{Message: word(rng.IntN(5000))}, r.Pod, &r, "", "prod-eks", testNow)
		checkLimits(t, fmt.Sprintf("report %d failure", i), fm)
		for j, m := range ft {
			checkLimits(t, fmt.Sprintf("report %d failure thread %d", i, j+1), m)
		}
	}
}

func TestSplitMrkdwn(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		limit int
	}{
		{"short", "hello", 100},
		{"lines", strings.Repeat("line of text\n", 50), 100},
		{"code block", "*Fix*\n```\n" + strings.Repeat("kubectl get pods\n", 40) + "```\nafter", 120},
		{"one long line", strings.Repeat("x", 1000), 100},
		{"long line in code", "```\n" + strings.Repeat("y", 500) + "\n```", 100},
		{"unicode", strings.Repeat("✓é", 300), 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := splitMrkdwn(tt.text, tt.limit)
			var joined strings.Builder
			for i, p := range parts {
				if n := runes(p); n > tt.limit {
					t.Errorf("part %d is %d characters, more than %d", i, n, tt.limit)
				}
				if strings.Count(p, "```")%2 != 0 {
					t.Errorf("part %d has unbalanced fences: %q", i, p)
				}
				joined.WriteString(strings.ReplaceAll(p, "```", ""))
			}
			// Nothing is lost: every non-fence character is still there, in order.
			strip := func(s string) string {
				return strings.NewReplacer("```", "", "\n", "").Replace(s)
			}
			if got, want := strip(joined.String()), strip(tt.text); got != want {
				t.Errorf("split lost text: got %d characters, want %d", len(got), len(want))
			}
		})
	}
}

// TestSplitMrkdwnRandom splits random code blocks full of backticks and escaped entities:
// every piece fits, has balanced fences and whole entities.
func TestSplitMrkdwnRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	const alphabet = "abc &<>`\n"
	for i := range 3000 {
		var cmds []string
		for range rng.IntN(5) {
			b := make([]byte, rng.IntN(3000))
			for j := range b {
				b[j] = alphabet[rng.IntN(len(alphabet))]
			}
			cmds = append(cmds, string(b))
		}
		text := "*Fix:* " + esc(oneLine(string(rune('a'+i%26)))) + "\n" + codeBlock(cmds...)
		for _, p := range splitMrkdwn(text, 300) {
			if strings.Count(p, "```")%2 != 0 || runes(p) > 300 {
				t.Fatalf("case %d: bad piece (%d characters): %q", i, runes(p), p)
			}
			if brokenEntity(p) {
				t.Fatalf("case %d: piece cuts an entity: %q", i, p)
			}
		}
	}
}

// brokenEntity reports an & that does not start &amp; &lt; or &gt;.
func brokenEntity(s string) bool {
	for i := strings.IndexByte(s, '&'); i >= 0; i = strings.IndexByte(s, '&') {
		rest := s[i:]
		if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
			return true
		}
		s = rest[1:]
	}
	return false
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"a longer text here", 10, "a longer…"},
		{"a &amp; b &lt;c&gt;", 5, "a…"},
		{"a &amp; b", 6, "a &amp;…"[:0] + "a…"},
		{"✓✓✓✓✓✓", 4, "✓✓✓…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
		if got := truncate(tt.in, tt.n); runes(got) > tt.n {
			t.Errorf("truncate(%q, %d) = %q is too long", tt.in, tt.n, got)
		}
	}
}

// messageText is every text of a message, for containment checks.
func messageText(m message) string {
	js, _ := json.Marshal(m.Blocks)
	c := slackfake.Call{Text: m.Text, Blocks: string(js)}
	return c.AllText()
}
