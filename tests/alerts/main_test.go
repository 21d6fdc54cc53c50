package alerts

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// cluster is the API server every test of the package shares; each test works in
// namespaces of its own (its workloads, and the bot's Lease and ConfigMap).
var cluster *kubetest.Cluster

// node is the worker node the pods are bound to.
const node = "ip-10-0-12-34.us-west-2.compute.internal"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// client-go's leader election logs every Lease acquisition through klog; the tests see
	// leadership through the service's leader callback.
	klog.SetLogger(logr.Discard())
	var err error
	cluster, err = kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	if err := cluster.EnsureNode(context.Background(), kubetest.EKSNode(node)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
