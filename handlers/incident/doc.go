// Package incident is the pure core of pullcheck's channel alerts: diagnosis reports in,
// alerting decisions out. It does no I/O, talks to neither Slack nor the cluster, and never
// reads the clock: every call carries the time it stands for.
//
// An incident is keyed by workload (the owning Deployment, StatefulSet, DaemonSet, Job or
// CronJob, else the bare pod, Kind "Pod") plus cause, never by pod name or raw message, so
// replacement pods and message flapping stay one incident, and several failing pods of one
// workload are one incident that counts them.
//
// A Tracker turns observations (a full scan, or a watch event) into Actions:
//
//   - Fire: a new incident has failed continuously for at least Options.FireDelay, so a pull
//     that succeeds on its own retry never alerts;
//   - Update: the workload's alert now has another cause; the old-cause incident ends and the
//     new one takes over its Slack message (edited in place, with a thread reply), instead of a
//     second alert;
//   - Remind: still failing Options.RepeatInterval after the last notification;
//   - Resolve: no failing pod of that workload for that cause for Options.ResolveGrace, as seen
//     by complete observations only (a watch event cannot prove absence).
//
// Snapshot and Restore carry the state (JSON-serialisable Incidents) across restarts and
// leader changes, so a new process re-alerts nothing and still resolves old alerts.
package incident
