// Package slackfake is a local Slack Web API for tests: an httptest server that the real
// slack-go client talks to through slack.OptionAPIURL([Server.URL]). It answers the methods
// pullcheck calls ([Methods]) as Slack documents them, records every call ([Call]) and wakes
// up whoever waits for calls ([Server.WaitFor]), so tests synchronise on what reached Slack,
// never on sleeps.
//
// It is strict: a Web API call without the bot token ([Options.Token]) or of a method it does
// not know fails the test, so a new call cannot slip past the app manifest's scopes
// (tests/slack checks those against [Methods]).
//
// What it models:
//
//   - chat.postMessage, chat.postEphemeral and chat.update, with unique, increasing
//     timestamps ("1700000000.000100", "1700000000.000200", …). chat.update answers
//     message_not_found for a ts never posted in that channel.
//   - A workspace's channels ([Options.Channels]): conversations.list and, for the channels
//     the bot is a member of, users.conversations (types, exclude_archived, limit and cursor;
//     pages of at most [Options.PageSize], so pagination is exercised with a few channels;
//     users.conversations takes no user but the bot), conversations.info, and chat.* refusing
//     to post where the bot cannot (not_in_channel, channel_not_found, is_archived). As on
//     Slack, private channels the bot is not a member of are invisible to it. chat.* take channel IDs, not
//     names; user and DM IDs (U…, W…, D…) are not modelled and always accepted. With no
//     channels configured, chat.* accept any channel.
//   - usergroups.users.list ([Options.Groups]) and auth.test.
//   - Response URLs ([Server.ResponseURL]): they take a message and need no token.
//   - Faults: [Server.FailNext] answers {"ok":false,"error":…}, [Server.RateLimitNext] HTTP
//     429 with Retry-After, for tests of retries and metrics.
//
// Failed calls are recorded too, with [Call.Error] set: a test waiting for a message must
// match on Error == "" when faults are injected.
//
// The server imports nothing of pullcheck's, so every package's tests may use it.
package slackfake
