// Package ops serves pullcheck's operations endpoints: Prometheus metrics (/metrics),
// liveness (/healthz) and readiness (/readyz).
//
// [Metrics] owns every pullcheck_* metric and registers them on a registry the caller
// injects (never the global default one). Its methods take plain Go values, and a nil
// *Metrics is a no-op, so code that records metrics needs neither prometheus types nor nil
// checks.
//
// [Server] serves the endpoints on a port of its own, apart from the Slack transport's, so a
// kubelet probing it never reaches the bot. Readiness is pushed by the parts that know it
// ([Server.SetReady]): the Slack transport once connected or listening, and the alert
// configuration once validated. /readyz answers 503, with the names and short reasons of what
// is not ready, until every named condition is ready.
//
// Typical wiring (in main):
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
//	m, err := ops.NewMetrics(reg)
//	if err != nil { return err }
//	srv := ops.NewServer(":9090", reg, ops.ServerOptions{Logger: log})
//	srv.SetReady("slack", false, "not connected yet")
//	srv.SetReady("alerts-config", false, "not validated yet")
//	g.Go(func() error { return srv.Run(gctx) })
//	// later: srv.SetReady("slack", true, ""), m.ScanDone(d, ops.ScanOK), …
//
// This package knows neither Slack nor AWS: callers turn their events into method calls
// (see bot.PosterOptions.OnError and cloud.CountErrors).
package ops
