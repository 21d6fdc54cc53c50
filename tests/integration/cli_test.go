package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigAs writes a kubeconfig whose user impersonates user (as kubectl --as does).
func kubeconfigAs(t *testing.T, user string) string {
	t.Helper()
	cfg := cluster.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["limited"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken, Impersonate: user}
	kc.Contexts["limited"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "limited"}
	kc.CurrentContext = "limited"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLIExitPaths(t *testing.T) {
	ctx := context.Background()
	kubeconfig := cluster.Kubeconfig(t)
	must[*corev1.Namespace](t)(cluster.CreateNamespace(ctx, "exits"))
	nodes(ctx, t)
	healthy := scenarios()[len(scenarios())-1]
	pod := deploy(ctx, t, "exits", healthy)
	healthy.prepare(ctx, t, pod)
	failing := deploy(ctx, t, "exits", scenario{workload: "pod", spec: corev1.PodSpec{Containers: []corev1.Container{container("web", "nginx:1.27")}}})
	failPull(ctx, t, failing, "web", notFoundMsg("docker.io/library/nginx:1.27"), false)

	// A user who may read pods in "exits" only.
	if err := cluster.Grant(ctx, "exits", "pod-reader", "limited-user", rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}); err != nil {
		t.Fatal(err)
	}
	limited := kubeconfigAs(t, "limited-user")

	badFile := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(badFile, []byte("{\n  \"kind\": \"Pod\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {\"name\": \"x\",}\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name       string
		kubeconfig string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    []string // substrings of stderr
	}{
		{name: "healthy pod", args: []string{"diagnose", "exits/" + pod.Name, "-o", "json"}, wantCode: 0, wantOut: []string{`"status": "healthy"`, `"cause": "none"`}},
		{name: "failing pod", args: []string{"diagnose", "exits/" + failing.Name}, wantCode: 0, wantOut: []string{"tag-not-found"}},
		{name: "failing pod with --exit-code", args: []string{"diagnose", "exits/" + failing.Name, "--exit-code"}, wantCode: 3},
		{name: "malformed target", args: []string{"diagnose", "exits/"}, wantCode: 2, wantErr: []string{"invalid pod name", "usage:"}},
		{name: "too many slashes", args: []string{"diagnose", "a/b/c"}, wantCode: 2, wantErr: []string{"invalid pod name"}},
		{name: "bad namespace", args: []string{"diagnose", "Bad_NS/pod"}, wantCode: 2, wantErr: []string{"invalid namespace"}},
		{name: "no namespace", args: []string{"diagnose", "just-a-pod"}, wantCode: 2, wantErr: []string{"no namespace"}},
		{name: "namespace twice", args: []string{"diagnose", "a/b", "-n", "c"}, wantCode: 2, wantErr: []string{"namespace given twice"}},
		{name: "unknown output", args: []string{"diagnose", "exits/x", "-o", "yaml"}, wantCode: 2, wantErr: []string{"unknown output format"}},
		{name: "unknown flag", args: []string{"diagnose", "exits/x", "--frobnicate"}, wantCode: 2, wantErr: []string{"unknown flag"}},
		{name: "unknown pod", args: []string{"diagnose", "exits/nope"}, wantCode: 1, wantErr: []string{`pod "nope" not found in namespace "exits"`, `context "envtest"`}},
		{name: "unknown namespace", args: []string{"diagnose", "-n", "nowhere", "nope"}, wantCode: 1, wantErr: []string{`namespace "nowhere" not found`, `"envtest"`}},
		{name: "forbidden namespace", kubeconfig: limited, args: []string{"diagnose", "default/anything"}, wantCode: 1, wantErr: []string{`"get" on "pods" in namespace default`}},
		{name: "forbidden node read becomes a skip", kubeconfig: limited, args: []string{"diagnose", "exits/" + failing.Name, "-o", "json"}, wantCode: 0, wantOut: []string{`"skipped"`, "nodes"}},
		{name: "forbidden scan", kubeconfig: limited, args: []string{"scan", "-A"}, wantCode: 1, wantErr: []string{`"list" on "pods" cluster-wide`}},
		{name: "scan needs a scope", args: []string{"scan"}, wantCode: 2, wantErr: []string{"-n <namespace> or -A"}},
		{name: "scan takes no args", args: []string{"scan", "-A", "extra"}, wantCode: 2},
		{name: "missing file", args: []string{"diagnose", "--file", "/nonexistent/pod.json"}, wantCode: 1, wantErr: []string{"/nonexistent/pod.json"}},
		{name: "malformed file", args: []string{"diagnose", "--file", badFile}, wantCode: 1, wantErr: []string{"bad.json:4:", "invalid character"}},
		{name: "file plus pod", args: []string{"diagnose", "--file", badFile, "exits/x"}, wantCode: 2, wantErr: []string{"--file takes no pod"}},
		{name: "unknown context", args: []string{"diagnose", "exits/x", "--context", "prod"}, wantCode: 1, wantErr: []string{`context "prod" not found`}},
		{name: "version", args: []string{"version"}, wantCode: 0, wantOut: []string{"pullcheck"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc := kubeconfig
			if tc.kubeconfig != "" {
				kc = tc.kubeconfig
			}
			res := pullcheck(t, kc, tc.args...)
			if res.code != tc.wantCode {
				t.Fatalf("pullcheck %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, res.code, tc.wantCode, res.stdout, res.stderr)
			}
			for _, s := range tc.wantOut {
				if !strings.Contains(res.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, res.stdout)
				}
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(res.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, res.stderr)
				}
			}
			if strings.Contains(res.stderr, "panic") || strings.Contains(res.stderr, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", res.stderr)
			}
		})
	}
}
