package alerts

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	if err := createNode(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// createNode registers the EKS worker node the pods run on, as its kubelet would.
func createNode(ctx context.Context) error {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{
			"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
			"topology.kubernetes.io/region": "us-west-2", "topology.kubernetes.io/zone": "us-west-2a",
			"node.kubernetes.io/instance-type": "m6i.large", "eks.amazonaws.com/nodegroup": "ng-general",
		}},
		Spec: corev1.NodeSpec{ProviderID: "aws:///us-west-2a/i-0abc1234def567890"},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux",
			ContainerRuntimeVersion: "containerd://1.7.27", KubeletVersion: "v1.33.5-eks-1a2b3c"}},
	}
	_, err := cluster.CreateNode(ctx, n)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
