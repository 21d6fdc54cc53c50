package kubetest

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// EKSNode is an EKS managed-node-group worker (us-west-2a, m6i.large, containerd) as its
// kubelet registers it.
func EKSNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
			"topology.kubernetes.io/region": "us-west-2", "topology.kubernetes.io/zone": "us-west-2a",
			"node.kubernetes.io/instance-type": "m6i.large", "eks.amazonaws.com/nodegroup": "ng-general",
		}},
		Spec: corev1.NodeSpec{ProviderID: "aws:///us-west-2a/i-0abc1234def567890"},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux",
			ContainerRuntimeVersion: "containerd://1.7.27", KubeletVersion: "v1.33.5-eks-1a2b3c"}},
	}
}

// EnsureNode registers node (see CreateNode) unless a node of its name exists.
func (c *Cluster) EnsureNode(ctx context.Context, node *corev1.Node) error {
	_, err := c.CreateNode(ctx, node)
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
