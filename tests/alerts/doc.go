// Package alerts tests the channel alerts (issue 5) end to end, with everything real except
// Slack and the kubelet: a real kube-apiserver and etcd (tests/kubetest) holding what a
// kubelet writes; each bot replica with its own client, the kube collector and the diagnosis
// engine (cloud and registry enrichers off), the alert pipeline, the incident state in a
// ConfigMap (store.ConfigMapStore) and the leader-elected service competing for a real Lease;
// the real slack-go client, wrapped in bot.Poster, talking to a local Slack Web API
// (tests/slackfake).
//
// Time is a fake clock shared by the replicas of a test: the tests step it past the fire
// delay and the resolve grace, and drive the scans themselves (the cron schedule never
// fires). They synchronise on the pipeline's Observed callback, the service's leader
// callback and the calls the local Slack API records, never on sleeps. The benchmark runs
// on the real clock, to measure how long after the fire delay an alert reaches Slack.
//
// The tests need the envtest binaries (hack/control-plane.sh); they fail, never skip, when
// those are missing.
package alerts
