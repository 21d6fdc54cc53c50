package kube_test

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
)

// TestPodReadErrors: a pod read that fails for another reason than not-found or
// forbidden is returned wrapped, not mistaken for a sentinel. (The real API server does
// not fail on demand, so this one test uses the fake clientset.)
func TestPodReadErrors(t *testing.T) {
	client := fake.NewClientset()
	boom := apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	client.PrependReactor("*", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, boom })
	c := kube.NewCollector(client, kube.Options{Context: contextName})

	_, err := c.Collect(t.Context(), diagnosis.PodRef{Namespace: "payments", Name: "api-1"})
	if !errors.Is(err, boom) || errors.Is(err, diagnosis.ErrPodNotFound) {
		t.Errorf("Collect() error = %v, want the API error wrapped", err)
	}
	if err != nil && !strings.Contains(err.Error(), `get pod payments/api-1 in context "`+contextName+`"`) {
		t.Errorf("Collect() error = %q, want it to say what it read in which context", err)
	}
	if _, err := c.CollectFailing(t.Context(), "payments"); !errors.Is(err, boom) {
		t.Errorf("CollectFailing() error = %v, want the API error wrapped", err)
	}
}
