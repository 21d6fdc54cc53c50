// Package handlers turns triggers (a /pullcheck slash command, a button click, a scheduled
// scan) into calls on the diagnosis engine and renders the results as Slack messages.
//
// Not built yet: it arrives with the Slack bot and channel alerts issues.
package handlers
