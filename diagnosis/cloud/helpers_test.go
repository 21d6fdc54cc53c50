package cloud_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// The worked example (DOMAIN.md): pod payments/payments-api-… on node ip-10-0-12-34 in
// us-west-2a, account 111122223333.
const (
	tNS       = "payments"
	tPod      = "payments-api-6f7d9c8b5-k2x9z"
	tNode     = "ip-10-0-12-34.us-west-2.compute.internal"
	tFargate  = "fargate-ip-10-0-12-34.us-west-2.compute.internal"
	tAccount  = awsfake.ExampleAccount
	tRegion   = awsfake.ExampleRegion
	tZone     = awsfake.ExampleZone
	tInstance = awsfake.ExampleInstanceID

	tRegistry   = "111122223333.dkr.ecr.us-west-2.amazonaws.com"
	tMissingTag = tRegistry + "/payments/api:1.8.2"           // repository exists, tag does not
	tExisting   = tRegistry + "/payments/api:1.8.1"           // a single-arch image that exists
	tMultiArch  = tRegistry + "/payments/api:1.8.1-multiarch" // an OCI index
	tArchived   = tRegistry + "/payments/api:1.7.0"           // imageStatus ARCHIVED
	tNoRepo     = tRegistry + "/payments/apii:1.8.2"          // no such repository
	tLedger     = tRegistry + "/payments/ledger:3.2.0"        // KMS-encrypted repository
	tXAccount   = "444455556666.dkr.ecr.us-west-2.amazonaws.com/platform/base:2024.06"
	tPTC        = tRegistry + "/docker-hub/library/nginx:1.27" // pull-through cache, never pulled
	tDockerHub  = "docker.io/library/nginx:1.27"

	tNodeRoleARN    = "arn:aws:iam::111122223333:role/" + awsfake.ExampleNodeRole
	tFargateRoleARN = "arn:aws:iam::111122223333:role/" + awsfake.ExampleFargateRole
	tProfileARN     = "arn:aws:iam::111122223333:instance-profile/" + awsfake.ExampleProfileName
	tKMSKeyARN      = "arn:aws:kms:us-west-2:111122223333:key/" + awsfake.ExampleKMSKeyID
	tAPIRepoARN     = "arn:aws:ecr:us-west-2:111122223333:repository/payments/api"
	tLedgerRepoARN  = "arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger"
	tBaseRepoARN    = "arn:aws:ecr:us-west-2:444455556666:repository/platform/base"
)

// Kubelet waiting messages (DOMAIN §2, §3): "Back-off pulling image …: ErrImagePull: <runtime error>".
func notFoundMsg(image string) string {
	return fmt.Sprintf(`Back-off pulling image %q: ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found`, image, image, image, image)
}

func forbiddenMsg(image string) string {
	ref := diagnosis.ParseImage(image)
	return fmt.Sprintf(`Back-off pulling image %q: ErrImagePull: rpc error: code = Unknown desc = failed to pull and unpack image %q: failed to resolve reference %q: unexpected status from HEAD request to https://%s/v2/%s/manifests/%s: 403 Forbidden`,
		image, image, image, ref.Domain, ref.Path, ref.Reference())
}

func platformMsg(image string) string {
	return fmt.Sprintf(`Back-off pulling image %q: ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image %q: no match for platform in manifest: not found`, image, image)
}

func kmsMsg(image string) string {
	return fmt.Sprintf(`Back-off pulling image %q: ErrImagePull: rpc error: code = Unknown desc = failed to pull and unpack image %q: failed to copy: httpReadSeeker: failed open: unexpected status code https://prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com/a1b2/c3d4: 403 Forbidden`, image, image)
}

// ctr is one container of a test pod; message empty means it runs (it is not failing).
type ctr struct {
	name, image, message string
	init                 bool
}

// failing is a regular container in ImagePullBackOff with the kubelet's message.
func failing(name, image, message string) ctr { return ctr{name: name, image: image, message: message} }

// ec2Node is what the kube collector reads from the worked example's node.
func ec2Node(t testing.TB, name, instanceID, zone string) *diagnosis.NodeFacts {
	t.Helper()
	n := diagnosis.NodeFactsFrom(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/arch":               "amd64",
			"kubernetes.io/os":                 "linux",
			"node.kubernetes.io/instance-type": "m7i.large",
			"topology.kubernetes.io/zone":      zone,
			"eks.amazonaws.com/nodegroup":      awsfake.ExampleNodegroup,
		}},
		Spec: corev1.NodeSpec{ProviderID: "aws:///" + zone + "/" + instanceID},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{
			Architecture: "amd64", OperatingSystem: "linux",
			ContainerRuntimeVersion: "containerd://1.7.27", KubeletVersion: "v1.33.1-eks-1a2b3c4",
		}},
	})
	if n.InstanceID != instanceID || n.Zone != zone || n.Region != diagnosis.RegionOfZone(zone) || n.Fargate {
		t.Fatalf("NodeFactsFrom(%s) = %+v: not the EC2 node the tests expect", name, n)
	}
	return n
}

// exampleNode is the worked example's node: i-0abc1234def567890 in us-west-2a.
func exampleNode(t testing.TB) *diagnosis.NodeFacts { return ec2Node(t, tNode, tInstance, tZone) }

// fargateNode is what the kube collector reads from a Fargate node of profile fp-payments.
func fargateNode(t testing.TB) *diagnosis.NodeFacts {
	t.Helper()
	n := diagnosis.NodeFactsFrom(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: tFargate, Labels: map[string]string{
			"kubernetes.io/arch":                "amd64",
			"kubernetes.io/os":                  "linux",
			"topology.kubernetes.io/zone":       tZone,
			"eks.amazonaws.com/compute-type":    "fargate",
			"eks.amazonaws.com/fargate-profile": awsfake.ExampleFargateProfile,
		}},
		Spec: corev1.NodeSpec{ProviderID: "aws:///us-west-2a/0a1b2c3d4e-5f6a7b8c9d0e4f1a2b3c4d5e6f7a8b9c/" + tFargate},
	})
	if !n.Fargate || n.InstanceID != "" || n.Region != tRegion || n.FargateProfile != awsfake.ExampleFargateProfile {
		t.Fatalf("NodeFactsFrom(%s) = %+v: not the Fargate node the tests expect", tFargate, n)
	}
	return n
}

// podFacts builds a pod's facts the way the kube collector does: the pod in namespace payments
// with its containers (failing ones waiting in ImagePullBackOff with the kubelet's message and
// a Failed event), on node.
func podFacts(name string, node *diagnosis.NodeFacts, cs ...ctr) *diagnosis.Facts {
	now := awsfake.ExampleNow
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: tNS,
			Labels:            map[string]string{"app": "payments-api"},
			CreationTimestamp: metav1.NewTime(now.Add(-30 * time.Minute)),
		},
		Spec:   corev1.PodSpec{ServiceAccountName: "payments-api"},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	if node != nil {
		pod.Spec.NodeName = node.Name
	}
	var events []diagnosis.Event
	for _, c := range cs {
		spec := corev1.Container{Name: c.name, Image: c.image, ImagePullPolicy: corev1.PullIfNotPresent}
		st := corev1.ContainerStatus{Name: c.name, Image: c.image}
		path := "spec.containers{" + c.name + "}"
		if c.init {
			path = "spec.initContainers{" + c.name + "}"
		}
		if c.message == "" {
			st.Ready = true
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(now.Add(-20 * time.Minute))}
		} else {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: diagnosis.ReasonImagePullBackOff, Message: c.message}
			events = append(events,
				diagnosis.Event{Type: "Normal", Reason: "Pulling", Message: fmt.Sprintf("Pulling image %q", c.image), FieldPath: path,
					Count: 7, FirstSeen: now.Add(-25 * time.Minute), LastSeen: now.Add(-2 * time.Minute), API: "v1"},
				diagnosis.Event{Type: "Normal", Reason: "BackOff", Message: fmt.Sprintf("Back-off pulling image %q", c.image), FieldPath: path,
					Count: 90, FirstSeen: now.Add(-25 * time.Minute), LastSeen: now.Add(-time.Minute), API: "v1"})
		}
		if c.init {
			pod.Spec.InitContainers = append(pod.Spec.InitContainers, spec)
			pod.Status.InitContainerStatuses = append(pod.Status.InitContainerStatuses, st)
		} else {
			pod.Spec.Containers = append(pod.Spec.Containers, spec)
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, st)
		}
	}
	return &diagnosis.Facts{
		Pod:            pod,
		Events:         events,
		Now:            now,
		Source:         "context arn:aws:eks:us-west-2:111122223333:cluster/prod-eks",
		Cluster:        awsfake.ExampleCluster,
		Node:           node,
		ServiceAccount: &diagnosis.ServiceAccountFacts{Name: "payments-api", Found: true},
		Workload:       &diagnosis.Workload{Kind: "Deployment", Name: "payments-api"},
	}
}

// clock is an injectable Options.Now, safe for the gatherer's goroutines.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: awsfake.ExampleNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startFake runs awsfake over the worked example, changed by setup.
func startFake(t testing.TB, setup func(*awsfake.Scenario)) *awsfake.Server {
	t.Helper()
	sc := awsfake.WorkedExample()
	if setup != nil {
		setup(sc)
	}
	srv := awsfake.New(sc)
	t.Cleanup(srv.Close)
	return srv
}

// env is a fake AWS with a Gatherer pointed at it.
type env struct {
	srv   *awsfake.Server
	clock *clock
	g     *cloud.Gatherer
}

// newEnv starts the fake and a Gatherer with opts (Now defaults to a clock at the example's time).
func newEnv(t testing.TB, setup func(*awsfake.Scenario), opts cloud.Options) *env {
	t.Helper()
	e := &env{srv: startFake(t, setup), clock: newClock()}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	e.g = cloud.New(e.srv.SDKConfig(context.Background()), opts)
	return e
}

// enrich runs EnrichAll and checks that every skip says what it could not do and what it needs.
func (e *env) enrich(t testing.TB, all ...*diagnosis.Facts) {
	t.Helper()
	e.g.EnrichAll(context.Background(), all)
	for _, f := range all {
		checkSkips(t, f)
	}
}

// checkSkips fails the test for a Skip without Check, Reason or Needs.
func checkSkips(t testing.TB, f *diagnosis.Facts) {
	t.Helper()
	for _, s := range f.Skipped {
		if s.Check == "" || s.Reason == "" || s.Needs == "" {
			t.Errorf("pod %s: skip %+v lacks a check, a reason or what it needs", f.Ref(), s)
		}
	}
}

// counts returns how often each action was called.
func counts(srv *awsfake.Server) map[string]int {
	out := map[string]int{}
	for _, c := range srv.Calls() {
		out[c.Action()]++
	}
	return out
}

// ecrOf returns the ECR evidence of image in f, failing the test when there is none.
func ecrOf(t testing.TB, f *diagnosis.Facts, image string) *diagnosis.ECRImageEvidence {
	t.Helper()
	if f.Cloud == nil || f.Cloud.Images[image] == nil || f.Cloud.Images[image].ECR == nil {
		t.Fatalf("no ECR evidence for %s (cloud evidence %+v, skipped %+v)", image, f.Cloud, f.Skipped)
	}
	return f.Cloud.Images[image].ECR
}

// image returns the worked example's image with this tag or digest in repository repo.
func image(t testing.TB, repo, ref string) *awsfake.Image {
	t.Helper()
	r := awsfake.WorkedExample().Repository(repo)
	if r == nil || r.Image(ref) == nil {
		t.Fatalf("the worked example has no image %s:%s", repo, ref)
	}
	return r.Image(ref)
}

// sortSkips orders skips for comparison.
var sortSkips = cmpopts.SortSlices(func(a, b diagnosis.Skip) bool {
	return a.Check+a.Needs+a.Reason < b.Check+b.Needs+b.Reason
})

// diffSkips compares skips regardless of order.
func diffSkips(want, got []diagnosis.Skip) string {
	return cmp.Diff(want, got, sortSkips, cmpopts.EquateEmpty())
}

// pullOnlyDecisions are the simulated decisions for a role with AmazonEC2ContainerRegistryPullOnly.
func pullOnlyDecisions() map[string]string {
	return map[string]string{
		"ecr:GetAuthorizationToken":    "allowed",
		"ecr:BatchGetImage":            "allowed",
		"ecr:GetDownloadUrlForLayer":   "allowed",
		"ecr:BatchImportUpstreamImage": "allowed",
		"ecr:CreateRepository":         "implicitDeny",
	}
}

// exampleNetwork is the node's network evidence in the worked example.
func exampleNetwork() *diagnosis.NetworkEvidence {
	return &diagnosis.NetworkEvidence{
		VPC: awsfake.ExampleVpcID, Subnet: awsfake.ExampleSubnetID, AZ: tZone, RouteTable: awsfake.ExampleRouteTableID,
		SecurityGroups: []string{awsfake.ExampleNodeSG},
		DefaultRoute:   awsfake.ExampleNatGatewayID,
		DNSSupport:     diagnosis.Yes, DNSHostnames: diagnosis.Yes,
		Endpoints: map[string]*diagnosis.VPCEndpoint{
			"ecr.api": {ID: awsfake.ExampleECRAPIEndpoint, Type: "Interface", State: "available", PrivateDNS: true, InNodeAZ: diagnosis.Yes, AllowsNode443: diagnosis.Yes},
			"ecr.dkr": {ID: awsfake.ExampleECRDKREndpoint, Type: "Interface", State: "available", PrivateDNS: true, InNodeAZ: diagnosis.Yes, AllowsNode443: diagnosis.Yes},
			"s3":      {ID: awsfake.ExampleS3Endpoint, Type: "Gateway", State: "available", OnNodeRouteTable: diagnosis.Yes},
		},
	}
}

// exampleNodePrincipal is the node role's evidence in the worked example.
func exampleNodePrincipal() *diagnosis.PrincipalEvidence {
	return &diagnosis.PrincipalEvidence{
		Kind: "node-role", RoleARN: tNodeRoleARN, RoleName: awsfake.ExampleNodeRole, InstanceProfileARN: tProfileARN,
		Decisions:        pullOnlyDecisions(),
		AttachedPolicies: []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"},
		IMDSEnabled:      diagnosis.Yes,
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
