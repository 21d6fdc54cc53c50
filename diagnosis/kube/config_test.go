package kube_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/kubernetes"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// TestRESTConfig loads the kubeconfig kubetest writes and collects through it: the
// client speaks protobuf to the real API server.
func TestRESTConfig(t *testing.T) {
	f := setup(t)
	f.failing("web", f.host()+"/app:1", "", diagnosis.ReasonErrImagePull)
	path := cluster.Kubeconfig(t)

	cfg, name, err := kube.RESTConfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if name != kubetest.ContextName {
		t.Errorf("context = %q, want the current context %q", name, kubetest.ContextName)
	}
	if cfg.QPS != 100 || cfg.Burst != 200 || cfg.ContentType != "application/vnd.kubernetes.protobuf" {
		t.Errorf("QPS, Burst, ContentType = %v, %v, %q; want 100, 200, protobuf", cfg.QPS, cfg.Burst, cfg.ContentType)
	}

	var mu sync.Mutex
	var types []string
	cfg.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			if err == nil {
				mu.Lock()
				types = append(types, resp.Header.Get("Content-Type"))
				mu.Unlock()
			}
			return resp, err
		})
	}
	client := must[*kubernetes.Clientset](t)(kubernetes.NewForConfig(cfg))
	facts, err := kube.NewCollector(client, kube.Options{Context: name}).Collect(f.ctx, diagnosis.PodRef{Namespace: f.ns, Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if facts.Source != kubetest.ContextName || facts.Pod.Name != "web" {
		t.Errorf("Source, pod = %q, %q; want %q, web", facts.Source, facts.Pod.Name, kubetest.ContextName)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(types) == 0 || types[0] != "application/vnd.kubernetes.protobuf" {
		t.Errorf("response content types = %q, want protobuf", types)
	}

	if _, name, err := kube.RESTConfig(path, kubetest.ContextName); err != nil || name != kubetest.ContextName {
		t.Errorf("RESTConfig(path, %q) = %q, %v; want that context", kubetest.ContextName, name, err)
	}
	if _, _, err := kube.RESTConfig(path, "no-such-context"); err == nil || !strings.Contains(err.Error(), "no-such-context") {
		t.Errorf("RESTConfig(path, no-such-context) error = %v, want one naming the context", err)
	}
}

// TestRESTConfigInCluster: with no kubeconfig and no context, inside a pod, the pod's
// service account is used.
func TestRESTConfigInCluster(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "10.100.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	cfg, name, err := kube.RESTConfig("", "")
	switch {
	case err != nil:
		// No service account token here: the error says which configuration failed.
		if !strings.Contains(err.Error(), "in-cluster") {
			t.Errorf("error = %v, want one about the in-cluster config", err)
		}
	case name != kube.InClusterContext || cfg.Host != "https://10.100.0.1:443":
		t.Errorf("RESTConfig() = %q, %q; want %q, https://10.100.0.1:443", cfg.Host, name, kube.InClusterContext)
	}
}
