// Package alerts holds the pure parts of pullcheck's channel alerts: which channel an
// incident goes to (Routes) and what its Slack messages say (Alert, Resolved, ThreadUpdate).
//
// Nothing here does I/O or reads the clock: the caller passes the time a message stands for.
// Messages are built from slack-go Block Kit types and stay within Slack's limits (at most 50
// blocks, 3000 characters per text, 150 per header); everything taken from the cluster is
// escaped so that it cannot mention, link or break the layout.
package alerts
