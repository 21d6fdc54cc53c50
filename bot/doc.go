// Package bot is pullcheck's Slack transport: Socket Mode and HTTP (signed requests) in,
// acknowledgements and posted reports out. It knows neither the diagnosis engine nor
// rendering; it calls the command and interaction handlers of package handlers.
//
// Not built yet: it arrives with the Slack bot issue (pullcheck serve).
package bot
