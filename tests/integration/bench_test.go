package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

const (
	benchNamespaces = 50
	benchPodsPerNS  = 100 // 5,000 pods
	benchFailPerNS  = 10  // 500 failing, one workload per namespace
)

var benchOnce sync.Once

// seedBenchCluster writes 5,000 pods (500 failing with their kubelet events, 4,500 running)
// in 50 namespaces, each pod shaped like a kubelet-managed Deployment pod.
func seedBenchCluster(b *testing.B) {
	ctx := context.Background()
	var err error
	benchOnce.Do(func() {
		nodes(ctx, &testing.T{})
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(32)
		for n := range benchNamespaces {
			ns := fmt.Sprintf("bench-%02d", n)
			if _, err := cluster.CreateNamespace(ctx, ns); err != nil {
				b.Fatal(err)
			}
			for i := range benchPodsPerNS {
				g.Go(func() error { return seedPod(gctx, ns, i) })
			}
		}
		err = g.Wait()
	})
	if err != nil {
		b.Fatal(err)
	}
}

func seedPod(ctx context.Context, ns string, i int) error {
	failing := i < benchFailPerNS
	app := fmt.Sprintf("svc-%02d", i/10)
	image := fmt.Sprintf("111122223333.dkr.ecr.us-west-2.amazonaws.com/%s/%s:2.%d.0", ns, app, i%7)
	if failing {
		app = "payments-api"
		image = fmt.Sprintf("111122223333.dkr.ecr.us-west-2.amazonaws.com/%s/api:9.9.9", ns)
	}
	hash := "6f7d9c8b5"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%s-%05d", app, hash, i), Namespace: ns,
			Labels:      map[string]string{"app": app, "pod-template-hash": hash, "app.kubernetes.io/part-of": "shop", "team": "payments"},
			Annotations: map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z", "prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: app + "-" + hash,
				UID: types.UID(fmt.Sprintf("0b1c2d3e-%04d-4a5b-8c9d-%012d", i/10, len(ns))), Controller: new(true), BlockOwnerDeletion: new(true)}}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "api", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}},
				Env:   []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "REGION", Value: "us-west-2"}},
			}, {Name: "envoy", Image: "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.12.1-prod", ImagePullPolicy: corev1.PullIfNotPresent}},
			ServiceAccountName: "default",
		},
	}
	pod.Spec.NodeName = []string{amd64Node, arm64Node, diskNode}[i%3] // bound at creation: envtest has no scheduler
	created, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	start := metav1.NewTime(time.Now().Add(-time.Hour))
	created.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &start, HostIP: "10.0.12.34", PodIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250),
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: start},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: start}},
		QOSClass: corev1.PodQOSBestEffort}
	for _, c := range created.Spec.Containers {
		created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true, Started: new(true),
			ImageID: c.Image + "@sha256:3f5c0a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab", ContainerID: "containerd://" + strings.Repeat("a1", 32),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}}})
	}
	if failing {
		created.Status.Phase = corev1.PodPending
		created.Status.ContainerStatuses[0].Ready = false
		created.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: fmt.Sprintf("Back-off pulling image %q", image)}}
	}
	if _, err := cluster.Client.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return err
	}
	if failing {
		now := time.Now()
		for _, e := range []kubetest.Event{
			{Container: "api", Type: "Warning", Reason: "Failed", Message: notFoundMsg(image), First: now.Add(-20 * time.Minute), Last: now.Add(-time.Minute), Count: 7},
			{Container: "api", Reason: "BackOff", Message: fmt.Sprintf("Back-off pulling image %q", image), First: now.Add(-19 * time.Minute), Last: now, Count: 80},
		} {
			if _, err := cluster.RecordEvent(ctx, created, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// timedRun runs a command and returns its wall time and peak resident memory. The peak is
// measured by GNU time, which forks the command from its own small process: the rusage of a
// child started straight from this (large) test process would include this process's memory,
// because Go starts children with vfork and Linux carries the parent's high-water mark
// through exec.
func timedRun(b *testing.B, env []string, name string, args ...string) (time.Duration, int64, []byte) {
	b.Helper()
	stats := filepath.Join(b.TempDir(), "time")
	cmd := exec.Command("/usr/bin/time", append([]string{"-o", stats, "-f", "%M", name}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v", name, args, err)
	}
	wall := time.Since(start)
	raw, err := os.ReadFile(stats)
	if err != nil {
		b.Fatal(err)
	}
	var kib int64
	if _, err := fmt.Sscan(strings.TrimSpace(string(raw)), &kib); err != nil {
		b.Fatalf("parse GNU time output %q: %v", raw, err)
	}
	return wall, kib * 1024, out.Bytes()
}

// BenchmarkScanAllNamespaces measures `pullcheck scan -A -o json` over 5,000 pods (500 failing
// in 50 namespaces) against one raw LIST of all pods (`kubectl get --raw /api/v1/pods`) on the
// same API server, run alternately. Reported: median wall times, their ratio, and the scan's
// peak RSS.
func BenchmarkScanAllNamespaces(b *testing.B) {
	seedBenchCluster(b)
	kubeconfig := cluster.Kubeconfig(b)
	dir, err := kubetest.AssetsDir()
	if err != nil {
		b.Fatal(err)
	}
	kubectl := filepath.Join(dir, "kubectl")
	env := []string{"KUBECONFIG=" + kubeconfig, "NO_COLOR=1", "PULLCHECK_AWS=false", "PULLCHECK_PROBE=false"}
	// Warm both once (page cache, API server watch cache).
	_, _, out := timedRun(b, env, binary, "scan", "-A", "-o", "json")
	if n := strings.Count(string(out), `"status": "failing"`); n < benchNamespaces*benchFailPerNS {
		b.Fatalf("scan found %d failing pods, want at least %d", n, benchNamespaces*benchFailPerNS)
	}
	timedRun(b, env, kubectl, "get", "--raw", "/api/v1/pods")

	var scans, lists []time.Duration
	var peak int64
	for b.Loop() {
		d, rss, _ := timedRun(b, env, binary, "scan", "-A", "-o", "json")
		scans = append(scans, d)
		peak = max(peak, rss)
		d, _, _ = timedRun(b, env, kubectl, "get", "--raw", "/api/v1/pods")
		lists = append(lists, d)
	}
	scan, list := median(scans), median(lists)
	b.ReportMetric(scan.Seconds(), "scan-s")
	b.ReportMetric(list.Seconds(), "rawlist-s")
	b.ReportMetric(scan.Seconds()/list.Seconds(), "ratio")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
