package handlers

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// progressEvery is the least time between two updates of the rollout's progress message
// (chat.update is rate limited); the final state is always posted.
const progressEvery = 5 * time.Second

// restartable lists the workload kinds pullcheck restarts (what kubectl rollout restart supports).
var restartable = []string{"Deployment", "StatefulSet", "DaemonSet"}

// causesARestartRemedies are causes where the new pod itself is the remedy (it lands on
// another node), so that a cause that still holds does not block the restart.
var causesARestartRemedies = []diagnosis.Cause{diagnosis.CauseNodeDiskFull, diagnosis.CauseRuntimeError}

// restartOffer decides whether a report gets the approve-to-restart button and signs its
// token. Without a button where a restart would help, the second result says why.
func (p *PullCheck) restartOffer(r diagnosis.Report, log *slog.Logger) (*offerView, string) {
	return p.restartOfferIn(r, log, "", p.cfg.OfferTTL)
}

// AlertOffer returns the approve-to-restart blocks for a channel alert of a failing report,
// posted by the bot in channelID, or nil when the report gets no button (a restart does not
// help, restarts are not enabled, no approvers). The button follows the same rules as a
// report's; a click is allowed in channelID even when no channel rule names it.
func (p *PullCheck) AlertOffer(r diagnosis.Report, channelID string) []slack.Block {
	ov, _ := p.restartOfferIn(r, p.log, channelID, p.cfg.AlertOfferTTL)
	if ov == nil {
		return nil
	}
	return offerBlocks(*ov, p.cfg.Cluster)
}

func (p *PullCheck) restartOfferIn(r diagnosis.Report, log *slog.Logger, channel string, ttl time.Duration) (*offerView, string) {
	if r.Status != diagnosis.StatusFailing || len(r.Findings) == 0 {
		return nil, ""
	}
	var noHelp []string
	for _, f := range r.Findings {
		if !f.RestartHelps.Helps {
			noHelp = append(noHelp, containerLabel(f))
		}
	}
	switch {
	case len(noHelp) == len(r.Findings):
		return nil, "" // each container already says a restart does not help
	case len(noHelp) > 0:
		return nil, "No restart button: a restart does not help " + listAnd(noHelp) + " (see above)."
	case p.restarter == nil || len(p.cfg.TokenKey) < minKeyLen:
		return nil, "" // restarts from Slack are not enabled
	}
	w := r.Workload
	if w == nil || !slices.Contains(restartable, w.Kind) {
		what := "this pod has no controller"
		if w != nil && w.Kind != "" && w.Kind != "Pod" {
			what = "this pod belongs to " + esc(w.Kind+"/"+w.Name)
		}
		return nil, "No restart button: pullcheck restarts Deployments, StatefulSets and DaemonSets, and " + what + "."
	}
	if users, groups := p.access.approversFor(r.Pod.Namespace); len(users)+len(groups) == 0 {
		return nil, "No restart button: no approvers are configured for namespace " + code(r.Pod.Namespace) + "."
	}
	o := offer{
		Cluster:   p.cfg.Cluster,
		Namespace: r.Pod.Namespace,
		Kind:      w.Kind,
		Name:      w.Name,
		Pod:       r.Pod.Name,
		PodUID:    r.PodUID,
		Cause:     r.Cause,
		ID:        newOfferID(),
		Channel:   channel,
		Expires:   p.now().Add(ttl).Truncate(time.Second),
	}
	token, err := p.signer.sign(o)
	if err != nil {
		log.Error("restart offer not signed", "err", err)
		return nil, ""
	}
	return &offerView{token: token, offer: o}, ""
}

// restartBlocker reads the click-time diagnosis and says why a restart cannot help now, or
// returns "" when it can: the pod still fails, every failing container says a restart helps
// once its cause is fixed, and no cause is confirmed to still hold (the fix is not in yet),
// except causes where the new pod itself is the remedy.
func restartBlocker(o offer, r diagnosis.Report) string {
	if o.PodUID != "" && r.PodUID != "" && r.PodUID != o.PodUID {
		return code(o.Namespace+"/"+o.Pod) + " was replaced by a new pod of the same name since the offer: diagnose it again for a fresh offer."
	}
	if r.Status != diagnosis.StatusFailing {
		return code(o.Namespace+"/"+o.Pod) + " is not failing any more: no restart is needed."
	}
	if len(r.Findings) == 0 {
		return code(o.Namespace+"/"+o.Pod) + " no longer fails to pull an image; whatever fails now, a restart is not known to help."
	}
	if r.Workload == nil || r.Workload.Kind != o.Kind || r.Workload.Name != o.Name {
		now := "no controller"
		if r.Workload != nil {
			now = esc(r.Workload.Kind + "/" + r.Workload.Name)
		}
		return code(o.Namespace+"/"+o.Pod) + " now belongs to " + now + ", not " + esc(o.workload()) + "."
	}
	for _, f := range r.Findings {
		if !f.RestartHelps.Helps {
			return "a restart does not help " + containerLabel(f) + " (" + code(string(f.Cause)) + "): " + esc(oneLine(f.RestartHelps.Reason)) + "."
		}
	}
	for _, f := range r.Findings {
		if f.Confidence == diagnosis.Confirmed && !slices.Contains(causesARestartRemedies, f.Cause) {
			return "the cause still holds. " + containerLabel(f) + ": " + code(string(f.Cause)) + " (confirmed just now): " +
				truncate(esc(oneLine(f.Summary)), 600) + " A new pod would fail the same way. Apply the fix first, then approve again." +
				" (Fixed already? The kubelet has not retried the pull yet: it backs off for up to 5 minutes. Approve again after its next attempt.)"
		}
	}
	return ""
}

// click is a verified click on a restart button.
type click struct {
	user, channel, channelName string
	messageTS, responseURL     string
	// blocks and text are the original message, to replace its button.
	blocks []slack.Block
	text   string
}

// HandleInteraction answers clicks on the approve-to-restart button; other interactions are
// ignored. It returns at once with no acknowledgement (Slack shows none for block actions):
// every answer is an ephemeral message or an update of the original message, sent by work.
func (p *PullCheck) HandleInteraction(ctx context.Context, cb slack.InteractionCallback) (*slack.Msg, func(context.Context)) {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil, nil
	}
	var action *slack.BlockAction
	for _, a := range cb.ActionCallback.BlockActions {
		if a != nil && a.ActionID == restartActionID {
			action = a
			break
		}
	}
	if action == nil {
		return nil, nil
	}
	c := click{
		user:        cb.User.ID,
		channel:     cmp.Or(cb.Channel.ID, cb.Container.ChannelID),
		channelName: cb.Channel.Name,
		messageTS:   cmp.Or(cb.Container.MessageTs, cb.Message.Timestamp),
		responseURL: cb.ResponseURL,
		blocks:      cb.Message.Blocks.BlockSet,
		text:        cb.Message.Text,
	}
	if cb.Container.IsEphemeral {
		c.messageTS = "" // an ephemeral message cannot be updated
	}
	o, err := p.signer.verify(action.Value)
	return nil, func(ctx context.Context) { p.approve(ctx, c, o, err) }
}

// approve runs one click: refuse, or restart once and follow the rollout.
func (p *PullCheck) approve(ctx context.Context, c click, o offer, verr error) {
	log := p.log.With("user_id", c.user, "channel_id", c.channel, "action", "restart", "at", p.now())
	to := answerTo{channel: c.channel, user: c.user, responseURL: c.responseURL}
	refuse := func(result, text string, attrs ...any) {
		log.InfoContext(ctx, "restart refused", append([]any{"result", result}, attrs...)...)
		p.tell(ctx, log, to, notice(":no_entry: "+text+" Nothing was restarted."))
	}
	switch {
	case errors.Is(verr, ErrTokenExpired):
		refuse("offer_expired", "This restart offer ended "+slackDate(o.Expires)+". Run "+code("/pullcheck "+o.Namespace+"/"+o.Pod)+
			" again for a fresh diagnosis and a new button.", "offer_id", o.ID, "namespace", o.Namespace, "workload", o.workload())
		return
	case verr != nil:
		log.WarnContext(ctx, "restart refused", "result", "invalid_token", "err", verr)
		p.tell(ctx, log, to, notice(":no_entry: This restart button is not valid here: it was altered, or it comes from another pullcheck. Nothing was restarted."))
		return
	}
	log = log.With("offer_id", o.ID, "namespace", o.Namespace, "workload", o.workload(), "pod", o.Pod)

	if !(o.Channel != "" && o.Channel == c.channel) && !p.access.allowed(c.channel, c.channelName, o.Namespace) {
		refuse("channel_not_allowed", "This channel may not act on namespace "+code(o.Namespace)+".")
		return
	}
	if p.restarter == nil || p.diag == nil {
		refuse("restarts_disabled", "Restarts from Slack are not enabled.")
		return
	}
	users, groups := p.access.approversFor(o.Namespace)
	ok, err := p.approvers.isApprover(ctx, c.user, users, groups)
	if !ok && err != nil {
		ref := newRef()
		log.ErrorContext(ctx, "restart refused", "result", "approvers_unknown", "ref", ref, "err", err)
		p.tell(ctx, log, to, notice(":warning: pullcheck could not check whether you are an approver: internal error (ref "+ref+"). Nothing was restarted."))
		return
	}
	if !ok {
		who := make([]string, 0, len(users)+len(groups))
		for _, id := range append(slices.Clone(users), groups...) {
			who = append(who, mention(id))
		}
		text := "Only approvers for namespace " + code(o.Namespace) + " can restart " + esc(o.workload())
		if len(who) > 0 {
			text += ": " + listOr(who)
		}
		refuse("not_approver", text+".")
		return
	}

	state, mine := p.offers.claim(o, c.user)
	if !mine {
		if state.done {
			refuse("already_done", "This restart was approved by "+mention(state.by)+" at "+slackDate(state.at)+" and "+esc(o.workload())+" was restarted.")
		} else {
			refuse("in_progress", mention(state.by)+" approved this restart at "+slackDate(state.at)+"; it is in progress.")
		}
		return
	}
	done := false
	defer func() {
		if !done {
			p.offers.release(o.ID)
		}
	}()

	ref := diagnosis.PodRef{Namespace: o.Namespace, Name: o.Pod}
	req := request{kind: reqDiagnose, namespace: o.Namespace, pod: o.Pod}
	dctx, cancel := context.WithTimeout(ctx, p.cfg.CommandTimeout)
	report, err := p.diag.Diagnose(dctx, ref)
	cancel()
	switch {
	case errors.Is(err, diagnosis.ErrPodNotFound):
		refuse("pod_gone", code(ref.String())+" no longer exists: "+esc(o.workload())+" has probably rolled since the diagnosis. Run "+
			code("/pullcheck "+o.Namespace)+" to see whether its new pods fail.")
		return
	case err != nil:
		p.fail(ctx, log, to, "restart check", err, req)
		return
	}
	if why := restartBlocker(o, report); why != "" {
		refuse("cause_holds", "Not restarting "+esc(o.workload())+": "+why, "cause", report.Cause, "status", report.Status)
		return
	}

	target := RestartTarget{Namespace: o.Namespace, Kind: o.Kind, Name: o.Name, PodName: o.Pod, PodUID: o.PodUID, OfferID: o.ID, ApprovedBy: c.user}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.CommandTimeout)
	res, err := p.restarter.Restart(rctx, target)
	cancel()
	if err != nil {
		public, internal := p.explain(err, req)
		if internal {
			r := newRef()
			public = "internal error (ref " + r + ")"
			log.ErrorContext(ctx, "restart failed", "result", "error", "ref", r, "err", err)
		} else {
			log.WarnContext(ctx, "restart failed", "result", "user_error", "err", err)
		}
		p.tell(ctx, log, to, notice(":warning: "+esc(o.workload())+" was not restarted: "+public))
		return
	}
	at := p.now()
	done = true
	p.offers.finish(o.ID)
	if res.Already {
		log.InfoContext(ctx, "restart done", "result", "already_restarted", "restarted_at", res.RestartedAt)
		p.tell(ctx, log, to, notice(":information_source: "+esc(o.workload())+" was already restarted for this offer, at "+slackDate(res.RestartedAt)+". Nothing more was done."))
		return
	}
	log.InfoContext(ctx, "restart done", "result", "restarted", "restarted_at", res.RestartedAt, "cause", report.Cause)

	if c.messageTS != "" {
		text := cmp.Or(c.text, approvalText(c.user, at, o))
		uctx, cancel := answerContext(ctx)
		_, _, _, err := p.poster.UpdateMessageContext(uctx, c.channel, c.messageTS,
			slack.MsgOptionText(text, false), slack.MsgOptionBlocks(approvedBlocks(c.blocks, c.user, at, o)...))
		cancel()
		if err != nil {
			log.WarnContext(ctx, "report not updated", "err", err)
		}
	}
	p.follow(ctx, log, c, o, target, res)
}

// follow posts a thread reply that tracks the rollout, then the outcome: done, timed out,
// new pods failing (with the first one's diagnosis), or why pullcheck stopped following.
func (p *PullCheck) follow(ctx context.Context, log *slog.Logger, c click, o offer, t RestartTarget, res RestartResult) {
	start := p.now()
	inThread := func(m message) []slack.MsgOption {
		opts := m.options()
		if c.messageTS != "" {
			opts = append(opts, slack.MsgOptionTS(c.messageTS))
		}
		return opts
	}
	post := func(m message) string {
		actx, cancel := answerContext(ctx)
		defer cancel()
		_, ts, err := p.poster.PostMessageContext(actx, c.channel, inThread(m)...)
		if err != nil {
			log.WarnContext(ctx, "rollout reply not posted", "reply", m.Text, "err", err)
		}
		return ts
	}
	progressTS := post(renderRolloutStart(o, c.user, res, p.cfg.RolloutTimeout))

	var (
		mu   sync.Mutex
		last time.Time
	)
	progress := func(u RolloutUpdate) {
		mu.Lock()
		now := p.now()
		skip := progressTS == "" || (!last.IsZero() && now.Sub(last) < progressEvery)
		if !skip {
			last = now
		}
		mu.Unlock()
		if skip {
			return
		}
		actx, cancel := answerContext(ctx)
		defer cancel()
		if _, _, _, err := p.poster.UpdateMessageContext(actx, c.channel, progressTS, renderRolloutProgress(o, u).options()...); err != nil {
			log.DebugContext(ctx, "rollout progress not updated", "err", err)
		}
	}

	fctx, cancel := context.WithTimeout(ctx, p.cfg.RolloutTimeout)
	u, err := p.restarter.Follow(fctx, t, progress)
	timedOut := u.TimedOut || (errors.Is(err, context.DeadlineExceeded) && fctx.Err() != nil)
	cancel()
	took := p.now().Sub(start)
	attrs := []any{"duration", took, "desired", u.Desired, "updated", u.Updated, "ready", u.Ready}

	if progressTS != "" {
		actx, cancel := answerContext(ctx)
		if _, _, _, err := p.poster.UpdateMessageContext(actx, c.channel, progressTS, renderRolloutProgress(o, u).options()...); err != nil {
			log.DebugContext(ctx, "rollout progress not updated", "err", err)
		}
		cancel()
	}

	switch {
	case len(u.FailingPods) > 0:
		failing := u.FailingPods[0]
		var report *diagnosis.Report
		failure := ""
		if ctx.Err() == nil {
			dctx, cancel := context.WithTimeout(ctx, p.cfg.CommandTimeout)
			r, err := p.diag.Diagnose(dctx, failing)
			cancel()
			if err != nil {
				public, internal := p.explain(err, request{kind: reqDiagnose, namespace: failing.Namespace, pod: failing.Name})
				if internal {
					ref := newRef()
					public = "It could not be diagnosed: internal error (ref " + ref + ")"
					log.ErrorContext(ctx, "new pod not diagnosed", "ref", ref, "pod", failing.String(), "err", err)
				}
				failure = public
			} else {
				report = &r
			}
		}
		main, thread := renderRolloutFailure(o, u, failing, report, failure, p.cfg.Cluster, p.now())
		if ts := post(main); ts != "" {
			for _, m := range thread {
				actx, cancel := answerContext(ctx)
				if _, _, err := p.poster.PostMessageContext(actx, c.channel, append(m.options(), slack.MsgOptionTS(cmp.Or(c.messageTS, ts)))...); err != nil {
					log.WarnContext(ctx, "rollout reply not posted", "err", err)
				}
				cancel()
			}
		}
		cause := diagnosis.CauseUnknown
		if report != nil {
			cause = report.Cause
		}
		log.InfoContext(ctx, "rollout followed", append(attrs, "result", "new_failure", "failing_pod", failing.String(), "cause", cause)...)
	case err == nil && u.Done:
		post(renderRolloutDone(o, u, took))
		log.InfoContext(ctx, "rollout followed", append(attrs, "result", "done")...)
	case ctx.Err() != nil: // the work's own deadline or a shutdown, not the rollout timeout
		why := "pullcheck is shutting down."
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "pullcheck's time for this work ran out."
		}
		post(renderRolloutLost(o, why))
		log.WarnContext(ctx, "rollout followed", append(attrs, "result", "stopped", "err", cmp.Or(err, ctx.Err()))...)
	case timedOut:
		post(renderRolloutTimedOut(o, u, p.cfg.RolloutTimeout))
		log.InfoContext(ctx, "rollout followed", append(attrs, "result", "timed_out")...)
	case err != nil:
		ref := newRef()
		post(renderRolloutLost(o, "internal error (ref "+ref+")."))
		log.ErrorContext(ctx, "rollout followed", append(attrs, "result", "error", "ref", ref, "err", err)...)
	default:
		post(renderRolloutLost(o, "the rollout stopped reporting before it finished."))
		log.WarnContext(ctx, "rollout followed", append(attrs, "result", "unknown")...)
	}
}

// offerRegistry remembers, in this process, the offers being approved and those done, so
// that concurrent or repeated clicks on one offer make one Restart call. Entries are
// dropped once their offer has expired: its token is refused from then on.
type offerRegistry struct {
	now func() time.Time

	mu     sync.Mutex
	offers map[string]*offerState
}

type offerState struct {
	by      string    // who approved
	at      time.Time // when
	done    bool      // restarted
	expires time.Time
}

// claim returns true when the caller is the first to approve the offer and must handle it;
// otherwise it returns the current state: in progress, or done.
func (r *offerRegistry) claim(o offer, who string) (offerState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for id, s := range r.offers {
		if !now.Before(s.expires) && s.done {
			delete(r.offers, id)
		}
	}
	if s, ok := r.offers[o.ID]; ok {
		return *s, false
	}
	if r.offers == nil {
		r.offers = map[string]*offerState{}
	}
	r.offers[o.ID] = &offerState{by: who, at: now, expires: o.Expires}
	return offerState{}, true
}

// release gives up a claim that did not restart, so that a later click can try again.
func (r *offerRegistry) release(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.offers[id]; ok && !s.done {
		delete(r.offers, id)
	}
}

// finish marks the offer as done.
func (r *offerRegistry) finish(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.offers[id]; ok {
		s.done = true
	}
}
