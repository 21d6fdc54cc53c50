package slack

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	slackapi "github.com/slack-go/slack"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/pullcheck/pullcheck/bot"
	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers/rollout"
	"github.com/pullcheck/pullcheck/tests/kubetest"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// TestDiagnoseCommand: a signed /pullcheck <namespace>/<pod> from an allowed channel is
// acknowledged at once and answered with the report in the channel; requests that are not
// Slack's get 401 and do nothing.
func TestDiagnoseCommand(t *testing.T) {
	e := newEnv(t)
	target := e.ns + "/" + e.podName()

	// Not Slack's: each names a pod of its own, so that anything it caused would show.
	forged := e.commandBody(e.ns+"/forged-pod", channelID, channelName, asker)
	stale := e.commandBody(e.ns+"/stale-pod", channelID, channelName, asker)
	altered := e.commandBody(e.ns+"/altered-pod", channelID, channelName, asker)
	unsigned := e.commandBody(e.ns+"/unsigned-pod", channelID, channelName, asker)
	for _, r := range []struct {
		name string
		req  request
	}{
		{"signed with another secret", request{bot.CommandsPath, forged, sign("not-the-signing-secret", time.Now(), forged)}},
		{"signed six minutes ago", request{bot.CommandsPath, stale, sign(signingSecret, time.Now().Add(-6*time.Minute), stale)}},
		{"body altered after signing", request{bot.CommandsPath, altered, sign(signingSecret, time.Now(), e.commandBody(e.ns+"/other-pod", channelID, channelName, asker))}},
		{"no signature headers", request{bot.CommandsPath, unsigned, nil}},
		{"forged click", request{bot.InteractionsPath, "payload=%7B%7D", sign("not-the-signing-secret", time.Now(), "payload=%7B%7D")}},
	} {
		if status, body := e.send(r.req); status != http.StatusUnauthorized {
			t.Errorf("%s: status %d (%q), want 401", r.name, status, body)
		}
	}
	if n := len(e.logs.records(t, "slack request rejected")); n != 5 {
		t.Errorf("%d rejections logged, want 5", n)
	}

	// Slack's own request.
	a, took := e.command(target, channelID, channelName, asker)
	if a.ResponseType != "ephemeral" || !strings.Contains(a.Text, "Checking `"+target+"` in cluster `"+clusterName+"`") {
		t.Errorf("acknowledgement = %+v, want an ephemeral \"Checking `%s`…\"", a, target)
	}
	if took > 3*time.Second { // Slack's limit; the diagnosis runs after the answer
		t.Errorf("acknowledged after %s, want well within Slack's 3 seconds", took)
	}

	msg := e.slack.WaitForCall(e.ctx, t, "the report", func(c slackfake.Call) bool {
		return c.Method == "chat.postMessage" && c.ThreadTS == ""
	})
	if msg.Channel != channelID {
		t.Errorf("report posted in %s, want %s", msg.Channel, channelID)
	}
	checkReport(t, msg, e.ns, e.podName())

	// The requests that were not Slack's reached nothing: no answer, no report, no ephemeral.
	for _, c := range e.slack.Calls() {
		for _, pod := range []string{"forged-pod", "stale-pod", "altered-pod", "other-pod", "unsigned-pod"} {
			if strings.Contains(c.AllText(), pod) {
				t.Errorf("a rejected request was acted on: %s %q", c.Method, c.AllText())
			}
		}
	}
	if got := e.slack.Calls("chat.postEphemeral", "response_url"); len(got) != 0 {
		t.Errorf("ephemeral answers: %s", slackfake.Describe(got))
	}
	for _, c := range e.slack.Calls("chat.postMessage") {
		if c.TS != msg.TS && c.ThreadTS != msg.TS {
			t.Errorf("a message other than the report and its thread was posted: %s", slackfake.Describe([]slackfake.Call{c}))
		}
	}
	e.stop() // the work logs its result after posting
	if answered := e.logs.records(t, "command answered"); len(answered) != 1 || answered[0]["result"] != "failing tag-not-found" {
		t.Errorf("command answered log = %v, want one, failing tag-not-found", answered)
	}
}

// checkReport checks the report message of a failing pod in its namespace: the header, a
// fix command in a code block, and the restart button with its confirm dialog.
func checkReport(t *testing.T, msg slackfake.Call, ns, pod string) {
	t.Helper()
	type summary struct {
		Header       string
		CodeBlock    bool
		ButtonText   string
		ConfirmTitle string
		ConfirmOK    string
		ConfirmDeny  string
	}
	got := summary{}
	var dialog string
	// ECR's answer tells a missing tag from a missing repository: the first fix asks it.
	fixCommand := "aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.3"
	var fixes []string
	for _, b := range msg.DecodeBlocks(t) {
		switch b := b.(type) {
		case *slackapi.HeaderBlock:
			got.Header = b.Text.Text
		case *slackapi.SectionBlock:
			if b.Text == nil || !strings.HasPrefix(b.Text.Text, "*Fix") {
				continue
			}
			fixes = append(fixes, b.Text.Text)
			if _, rest, ok := strings.Cut(b.Text.Text, "\n```\n"); ok {
				if code, _, ok := strings.Cut(rest, "\n```"); ok && slices.Contains(strings.Split(code, "\n"), fixCommand) {
					got.CodeBlock = true
				}
			}
		}
	}
	if !got.CodeBlock {
		t.Errorf("no fix holds %q in a code block; fixes:\n%s", fixCommand, strings.Join(fixes, "\n"))
	}
	if btn := restartButton(t, msg); btn != nil {
		got.ButtonText = btn.Text.Text
		if btn.Confirm == nil {
			t.Error("the restart button has no confirm dialog")
		} else {
			got.ConfirmTitle, got.ConfirmOK, got.ConfirmDeny = btn.Confirm.Title.Text, btn.Confirm.Confirm.Text, btn.Confirm.Deny.Text
			dialog = btn.Confirm.Text.Text
		}
		if btn.Value == "" {
			t.Error("the restart button carries no token")
		}
	}
	want := summary{
		Header:       ns + "/" + pod + ": tag-not-found",
		CodeBlock:    true,
		ButtonText:   "Restart Deployment/" + workload,
		ConfirmTitle: "Restart Deployment/" + workload + "?",
		ConfirmOK:    "Restart",
		ConfirmDeny:  "Cancel",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s\nblocks: %s", diff, msg.Blocks)
	}
	for _, s := range []string{"Deployment/" + workload, "namespace `" + ns + "`", "kubectl -n " + ns + " rollout restart deployment/" + workload} {
		if !strings.Contains(dialog, s) {
			t.Errorf("confirm dialog %q does not name %q", dialog, s)
		}
	}
	if !strings.Contains(msg.Text, "tag-not-found") {
		t.Errorf("notification text %q does not name the cause", msg.Text)
	}
}

// TestOtherCommands: a scan posts its summary; help and malformed text are answered in the
// acknowledgement; an unknown pod and a channel without rights get helpful answers.
func TestOtherCommands(t *testing.T) {
	e := newEnv(t)

	t.Run("scan", func(t *testing.T) {
		a := e.ask(e.ns)
		if !strings.Contains(a.Text, "Scanning namespace `"+e.ns+"`") {
			t.Errorf("acknowledgement %q, want \"Scanning namespace `%s`\"", a.Text, e.ns)
		}
		scan := e.slack.WaitForCall(e.ctx, t, "the scan summary", func(c slackfake.Call) bool {
			return c.Method == "chat.postMessage" && strings.HasPrefix(c.Text, "Scan of "+e.ns)
		})
		var header string
		for _, b := range scan.DecodeBlocks(t) {
			if h, ok := b.(*slackapi.HeaderBlock); ok {
				header = h.Text.Text
			}
		}
		if want := "Scan of " + e.ns + ": 1 failing pod"; header != want {
			t.Errorf("scan header %q, want %q", header, want)
		}
		text := scan.AllText()
		for _, s := range []string{"• `tag-not-found`: 1 container in 1 pod", "• `" + e.podName() + "` · `api` · `tag-not-found` (possible)"} {
			if !strings.Contains(text, s) {
				t.Errorf("scan summary lacks %q:\n%s", s, text)
			}
		}
		if scan.Channel != channelID {
			t.Errorf("scan posted in %s, want %s", scan.Channel, channelID)
		}
	})

	t.Run("help", func(t *testing.T) {
		before := len(e.slack.Calls())
		a := e.ask("help")
		// mrkdwn escapes < and > (Slack's rule for text that is not a link or a mention).
		for _, s := range []string{"`/pullcheck &lt;namespace&gt;/&lt;pod&gt;` diagnose one pod", "`/pullcheck &lt;pod&gt; -n &lt;namespace&gt;` the same",
			"`/pullcheck &lt;namespace&gt;` list the pods", "`/pullcheck help` this help", "In this channel you can ask about `payments` and `payments-*`."} {
			if !strings.Contains(a.allText(), s) {
				t.Errorf("help lacks %q:\n%s", s, a.allText())
			}
		}
		if a.ResponseType != "ephemeral" {
			t.Errorf("help response_type %q, want ephemeral", a.ResponseType)
		}
		if after := e.slack.Calls(); len(after) != before {
			t.Errorf("help called Slack: %s", slackfake.Describe(after[before:]))
		}
	})

	t.Run("malformed", func(t *testing.T) {
		before := len(e.slack.Calls())
		a := e.ask("bad/name/x")
		if want := ":warning: `bad/name/x` has more than one `/`: write `&lt;namespace&gt;/&lt;pod&gt;`."; !strings.Contains(a.allText(), want) || !strings.Contains(a.allText(), "*Usage*") {
			t.Errorf("usage acknowledgement:\n%s\nwant %q and the usage", a.allText(), want)
		}
		if after := e.slack.Calls(); len(after) != before {
			t.Errorf("malformed text called Slack: %s", slackfake.Describe(after[before:]))
		}
	})

	t.Run("unknown pod", func(t *testing.T) {
		a := e.ask(e.ns + "/payments-api-5c8d7-gone1")
		if !strings.Contains(a.Text, "Checking `"+e.ns+"/payments-api-5c8d7-gone1`") {
			t.Errorf("acknowledgement %q", a.Text)
		}
		got := e.ephemeral(asker, "There is no pod `payments-api-5c8d7-gone1` in namespace `"+e.ns+"` in cluster `"+clusterName+"`")
		text := got.AllText()
		if !strings.Contains(text, "kubectl -n "+e.ns+" get pods") || !strings.Contains(text, "/pullcheck "+e.ns) {
			t.Errorf("the answer does not say how to find the pod: %q", text)
		}
		for _, raw := range []string{`pods "payments-api-5c8d7-gone1" not found`, "diagnose " + e.ns + "/", "ErrPodNotFound", "internal error", "goroutine"} {
			if strings.Contains(text, raw) {
				t.Errorf("the answer shows raw error text %q: %q", raw, text)
			}
		}
		if got.Channel != channelID {
			t.Errorf("ephemeral answer in %s, want %s", got.Channel, channelID)
		}
	})

	t.Run("channel not allowed", func(t *testing.T) {
		before := len(e.slack.Calls())
		a, _ := e.command(e.ns+"/"+e.podName(), otherChannel, "random", asker)
		if want := ":no_entry: This channel may not ask about namespace `" + e.ns + "`."; !strings.Contains(a.Text, want) {
			t.Errorf("acknowledgement %q, want %q", a.Text, want)
		}
		if after := e.slack.Calls(); len(after) != before {
			t.Errorf("a refused command called Slack: %s", slackfake.Describe(after[before:]))
		}
	})
}

// TestRestartRefused: clicks that may not restart are answered with an ephemeral refusal and
// change nothing: the Deployment keeps its generation and has no restart annotation, the
// report keeps its button.
func TestRestartRefused(t *testing.T) {
	e := newEnv(t)
	msg, token := e.report()
	before := e.deployment()

	t.Run("unauthorised user", func(t *testing.T) {
		e.click(msg, outsider, token)
		got := e.ephemeral(outsider, "Only approvers for namespace `"+e.ns+"` can restart Deployment/"+workload)
		if text := got.AllText(); !strings.Contains(text, "<@"+approver+"> or <!subteam^"+approvers+">") || !strings.Contains(text, "Nothing was restarted.") {
			t.Errorf("refusal %q does not name the approvers and say nothing happened", text)
		}
		// The user is not a configured approver: the group's members were read from Slack.
		if lists := e.slack.Calls("usergroups.users.list"); len(lists) != 1 || lists[0].Group != approvers {
			t.Errorf("usergroups.users.list calls: %s", slackfake.Describe(lists))
		}
		e.assertNotRestarted(before)
	})

	t.Run("altered token", func(t *testing.T) {
		i := len(token) / 2
		c := byte('A')
		if token[i] == 'A' {
			c = 'B'
		}
		altered := token[:i] + string(c) + token[i+1:]
		e.click(msg, approver, altered)
		e.ephemeral(approver, "This restart button is not valid here: it was altered, or it comes from another pullcheck. Nothing was restarted.")
		e.assertNotRestarted(before)
	})

	t.Run("token from elsewhere", func(t *testing.T) {
		e.click(msg, approver, "opaque-signed-token")
		e.slack.WaitFor(e.ctx, t, "two refusals of invalid tokens", func(calls []slackfake.Call) bool {
			n := 0
			for _, c := range slackfake.Filter(calls, "chat.postEphemeral") {
				if c.User == approver && strings.Contains(c.AllText(), "not valid here") {
					n++
				}
			}
			return n == 2
		})
		e.assertNotRestarted(before)
	})

	if got := e.slack.Calls("chat.update"); len(got) != 0 {
		t.Errorf("a refused click updated a message: %s", slackfake.Describe(got))
	}
	for _, c := range e.slack.Calls("chat.postMessage") {
		if c.ThreadTS == msg.TS && strings.Contains(c.AllText(), "Restarting") {
			t.Errorf("a refused click started a rollout thread: %q", c.AllText())
		}
	}
	if done := e.logs.records(t, "restart done"); len(done) != 0 {
		t.Errorf("restart done logged: %v", done)
	}
	refused := e.logs.records(t, "restart refused")
	results := map[any]int{}
	for _, r := range refused {
		results[r["result"]]++
	}
	if diff := cmp.Diff(map[any]int{"not_approver": 1, "invalid_token": 2}, results); diff != "" {
		t.Errorf("restart refused log results (-want +got):\n%s", diff)
	}
}

// TestRestartRefusedWhileCauseHolds: at click time the pod is diagnosed again. When the
// cause is confirmed to still hold, or a restart does not help with what the pod shows now,
// the approver is told so and nothing is restarted.
func TestRestartRefusedWhileCauseHolds(t *testing.T) {
	e := newEnv(t)
	msg, token := e.report()
	before := e.deployment()

	t.Run("confirmed cause", func(t *testing.T) {
		// The kubelet retried: ECR now answers 403 with the IAM denial, which confirms the cause.
		now := time.Now()
		if _, err := cluster.RecordEvent(e.ctx, e.pod, kubetest.Event{Container: "api", Type: corev1.EventTypeWarning, Reason: "Failed",
			Message: accessDeniedMsg(image), First: now.Add(-30 * time.Second), Last: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := cluster.SetContainerWaiting(e.ctx, e.pod, "api", "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", image)); err != nil {
			t.Fatal(err)
		}
		e.click(msg, approver, token)
		got := e.ephemeral(approver, "Not restarting Deployment/"+workload+": the cause still holds.")
		text := got.AllText()
		for _, s := range []string{"`access-denied` (confirmed just now)", "A new pod would fail the same way. Apply the fix first, then approve again.", "Nothing was restarted."} {
			if !strings.Contains(text, s) {
				t.Errorf("refusal lacks %q: %q", s, text)
			}
		}
		e.assertNotRestarted(before)
	})

	t.Run("restart does not help", func(t *testing.T) {
		// Only a bare back-off is left (the events expired): the cause is unknown and a
		// restart is not known to help.
		if err := cluster.Client.CoreV1().Events(e.ns).DeleteCollection(e.ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cluster.SetContainerWaiting(e.ctx, e.pod, "api", "ImagePullBackOff", ""); err != nil {
			t.Fatal(err)
		}
		e.click(msg, approver, token)
		got := e.ephemeral(approver, "Not restarting Deployment/"+workload+": a restart does not help `api` (`unknown`)")
		if !strings.Contains(got.AllText(), "Nothing was restarted.") {
			t.Errorf("refusal %q", got.AllText())
		}
		e.assertNotRestarted(before)
	})

	if got := e.slack.Calls("chat.update"); len(got) != 0 {
		t.Errorf("a refused click updated a message: %s", slackfake.Describe(got))
	}
	refused := e.logs.records(t, "restart refused")
	if len(refused) != 2 || refused[0]["result"] != "cause_holds" || refused[0]["cause"] != "access-denied" ||
		refused[1]["result"] != "cause_holds" || refused[1]["cause"] != "unknown" {
		t.Errorf("restart refused logs = %v, want two cause_holds (access-denied, unknown)", refused)
	}
}

// TestApproveToRestart: once the cause no longer holds, 20 concurrent clicks by an approver
// restart the Deployment exactly once, as kubectl rollout restart does; the report's button
// is replaced by who approved, and a thread reply follows the rollout until it completes.
func TestApproveToRestart(t *testing.T) {
	e := newEnv(t)
	msg, token := e.report()
	before := e.deployment()

	// The fix is in (the tag was pushed) while the kubelet waits out its back-off: it writes
	// the back-off again, and its last error is still the not-found from before. Without
	// registry probes nothing confirms the cause still holds, and a restart helps.
	if _, err := cluster.SetContainerWaiting(e.ctx, e.pod, "api", "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", image)); err != nil {
		t.Fatal(err)
	}
	r, err := e.engine.Diagnose(e.ctx, diagnosis.PodRef{Namespace: e.ns, Name: e.podName()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != diagnosis.StatusFailing || len(r.Findings) == 0 {
		t.Fatalf("click-time diagnosis %s %s: want a failing pod", r.Status, r.Cause)
	}
	for _, f := range r.Findings {
		if !f.RestartHelps.Helps || f.Confidence == diagnosis.Confirmed {
			t.Fatalf("click-time finding %s %s (%s), restart helps %v: want a restart to help and nothing confirmed", f.Container, f.Cause, f.Confidence, f.RestartHelps.Helps)
		}
	}

	// 20 clicks at once.
	const clicks = 20
	var wg sync.WaitGroup
	for range clicks {
		wg.Go(func() { e.click(msg, approver, token) })
	}
	wg.Wait()

	// One click restarts; the others are told it is in progress or done.
	start := e.slack.WaitForCall(e.ctx, t, "the rollout thread", func(c slackfake.Call) bool {
		return c.Method == "chat.postMessage" && c.ThreadTS == msg.TS && strings.Contains(c.AllText(), "Restarting Deployment/"+workload)
	})
	e.slack.WaitFor(e.ctx, t, fmt.Sprintf("%d refusals of the other clicks", clicks-1), func(calls []slackfake.Call) bool {
		n := 0
		for _, c := range slackfake.Filter(calls, "chat.postEphemeral") {
			if c.User == approver && strings.Contains(c.AllText(), "Nothing was restarted.") &&
				(strings.Contains(c.AllText(), "it is in progress") || strings.Contains(c.AllText(), "was restarted.")) {
				n++
			}
		}
		return n == clicks-1
	})
	if want := "Restarting Deployment/" + workload + " in namespace `" + e.ns + "`, approved by <@" + approver + ">."; !strings.Contains(start.AllText(), want) {
		t.Errorf("first thread reply %q, want %q", start.AllText(), want)
	}

	// The restart is what kubectl rollout restart does, once.
	d := e.deployment()
	if d.Generation != before.Generation+1 {
		t.Errorf("Deployment generation %d, want %d: the pod template must change exactly once", d.Generation, before.Generation+1)
	}
	at, err := time.Parse(time.RFC3339, d.Spec.Template.Annotations[rollout.RestartedAtAnnotation])
	if err != nil || at.Before(time.Now().Add(-time.Minute)) || at.After(time.Now().Add(time.Minute)) {
		t.Errorf("pod template annotation %s=%q, want the time of the restart (%v)", rollout.RestartedAtAnnotation, d.Spec.Template.Annotations[rollout.RestartedAtAnnotation], err)
	}
	offerID := d.Annotations[rollout.OfferAnnotation]
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	if offerID == "" || !bytes.Contains(raw, []byte(offerID)) {
		t.Errorf("Deployment annotation %s=%q, want the offer of the button", rollout.OfferAnnotation, offerID)
	}
	if got := d.Annotations[rollout.ApprovedByAnnotation]; got != approver {
		t.Errorf("Deployment annotation %s=%q, want %s", rollout.ApprovedByAnnotation, got, approver)
	}

	// The deployment controller's part (envtest runs none): the new revision is out.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d := e.deployment()
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()},
			}}
		_, err := cluster.Client.AppsV1().Deployments(e.ns).UpdateStatus(e.ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The outcome is the next reply in the thread.
	var done slackfake.Call
	e.slack.WaitFor(e.ctx, t, "the rollout's outcome", func(calls []slackfake.Call) bool {
		after := false
		for _, c := range calls {
			switch {
			case c.Method == "chat.postMessage" && c.TS == start.TS:
				after = true
			case after && c.Method == "chat.postMessage" && c.ThreadTS == msg.TS:
				done = c
				return true
			}
		}
		return false
	})
	if want := ":white_check_mark: Deployment/" + workload + " in namespace `" + e.ns + "` rolled out: 1 of 1 pod updated, 1 ready"; !strings.Contains(done.AllText(), want) {
		t.Errorf("rollout reply %q, want %q", done.AllText(), want)
	}

	// The report was updated once: the button replaced by who approved.
	var updates []slackfake.Call
	for _, c := range e.slack.Calls("chat.update") {
		if c.TS == msg.TS {
			updates = append(updates, c)
		}
	}
	if len(updates) != 1 {
		t.Fatalf("the report was updated %d times, want once: %s", len(updates), slackfake.Describe(updates))
	}
	u := updates[0]
	if u.Channel != channelID || restartButton(t, u) != nil {
		t.Errorf("updated report in %s, button %v: want %s and no button", u.Channel, restartButton(t, u) != nil, channelID)
	}
	var approved string
	for _, b := range u.DecodeBlocks(t) {
		if s, ok := b.(*slackapi.SectionBlock); ok && s.BlockID == "pullcheck_restart_approved" {
			approved = s.Text.Text
		}
	}
	if !strings.HasPrefix(approved, ":white_check_mark: Approved by <@"+approver+"> at <!date^") || !strings.HasSuffix(approved, "; restarting Deployment/"+workload+".") {
		t.Errorf("approval line %q, want who approved and when", approved)
	}
	if !strings.Contains(u.AllText(), e.ns+"/"+e.podName()+": tag-not-found") {
		t.Errorf("the updated report lost its diagnosis: %q", u.AllText())
	}

	// Audit: one restart with who, what and when; every other click refused. The work logs
	// the rollout's result after posting it: stop the bot, which lets its work finish.
	e.stop()
	restarts := e.logs.records(t, "restart done")
	if len(restarts) != 1 {
		t.Fatalf("restart done log lines: %v, want 1", restarts)
	}
	want := map[string]any{"user_id": approver, "channel_id": channelID, "namespace": e.ns, "workload": "Deployment/" + workload,
		"pod": e.podName(), "offer_id": offerID, "result": "restarted"}
	got := map[string]any{}
	for k := range want {
		got[k] = restarts[0][k]
	}
	if diff := cmp.Diff(want, got); diff != "" || restarts[0]["at"] == nil || restarts[0]["restarted_at"] == nil {
		t.Errorf("restart done log (-want +got):\n%s\n%v", diff, restarts[0])
	}
	if n := len(e.logs.records(t, "restart refused")); n != clicks-1 {
		t.Errorf("%d refusals logged, want %d", n, clicks-1)
	}
	followed := e.logs.records(t, "rollout followed")
	if len(followed) != 1 || followed[0]["result"] != "done" {
		t.Errorf("rollout followed log = %v, want done", followed)
	}

	// Nothing restarted twice: the Deployment moved only by the one restart.
	if d := e.deployment(); d.Generation != before.Generation+1 || d.Annotations[rollout.OfferAnnotation] != offerID {
		t.Errorf("Deployment after the rollout: generation %d, offer %q", d.Generation, d.Annotations[rollout.OfferAnnotation])
	}
}
