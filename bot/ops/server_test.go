package ops_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pullcheck/pullcheck/bot/ops"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// get serves one GET of path through h and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestHealthz(t *testing.T) {
	srv := ops.NewServer("127.0.0.1:0", nil, ops.ServerOptions{Logger: testLogger(t)})
	srv.SetReady("slack", false, "not connected") // liveness ignores readiness
	if code, body := get(t, srv.Handler(), "/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: got %d %q, want 200 \"ok\\n\"", code, body)
	}
}

func TestReadyz(t *testing.T) {
	srv := ops.NewServer("127.0.0.1:0", nil, ops.ServerOptions{Logger: testLogger(t)})
	h := srv.Handler()
	steps := []struct {
		name     string
		do       func()
		wantCode int
		wantBody string
	}{
		{
			name:     "no conditions",
			do:       func() {},
			wantCode: http.StatusOK,
			wantBody: "ok\n",
		},
		{
			name: "two conditions not ready",
			do: func() {
				srv.SetReady("slack", false, "not connected to slack")
				srv.SetReady("alerts-config", false, "")
			},
			wantCode: http.StatusServiceUnavailable,
			wantBody: "not ready\nalerts-config: not ready\nslack: not connected to slack\n",
		},
		{
			name:     "one becomes ready",
			do:       func() { srv.SetReady("slack", true, "ignored") },
			wantCode: http.StatusServiceUnavailable,
			wantBody: "not ready\nalerts-config: not ready\n",
		},
		{
			name:     "all ready",
			do:       func() { srv.SetReady("alerts-config", true, "") },
			wantCode: http.StatusOK,
			wantBody: "ok\n",
		},
		{
			name:     "ready again lost",
			do:       func() { srv.SetReady("slack", false, "disconnected\n  reconnecting") },
			wantCode: http.StatusServiceUnavailable,
			wantBody: "not ready\nslack: disconnected reconnecting\n",
		},
		{
			name:     "a long reason is cut",
			do:       func() { srv.SetReady("slack", false, strings.Repeat("é", 300)) },
			wantCode: http.StatusServiceUnavailable,
			wantBody: "not ready\nslack: " + strings.Repeat("é", 100) + "\n",
		},
	}
	for _, st := range steps {
		st.do()
		code, body := get(t, h, "/readyz")
		if code != st.wantCode || body != st.wantBody {
			t.Errorf("%s: got %d %q, want %d %q", st.name, code, body, st.wantCode, st.wantBody)
		}
	}
}

// start runs srv until the test ends (or cancel), waits until it listens, and returns its
// base URL and a channel with Run's result.
func start(t *testing.T, srv *ops.Server) (cancel context.CancelFunc, base string, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		errc <- srv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	select {
	case <-srv.Listening():
	case err := <-errc:
		t.Fatalf("Run returned before listening: %v", err)
	}
	return cancel, "http://" + srv.Addr().String(), errc
}

func TestRunServesUntilCancelled(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := ops.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.AlertPosted(ops.AlertFire)
	srv := ops.NewServer("127.0.0.1:0", reg, ops.ServerOptions{Logger: testLogger(t)})
	if srv.Addr() != nil {
		t.Errorf("Addr before Run: got %v, want nil", srv.Addr())
	}
	cancel, base, done := start(t, srv)

	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ok",
		"/metrics": `pullcheck_alerts_posted_total{kind="fire"} 1`,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: got %d %q, want 200 containing %q", path, resp.StatusCode, body, want)
		}
	}
	resp, err := http.Post(base+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: got %d, want 405", resp.StatusCode)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: got %v, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the server still answers after Run returned")
	}
}

func TestRunPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := ops.NewServer(ln.Addr().String(), nil, ops.ServerOptions{Logger: testLogger(t)})
	err = srv.Run(t.Context())
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Run on a port in use: got %v, want EADDRINUSE", err)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
	select {
	case <-srv.Listening():
		t.Error("Listening closed though the server never listened")
	default:
	}
}

func TestShutdownIsBounded(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	// A scrape that hangs until released keeps a request in flight during shutdown.
	slow := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		close(entered)
		<-release
		return nil, nil
	})
	srv := ops.NewServer("127.0.0.1:0", slow, ops.ServerOptions{Logger: testLogger(t), ShutdownTimeout: 50 * time.Millisecond})
	cancel, base, done := start(t, srv)

	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		if resp, err := http.Get(base + "/metrics"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	err := <-done
	close(release)
	<-scraped
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run with a request stuck past the shutdown timeout: got %v, want DeadlineExceeded", err)
	}
}
