// Package mrkdwn formats text for Slack's mrkdwn: escaping, code spans and blocks, splitting
// long text at Block Kit's limits, dates and mentions. Shared by the bot's replies and its
// channel alerts.
package mrkdwn
