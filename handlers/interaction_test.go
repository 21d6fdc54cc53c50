package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

func TestRestartApproved(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(credentialsReport())
	if token == "" {
		t.Fatal("no restart button on a report whose restart helps")
	}
	h.slack.reset()
	h.advance(2 * time.Minute)
	h.approve(h.click(msg, "U0ALICE", token))

	o, err := h.p.signer.verify(token)
	if err != nil {
		t.Fatal(err)
	}
	want := []RestartTarget{{Namespace: "payments", Kind: "Deployment", Name: "payments-api", PodName: apiPod, OfferID: o.ID, ApprovedBy: "U0ALICE"}}
	if diff := cmp.Diff(want, h.restarter.restartCalls()); diff != "" {
		t.Errorf("Restart calls (-want +got):\n%s", diff)
	}
	if n := h.diagCalls.Load(); n != 2 {
		t.Errorf("%d diagnoses, want 2 (the command and the click)", n)
	}

	// The original message: the button is replaced by who approved and when.
	updates := h.slack.all("chat.update")
	if len(updates) == 0 || updates[0].TS != msg.TS || updates[0].Channel != "C0PAYMENTS" {
		t.Fatalf("chat.update calls = %+v, want the report (%s) updated first", updates, msg.TS)
	}
	if buttonValue(t, updates[0]) != "" {
		t.Error("the updated report still has the button")
	}
	approved := fmt.Sprintf("Approved by <@U0ALICE> at <!date^%d^", testNow.Add(2*time.Minute).Unix())
	if got := updates[0].AllText(); !strings.Contains(got, approved) || !strings.Contains(got, "restarting Deployment/payments-api") {
		t.Errorf("updated report = %q, want %q", got, approved)
	}
	if !strings.Contains(updates[0].AllText(), "*Container `api`*") {
		t.Error("the updated report lost the diagnosis")
	}

	// The thread follows the rollout.
	replies := h.threadReplies(msg.TS)
	if len(replies) != 2 {
		t.Fatalf("thread replies = %d, want 2 (start, result)", len(replies))
	}
	if got := replies[0].AllText(); !strings.Contains(got, "Restarting Deployment/payments-api in namespace `payments`, approved by <@U0ALICE>") {
		t.Errorf("first reply = %q", got)
	}
	if got := replies[1].AllText(); !strings.Contains(got, ":white_check_mark: Deployment/payments-api in namespace `payments` rolled out: 3 of 3 pods updated, 3 ready") {
		t.Errorf("last reply = %q", got)
	}
	if e := h.ephemerals("U0ALICE"); len(e) != 0 {
		t.Errorf("ephemeral answers to the approver: %q", e)
	}

	// Audit: who, what, when and the result.
	done := h.logs.records(t, "restart done")
	if len(done) != 1 {
		t.Fatalf("restart done log lines = %v", done)
	}
	for k, v := range map[string]any{"user_id": "U0ALICE", "channel_id": "C0PAYMENTS", "action": "restart", "namespace": "payments",
		"workload": "Deployment/payments-api", "pod": apiPod, "offer_id": o.ID, "result": "restarted"} {
		if done[0][k] != v {
			t.Errorf("restart done log %s = %v, want %v", k, done[0][k], v)
		}
	}
	if done[0]["at"] == nil || done[0]["restarted_at"] == nil {
		t.Errorf("restart done log lacks when: %v", done[0])
	}
	if f := h.logs.records(t, "rollout followed"); len(f) != 1 || f[0]["result"] != "done" {
		t.Errorf("rollout followed log = %v", f)
	}
}

func TestRestartByGroupMember(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(credentialsReport())
	h.approve(h.click(msg, "U0CAROL", token))
	if n := len(h.restarter.restartCalls()); n != 1 {
		t.Fatalf("%d restarts, want 1", n)
	}
	lists := h.slack.all("usergroups.users.list")
	if len(lists) != 1 || lists[0].Group != "S0PAYOPS" {
		t.Errorf("usergroups.users.list calls = %+v, want one for S0PAYOPS", lists)
	}
}

// TestRestartRefused: every refusal answers the clicking user, logs the reason, and changes
// nothing: no Restart call, no update of the report, no thread.
func TestRestartRefused(t *testing.T) {
	otherCluster := func(h *harness, token string) string {
		o, err := h.p.signer.verify(token)
		if err != nil {
			t.Fatal(err)
		}
		s := tokenSigner{key: testKey, cluster: "staging-eks", now: h.clock}
		tok, err := s.sign(o)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name      string
		offered   diagnosis.Report
		atClick   func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error)
		user      string
		token     func(h *harness, token string) string
		before    func(h *harness)
		channel   string
		want      string
		result    string
		wantDiags int32 // diagnoses in all, the command's included
	}{
		{name: "not an approver", user: "U0MALLORY", result: "not_approver", wantDiags: 1,
			want: "Only approvers for namespace `payments` can restart Deployment/payments-api: <@U0ALICE> or <!subteam^S0PAYOPS>. Nothing was restarted."},
		{name: "expired", before: func(h *harness) { h.advance(15 * time.Minute) }, result: "offer_expired", wantDiags: 1,
			want: "This restart offer ended <!date^" + fmt.Sprint(testNow.Add(15*time.Minute).Unix())},
		{name: "altered", token: func(_ *harness, tok string) string { return tok[:10] + flipChar(tok[10]) + tok[11:] }, result: "invalid_token", wantDiags: 1,
			want: "This restart button is not valid here"},
		{name: "truncated", token: func(_ *harness, tok string) string { return tok[:len(tok)/2] }, result: "invalid_token", wantDiags: 1,
			want: "not valid here"},
		{name: "other cluster", token: otherCluster, result: "invalid_token", wantDiags: 1, want: "not valid here"},
		{name: "channel not allowed", channel: "C0RANDOM", result: "channel_not_allowed", wantDiags: 1,
			want: "This channel may not act on namespace `payments`."},
		{name: "cause still holds", offered: tagNotFoundReport(), result: "cause_holds", wantDiags: 2,
			atClick: answerWith(tagNotFoundReport()),
			want:    "Not restarting Deployment/payments-api: the cause still holds. `api`: `tag-not-found` (confirmed just now): The ECR repository payments/api exists, but has no image 1.8.2. A new pod would fail the same way. Apply the fix first, then approve again. (Fixed already? The kubelet has not retried the pull yet: it backs off for up to 5 minutes. Approve again after its next attempt.)"},
		{name: "restart cannot help now", result: "cause_holds", wantDiags: 2, atClick: answerWith(mixedReport()),
			want: "a restart does not help `statsd-exporter` (`rate-limited`): A new pod pulls from the same IP address"},
		{name: "pod recovered", result: "cause_holds", wantDiags: 2, atClick: answerWith(healthyReport()),
			want: "`payments/" + apiPod + "` is not failing any more: no restart is needed."},
		{name: "pod gone", result: "pod_gone", wantDiags: 2,
			atClick: func(context.Context, diagnosis.PodRef) (diagnosis.Report, error) {
				return diagnosis.Report{}, fmt.Errorf("get pod: %w", diagnosis.ErrPodNotFound)
			},
			want: "`payments/" + apiPod + "` no longer exists: Deployment/payments-api has probably rolled since the diagnosis."},
		{name: "owner changed", result: "cause_holds", wantDiags: 2,
			atClick: func(context.Context, diagnosis.PodRef) (diagnosis.Report, error) {
				r := credentialsReport()
				r.Workload = &diagnosis.Workload{Kind: "StatefulSet", Name: "payments-db"}
				return r, nil
			},
			want: "now belongs to StatefulSet/payments-db, not Deployment/payments-api."},
		{name: "approver groups unreadable", user: "U0CAROL", before: func(h *harness) { h.slack.FailNext("usergroups.users.list", "no_such_subteam", 1) },
			result: "approvers_unknown", wantDiags: 1, want: "pullcheck could not check whether you are an approver: internal error (ref "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			offered := tt.offered
			if offered.Pod.Name == "" {
				offered = credentialsReport()
			}
			msg, token := h.postReport(offered)
			if token == "" {
				t.Fatal("no button")
			}
			if tt.atClick != nil {
				h.setDiagnose(tt.atClick)
			}
			if tt.token != nil {
				token = tt.token(h, token)
			}
			if tt.before != nil {
				tt.before(h)
			}
			if tt.channel != "" {
				msg.Channel = tt.channel
			}
			user := cmpOr(tt.user, "U0ALICE")
			h.slack.reset()
			h.approve(h.click(msg, user, token))

			got := h.ephemerals(user)
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Fatalf("answer = %q, want one containing %q", got, tt.want)
			}
			if calls := h.restarter.restartCalls(); len(calls) != 0 {
				t.Errorf("Restart called: %+v", calls)
			}
			if n := len(h.slack.all("chat.update", "chat.postMessage")); n != 0 {
				t.Errorf("%d messages posted or updated, want none", n)
			}
			if n := h.diagCalls.Load(); n != tt.wantDiags {
				t.Errorf("%d diagnoses, want %d", n, tt.wantDiags)
			}
			recs := h.logs.records(t, "restart refused")
			if len(recs) != 1 || recs[0]["result"] != tt.result || recs[0]["user_id"] != user || recs[0]["at"] == nil {
				t.Errorf("refusal log = %v, want one line with result %s, who and when", recs, tt.result)
			}
		})
	}
}

// TestRestartAfterFix: a click refused because the cause holds does not use up the offer:
// once the fix is in, the next click restarts.
func TestRestartAfterFix(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(tagNotFoundReport())
	h.approve(h.click(msg, "U0ALICE", token))
	if n := len(h.restarter.restartCalls()); n != 0 {
		t.Fatalf("restarted while the tag is missing")
	}
	h.answer(tagPushedReport())
	h.approve(h.click(msg, "U0ALICE", token))
	if n := len(h.restarter.restartCalls()); n != 1 {
		t.Fatalf("%d restarts after the fix, want 1", n)
	}
}

// TestRestartReplayed: a click on an offer already carried out restarts nothing more.
func TestRestartReplayed(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(credentialsReport())
	h.approve(h.click(msg, "U0ALICE", token))
	h.advance(time.Minute)
	h.approve(h.click(msg, "U0CAROL", token))
	if n := len(h.restarter.restartCalls()); n != 1 {
		t.Fatalf("%d restarts, want 1", n)
	}
	got := h.ephemerals("U0CAROL")
	want := fmt.Sprintf("This restart was approved by <@U0ALICE> at <!date^%d^", testNow.Unix())
	if len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("answer = %q, want %q", got, want)
	}
	if recs := h.logs.records(t, "restart refused"); len(recs) != 1 || recs[0]["result"] != "already_done" {
		t.Errorf("log = %v", recs)
	}
}

// TestRestartDoneElsewhere: another replica carried the offer out (the Restarter says
// Already): the click says so and touches nothing.
func TestRestartDoneElsewhere(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(credentialsReport())
	o, err := h.p.signer.verify(token)
	if err != nil {
		t.Fatal(err)
	}
	h.restarter.results = map[string]RestartResult{o.ID: {RestartedAt: testNow.Add(-time.Minute)}}
	h.slack.reset()
	h.approve(h.click(msg, "U0ALICE", token))
	got := h.ephemerals("U0ALICE")
	if len(got) != 1 || !strings.Contains(got[0], "Deployment/payments-api was already restarted for this offer") {
		t.Errorf("answer = %q", got)
	}
	if n := len(h.slack.all("chat.update", "chat.postMessage")); n != 0 {
		t.Errorf("%d messages posted or updated, want none", n)
	}
	if recs := h.logs.records(t, "restart done"); len(recs) != 1 || recs[0]["result"] != "already_restarted" {
		t.Errorf("log = %v", recs)
	}
}

// TestRestartFails: an error from the Restarter is explained, and the offer stays usable.
func TestRestartFails(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(credentialsReport())
	fail := true
	h.restarter.restart = func(ctx context.Context, t RestartTarget) (RestartResult, error) {
		if fail {
			return RestartResult{}, fmt.Errorf("restart Deployment payments/payments-api: %w",
				&diagnosis.ForbiddenError{Verb: "update", Resource: "deployments.apps", Namespace: "payments", Err: errors.New("deployments.apps is forbidden")})
		}
		return RestartResult{RestartedAt: testNow}, nil
	}
	h.approve(h.click(msg, "U0ALICE", token))
	got := h.ephemerals("U0ALICE")
	if len(got) != 1 || !strings.Contains(got[0], `Deployment/payments-api was not restarted: pullcheck is not allowed to do this in cluster `+"`prod-eks`"+`: its service account needs the RBAC permission "update" on "deployments.apps" in namespace payments.`) {
		t.Errorf("answer = %q", got)
	}
	if strings.Contains(got[0], "is forbidden") {
		t.Errorf("answer shows the raw error: %q", got[0])
	}
	fail = false
	h.approve(h.click(msg, "U0ALICE", token))
	if n := len(h.restarter.restartCalls()); n != 2 {
		t.Errorf("%d Restart calls, want 2 (the failed one, then the retry)", n)
	}
	if n := len(h.slack.all("chat.update")); n == 0 {
		t.Error("the retry did not update the report")
	}
}

// TestConcurrentClicks: 20 clicks on one offer at once, by approvers, make one Restart call,
// one update of the report and one rollout thread; the others are told it is in progress.
func TestConcurrentClicks(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(credentialsReport())
	h.slack.reset()

	const clicks = 20
	release := make(chan struct{})
	h.restarter.restart = func(ctx context.Context, t RestartTarget) (RestartResult, error) {
		<-release // hold the restart until every other click has been answered
		return RestartResult{RestartedAt: testNow}, nil
	}
	go func() {
		h.slack.WaitFor(t.Context(), t, "the answers to the other clicks", func([]slackfake.Call) bool {
			return len(h.slack.all("chat.postEphemeral")) >= clicks-1
		})
		close(release)
	}()

	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clicks {
		user := "U0ALICE"
		if i%2 == 1 {
			user = "U0CAROL"
		}
		cb := h.click(msg, user, token)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ack, work := h.p.HandleInteraction(context.Background(), cb)
			if ack != nil || work == nil {
				t.Errorf("HandleInteraction = %v, %v", ack, work != nil)
				return
			}
			work(context.Background())
		}()
	}
	close(start)
	wg.Wait()

	if n := len(h.restarter.restartCalls()); n != 1 {
		t.Fatalf("%d Restart calls, want exactly 1", n)
	}
	var updates int
	for _, c := range h.slack.all("chat.update") {
		if c.TS == msg.TS {
			updates++
		}
	}
	if updates != 1 {
		t.Errorf("%d updates of the report, want 1", updates)
	}
	if n := len(h.threadReplies(msg.TS)); n != 2 {
		t.Errorf("%d thread replies, want 2", n)
	}
	eph := h.slack.all("chat.postEphemeral")
	if len(eph) != clicks-1 {
		t.Errorf("%d ephemeral answers, want %d", len(eph), clicks-1)
	}
	for _, e := range eph {
		if !strings.Contains(e.AllText(), "approved this restart at") && !strings.Contains(e.AllText(), "This restart was approved by") {
			t.Errorf("answer to a concurrent click = %q", e.AllText())
		}
	}
}

func TestRolloutOutcomes(t *testing.T) {
	newPod := diagnosis.PodRef{Namespace: "payments", Name: "payments-api-5c8d7f6b9-qq7lm"}
	tests := []struct {
		name    string
		follow  func(ctx context.Context, cancelWork func(), progress func(RolloutUpdate)) (RolloutUpdate, error)
		newDiag func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error)
		timeout time.Duration
		want    string
		result  string
	}{
		{name: "done", result: "done", want: "rolled out: 3 of 3 pods updated, 3 ready",
			follow: func(context.Context, func(), func(RolloutUpdate)) (RolloutUpdate, error) {
				return RolloutUpdate{Done: true, Desired: 3, Updated: 3, Ready: 3}, nil
			}},
		{name: "timed out", result: "timed_out", want: "has not finished rolling out after 10m: 1 of 3 pods updated, 0 ready.",
			follow: func(context.Context, func(), func(RolloutUpdate)) (RolloutUpdate, error) {
				return RolloutUpdate{TimedOut: true, Desired: 3, Updated: 1}, nil
			}},
		{name: "timed out by the deadline", result: "timed_out", timeout: time.Millisecond, want: "has not finished rolling out after 1ms",
			follow: func(ctx context.Context, _ func(), _ func(RolloutUpdate)) (RolloutUpdate, error) {
				<-ctx.Done()
				return RolloutUpdate{Desired: 3}, fmt.Errorf("watch: %w", ctx.Err())
			}},
		{name: "new pods fail", result: "new_failure",
			want: ":x: The new pods of Deployment/payments-api fail to start (1 of 3 pods updated, 0 ready): `payments/payments-api-5c8d7f6b9-qq7lm` fails with `tag-not-found`.",
			follow: func(context.Context, func(), func(RolloutUpdate)) (RolloutUpdate, error) {
				return RolloutUpdate{Desired: 3, Updated: 1, FailingPods: []diagnosis.PodRef{newPod}}, nil
			},
			newDiag: func(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
				if ref != newPod {
					return diagnosis.Report{}, fmt.Errorf("asked about %s", ref)
				}
				r := tagNotFoundReport()
				r.Pod = ref
				return r, nil
			}},
		{name: "new pods fail, undiagnosed", result: "new_failure", want: "It could not be diagnosed: internal error (ref ",
			follow: func(context.Context, func(), func(RolloutUpdate)) (RolloutUpdate, error) {
				return RolloutUpdate{Desired: 3, Updated: 1, FailingPods: []diagnosis.PodRef{newPod}}, nil
			},
			newDiag: func(context.Context, diagnosis.PodRef) (diagnosis.Report, error) {
				return diagnosis.Report{}, errors.New("etcdserver: request timed out")
			}},
		{name: "follow fails", result: "error", want: "pullcheck stopped following the rollout of Deployment/payments-api in namespace `payments`: internal error (ref ",
			follow: func(context.Context, func(), func(RolloutUpdate)) (RolloutUpdate, error) {
				return RolloutUpdate{}, errors.New("watch closed by the server")
			}},
		{name: "shutdown", result: "stopped", want: "stopped following the rollout of Deployment/payments-api in namespace `payments`: pullcheck is shutting down.",
			follow: func(ctx context.Context, cancelWork func(), _ func(RolloutUpdate)) (RolloutUpdate, error) {
				cancelWork()
				<-ctx.Done()
				return RolloutUpdate{TimedOut: true, Desired: 3, Updated: 2}, nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.RolloutTimeout = tt.timeout })
			msg, token := h.postReport(credentialsReport())
			workCtx, cancelWork := context.WithCancel(context.Background())
			defer cancelWork()
			h.restarter.follow = func(ctx context.Context, _ RestartTarget, progress func(RolloutUpdate)) (RolloutUpdate, error) {
				if tt.newDiag != nil {
					h.setDiagnose(tt.newDiag)
				}
				return tt.follow(ctx, cancelWork, progress)
			}
			_, work := h.p.HandleInteraction(context.Background(), h.click(msg, "U0ALICE", token))
			work(workCtx)

			replies := h.threadReplies(msg.TS)
			if len(replies) < 2 {
				t.Fatalf("thread replies = %+v, want the start and the outcome", replies)
			}
			last := replies[len(replies)-1]
			if got := last.AllText(); !strings.Contains(got, tt.want) {
				t.Errorf("outcome = %q, want it to contain %q", got, tt.want)
			}
			checkLimits(t, "outcome", message{Text: last.Text, Blocks: last.DecodeBlocks(t)})
			recs := h.logs.records(t, "rollout followed")
			if len(recs) != 1 || recs[0]["result"] != tt.result || recs[0]["user_id"] != "U0ALICE" || recs[0]["workload"] != "Deployment/payments-api" {
				t.Errorf("log = %v, want result %s with who and what", recs, tt.result)
			}
		})
	}
}

// TestRolloutProgress: progress updates edit the thread's first reply, at most every 5s;
// the final state is always written.
func TestRolloutProgress(t *testing.T) {
	h := newHarness(t)
	msg, token := h.postReport(credentialsReport())
	h.restarter.follow = func(ctx context.Context, _ RestartTarget, progress func(RolloutUpdate)) (RolloutUpdate, error) {
		progress(RolloutUpdate{Desired: 3, Updated: 1})
		h.advance(time.Second)
		progress(RolloutUpdate{Desired: 3, Updated: 2}) // too soon: skipped
		h.advance(5 * time.Second)
		progress(RolloutUpdate{Desired: 3, Updated: 3, Ready: 1})
		h.advance(30 * time.Second)
		return RolloutUpdate{Done: true, Desired: 3, Updated: 3, Ready: 3}, nil
	}
	h.slack.reset()
	h.approve(h.click(msg, "U0ALICE", token))
	replies := h.threadReplies(msg.TS)
	if len(replies) != 2 {
		t.Fatalf("%d replies, want 2", len(replies))
	}
	var got []string
	for _, u := range h.slack.all("chat.update") {
		if u.TS == replies[0].TS {
			got = append(got, u.Text)
		}
	}
	want := []string{
		":hourglass_flowing_sand: Rolling out Deployment/payments-api in namespace `payments`: 1 of 3 pods updated, 0 ready.",
		":hourglass_flowing_sand: Rolling out Deployment/payments-api in namespace `payments`: 3 of 3 pods updated, 1 ready.",
		":hourglass_flowing_sand: Rolling out Deployment/payments-api in namespace `payments`: 3 of 3 pods updated, 3 ready.",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("progress updates (-want +got):\n%s", diff)
	}
	if !strings.Contains(replies[1].AllText(), "in 36s") {
		t.Errorf("outcome = %q, want the duration", replies[1].AllText())
	}
}

func TestHandleInteractionIgnoresOthers(t *testing.T) {
	h := newHarness(t)
	for _, cb := range []slack.InteractionCallback{
		{Type: slack.InteractionTypeViewSubmission},
		{Type: slack.InteractionTypeShortcut},
		{Type: slack.InteractionTypeBlockActions, ActionCallback: slack.ActionCallbacks{BlockActions: []*slack.BlockAction{{ActionID: "something_else", Value: "x"}}}},
		{Type: slack.InteractionTypeBlockActions},
	} {
		ack, work := h.p.HandleInteraction(context.Background(), cb)
		if ack != nil || work != nil {
			t.Errorf("HandleInteraction(%s) = %v, %v; want nothing", cb.Type, ack, work != nil)
		}
	}
	if n := len(h.slack.all()); n != 0 {
		t.Errorf("%d Slack calls", n)
	}
}

func TestRestartOffer(t *testing.T) {
	p := testPullCheck(&fakeRestarter{})
	noKey := New(func() Config { c := testConfig(); c.TokenKey = nil; return c }(), Deps{Restarter: &fakeRestarter{}})
	noRestarter := New(testConfig(), Deps{})
	statefulSet := credentialsReport()
	statefulSet.Workload = &diagnosis.Workload{Kind: "StatefulSet", Name: "payments-db"}
	daemonSet := credentialsReport()
	daemonSet.Workload = &diagnosis.Workload{Kind: "DaemonSet", Name: "node-agent"}
	bare := credentialsReport()
	bare.Workload = &diagnosis.Workload{Kind: "Pod", Name: apiPod}
	noApprovers := credentialsReport()
	noApprovers.Pod.Namespace = "billing"
	tests := []struct {
		name      string
		p         *PullCheck
		r         diagnosis.Report
		wantOffer bool
		wantWhy   string
	}{
		{"deployment", p, credentialsReport(), true, ""},
		{"statefulset", p, statefulSet, true, ""},
		{"daemonset", p, daemonSet, true, ""},
		{"healthy", p, healthyReport(), false, ""},
		{"restart does not help anywhere", p, func() diagnosis.Report {
			r := credentialsReport()
			r.Findings[0].RestartHelps.Helps = false
			return r
		}(), false, ""},
		{"restart does not help one container", p, mixedReport(), false, "No restart button: a restart does not help `statsd-exporter` (see above)."},
		{"cronjob", p, cronJobReport(), false, "this pod belongs to CronJob/nightly-report."},
		{"no controller", p, bare, false, "this pod has no controller."},
		{"no approvers", p, noApprovers, false, "No restart button: no approvers are configured for namespace `billing`."},
		{"no key", noKey, credentialsReport(), false, ""},
		{"no restarter", noRestarter, credentialsReport(), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ov, why := tt.p.restartOffer(tt.r, tt.p.log)
			if (ov != nil) != tt.wantOffer || !strings.Contains(why, tt.wantWhy) || (tt.wantWhy == "" && why != "") {
				t.Fatalf("restartOffer = %v, %q; want offer %v, %q", ov != nil, why, tt.wantOffer, tt.wantWhy)
			}
			if ov == nil {
				return
			}
			o, err := tt.p.signer.verify(ov.token)
			if err != nil {
				t.Fatalf("the offered token does not verify: %v", err)
			}
			want := offer{Cluster: "prod-eks", Namespace: tt.r.Pod.Namespace, Kind: tt.r.Workload.Kind, Name: tt.r.Workload.Name,
				Pod: tt.r.Pod.Name, Cause: tt.r.Cause, ID: o.ID, Expires: testNow.Add(DefaultOfferTTL)}
			if diff := cmp.Diff(want, o); diff != "" {
				t.Errorf("offer (-want +got):\n%s", diff)
			}
			if len(o.ID) < 16 {
				t.Errorf("offer ID %q is too short to be unguessable", o.ID)
			}
		})
	}
}

func TestRestartBlocker(t *testing.T) {
	o := testOffer()
	o.Cause = diagnosis.CauseNodeDiskFull
	diskFull := credentialsReport()
	diskFull.Cause = diagnosis.CauseNodeDiskFull
	diskFull.Findings[0].Cause, diskFull.Findings[0].Confidence = diagnosis.CauseNodeDiskFull, diagnosis.Confirmed
	confirmedOther := credentialsReport()
	confirmedOther.Findings[0].Confidence = diagnosis.Confirmed
	tests := []struct {
		name string
		r    diagnosis.Report
		want string // "" when a restart may go ahead
	}{
		{"likely cause: the fix may be in", credentialsReport(), ""},
		{"the tag exists now", tagPushedReport(), ""},
		{"disk full: the new pod goes elsewhere", diskFull, ""},
		{"confirmed cause", confirmedOther, "the cause still holds"},
		{"confirmed missing tag", tagNotFoundReport(), "the cause still holds"},
		{"restart does not help", mixedReport(), "a restart does not help `statsd-exporter`"},
		{"healthy", healthyReport(), "is not failing any more"},
		{"failing, but not pulling", diagnosis.Report{Status: diagnosis.StatusFailing, Workload: credentialsReport().Workload}, "no longer fails to pull an image"},
	}
	for _, tt := range tests {
		if got := restartBlocker(o, tt.r); (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: restartBlocker = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func answerWith(r diagnosis.Report) func(context.Context, diagnosis.PodRef) (diagnosis.Report, error) {
	return func(context.Context, diagnosis.PodRef) (diagnosis.Report, error) { return r, nil }
}

func flipChar(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestAlertOfferChannel: a button the bot posted in an alert channel works there even though
// no channel rule names it; the same button clicked in another unlisted channel does not.
func TestAlertOfferChannel(t *testing.T) {
	for _, tc := range []struct {
		name, channel string
		restarted     bool
	}{
		{name: "in the alert's channel", channel: "C0ALERTS", restarted: true},
		{name: "elsewhere", channel: "C0RANDOM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.AlertOfferTTL = 4 * time.Hour })
			r := credentialsReport()
			blocks := h.p.AlertOffer(r, "C0ALERTS")
			if len(blocks) == 0 {
				t.Fatal("AlertOffer gave no button for a report whose restart helps")
			}
			if _, _, err := h.slack.client().PostMessageContext(t.Context(), tc.channel, slack.MsgOptionBlocks(blocks...)); err != nil {
				t.Fatal(err)
			}
			posts := h.slack.all("chat.postMessage")
			msg := posts[len(posts)-1]
			token := buttonValue(t, msg)
			o, err := h.p.signer.verify(token)
			if err != nil || o.Channel != "C0ALERTS" {
				t.Fatalf("token offer = %+v, %v; want it bound to C0ALERTS", o, err)
			}
			if want := h.clock().Add(4 * time.Hour).Truncate(time.Second); !o.Expires.Equal(want) {
				t.Errorf("alert offer expires %s, want %s (AlertOfferTTL)", o.Expires, want)
			}
			h.advance(3 * time.Hour) // long after a report's button would have expired
			h.answer(r)
			h.approve(h.click(msg, "U0ALICE", token))
			if got := len(h.restarter.restartCalls()); (got == 1) != tc.restarted {
				t.Fatalf("%d restarts, want restarted=%v; ephemerals %q", got, tc.restarted, h.ephemerals("U0ALICE"))
			}
			if !tc.restarted && !slices.ContainsFunc(h.ephemerals("U0ALICE"), func(s string) bool { return strings.Contains(s, "may not act on namespace") }) {
				t.Errorf("ephemerals = %q, want the channel refusal", h.ephemerals("U0ALICE"))
			}
		})
	}
	h := newHarness(t)
	if blocks := h.p.AlertOffer(healthyReport(), "C0ALERTS"); blocks != nil {
		t.Error("AlertOffer gave a button for a healthy report")
	}
}
