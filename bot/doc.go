// Package bot is pullcheck's Slack transport. It knows Slack's transports and neither the
// diagnosis engine nor rendering.
//
// In: slash commands and interactions arrive over Socket Mode ([Socket]) or over HTTP
// ([HTTPHandler], every request verified with Slack's v0 signature and a five-minute
// timestamp window). Both transports hand them to the same [CommandHandler] and
// [InteractionHandler] (package handlers implements them), which return at once with an
// acknowledgement and, optionally, the slow part of the answer.
//
// The acknowledgement goes back to Slack immediately; the slow part runs on the [Bot]'s
// bounded worker pool with a deadline ([Options.WorkTimeout]). When the pool and its queue
// are full the user is told the bot is busy; the acknowledgement never waits.
//
// Out: [Poster] posts and updates messages through the Web API, retrying rate limits and
// server errors, and logs every message it finally cannot post.
//
// Lifecycle: [Bot.Run] owns the workers. When its context ends (SIGTERM), the bot takes no
// new work (HTTP requests get 503), lets in-flight work finish for up to
// [Options.ShutdownTimeout], then cancels what is left and returns.
//
// Typical wiring (in main):
//
//	b := bot.New(bot.Options{Logger: log}, h, h)
//	g, ctx := errgroup.WithContext(ctx)
//	g.Go(func() error { return b.Run(ctx) })
//	g.Go(func() error { return bot.NewSocket(b, api).Run(ctx) }) // or an HTTPHandler's Serve
//	return g.Wait()
package bot
