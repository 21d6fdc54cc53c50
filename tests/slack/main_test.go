package slack

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// cluster is the API server every test of the package shares; each test works in a
// namespace of its own.
var cluster *kubetest.Cluster

// node is the worker node the failing pods are bound to.
const node = "ip-10-0-12-34.us-west-2.compute.internal"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	cluster, err = kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Stop()
	if err := cluster.EnsureNode(context.Background(), kubetest.EKSNode(node)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
