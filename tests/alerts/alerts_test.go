package alerts

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers/incident"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// TestFireDelay: a Deployment whose pods fail to pull alerts only once it has failed for the
// fire delay, once, in the channel its namespace is routed to, naming the workload, the
// namespace, the cause and the cluster and counting the pods.
func TestFireDelay(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t)
	bot := e.start("pullcheck-7d9f-a", false)
	bot.waitReady()
	w, pods := e.deployFailing(e.payments, "checkout", "k2x9z", "m4q7w")

	bot.scan()
	e.wantAlerts(0, "first sight")
	first := e.stored().incidentOf(t, w)
	if first.Fired || first.Key.Cause != diagnosis.CauseTagNotFound || !first.FirstSeen.Equal(e.clock.Now()) {
		t.Errorf("stored incident after the first scan: fired=%v cause=%s firstSeen=%s; want pending, %s, first seen now (%s)",
			first.Fired, first.Key.Cause, first.FirstSeen, diagnosis.CauseTagNotFound, e.clock.Now())
	}

	e.step(time.Minute)
	bot.scan()
	e.wantAlerts(0, "a minute in")

	e.step(fireDelay - time.Minute + time.Second)
	bot.scan()
	alert := e.waitAlert(w)
	e.wantAlerts(1, "past the fire delay")
	if alert.Channel != paymentsChannel {
		t.Errorf("alert posted in %s, want %s (the route for payments-*)", alert.Channel, paymentsChannel)
	}
	wantText := "Deployment/checkout in " + e.payments + " cannot pull its image: tag-not-found (cluster " + clusterName + ")"
	if alert.Text != wantText {
		t.Errorf("alert text = %q, want %q", alert.Text, wantText)
	}
	body := alert.AllText()
	for _, want := range []string{
		"*Cluster* `" + clusterName + "`", "*Namespace* `" + e.payments + "`", "*Workload* Deployment/checkout",
		"*Cause* `tag-not-found`", "*Pods affected* 2: `" + pods[0].Name + "` and `" + pods[1].Name + "`",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("alert lacks %q:\n%s", want, body)
		}
	}

	inc := e.stored().incidentOf(t, w)
	if !inc.Fired || inc.Channel != paymentsChannel || inc.MessageTS != alert.TS || !inc.FirstSeen.Equal(first.FirstSeen) {
		t.Errorf("stored incident after the alert: fired=%v channel=%s ts=%s firstSeen=%s; want fired in %s at %s, first seen %s",
			inc.Fired, inc.Channel, inc.MessageTS, inc.FirstSeen, paymentsChannel, alert.TS, first.FirstSeen)
	}
	if want := []string{pods[0].Name, pods[1].Name}; !slices.Equal(inc.Pods, want) {
		t.Errorf("stored pods = %v, want %v", inc.Pods, want)
	}

	// Failing on: nothing more to say.
	e.step(10 * time.Minute)
	bot.scan()
	e.wantAlerts(1, "ten minutes later")
	e.wantNoErrors()
}

// TestReplacementPodDoesNotRealert: the ReplicaSet replaces a failing pod with one that fails
// the same way. That is the same incident: no second alert, and the stored incident follows
// the pods.
func TestReplacementPodDoesNotRealert(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t)
	bot := e.start("pullcheck-7d9f-a", false)
	bot.waitReady()
	w, pods := e.deployFailing(e.payments, "ledger", "a1b2c", "d3e4f")
	alert := e.fireAlert(bot, w)
	before := e.stored().incidentOf(t, w)

	e.deletePod(pods[0])
	repl := e.pod(w, "g5h6j")
	e.fail(repl, w.image, notFound(w.image), time.Now())
	bot.scan()
	// Long enough for an incident first seen now to fire.
	e.step(fireDelay + time.Minute)
	bot.scan()

	e.wantAlerts(1, "after the replacement")
	for _, c := range e.slack.Calls("chat.update") {
		if c.TS != alert.TS || c.Channel != alert.Channel {
			t.Errorf("chat.update of %s %s, want only edits of the alert %s %s", c.Channel, c.TS, alert.Channel, alert.TS)
		}
	}
	inc := e.stored().incidentOf(t, w)
	if want := []string{pods[1].Name, repl.Name}; !slices.Equal(inc.Pods, want) {
		t.Errorf("stored pods = %v, want %v (the deleted pod gone, its replacement in)", inc.Pods, want)
	}
	if inc.MessageTS != alert.TS || !inc.FirstSeen.Equal(before.FirstSeen) || !inc.FiredAt.Equal(before.FiredAt) {
		t.Errorf("stored incident ts=%s firstSeen=%s firedAt=%s, want the same incident: ts=%s firstSeen=%s firedAt=%s",
			inc.MessageTS, inc.FirstSeen, inc.FiredAt, alert.TS, before.FirstSeen, before.FiredAt)
	}
	e.wantNoErrors()
}

// TestCauseChangeEditsInPlace: the pods of an alerted workload start failing for another
// cause (ECR answers 403). After the fire delay the alert is edited in place to show the new
// cause, and its thread says what changed; no second alert.
func TestCauseChangeEditsInPlace(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t)
	bot := e.start("pullcheck-7d9f-a", false)
	bot.waitReady()
	// shop-N has no route: its alerts go to the default channel.
	w, pods := e.deployFailing(e.shop, "web", "p1q2r", "s3t4u")
	alert := e.fireAlert(bot, w)
	if alert.Channel != platformChannel {
		t.Errorf("alert posted in %s, want the default channel %s", alert.Channel, platformChannel)
	}

	for _, p := range pods {
		e.fail(p, w.image, accessDenied(w.image), time.Now())
	}
	bot.scan()
	e.step(fireDelay - time.Second)
	bot.scan()
	if got := e.slack.Calls("chat.update"); len(got) != 0 {
		t.Fatalf("within the new cause's fire delay the alert was edited:\n%s", slackfake.Describe(got))
	}

	e.step(time.Second)
	bot.scan()
	edit := e.waitCall("the alert edited to the new cause", func(c slackfake.Call) bool {
		return c.Method == "chat.update" && c.TS == alert.TS
	})
	reply := e.waitCall("a thread reply on the cause change", func(c slackfake.Call) bool {
		return c.Method == "chat.postMessage" && c.ThreadTS == alert.TS
	})
	if edit.Channel != alert.Channel || reply.Channel != alert.Channel {
		t.Errorf("edit in %s, reply in %s, want both in the alert's channel %s", edit.Channel, reply.Channel, alert.Channel)
	}
	body := edit.AllText()
	for _, want := range []string{"cannot pull its image: access-denied", "*Cause changed* from `tag-not-found` to `access-denied`", "*Cause* `access-denied`"} {
		if !strings.Contains(body, want) {
			t.Errorf("edited alert lacks %q:\n%s", want, body)
		}
	}
	if want := "*Cause changed:* `tag-not-found` → `access-denied`"; !strings.Contains(reply.Text, want) {
		t.Errorf("thread reply = %q, want it to contain %q", reply.Text, want)
	}
	e.wantAlerts(1, "after the cause change")
	if n := len(e.slack.Calls("chat.update")); n != 1 {
		t.Errorf("%d chat.update calls, want 1:\n%s", n, slackfake.Describe(e.slack.Calls()))
	}

	inc := e.stored().incidentOf(t, w)
	if inc.Key.Cause != diagnosis.CauseAccessDenied || !inc.Fired || inc.MessageTS != alert.TS || inc.Channel != alert.Channel {
		t.Errorf("stored incident: cause=%s fired=%v ts=%s channel=%s; want %s, fired, on the alert %s in %s",
			inc.Key.Cause, inc.Fired, inc.MessageTS, inc.Channel, diagnosis.CauseAccessDenied, alert.TS, alert.Channel)
	}
	e.wantNoErrors()
}

// TestResolutionEditsInPlace: the pods run again. The alert resolves only once complete
// scans have seen no failing pod for the resolve grace: it is edited to say so, its thread
// is told, and the stored state holds no open incident.
func TestResolutionEditsInPlace(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t)
	bot := e.start("pullcheck-7d9f-a", false)
	bot.waitReady()
	w, pods := e.deployFailing(e.payments, "billing", "v5w6x", "y7z8a")
	alert := e.fireAlert(bot, w)

	for _, p := range pods {
		e.run(p)
	}
	bot.scan()
	healed := e.clock.Now()
	inc := e.stored().incidentOf(t, w)
	if len(inc.Pods) != 0 || !inc.AbsentSince.Equal(healed) || inc.Resolved {
		t.Errorf("stored incident after the pods ran: pods=%v absentSince=%s resolved=%v; want no pods, absent since %s, open",
			inc.Pods, inc.AbsentSince, inc.Resolved, healed)
	}
	e.step(resolveGrace - time.Minute)
	bot.scan()
	if got := e.slack.Calls("chat.update"); len(got) != 0 {
		t.Fatalf("within the resolve grace the alert was edited:\n%s", slackfake.Describe(got))
	}

	e.step(time.Minute)
	bot.scan()
	edit := e.waitCall("the alert edited to resolved", func(c slackfake.Call) bool {
		return c.Method == "chat.update" && c.TS == alert.TS
	})
	reply := e.waitCall("a thread reply on the resolution", func(c slackfake.Call) bool {
		return c.Method == "chat.postMessage" && c.ThreadTS == alert.TS
	})
	if want := "Resolved: Deployment/billing in " + e.payments + " (tag-not-found)"; edit.Text != want {
		t.Errorf("edited alert text = %q, want %q", edit.Text, want)
	}
	if !strings.Contains(edit.AllText(), ":white_check_mark: *Resolved*") {
		t.Errorf("edited alert does not show it resolved:\n%s", edit.AllText())
	}
	if !strings.Contains(reply.Text, "*Resolved*") || !strings.Contains(reply.Text, "any more") {
		t.Errorf("thread reply = %q, want the resolution", reply.Text)
	}
	e.wantAlerts(1, "after the resolution")
	if st := e.stored(); len(st.Incidents) != 0 {
		t.Errorf("stored incidents after the resolution = %+v, want none", st.Incidents)
	}
	e.wantNoErrors()
}

// TestRestartedBotPostsNoDuplicate: the replica that posted an alert stops; a new one takes
// the Lease and the state ConfigMap. Its first scan posts nothing (nor do later ones), and it
// resolves the alert the first one posted.
func TestRestartedBotPostsNoDuplicate(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t)
	first := e.start("pullcheck-7d9f-a", false)
	first.waitReady()
	w, pods := e.deployFailing(e.payments, "gateway", "b1c2d", "e3f4g")
	alert := e.fireAlert(first, w)
	first.stop()
	wantNotLeading(t, first)

	second := e.start("pullcheck-7d9f-b", false)
	second.waitReady()
	e.wantAlerts(1, "after the new replica's first scan")
	// Had it forgotten the incident, it would see a new one and fire it after the delay.
	e.step(fireDelay + time.Minute)
	second.scan()
	e.wantAlerts(1, "a fire delay after the restart")
	for _, o := range second.observations() {
		if len(o.actions) > 0 {
			t.Errorf("the new replica acted on the open incident: %s", o)
		}
	}

	for _, p := range pods {
		e.run(p)
	}
	second.scan()
	e.step(resolveGrace)
	second.scan()
	e.waitCall("the first replica's alert resolved", func(c slackfake.Call) bool {
		return c.Method == "chat.update" && c.TS == alert.TS && strings.HasPrefix(c.Text, "Resolved:")
	})
	e.wantAlerts(1, "after the resolution")
	if st := e.stored(); len(st.Incidents) != 0 {
		t.Errorf("stored incidents after the resolution = %+v, want none", st.Incidents)
	}
	e.wantNoErrors()
}

// TestTwoReplicasOneLease: two replicas compete for one Lease. Only the leader scans and
// posts, one alert per incident; the other's Scan is refused. When the leader stops, the
// other takes over and resolves the alerts the first one posted.
func TestTwoReplicasOneLease(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t)
	a := e.start("pullcheck-7d9f-a", false)
	b := e.start("pullcheck-7d9f-b", false)
	leader := e.waitLeader(a, b)
	follower := a
	if leader == a {
		follower = b
	}
	if follower.isLeading() {
		t.Fatalf("both %s and %s lead", a.identity, b.identity)
	}

	checkout, checkoutPods := e.deployFailing(e.payments, "checkout", "h5j6k")
	web, webPods := e.deployFailing(e.shop, "web", "m7n8p")
	scanBoth := func() {
		t.Helper()
		leader.scan()
		wantNotLeading(t, follower)
	}
	scanBoth()
	e.step(fireDelay)
	scanBoth()
	alerts := map[string]slackfake.Call{
		checkout.name: e.waitAlert(checkout),
		web.name:      e.waitAlert(web),
	}
	scanBoth()
	e.wantAlerts(2, "two workloads failing, scans on both replicas")
	if got := alerts[checkout.name].Channel; got != paymentsChannel {
		t.Errorf("checkout alert in %s, want %s", got, paymentsChannel)
	}
	if got := alerts[web.name].Channel; got != platformChannel {
		t.Errorf("web alert in %s, want %s", got, platformChannel)
	}
	if obs := follower.observations(); len(obs) != 0 {
		t.Errorf("the follower %s observed: %v, want nothing", follower.identity, obs)
	}
	fired := 0
	for _, o := range leader.observations() {
		for _, act := range o.actions {
			if act.Kind == incident.Fire {
				fired++
			}
		}
	}
	if fired != 2 {
		t.Errorf("the leader fired %d incidents, want 2", fired)
	}

	leader.stop()
	wantNotLeading(t, leader)
	follower.waitReady()
	e.wantAlerts(2, "after the failover")

	for _, p := range append(checkoutPods, webPods...) {
		e.run(p)
	}
	follower.scan()
	e.step(resolveGrace)
	follower.scan()
	for _, w := range []*workload{checkout, web} {
		alert := alerts[w.name]
		e.waitCall("the "+w.name+" alert resolved by the new leader", func(c slackfake.Call) bool {
			return c.Method == "chat.update" && c.Channel == alert.Channel && c.TS == alert.TS && strings.HasPrefix(c.Text, "Resolved:")
		})
		e.waitCall("the resolution in the "+w.name+" alert's thread", func(c slackfake.Call) bool {
			return c.Method == "chat.postMessage" && c.Channel == alert.Channel && c.ThreadTS == alert.TS
		})
	}
	e.wantAlerts(2, "after the resolutions")
	if st := e.stored(); len(st.Incidents) != 0 {
		t.Errorf("stored incidents after the resolutions = %+v, want none", st.Incidents)
	}
	e.wantNoErrors()
}

// TestWatchRaisesIncident: with the watch on, a pod entering ErrImagePull is diagnosed
// within seconds without a scan, and its alert is posted once the clock passes the fire
// delay, again without a scan.
func TestWatchRaisesIncident(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t)
	bot := e.start("pullcheck-7d9f-a", true)
	bot.waitReady()
	term := func() int {
		e.mu.Lock()
		defer e.mu.Unlock()
		return bot.term
	}()

	w := e.deploy(e.payments, "fraud")
	pod := e.pod(w, "q9r8s") // ContainerCreating: the watch has nothing to say yet
	start := time.Now()
	e.fail(pod, w.image, notFound(w.image), time.Now())
	wctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	e.waitUntilCtx(wctx, "the watch to observe the failing pod within 10s", func() bool {
		return slices.ContainsFunc(bot.observed, func(o observation) bool { return o.term == term && o.source == "watch" })
	})
	t.Logf("the watch observed the pod %s after the kubelet's writes", time.Since(start).Round(time.Millisecond))

	inc := e.stored().incidentOf(t, w)
	if inc.Fired || !slices.Equal(inc.Pods, []string{pod.Name}) || !inc.FirstSeen.Equal(e.clock.Now()) {
		t.Errorf("stored incident after the watch: fired=%v pods=%v firstSeen=%s; want pending, [%s], first seen now (%s)",
			inc.Fired, inc.Pods, inc.FirstSeen, pod.Name, e.clock.Now())
	}
	e.wantAlerts(0, "within the fire delay")

	e.step(fireDelay)
	actx, cancel2 := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel2()
	alert := e.slack.WaitForCall(actx, t, "the alert once the clock passed the fire delay", func(c slackfake.Call) bool {
		return c.Method == "chat.postMessage" && c.ThreadTS == "" && strings.Contains(c.Text, "Deployment/fraud in "+e.payments)
	})
	if alert.Channel != paymentsChannel {
		t.Errorf("alert in %s, want %s", alert.Channel, paymentsChannel)
	}
	if !strings.Contains(alert.AllText(), "*Pods affected* 1: `"+pod.Name+"`") {
		t.Errorf("alert does not count the pod:\n%s", alert.AllText())
	}

	// The pipeline reports an observation once its posts are done.
	e.waitUntil("the fire's observation", func() bool {
		return slices.ContainsFunc(bot.observed, func(o observation) bool {
			return o.term == term && slices.ContainsFunc(o.actions, func(a incident.Action) bool { return a.Kind == incident.Fire })
		})
	})
	// Nothing but the watch and the due fire: the start scan was the term's only scan.
	var sources []string
	for _, o := range bot.observations() {
		if o.term != term {
			continue
		}
		sources = append(sources, o.source)
		if o.source == "due" && slices.ContainsFunc(o.actions, func(a incident.Action) bool { return a.Kind == incident.Fire }) {
			sources = append(sources, "fire")
		}
	}
	sources = slices.Compact(sources)
	if want := []string{"scan", "watch", "due", "fire"}; !cmp.Equal(sources, want) {
		t.Errorf("observations of the term (compacted) = %v, want %v", sources, want)
	}
	e.wantAlerts(1, "after the fire")
	e.wantNoErrors()
}
