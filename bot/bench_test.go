package bot

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// BenchmarkHTTPAckLatency measures how long Slack waits for the acknowledgement of /pullcheck
// over HTTP while diagnoses are slow: each round sends 50 signed requests at once, and each
// request's work takes 2 s. Reported: p50-ms and p99-ms over all requests (target: p99 under
// 50 ms, far inside Slack's 3 s).
func BenchmarkHTTPAckLatency(b *testing.B) {
	const (
		concurrency = 50
		workTakes   = 2 * time.Second
	)
	h := handlerFuncs{cmd: func(_ context.Context, cmd slack.SlashCommand) (*slack.Msg, func(context.Context)) {
		return &slack.Msg{Text: "Checking " + cmd.Text + "…"}, func(ctx context.Context) {
			t := time.NewTimer(workTakes) // the slow diagnosis
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}}
	// Room in the queue for every request of the run, so each answer is a real ack, not "busy".
	bot := New(Options{
		Logger:          slog.New(slog.DiscardHandler),
		QueueSize:       concurrency * (b.N + 1),
		ShutdownTimeout: time.Millisecond,
	}, h, h)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- bot.Run(ctx) }()
	defer func() {
		cancel()
		<-ran
	}()
	handler, err := NewHTTPHandler(bot, HTTPOptions{SigningSecret: testSigningSecret})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()

	var (
		latencies = make([]time.Duration, 0, concurrency*b.N)
		busy      atomic.Int64
	)
	b.ResetTimer()
	for round := range b.N {
		reqs := make([]*http.Request, concurrency)
		for i := range reqs { // signed before the clock starts, as Slack signs before sending
			body := slashForm("payments/api-" + strconv.Itoa(round) + "-" + strconv.Itoa(i)).Encode()
			req, err := http.NewRequest(http.MethodPost, srv.URL+CommandsPath, strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range signed(testSigningSecret, time.Now(), body) {
				req.Header[k] = v
			}
			reqs[i] = req
		}
		took := make([]time.Duration, concurrency)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, req := range reqs {
			wg.Go(func() {
				<-start
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				took[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
				}
				if strings.Contains(string(body), "busy") {
					busy.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		latencies = append(latencies, took...)
	}
	b.StopTimer()

	slices.Sort(latencies)
	pct := func(p float64) float64 {
		i := int(float64(len(latencies))*p+0.999999) - 1
		i = max(0, min(i, len(latencies)-1))
		return float64(latencies[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(busy.Load()), "busy-acks")
	if busy.Load() != 0 {
		b.Errorf("%d acks said busy; the measurement must be of real acks", busy.Load())
	}
}
