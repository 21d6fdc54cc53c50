package alerts

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
	"github.com/pullcheck/pullcheck/handlers/incident"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var testNow = time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)

func testIncident() incident.Incident {
	k := incident.Key{Namespace: "payments", Kind: "Deployment", Name: "payments-api", Cause: diagnosis.CauseTagNotFound}
	return incident.Incident{
		Key: k, Cause: k.Cause,
		FirstSeen: testNow.Add(-5 * time.Minute), LastSeen: testNow, FiredAt: testNow.Add(-3 * time.Minute),
		Pods:    []string{"payments-api-6f7d9c8b5-a", "payments-api-6f7d9c8b5-b", "payments-api-6f7d9c8b5-c", "payments-api-6f7d9c8b5-d", "payments-api-6f7d9c8b5-e", "payments-api-6f7d9c8b5-f", "payments-api-6f7d9c8b5-g"},
		Summary: "Tag v1.4.2 does not exist in 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api <latest is v1.4.1>",
		Fired:   true,
	}
}

func testFinding() *diagnosis.Finding {
	return &diagnosis.Finding{
		Container: "api", Image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v1.4.2",
		Cause: diagnosis.CauseTagNotFound, Confidence: diagnosis.Likely,
		Summary: "Tag v1.4.2 does not exist in 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api <latest is v1.4.1>",
		Evidence: []string{
			`kubelet: Failed to pull image "…:v1.4.2": not found`,
			"ecr:DescribeImages imageTag=v1.4.2: ImageNotFoundException",
			"latest pushed tag: v1.4.1 (2026-03-03)",
			"a fourth line that does not fit in the alert",
		},
		Fixes: []diagnosis.Fix{
			{Title: "Push the missing tag", Commands: []string{"docker push 123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v1.4.2"}},
			{Title: "Or roll back to the latest tag", Commands: []string{"kubectl -n payments set image deployment/payments-api api=123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments-api:v1.4.1"}},
		},
		Verify:       "aws ecr describe-images --repository-name payments-api --image-ids imageTag=v1.4.2",
		RestartHelps: diagnosis.RestartAdvice{Helps: true, Reason: "the kubelet backs off for up to 5 minutes; a restart retries at once"},
	}
}

func testOffer() []slack.Block {
	btn := slack.NewButtonBlockElement("pullcheck_restart", "token", slack.NewTextBlockObject(slack.PlainTextType, "Restart Deployment/payments-api", true, false))
	return []slack.Block{
		slack.NewSectionBlock(mrkdwn(":arrows_counterclockwise: *Restart from Slack:* once the fix is in, an approver can restart it."), nil, nil, slack.SectionBlockOptionBlockID("pullcheck_restart_offer")),
		slack.NewActionBlock("pullcheck_restart", btn),
	}
}

type msg struct {
	Text   string        `json:"text"`
	Blocks []slack.Block `json:"blocks"`
}

func TestGolden(t *testing.T) {
	inc := testIncident()
	prev := inc
	prev.Key.Cause, prev.Cause = diagnosis.CauseRegistryCredentials, diagnosis.CauseRegistryCredentials
	changed := inc
	changed.FiredAt = testNow.Add(-time.Minute)
	resolved := inc
	resolved.ResolvedAt = testNow.Add(90 * time.Minute)
	resolved.Pods = nil
	remind := inc
	remind.Pods = inc.Pods[:2]
	onePod := inc
	onePod.Key.Kind, onePod.Key.Name, onePod.Pods = incident.KindPod, "debug", []string{"debug"}
	onePod.Summary = ""

	render := func(b []slack.Block, text string) msg { return msg{text, b} }
	cases := map[string]msg{
		"fire":           render(Alert("prod-eks", incident.Action{Kind: incident.Fire, Incident: inc}, testFinding(), testOffer(), testNow)),
		"fire-no-fix":    render(Alert("", incident.Action{Kind: incident.Fire, Incident: onePod}, nil, nil, testNow)),
		"update":         render(Alert("prod-eks", incident.Action{Kind: incident.Update, Incident: changed, Previous: &prev}, testFinding(), nil, testNow)),
		"resolved":       render(Resolved("prod-eks", incident.Action{Kind: incident.Resolve, Incident: resolved})),
		"thread-update":  render(ThreadUpdate(incident.Action{Kind: incident.Update, Incident: changed, Previous: &prev})),
		"thread-remind":  render(ThreadUpdate(incident.Action{Kind: incident.Remind, Incident: remind})),
		"thread-resolve": render(ThreadUpdate(incident.Action{Kind: incident.Resolve, Incident: resolved})),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			checkLimits(t, name, m)
			checkGolden(t, name, m)
		})
	}
}

func TestThreadUpdateFire(t *testing.T) {
	if b, text := ThreadUpdate(incident.Action{Kind: incident.Fire, Incident: testIncident()}); b != nil || text != "" {
		t.Errorf("ThreadUpdate(fire) = %v, %q; want nothing", b, text)
	}
}

func TestAlertParts(t *testing.T) {
	blocks, text := Alert("prod-eks", incident.Action{Kind: incident.Fire, Incident: testIncident()}, testFinding(), testOffer(), testNow)
	all := allText(blocks)
	for _, want := range []string{"`prod-eks`", "Deployment/payments-api", "`payments`", "`tag-not-found`", "*First seen* <!date^",
		"*Pods affected* 7: `payments-api-6f7d9c8b5-a`", "and 2 more", "*Key evidence*", "ImageNotFoundException", "```\ndocker push", "*Verify*",
		"&lt;latest is v1.4.1&gt;"} {
		if !strings.Contains(all, want) {
			t.Errorf("alert lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "a fourth line") {
		t.Errorf("alert shows more than %d evidence lines", shownEvidence)
	}
	if got := blocks[len(blocks)-2].ID(); got != "pullcheck_restart" {
		t.Errorf("the offer's button is not before the footer: block %q", got)
	}
	if want := "Deployment/payments-api in payments cannot pull its image: tag-not-found (cluster prod-eks)"; text != want {
		t.Errorf("text = %q, want %q", text, want)
	}
	res, _ := Resolved("prod-eks", incident.Action{Kind: incident.Resolve, Incident: testIncident()})
	if strings.Contains(allText(res), "Restart") || strings.Contains(allText(res), "<!date^0") {
		t.Errorf("resolved message keeps the offer or shows a zero time:\n%s", allText(res))
	}
}

func allText(blocks []slack.Block) string {
	b, _ := json.Marshal(blocks)
	var v any
	_ = json.Unmarshal(b, &v)
	var out []string
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				out = append(out, s)
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}

// TestWithinLimits renders messages from large, hostile input and checks every one.
func TestWithinLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	word := func(n int) string {
		const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 -_/:.&<>`*~\"'\n"
		b := make([]rune, n)
		for i := range b {
			b[i] = rune(alphabet[rng.IntN(len(alphabet))])
		}
		return string(b) + "é✓"
	}
	for i := range 80 {
		inc := testIncident()
		inc.Key.Name = strings.Repeat("w", 1+rng.IntN(253))
		inc.Key.Namespace = strings.Repeat("n", 1+rng.IntN(63))
		inc.Summary = word(rng.IntN(6000))
		inc.Pods = nil
		for range rng.IntN(500) {
			inc.Pods = append(inc.Pods, word(1+rng.IntN(253)))
		}
		inc.ResolvedAt = testNow
		f := &diagnosis.Finding{Container: word(rng.IntN(60)), Image: word(rng.IntN(600)), Summary: word(rng.IntN(6000)), Verify: word(rng.IntN(5000)),
			Confidence: diagnosis.Likely, RestartHelps: diagnosis.RestartAdvice{Helps: rng.IntN(2) == 0, Reason: word(rng.IntN(4000))}}
		for range rng.IntN(25) {
			f.Evidence = append(f.Evidence, word(rng.IntN(3500)))
		}
		for range rng.IntN(30) {
			fix := diagnosis.Fix{Title: word(rng.IntN(800))}
			for range rng.IntN(5) {
				fix.Commands = append(fix.Commands, word(rng.IntN(5000)))
			}
			f.Fixes = append(f.Fixes, fix)
		}
		if rng.IntN(5) == 0 {
			f = nil
		}
		var offer []slack.Block
		if rng.IntN(2) == 0 {
			offer = testOffer()
		}
		prev := inc
		prev.Cause = diagnosis.Cause(word(rng.IntN(200)))
		cluster := word(rng.IntN(300))
		for _, a := range []incident.Action{
			{Kind: incident.Fire, Incident: inc},
			{Kind: incident.Update, Incident: inc, Previous: &prev},
			{Kind: incident.Remind, Incident: inc},
			{Kind: incident.Resolve, Incident: inc},
		} {
			b, text := Alert(cluster, a, f, offer, testNow)
			checkLimits(t, fmt.Sprintf("%d %s alert", i, a.Kind), msg{text, b})
			b, text = Resolved(cluster, a)
			checkLimits(t, fmt.Sprintf("%d %s resolved", i, a.Kind), msg{text, b})
			if a.Kind != incident.Fire {
				b, text = ThreadUpdate(a)
				checkLimits(t, fmt.Sprintf("%d %s thread", i, a.Kind), msg{text, b})
			}
		}
	}
}

// checkLimits fails when m breaks a Block Kit limit: 1 to 50 blocks, texts of at most 3000
// characters (150 in headers), a notification text, balanced code fences, unique block IDs,
// and no mention or link from the input.
func checkLimits(t *testing.T, name string, m msg) {
	t.Helper()
	if len(m.Blocks) == 0 || len(m.Blocks) > maxBlocks {
		t.Errorf("%s: %d blocks, want 1 to %d", name, len(m.Blocks), maxBlocks)
	}
	if m.Text == "" || runes(m.Text) > maxNotification {
		t.Errorf("%s: notification of %d characters, want 1 to %d", name, runes(m.Text), maxNotification)
	}
	text := func(where string, o *slack.TextBlockObject, limit int) {
		t.Helper()
		if o == nil || o.Text == "" {
			t.Errorf("%s: %s has no text", name, where)
			return
		}
		if n := runes(o.Text); n > limit {
			t.Errorf("%s: %s has %d characters, more than %d", name, where, n, limit)
		}
		if o.Type == slack.MarkdownType {
			if strings.Count(o.Text, "```")%2 != 0 {
				t.Errorf("%s: %s has unbalanced code fences:\n%.300s", name, where, o.Text)
			}
			for _, bad := range []string{"<!here", "<!channel", "<!everyone", "<http", "<mailto", "<@"} {
				if strings.Contains(o.Text, bad) {
					t.Errorf("%s: %s contains %q", name, where, bad)
				}
			}
		}
	}
	ids := map[string]bool{}
	for i, b := range m.Blocks {
		where := fmt.Sprintf("block %d (%s)", i, b.BlockType())
		if id := b.ID(); id != "" {
			if ids[id] {
				t.Errorf("%s: %s: block_id %q repeated", name, where, id)
			}
			ids[id] = true
		}
		switch b := b.(type) {
		case *slack.HeaderBlock:
			text(where, b.Text, maxHeaderText)
		case *slack.SectionBlock:
			text(where, b.Text, maxText)
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if o, ok := e.(*slack.TextBlockObject); ok {
					text(where, o, maxText)
				}
			}
		case *slack.ActionBlock:
		default:
			t.Errorf("%s: %s: unexpected block %T", name, where, b)
		}
	}
}

func checkGolden(t *testing.T, name string, m msg) {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
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
		t.Fatalf("read golden file (run go test ./handlers/alerts -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s\nrun go test ./handlers/alerts -update if the change is intended", path, diff)
	}
}

// TestCauseChangeStaysOnTheAlert: once the cause changed, every later rendering of the alert
// (a pod-count edit, a reminder's refresh: Fire-kind renders) still says from what and when.
func TestCauseChangeStaysOnTheAlert(t *testing.T) {
	inc := testIncident()
	changedAt := testNow.Add(-30 * time.Minute)
	inc.PreviousCause, inc.CauseChangedAt = diagnosis.CauseRegistryCredentials, changedAt
	blocks, _ := Alert("prod-eks", incident.Action{Kind: incident.Fire, Incident: inc}, testFinding(), nil, testNow)
	js, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	// encoding/json writes < as \u003c.
	want := fmt.Sprintf("*Cause changed* from `registry-credentials` to `%s` \\u003c!date^%d^", inc.Key.Cause, changedAt.Unix())
	if !strings.Contains(string(js), want) {
		t.Errorf("re-rendered alert lacks %q:\n%s", want, js)
	}
	inc.PreviousCause = ""
	blocks, _ = Alert("prod-eks", incident.Action{Kind: incident.Fire, Incident: inc}, testFinding(), nil, testNow)
	if js, _ := json.Marshal(blocks); strings.Contains(string(js), "Cause changed") {
		t.Error("an alert whose cause never changed says it did")
	}
}
