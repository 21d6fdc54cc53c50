package integration

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// serveBenchFireDelay is the alerts' fire delay in the benchmark: short, so that the time to
// the alerts is mostly the bot's own work (start-up, scan, watch, diagnoses, posts).
const serveBenchFireDelay = time.Second

// servePeakLimit is the most resident memory `pullcheck serve` may reach over 5,000 pods with
// the watch on (the target).
const servePeakLimit = 150 << 20

// BenchmarkServeAlerts5000 runs `pullcheck serve` with the alerts on (watch on, fire delay
// 1s, every namespace) over the 5,000 pods of seedBenchCluster: 50 namespaces, each with one
// Deployment whose 10 pods cannot pull their image. It measures the time from starting the
// process to the 50th alert (including the fire delay) and the process's peak resident
// memory (VmHWM, read just before it is stopped), checks that exactly 50 alerts were posted,
// one per Deployment, and fails if the peak passes 150 MiB.
//
// Run it alone, so that the failing pods of the tests are not in the cluster:
//
//	go test ./tests/integration/ -run '^$' -bench ServeAlerts5000 -benchtime 1x
func BenchmarkServeAlerts5000(b *testing.B) {
	seedBenchCluster(b)
	ctx := context.Background()
	benchDeployments(ctx, b)
	kubeconfig := cluster.Kubeconfig(b)

	var times []time.Duration
	var peak int64
	alerts := 0
	for b.Loop() {
		took, hwm, n := serveUntilAlerts(ctx, b, kubeconfig)
		times = append(times, took)
		peak = max(peak, hwm)
		alerts = n
	}
	toAlerts := median(times)
	b.Logf("pullcheck serve over %d pods: %d alerts %.2fs after start (fire delay %s included), peak RSS %.1f MiB",
		benchNamespaces*benchPodsPerNS, alerts, toAlerts.Seconds(), serveBenchFireDelay, float64(peak)/(1<<20))
	if peak > servePeakLimit {
		b.Fatalf("peak RSS %.1f MiB, over the %d MiB target", float64(peak)/(1<<20), servePeakLimit>>20)
	}
	b.ReportMetric(float64(alerts), "alerts")
	b.ReportMetric(toAlerts.Seconds(), "s-to-50-alerts")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}

// serveUntilAlerts starts a bot with a fresh state (its own namespace, its own Slack) and waits
// for the 50 alerts; it returns the time to them, the peak RSS and the number of alerts.
func serveUntilAlerts(ctx context.Context, b *testing.B, kubeconfig string) (time.Duration, int64, int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	b.StopTimer()
	botNS := fmt.Sprintf("bench-pullcheck-%d", serveSeq.Add(1))
	if _, err := cluster.CreateNamespace(ctx, botNS); err != nil {
		b.Fatal(err)
	}
	slack := slackfake.New(b, slackfake.Options{Token: serveToken, Channels: []slackfake.Channel{
		{ID: "C0BENCHALR", Name: "bench-alerts", Member: true},
	}})
	// Only the benchmark's namespaces are routed: pods other tests left failing are watched and
	// diagnosed like every pod, but not alerted.
	cfg := filepath.Join(b.TempDir(), "slack.yaml")
	writeFile(b, cfg, fmt.Sprintf(`alerts:
  schedules: ["@every 1h"]
  watch: true
  fireDelay: %s
  routes:
    - channel: "#bench-alerts"
      namespaces: ["bench-??"]
`, serveBenchFireDelay))
	b.StartTimer()

	proc := startServe(b, kubeconfig,
		"PULLCHECK_SLACK_MODE=http", "SLACK_BOT_TOKEN="+serveToken, "SLACK_SIGNING_SECRET="+serveSecret,
		"PULLCHECK_LISTEN=127.0.0.1:0", "PULLCHECK_HEALTH_LISTEN=127.0.0.1:0", "SLACK_API_URL="+slack.URL(),
		"POD_NAMESPACE="+botNS, "POD_NAME=pullcheck-bench", "PULLCHECK_SLACK_CONFIG="+cfg, "PULLCHECK_CLUSTER=bench-eks")
	slack.WaitFor(ctx, b, "50 alerts", func(calls []slackfake.Call) bool { return len(alertPosts(calls)) >= benchNamespaces })
	took := time.Since(proc.started)
	hwm := vmHWM(b, proc.cmd.Process.Pid)
	b.StopTimer()
	stopCtx, stopCancel := context.WithTimeout(ctx, 30*time.Second)
	defer stopCancel()
	if code, _ := proc.stop(stopCtx, b); code != 0 {
		b.Errorf("pullcheck serve exited %d on SIGTERM, want 0", code)
	}

	// Counted once the process is gone: nothing can be added after.
	calls := slack.Calls()
	alerts := alertPosts(calls)
	if len(alerts) != benchNamespaces {
		b.Errorf("%d alerts, want exactly %d (one per failing Deployment):\n%s", len(alerts), benchNamespaces, slackfake.Describe(alerts))
	}
	seen := map[string]bool{}
	for _, c := range alerts {
		ns, _, _ := strings.Cut(strings.TrimPrefix(c.Text, "Deployment/payments-api in "), " ")
		all := c.AllText()
		switch {
		case !strings.HasPrefix(c.Text, "Deployment/payments-api in bench-"):
			b.Errorf("alert not about a benchmark Deployment: %q", c.Text)
		case seen[ns]:
			b.Errorf("two alerts for %s", ns)
		case c.Channel != "C0BENCHALR" || !c.OK():
			b.Errorf("alert for %s in %s (error %q), want posted in C0BENCHALR", ns, c.Channel, c.Error)
		case !strings.Contains(all, fmt.Sprintf("Pods affected* %d:", benchFailPerNS)):
			b.Errorf("alert for %s does not count its %d failing pods:\n%s", ns, benchFailPerNS, all)
		}
		seen[ns] = true
	}
	b.Logf("one run: %d alerts %.2fs after start, peak RSS %.1f MiB", len(alerts), took.Seconds(), float64(hwm)/(1<<20))
	b.StartTimer()
	return took, hwm, len(alerts)
}

// benchDeployments gives the failing pods of seedBenchCluster the Deployment and ReplicaSet
// they name (a ReplicaSet payments-api-<hash> owned by the Deployment payments-api), so that
// the bot follows the owner chain to the Deployment as in a cluster. Already there is fine.
func benchDeployments(ctx context.Context, b *testing.B) {
	b.Helper()
	const hash = "6f7d9c8b5" // seedPod's pod-template-hash
	for n := range benchNamespaces {
		ns := fmt.Sprintf("bench-%02d", n)
		labels := map[string]string{"app": "payments-api"}
		spec := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{container("api", fmt.Sprintf("111122223333.dkr.ecr.us-west-2.amazonaws.com/%s/api:9.9.9", ns))}}}
		d, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "payments-api", Labels: labels},
			Spec:       appsv1.DeploymentSpec{Replicas: new(int32(10)), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: spec},
		}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
		rsLabels := map[string]string{"app": "payments-api", "pod-template-hash": hash}
		spec.Labels = rsLabels
		_, err = cluster.Client.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "payments-api-" + hash, Labels: rsLabels, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: new(true), BlockOwnerDeletion: new(true)}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: new(int32(10)), Selector: &metav1.LabelSelector{MatchLabels: rsLabels}, Template: spec},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			b.Fatal(err)
		}
	}
}

// vmHWM reads a process's peak resident set size (VmHWM) from /proc. Unlike the rusage of a
// child (see timedRun), it is the exec'd program's own: exec gives the process a new memory
// map whose high-water mark starts from zero.
func vmHWM(b *testing.B, pid int) int64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			b.Fatalf("parse VmHWM %q: %v", rest, err)
		}
		return kib << 10
	}
	b.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
