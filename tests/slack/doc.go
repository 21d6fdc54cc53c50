// Package slack tests the Slack bot end to end in HTTP mode, with everything real except
// Slack itself: a real kube-apiserver and etcd (tests/kubetest) holding what a kubelet
// writes; the kube collector and the diagnosis engine (cloud and registry enrichers off);
// the rollout Restarter; the real slack-go client, wrapped in bot.Poster, talking to a local
// Slack Web API (tests/slackfake) that records chat.postMessage, chat.update,
// chat.postEphemeral, usergroups.users.list and response URL calls and fails the test on a
// method it does not know; and bot.New with bot.NewHTTPHandler behind an HTTP server,
// receiving slash commands and block_actions signed exactly as Slack signs them.
//
// The tests synchronise on the calls the local Slack API records, never on sleeps. They
// need the envtest binaries (hack/control-plane.sh); they fail, never skip, when those are
// missing.
//
// manifest_test.go checks deploy/slack/app-manifest.yaml asks for exactly the bot scopes of
// the methods the local Slack API answers.
package slack
