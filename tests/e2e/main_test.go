package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/tests/awsfake"
	"github.com/pullcheck/pullcheck/tests/kubetest"
)

// cluster is the API server all tests share; each scenario keeps to its own namespace.
var cluster *kubetest.Cluster

// servers are the awsfake servers the tests started; they stop in TestMain (the CLI test's
// servers live as long as the package's tests, so a server outlives its subtest).
var (
	serversMu sync.Mutex
	servers   []*awsfake.Server
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	cluster, err = kubetest.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cluster.Stop()
	if err := createNodes(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		serversMu.Lock()
		defer serversMu.Unlock()
		for _, s := range servers {
			s.Close()
		}
	}()
	return m.Run()
}

// newAWS starts an awsfake server over sc and keeps it for the CLI test.
func newAWS(sc *awsfake.Scenario) *awsfake.Server {
	s := awsfake.New(sc)
	serversMu.Lock()
	servers = append(servers, s)
	serversMu.Unlock()
	return s
}

// The nodes, as their kubelets register them. The EC2 nodes' provider IDs name instances of
// the AWS scenario (awsScenario adds the ones the worked example lacks).
const (
	nodeEC2         = "ip-10-0-12-34.us-west-2.compute.internal" // awsfake.ExampleInstanceID
	nodeARM         = "ip-10-0-40-7.us-west-2.compute.internal"
	nodeDisk        = "ip-10-0-77-9.us-west-2.compute.internal"
	nodeCRIO        = "ip-10-0-44-8.us-west-2.compute.internal"
	nodeContainerd2 = "ip-10-0-45-9.us-west-2.compute.internal"
	nodeFargate     = "fargate-ip-10-0-99-1.us-west-2.compute.internal"

	instanceARM         = "i-0a4b5c6d7e8f90123"
	instanceDisk        = "i-0d15c0000000000ff"
	instanceCRIO        = "i-0c410000000000001"
	instanceContainerd2 = "i-0c2d0000000000002"
)

// extraInstances are the EC2 instances behind the nodes other than the worked example's.
var extraInstances = []struct {
	id, ip, arch, instanceType, node string
}{
	{instanceARM, "10.0.13.7", "arm64", "m7g.large", nodeARM},
	{instanceDisk, "10.0.14.9", "x86_64", "m6i.large", nodeDisk},
	{instanceCRIO, "10.0.13.8", "x86_64", "m6i.large", nodeCRIO},
	{instanceContainerd2, "10.0.13.9", "x86_64", "m7i.large", nodeContainerd2},
}

func createNodes(ctx context.Context) error {
	type spec struct {
		name, arch, instance, runtime string
		diskPressure, fargate         bool
	}
	for _, n := range []spec{
		{name: nodeEC2, arch: "amd64", instance: awsfake.ExampleInstanceID, runtime: "containerd://1.7.27"},
		{name: nodeARM, arch: "arm64", instance: instanceARM, runtime: "containerd://1.7.27"},
		{name: nodeDisk, arch: "amd64", instance: instanceDisk, runtime: "containerd://1.7.27", diskPressure: true},
		{name: nodeCRIO, arch: "amd64", instance: instanceCRIO, runtime: "cri-o://1.33.2"},
		{name: nodeContainerd2, arch: "amd64", instance: instanceContainerd2, runtime: "containerd://2.1.4"},
		{name: nodeFargate, arch: "amd64", runtime: "containerd://1.7.27", fargate: true},
	} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: map[string]string{
			"kubernetes.io/arch": n.arch, "kubernetes.io/os": "linux", "kubernetes.io/hostname": n.name,
			"topology.kubernetes.io/zone": awsfake.ExampleZone, "topology.kubernetes.io/region": awsfake.ExampleRegion,
		}}}
		node.Status.NodeInfo = corev1.NodeSystemInfo{Architecture: n.arch, OperatingSystem: "linux", ContainerRuntimeVersion: n.runtime, KubeletVersion: "v1.33.5-eks-1a2b3c"}
		if n.fargate {
			node.Labels["eks.amazonaws.com/compute-type"] = "fargate"
			node.Labels["eks.amazonaws.com/fargate-profile"] = awsfake.ExampleFargateProfile
			node.Spec.ProviderID = "aws:///" + awsfake.ExampleZone + "/0c1d2e3f4a-5b6c7d8e9f0a4b1c8d2e3f4a5b6c7d8e/" + n.name
		} else {
			node.Labels["eks.amazonaws.com/nodegroup"] = awsfake.ExampleNodegroup
			node.Labels["node.kubernetes.io/instance-type"] = "m7i.large"
			node.Spec.ProviderID = "aws:///" + awsfake.ExampleZone + "/" + n.instance
		}
		if n.diskPressure {
			node.Status.Conditions = []corev1.NodeCondition{
				{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
				{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure", Message: "kubelet has disk pressure"},
			}
			node.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/disk-pressure", Effect: corev1.TaintEffectNoSchedule}}
		}
		if _, err := cluster.CreateNode(ctx, node); err != nil {
			return err
		}
	}
	return nil
}
