package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/kubetest"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// Secrets the serve tests give the bot; neither may ever appear in its output.
const (
	serveToken  = "xoxb-1111-2222-serveTOKENnotForLogs"
	serveSecret = "3b9d0c7e1f5a4d2c8e6b0a9f7d5c3e1a" // SLACK_SIGNING_SECRET
)

// serveSeq makes the namespaces of each serve test run unique, so that -count=N reruns in
// the one shared API server never meet the pods of an earlier run.
var serveSeq atomic.Int64

// serveProc is one running `pullcheck serve`. Its stderr (JSON log lines) is kept and can be
// waited on; exited is closed once the process has ended, with code set.
type serveProc struct {
	cmd     *exec.Cmd
	log     *logTap
	started time.Time
	exited  chan struct{}
	code    int // valid once exited is closed
}

// startServe starts `pullcheck serve` against kubeconfig with a clean environment (so that
// no SLACK_* or PULLCHECK_* variable of the caller's shell leaks in) plus env. The process is
// killed when the test ends if it is still running.
func startServe(t testing.TB, kubeconfig string, env ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--kubeconfig", kubeconfig)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1",
		// Cloud evidence and registry probes have their own tests; here the service is under test.
		"PULLCHECK_AWS=false", "PULLCHECK_PROBE=false"}, env...)
	p := &serveProc{cmd: cmd, log: newLogTap(), exited: make(chan struct{})}
	cmd.Stdout = p.log // serve writes nothing on stdout; anything there is checked like the log
	cmd.Stderr = p.log
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pullcheck serve: %v", err)
	}
	go func() {
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			p.code = -1
		}
		p.log.close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// wait waits for the process to exit on its own and returns its exit code.
func (p *serveProc) wait(ctx context.Context, t testing.TB) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-ctx.Done():
		t.Fatalf("pullcheck serve did not exit: %v; its output:\n%s", ctx.Err(), p.log.text())
		return 0
	}
}

// stop sends SIGTERM and returns the exit code and how long the process took to exit.
func (p *serveProc) stop(ctx context.Context, t testing.TB) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM pullcheck serve: %v", err)
	}
	code := p.wait(ctx, t)
	return code, time.Since(start)
}

// addr waits for the log line msg that carries a listening address and returns a dialable
// form of it.
func (p *serveProc) addr(ctx context.Context, t testing.TB, msg string) string {
	t.Helper()
	e := p.log.waitFor(ctx, t, "log line "+strconv.Quote(msg), func(e logEntry) bool { return e["msg"] == msg })
	a, _ := e["addr"].(string)
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		t.Fatalf("%q logs addr %q: %v", msg, a, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

type logEntry map[string]any

// logTap keeps a process's output: every line, decoded when it is JSON.
type logTap struct {
	mu      sync.Mutex
	raw     bytes.Buffer
	partial []byte
	entries []logEntry
	other   []string // lines that are not JSON objects
	closed  bool
	changed chan struct{} // closed and replaced on every new line, and at close
}

func newLogTap() *logTap { return &logTap{changed: make(chan struct{})} }

func (l *logTap) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.raw.Write(b)
	l.partial = append(l.partial, b...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.add(l.partial[:i])
		l.partial = l.partial[i+1:]
		added = true
	}
	if added {
		l.notify()
	}
	return len(b), nil
}

func (l *logTap) add(line []byte) {
	if len(bytes.TrimSpace(line)) == 0 {
		return
	}
	var e logEntry
	if json.Unmarshal(line, &e) == nil {
		l.entries = append(l.entries, e)
	} else {
		l.other = append(l.other, string(line))
	}
}

func (l *logTap) notify() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *logTap) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.add(l.partial)
		l.partial = nil
	}
	l.closed = true
	l.notify()
}

func (l *logTap) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.raw.String()
}

func (l *logTap) snapshot() (entries []logEntry, other []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.entries), slices.Clone(l.other)
}

// waitFor waits until a JSON log line matches, failing when ctx ends or the process exits
// first.
func (l *logTap) waitFor(ctx context.Context, t testing.TB, what string, match func(logEntry) bool) logEntry {
	t.Helper()
	for i := 0; ; {
		l.mu.Lock()
		for ; i < len(l.entries); i++ {
			if match(l.entries[i]) {
				e := l.entries[i]
				l.mu.Unlock()
				return e
			}
		}
		closed, changed := l.closed, l.changed
		l.mu.Unlock()
		if closed {
			t.Fatalf("waiting for %s: the process exited; its output:\n%s", what, l.text())
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s; the output so far:\n%s", what, l.text())
		}
	}
}

// getURL GETs url and returns the status and body.
func getURL(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// metricValue returns the value of one sample in a Prometheus text exposition; series is
// the metric name with its labels as exposed (`name{label="v"}`).
func metricValue(exposition, series string) (float64, bool) {
	sc := bufio.NewScanner(strings.NewReader(exposition))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		return v, err == nil
	}
	return 0, false
}

// alertPosts are the channel alerts among Slack calls: chat.postMessage outside a thread.
func alertPosts(calls []slackfake.Call) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range slackfake.Filter(calls, "chat.postMessage") {
		if c.ThreadTS == "" {
			out = append(out, c)
		}
	}
	return out
}

func threadReplies(calls []slackfake.Call) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range slackfake.Filter(calls, "chat.postMessage") {
		if c.ThreadTS != "" {
			out = append(out, c)
		}
	}
	return out
}

// storedIncident is the part of the incident state (handlers/incident, in the ConfigMap)
// this test reads, decoded loosely so that it checks the stored format.
type storedIncident struct {
	Key struct {
		Namespace string `json:"namespace"`
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		Cause     string `json:"cause"`
	} `json:"key"`
	Pods      []string `json:"pods"`
	Channel   string   `json:"channel"`
	MessageTS string   `json:"messageTS"`
	Fired     bool     `json:"fired"`
	Resolved  bool     `json:"resolved"`
}

// failingDeployment creates a Deployment with pods pods that all fail to pull image with
// pullMsg, as a kubelet reports it, and returns its ReplicaSet's name (to add pods with
// failingPod).
func failingDeployment(ctx context.Context, t *testing.T, ns, name, image, pullMsg string, pods int) (rsName string) {
	t.Helper()
	spec := corev1.PodSpec{Containers: []corev1.Container{container("app", image)}}
	_, rs, err := cluster.CreateDeployment(ctx, ns, name, spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods {
		failingPod(ctx, t, ns, rs.Name, i, pullMsg)
	}
	return rs.Name
}

// failingPod adds pod number i of the ReplicaSet rsName, failing to pull with pullMsg.
func failingPod(ctx context.Context, t *testing.T, ns, rsName string, i int, pullMsg string) string {
	t.Helper()
	rs, err := cluster.Client.AppsV1().ReplicaSets(ns).Get(ctx, rsName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s-p%02d", rs.Name, i)
	pod := must[*corev1.Pod](t)(cluster.CreatePod(ctx, kubetest.PodFor(ns, name, rs.Spec.Template.Spec, rs), amd64Node))
	failPull(ctx, t, pod, "app", pullMsg, false)
	return name
}

// TestServeAlerts runs `pullcheck serve` in HTTP mode with the channel alerts on, against the
// API server and a local Slack Web API, and checks what an operator relies on: one alert per
// failing workload, in the channel its route names, saying which cluster, workload and cause;
// an alert raised by the pod watch between scans; a pod joining an alerted workload edits the
// alert instead of posting another; the ops endpoints and their figures; the incident state
// kept in the cluster; a clean, prompt stop on SIGTERM; and no secret in the log.
func TestServeAlerts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes(ctx, t)
	p := fmt.Sprintf("serve%d", serveSeq.Add(1))
	nsPayA, nsPayB, nsShop, nsIgnored, nsBot := p+"-payments-a", p+"-payments-b", p+"-shop", p+"-ignored", p+"-pullcheck"
	for _, ns := range []string{nsPayA, nsPayB, nsShop, nsIgnored, nsBot} {
		must[*corev1.Namespace](t)(cluster.CreateNamespace(ctx, ns))
	}

	// Failing before the bot starts: found by the scan at the start of its term.
	ecrPay := "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2"
	payRS := failingDeployment(ctx, t, nsPayA, "payments-api", ecrPay,
		failedToPull(ecrPay, "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials"), 2)
	failingDeployment(ctx, t, nsShop, "web", "nginx:1.27-typo", notFoundMsg("docker.io/library/nginx:1.27-typo"), 3)
	// Not failing: starting up (ContainerCreating) is no incident.
	_, cartRS, err := cluster.CreateDeployment(ctx, nsShop, "cart", corev1.PodSpec{Containers: []corev1.Container{container("app", "nginx:1.27")}})
	if err != nil {
		t.Fatal(err)
	}
	must[*corev1.Pod](t)(cluster.CreatePod(ctx, kubetest.PodFor(nsShop, cartRS.Name+"-p00", cartRS.Spec.Template.Spec, cartRS), amd64Node))
	// Outside PULLCHECK_SCAN_NAMESPACES: neither scanned nor watched, so never alerted.
	failingDeployment(ctx, t, nsIgnored, "legacy", "nginx:1.0-gone", notFoundMsg("docker.io/library/nginx:1.0-gone"), 1)

	slack := slackfake.New(t, slackfake.Options{Token: serveToken, Channels: []slackfake.Channel{
		{ID: "C0PAYMENTS", Name: "payments-alerts", Member: true},
		{ID: "C0SREALERT", Name: "sre-alerts", Member: true},
		{ID: "C0GENERAL1", Name: "general", Member: true},
	}})
	cfg := filepath.Join(t.TempDir(), "slack.yaml")
	writeFile(t, cfg, fmt.Sprintf(`alerts:
  schedules: ["@every 1h"]   # no scheduled scan during the test: what comes later is the watch's
  timeZone: Europe/Berlin
  watch: true
  fireDelay: 2s
  routes:
    - channel: "#payments-alerts"
      namespaces: ["%s-payments-*"]
  defaultChannel: sre-alerts
`, p))
	const clusterName = "prod-eks-euc1"
	proc := startServe(t, cluster.Kubeconfig(t),
		"PULLCHECK_SLACK_MODE=http", "SLACK_BOT_TOKEN="+serveToken, "SLACK_SIGNING_SECRET="+serveSecret,
		"PULLCHECK_LISTEN=127.0.0.1:0", "PULLCHECK_HEALTH_LISTEN=127.0.0.1:0", "SLACK_API_URL="+slack.URL(),
		"POD_NAMESPACE="+nsBot, "POD_NAME=pullcheck-7d9f8-abcde", "PULLCHECK_SLACK_CONFIG="+cfg,
		"PULLCHECK_CLUSTER="+clusterName, "PULLCHECK_SCAN_NAMESPACES="+strings.Join([]string{nsPayA, nsPayB, nsShop}, ","))
	// Each step gets its own deadline, well above what it takes (a few seconds), so that a
	// missing alert fails the test where it is missed.
	within := func(d time.Duration) context.Context {
		c, cancel := context.WithTimeout(ctx, d)
		t.Cleanup(cancel)
		return c
	}
	ops := "http://" + proc.addr(within(30*time.Second), t, "serving ops endpoints")
	slackAddr := proc.addr(within(30*time.Second), t, "listening for slack requests")

	// The two workloads failing at start-up alert once each, after the fire delay.
	calls := slack.WaitFor(within(45*time.Second), t, "the two start-up alerts", func(calls []slackfake.Call) bool { return len(alertPosts(calls)) >= 2 })
	startUp := time.Since(proc.started)
	// Failing now, after the start scan: only the pod watch can raise this one.
	failingDeployment(ctx, t, nsPayB, "checkout", "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/checkout:4.0.0",
		notFoundMsg("111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/checkout:4.0.0"), 1)
	calls = slack.WaitFor(within(30*time.Second), t, "the alert raised by the watch", func(calls []slackfake.Call) bool { return len(alertPosts(calls)) >= 3 })
	payAlert := slackfake.Call{}
	for _, c := range alertPosts(calls) {
		if strings.Contains(c.Text, "payments-api") {
			payAlert = c
		}
	}
	if payAlert.TS == "" {
		t.Fatalf("no alert names payments-api; Slack calls:\n%s", slackfake.Describe(calls))
	}
	// A third pod of payments-api fails: its alert is edited in place (the count), no new
	// alert. The edit also tells that every earlier observation has been saved and counted:
	// the pipeline handles observations one at a time.
	third := failingPod(ctx, t, nsPayA, payRS, 2, failedToPull(ecrPay, "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials"))
	slack.WaitForCall(within(30*time.Second), t, "the payments-api alert edited to show "+third, func(c slackfake.Call) bool {
		return c.Method == "chat.update" && c.Channel == payAlert.Channel && c.TS == payAlert.TS && strings.Contains(c.AllText(), third)
	})

	// Ops endpoints.
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := getURL(t, ops+path); code != http.StatusOK {
			t.Errorf("GET %s: %d %s, want 200", path, code, body)
		}
	}
	code, metrics := getURL(t, ops+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for series, want := range map[string]float64{
		`pullcheck_alerts_posted_total{kind="fire"}`:             3,
		`pullcheck_leader`:                                       1,
		`pullcheck_incidents_open{cause="registry-credentials"}`: 1,
		`pullcheck_incidents_open{cause="tag-not-found"}`:        2,
	} {
		if got, ok := metricValue(metrics, series); !ok || got != want {
			t.Errorf("/metrics %s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	// The Slack endpoint listens and refuses what Slack did not sign.
	resp, err := http.Post("http://"+slackAddr+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("command=%2Fpullcheck&text=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned slash command: HTTP %d, want 401", resp.StatusCode)
	}

	// The incident state is kept in the bot's namespace, with where each alert is.
	cm, err := cluster.Client.CoreV1().ConfigMaps(nsBot).Get(ctx, "pullcheck-incidents", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("incident state ConfigMap: %v", err)
	}
	var state struct {
		Version   int              `json:"version"`
		Incidents []storedIncident `json:"incidents"`
	}
	if err := json.Unmarshal([]byte(cm.Data["incidents.json"]), &state); err != nil {
		t.Fatalf("incident state: %v\n%s", err, cm.Data["incidents.json"])
	}

	// Stop: SIGTERM ends the process promptly and cleanly, and hands the Lease back.
	stopCtx, stopCancel := context.WithTimeout(ctx, 30*time.Second)
	defer stopCancel()
	exit, took := proc.stop(stopCtx, t)
	t.Logf("first alerts %.1fs after start; SIGTERM to exit %.2fs", startUp.Seconds(), took.Seconds())
	if exit != 0 {
		t.Errorf("pullcheck serve exited %d on SIGTERM, want 0; output:\n%s", exit, proc.log.text())
	}
	if took > 15*time.Second {
		t.Errorf("pullcheck serve took %s to exit on SIGTERM, want well under the Lease's 15s", took)
	}
	lease, err := cluster.Client.CoordinationV1().Leases(nsBot).Get(ctx, "pullcheck-leader", metav1.GetOptions{})
	if err != nil {
		t.Errorf("leader Lease: %v", err)
	} else if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("leader Lease still held by %q after the bot stopped: the next replica waits for it to expire", *h)
	}

	// Everything the bot said in Slack, now that it can say no more.
	calls = slack.Calls()
	want := map[string]struct{ channel, workload, cause string }{
		nsPayA: {"C0PAYMENTS", "Deployment/payments-api", "registry-credentials"},
		nsPayB: {"C0PAYMENTS", "Deployment/checkout", "tag-not-found"},
		nsShop: {"C0SREALERT", "Deployment/web", "tag-not-found"},
	}
	alerts := alertPosts(calls)
	if len(alerts) != len(want) {
		t.Errorf("%d alerts posted, want exactly %d (one per failing workload); Slack calls:\n%s", len(alerts), len(want), slackfake.Describe(calls))
	}
	seen := map[string]slackfake.Call{}
	for _, c := range alerts {
		var ns string
		for n := range want {
			if strings.Contains(c.Text, " in "+n+" ") {
				ns = n
			}
		}
		w, ok := want[ns]
		if !ok {
			t.Errorf("alert for no expected namespace: %q", c.Text)
			continue
		}
		if _, dup := seen[ns]; dup {
			t.Errorf("two alerts for %s: %q and %q", ns, seen[ns].Text, c.Text)
		}
		seen[ns] = c
		if c.Channel != w.channel {
			t.Errorf("alert for %s went to %s, want %s", ns, c.Channel, w.channel)
		}
		all := c.AllText()
		for _, s := range []string{clusterName, ns, w.workload, w.cause} {
			if !strings.Contains(all, s) {
				t.Errorf("alert for %s does not name %q:\n%s", ns, s, all)
			}
		}
		if !c.OK() {
			t.Errorf("alert for %s refused by Slack: %s", ns, c.Error)
		}
	}
	if r := threadReplies(calls); len(r) > 0 {
		t.Errorf("thread replies posted, want none (no cause changed, nothing resolved):\n%s", slackfake.Describe(r))
	}
	for _, c := range calls {
		switch c.Method {
		case "users.conversations", "chat.postMessage", "chat.update":
		default:
			t.Errorf("unexpected Slack call %s", c.Method)
		}
		if !c.OK() {
			t.Errorf("Slack call failed: %s %s: %s", c.Method, c.Channel, c.Error)
		}
	}
	if len(slack.Calls("users.conversations")) == 0 {
		t.Error("the alert channels were not resolved through users.conversations")
	}

	// The stored state holds the three incidents, each fired and pointing at its alert.
	if len(state.Incidents) != len(want) {
		t.Errorf("stored state has %d incidents, want %d:\n%s", len(state.Incidents), len(want), cm.Data["incidents.json"])
	}
	for _, inc := range state.Incidents {
		w, ok := want[inc.Key.Namespace]
		if !ok || inc.Key.Kind+"/"+inc.Key.Name != w.workload || inc.Key.Cause != w.cause {
			t.Errorf("stored incident %+v is not one of the expected workloads", inc.Key)
			continue
		}
		if !inc.Fired || inc.Resolved || inc.Channel != w.channel || inc.MessageTS == "" || inc.MessageTS != seen[inc.Key.Namespace].TS {
			t.Errorf("stored incident %+v: fired %v resolved %v channel %s ts %s; want fired, open, in %s at ts %s",
				inc.Key, inc.Fired, inc.Resolved, inc.Channel, inc.MessageTS, w.channel, seen[inc.Key.Namespace].TS)
		}
		if len(inc.Pods) == 0 {
			t.Errorf("stored incident %+v has no pods", inc.Key)
		}
	}

	// The log: JSON lines that never carry the bot's secrets.
	out := proc.log.text()
	for name, secret := range map[string]string{"bot token": serveToken, "signing secret": serveSecret} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s appears in the bot's output", name)
		}
	}
	entries, other := proc.log.snapshot()
	if len(other) > 0 {
		t.Errorf("%d output lines are not JSON, e.g. %q", len(other), other[0])
	}
	if !slices.ContainsFunc(entries, func(e logEntry) bool { return e["msg"] == "alerts: elected leader" }) {
		t.Error("the log does not say the bot became the leader")
	}
}

// TestServeConfigErrors starts `pullcheck serve` with an alert configuration that is wrong in
// every way an operator can get it wrong: cron specs that do not parse, two routes that claim
// the same namespace, a channel Slack does not know and one the bot was not invited to. It
// must refuse to start (exit 2) before it posts anything, and name every problem in one go,
// so that they are fixed in one round rather than one restart each.
func TestServeConfigErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	slack := slackfake.New(t, slackfake.Options{Token: serveToken, Channels: []slackfake.Channel{
		{ID: "C0PAYMENTS", Name: "payments-alerts", Member: true},
		{ID: "C0PLATFORM", Name: "platform", Member: false}, // the bot was never invited
	}})
	cfg := filepath.Join(t.TempDir(), "slack.yaml")
	writeFile(t, cfg, `alerts:
  schedules: ["*/15 * * *", "@every 10x"]
  routes:
    - channel: "#payments-oncall"
      namespaces: ["payments-*"]
    - channel: payments-alerts
      namespaces: ["payments-eu"]
  defaultChannel: platform
`)
	proc := startServe(t, cluster.Kubeconfig(t), "PULLCHECK_SLACK_MODE=http", "SLACK_BOT_TOKEN="+serveToken,
		"SLACK_SIGNING_SECRET="+serveSecret, "PULLCHECK_LISTEN=127.0.0.1:0", "PULLCHECK_HEALTH_LISTEN=127.0.0.1:0",
		"SLACK_API_URL="+slack.URL(), "POD_NAMESPACE=pullcheck", "PULLCHECK_SLACK_CONFIG="+cfg)
	code := proc.wait(ctx, t)
	out := proc.log.text()
	if code != 2 {
		t.Errorf("exit %d, want 2 (a configuration error); output:\n%s", code, out)
	}
	for problem, says := range map[string][]string{
		"a cron spec with four fields":    {`schedule 1 "*/15 * * *"`},
		"an @every without a duration":    {`schedule 2 "@every 10x"`},
		"overlapping routes":              {"alert routes 1", "and 2", "overlap", `"payments-*" and "payments-eu"`},
		"a channel Slack does not know":   {`channel "#payments-oncall"`, "no channel named #payments-oncall"},
		"a channel without the bot in it": {`channel "platform"`, "no channel named #platform has the bot as a member"},
	} {
		for _, s := range says {
			if !strings.Contains(out, s) {
				t.Errorf("stderr does not report %s (no %q); it says:\n%s", problem, s, out)
				break
			}
		}
	}
	if n := len(slack.Calls("users.conversations")); n != 1 {
		t.Errorf("users.conversations called %d times, want once (one page holds the bot's channels)", n)
	}
	if c := slack.Calls("chat.postMessage", "chat.update"); len(c) > 0 {
		t.Errorf("a bot that refused to start wrote to Slack:\n%s", slackfake.Describe(c))
	}
	if strings.Contains(out, serveToken) || strings.Contains(out, serveSecret) {
		t.Error("a secret appears in the output")
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
