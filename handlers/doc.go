// Package handlers turns Slack triggers into calls on the diagnosis engine and renders the
// results as Block Kit messages:
//
//   - /pullcheck <namespace>/<pod>, /pullcheck <pod> -n <namespace>, /pullcheck <namespace>
//     (a scan) and /pullcheck help, answered by (*PullCheck).HandleCommand;
//   - the approve-to-restart button, answered by (*PullCheck).HandleInteraction: a signed,
//     expiring offer, checked against the namespace's approvers, re-diagnosed at click time,
//     restarted at most once, then followed in a thread until the rollout ends.
//
// Both handlers return at once with an acknowledgement and a work function, which the
// transport (package bot) runs on its worker pool. Which channels may ask about which
// namespaces, and who may approve restarts, is configuration (Config).
//
// Users see public text only (UserError); anything unexpected shows "internal error (ref …)"
// and is logged once with the same reference.
package handlers
