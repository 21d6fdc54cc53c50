package handlers

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// Compile-time checks: *slack.Client is what serve wires in.
var (
	_ Poster       = (*slack.Client)(nil)
	_ GroupMembers = (*slack.Client)(nil)
)

func TestHandleCommandForms(t *testing.T) {
	tests := []struct {
		name              string
		text              string
		channel, chanName string
		wantAck           string
		wantWork          bool
		wantRef           *diagnosis.PodRef // what the engine is asked about
		wantScan          string
		wantPosted        string // a part of the report posted in the channel
	}{
		{name: "help", text: "help", wantAck: "finds out why a pod cannot pull its image"},
		{name: "empty text", text: "", wantAck: "In this channel you can ask about `payments` and `payments-*`."},
		{name: "help in a channel without rule", text: "help", channel: "C0RANDOM", chanName: "random", wantAck: "may not ask about any namespace yet"},
		{name: "malformed", text: "Payments/api-0", wantAck: "Did you mean `payments`?"},
		{name: "malformed shows usage", text: "a b c", wantAck: "/pullcheck &lt;pod&gt; -n &lt;namespace&gt;"},
		{name: "namespace refused", text: "kube-system/coredns-0", wantAck: ":no_entry: This channel may not ask about namespace `kube-system`."},
		{name: "scan refused", text: "billing", wantAck: "may not ask about namespace `billing`"},
		{name: "channel without rule", text: "payments/api-0", channel: "C0RANDOM", chanName: "random", wantAck: "may not ask about any namespace yet"},
		{name: "namespace/pod", text: "payments/" + apiPod, wantAck: "Checking `payments/" + apiPod + "`", wantWork: true,
			wantRef: &diagnosis.PodRef{Namespace: "payments", Name: apiPod}, wantPosted: "registry-credentials"},
		{name: "pod -n namespace", text: apiPod + " -n payments", wantAck: "Checking", wantWork: true,
			wantRef: &diagnosis.PodRef{Namespace: "payments", Name: apiPod}, wantPosted: "registry-credentials"},
		{name: "--namespace glob", text: "api-0 --namespace payments-batch", wantAck: "Checking `payments-batch/api-0`", wantWork: true,
			wantRef: &diagnosis.PodRef{Namespace: "payments-batch", Name: "api-0"}, wantPosted: "registry-credentials"},
		{name: "channel rule by name", text: "kube-system/coredns-0", channel: "C0PLATFORM", chanName: "platform", wantAck: "Checking", wantWork: true,
			wantRef: &diagnosis.PodRef{Namespace: "kube-system", Name: "coredns-0"}, wantPosted: "registry-credentials"},
		{name: "scan", text: "payments", wantAck: "Scanning namespace `payments`", wantWork: true, wantScan: "payments", wantPosted: "Scan of payments: 3 failing pods"},
		{name: "scan with -n", text: "-n payments", wantAck: "Scanning namespace `payments`", wantWork: true, wantScan: "payments", wantPosted: "Scan of payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var asked []diagnosis.PodRef
			var scanned []string
			h.setDiagnose(func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
				asked = append(asked, ref)
				r := credentialsReport()
				r.Pod = ref
				return r, nil
			})
			h.scan = func(ctx context.Context, ns string) ([]diagnosis.Report, error) {
				scanned = append(scanned, ns)
				return scanReports(3), nil
			}
			channel, name := "C0PAYMENTS", "payments-alerts"
			if tt.channel != "" {
				channel, name = tt.channel, tt.chanName
			}
			ack, work := h.p.HandleCommand(context.Background(), h.slashCommand(tt.text, channel, name, "U0DEV"))
			if ack == nil || ack.ResponseType != slack.ResponseTypeEphemeral {
				t.Fatalf("ack = %+v, want an ephemeral message", ack)
			}
			if got := ackText(ack); !strings.Contains(got, tt.wantAck) {
				t.Errorf("ack = %q, want it to contain %q", got, tt.wantAck)
			}
			if (work != nil) != tt.wantWork {
				t.Fatalf("work = %v, want work: %v", work != nil, tt.wantWork)
			}
			if len(h.slack.all()) != 0 || h.diagCalls.Load() != 0 || len(scanned) != 0 {
				t.Fatalf("HandleCommand called out before returning: Slack %v, engine %d", h.slack.all(), h.diagCalls.Load())
			}
			if work == nil {
				return
			}
			work(context.Background())
			if tt.wantRef != nil {
				if diff := cmp.Diff([]diagnosis.PodRef{*tt.wantRef}, asked); diff != "" {
					t.Errorf("engine asked (-want +got):\n%s", diff)
				}
			}
			if tt.wantScan != "" {
				if diff := cmp.Diff([]string{tt.wantScan}, scanned); diff != "" {
					t.Errorf("scanned (-want +got):\n%s", diff)
				}
			}
			posts := h.slack.all("chat.postMessage")
			if len(posts) == 0 {
				t.Fatal("nothing posted")
			}
			if posts[0].Channel != channel || posts[0].ThreadTS != "" {
				t.Errorf("report posted to %q (thread %q), want the channel %q", posts[0].Channel, posts[0].ThreadTS, channel)
			}
			if !strings.Contains(posts[0].AllText(), tt.wantPosted) {
				t.Errorf("report = %q, want it to contain %q", posts[0].AllText(), tt.wantPosted)
			}
			for _, p := range posts[1:] {
				if p.ThreadTS != posts[0].TS {
					t.Errorf("extra message not in the report's thread: %+v", p)
				}
			}
		})
	}
}

// TestHandleCommandDoesNotWait: the acknowledgement comes back while the engine is still
// working; the report is posted when it finishes.
func TestHandleCommandDoesNotWait(t *testing.T) {
	h := newHarness(t)
	started, release := make(chan struct{}), make(chan struct{})
	h.setDiagnose(func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
		close(started)
		<-release
		return credentialsReport(), nil
	})
	ack, work := h.p.HandleCommand(context.Background(), h.slashCommand("payments/"+apiPod, "C0PAYMENTS", "payments-alerts", "U0DEV"))
	if !strings.Contains(ackText(ack), "Checking") || work == nil {
		t.Fatalf("ack = %q, work = %v", ackText(ack), work != nil)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(context.Background())
	}()
	<-started
	if n := len(h.slack.all()); n != 0 {
		t.Errorf("%d Slack calls before the diagnosis finished", n)
	}
	close(release)
	<-done
	if n := len(h.slack.all("chat.postMessage")); n != 2 { // the report and its thread (skipped checks)
		t.Errorf("%d messages posted, want 2", n)
	}
}

func TestHandleCommandErrors(t *testing.T) {
	engineErr := errors.New(`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.100.0.1:443: connect: connection refused"`)
	tests := []struct {
		name     string
		text     string
		err      error
		timeout  time.Duration
		want     string
		internal bool
	}{
		{name: "unknown pod", text: "payments/api-0", err: fmt.Errorf("diagnose payments/api-0: get pod: %w", diagnosis.ErrPodNotFound),
			want: "There is no pod `api-0` in namespace `payments` in cluster `prod-eks`. Pod names change with every rollout: list them with `kubectl -n payments get pods`, or run `/pullcheck payments` to find the failing ones."},
		{name: "unknown namespace", text: "payments-nope", err: fmt.Errorf("scan: %w", diagnosis.ErrNamespaceNotFound),
			want: "There is no namespace `payments-nope` in cluster `prod-eks`."},
		{name: "forbidden", text: "payments/api-0", err: fmt.Errorf("diagnose: %w", &diagnosis.ForbiddenError{Verb: "get", Resource: "pods", Namespace: "payments", Err: errors.New("pods is forbidden: User \"system:serviceaccount:pullcheck:pullcheck\" cannot get resource")}),
			want: `its service account needs the RBAC permission "get" on "pods" in namespace payments.`},
		{name: "public engine error", text: "payments/api-0", err: UserError{Public: "The kubeconfig context prod has expired.", Err: engineErr},
			want: "The kubeconfig context prod has expired."},
		{name: "engine error", text: "payments/api-0", err: fmt.Errorf("diagnose payments/api-0: %w", engineErr),
			want: "Something went wrong on pullcheck's side: internal error (ref ", internal: true},
		{name: "scan error", text: "payments", err: engineErr, want: "internal error (ref ", internal: true},
		{name: "deadline", text: "payments/api-0", timeout: time.Millisecond,
			want: "The diagnosis did not finish within 1ms: the cluster or AWS is slow to answer."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				if tt.timeout > 0 {
					c.CommandTimeout = tt.timeout
				}
			})
			fail := func(ctx context.Context) error {
				if tt.err == nil {
					<-ctx.Done()
					return fmt.Errorf("list events: %w", ctx.Err())
				}
				return tt.err
			}
			h.setDiagnose(func(ctx context.Context, _ diagnosis.PodRef) (diagnosis.Report, error) {
				return diagnosis.Report{}, fail(ctx)
			})
			h.scan = func(ctx context.Context, _ string) ([]diagnosis.Report, error) { return nil, fail(ctx) }
			h.command(tt.text)

			if posts := h.slack.all("chat.postMessage"); len(posts) != 0 {
				t.Errorf("posted %d messages in the channel, want none", len(posts))
			}
			got := h.ephemerals("U0DEV")
			if len(got) != 1 {
				t.Fatalf("ephemeral answers = %q, want one", got)
			}
			if !strings.Contains(got[0], tt.want) {
				t.Errorf("answer = %q, want it to contain %q", got[0], tt.want)
			}
			for _, raw := range []string{"rpc error", "connection refused", "system:serviceaccount", "list events", "context deadline"} {
				if strings.Contains(got[0], raw) {
					t.Errorf("answer shows the raw error (%q): %q", raw, got[0])
				}
			}
			errs := h.logs.records(t, "")
			var errorLines []map[string]any
			for _, r := range errs {
				if r["level"] == "ERROR" {
					errorLines = append(errorLines, r)
				}
			}
			if !tt.internal {
				if len(errorLines) != 0 {
					t.Errorf("a user error was logged at error level: %v", errorLines)
				}
				return
			}
			ref := regexp.MustCompile(`ref ([0-9a-f]+)`).FindStringSubmatch(got[0])
			if ref == nil {
				t.Fatalf("no ref in %q", got[0])
			}
			if len(errorLines) != 1 {
				t.Fatalf("%d error log lines, want exactly one: %v", len(errorLines), errorLines)
			}
			l := errorLines[0]
			if l["ref"] != ref[1] || !strings.Contains(fmt.Sprint(l["err"]), "connection refused") ||
				l["user_id"] != "U0DEV" || l["channel_id"] != "C0PAYMENTS" || l["at"] == nil {
				t.Errorf("error log line = %v; want ref %s, the raw error, who and when", l, ref[1])
			}
		})
	}
}

// TestAnswersReachTheUser: when chat.postEphemeral fails (the bot is not in the channel), the
// answer goes through the command's response URL.
func TestAnswersReachTheUser(t *testing.T) {
	h := newHarness(t)
	h.slack.FailNext("chat.postEphemeral", "channel_not_found", 1)
	h.setDiagnose(func(context.Context, diagnosis.PodRef) (diagnosis.Report, error) {
		return diagnosis.Report{}, diagnosis.ErrPodNotFound
	})
	h.command("payments/api-0")
	got := h.slack.all("response_url")
	if len(got) != 1 || got[0].Response != slack.ResponseTypeEphemeral || !strings.Contains(got[0].AllText(), "There is no pod `api-0`") {
		t.Fatalf("response_url calls = %+v, want one ephemeral answer", got)
	}
}

func TestReportNotPosted(t *testing.T) {
	tests := []struct {
		name     string
		code     string
		want     string
		wantRef  bool
		logLevel string
	}{
		{"bot not in channel", "not_in_channel", "I cannot post in this channel. Invite me with `/invite @pullcheck`", false, "WARN"},
		{"channel gone", "channel_not_found", "Invite me with", false, "WARN"},
		{"rejected blocks", "invalid_blocks", "The report could not be posted: internal error (ref ", true, "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.slack.FailNext("chat.postMessage", tt.code, 1)
			h.command("payments/" + apiPod)
			if got := h.ephemerals("U0DEV"); len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("ephemeral answers = %q, want one containing %q", got, tt.want)
			}
			recs := h.logs.records(t, "report not posted")
			if len(recs) != 1 || recs[0]["level"] != tt.logLevel || !strings.Contains(fmt.Sprint(recs[0]["err"]), tt.code) {
				t.Errorf("log = %v, want one %s line with Slack's reason %s", recs, tt.logLevel, tt.code)
			}
			if tt.wantRef && recs[0]["ref"] == nil {
				t.Errorf("log line has no ref: %v", recs[0])
			}
		})
	}
}

// TestLongReportInThread: a report too long for one message is posted as a main message
// and replies in its thread, each within the limits.
func TestLongReportInThread(t *testing.T) {
	h := newHarness(t)
	r := longReport()
	main, token := h.postReport(r)
	if token == "" {
		t.Error("the long report lost its restart button")
	}
	thread := h.threadReplies(main.TS)
	if len(thread) == 0 {
		t.Fatal("no thread replies")
	}
	for i, c := range append([]slackfake.Call{main}, thread...) {
		checkLimits(t, fmt.Sprintf("message %d", i), message{Text: c.Text, Blocks: c.DecodeBlocks(t)})
	}
	all := main.AllText()
	for _, c := range thread {
		all += c.AllText()
	}
	for _, f := range r.Findings {
		for _, e := range f.Evidence {
			if !strings.Contains(all, esc(oneLine(e))) {
				t.Errorf("evidence missing: %.50s…", e)
			}
		}
	}
}

// TestSecretsNeverLeak runs every kind of exchange and checks that no message posted to
// Slack and no log line contains the bot token, Slack's verification token, the restart
// token key (raw, base64 or hex), or a restart token.
func TestSecretsNeverLeak(t *testing.T) {
	h := newHarness(t)
	h.command("help")
	h.command("Payments/x")
	h.command("kube-system/x")
	msg, token := h.postReport(credentialsReport())
	h.approve(h.click(msg, "U0MALLORY", token))
	h.approve(h.click(msg, "U0ALICE", token+"x"))
	h.approve(h.click(msg, "U0ALICE", token))
	h.approve(h.click(msg, "U0ALICE", token))
	h.setDiagnose(func(context.Context, diagnosis.PodRef) (diagnosis.Report, error) {
		return diagnosis.Report{}, errors.New("engine exploded")
	})
	h.command("payments/" + apiPod)
	h.command("payments")

	secrets := map[string]string{
		"bot token":          botToken,
		"verification token": verificationToken,
		"key":                string(testKey),
		"key (base64)":       base64.StdEncoding.EncodeToString(testKey),
		"key (hex)":          hex.EncodeToString(testKey),
	}
	var posted strings.Builder
	for _, c := range h.slack.all() {
		posted.WriteString(c.AllText())
		for _, vs := range c.Params { // every parameter as sent, the bot token taken out
			posted.WriteString(strings.Join(vs, "\n"))
		}
	}
	logs := h.logs.String()
	for name, s := range secrets {
		if strings.Contains(posted.String(), s) {
			t.Errorf("the %s was posted to Slack", name)
		}
		if strings.Contains(logs, s) {
			t.Errorf("the %s was logged", name)
		}
	}
	if strings.Contains(logs, token) {
		t.Error("a restart token was logged")
	}
	if len(h.restarter.restartCalls()) != 1 {
		t.Errorf("%d restarts, want 1", len(h.restarter.restartCalls()))
	}
}

func TestInteractionTimeout(t *testing.T) {
	p := New(Config{}, Deps{})
	if got, min := p.InteractionTimeout(), DefaultRolloutTimeout+DefaultCommandTimeout; got < min {
		t.Errorf("InteractionTimeout() = %s, want at least %s", got, min)
	}
}

// TestConcurrentCommands runs many commands at once against one PullCheck (-race).
func TestConcurrentCommands(t *testing.T) {
	h := newHarness(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				h.command("payments")
			} else {
				h.command(fmt.Sprintf("payments/api-%d", i))
			}
		}()
	}
	wg.Wait()
	var mains int
	for _, c := range h.slack.all("chat.postMessage") {
		if c.ThreadTS == "" {
			mains++
		}
	}
	if mains != 20 {
		t.Errorf("%d reports posted, want 20", mains)
	}
}
