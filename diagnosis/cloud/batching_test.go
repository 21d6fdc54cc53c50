package cloud_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// The scale scenario: 5 node groups (instance profile → role → instance), three in the worked
// example's VPC (two subnets) and two in a second VPC whose subnet uses its main route table;
// 10 repositories with 5 tags each referenced (1.0.0–1.2.0 exist, 1.3.0 and 1.4.0 do not).
const (
	scaleNodes  = 5
	scaleRepos  = 10
	scaleTags   = 5
	scaleImages = scaleRepos * scaleTags
	scalePods   = 500

	vpc2    = "vpc-0b1b2c3d4e5f67890"
	subnet3 = "subnet-0b23abcd4567ef890"
	mainRT2 = "rtb-0b0b0c0d0e0f01234"
	nat2    = "nat-0b1b2c3d4e5f67890"
)

func scaleInstance(i int) string { return fmt.Sprintf("i-0f00%013x", i) }
func scaleRole(i int) string     { return fmt.Sprintf("eks-ng-pool%d-NodeInstanceRole", i) }
func scaleImage(j int) string {
	return fmt.Sprintf("%s/team%d/svc:1.%d.0", tRegistry, j/scaleTags, j%scaleTags)
}

// scaleSubnet places node i: pools 0 and 1 in the example subnet, 2 in the example's second
// subnet (us-west-2b), 3 and 4 in the second VPC.
func scaleSubnet(i int) (subnet, vpc, zone string) {
	switch {
	case i < 2:
		return awsfake.ExampleSubnetID, awsfake.ExampleVpcID, tZone
	case i == 2:
		return awsfake.ExampleSubnet2ID, awsfake.ExampleVpcID, "us-west-2b"
	}
	return subnet3, vpc2, "us-west-2c"
}

func scaleScenario(sc *awsfake.Scenario) {
	now := awsfake.ExampleNow
	sc.VPCs = append(sc.VPCs, &awsfake.VPC{ID: vpc2, CIDR: "10.1.0.0/16", EnableDNSSupport: true, EnableDNSHostnames: true})
	sc.Subnets = append(sc.Subnets, &awsfake.Subnet{ID: subnet3, VpcID: vpc2, AvailabilityZone: "us-west-2c", CIDR: "10.1.0.0/20"})
	sc.RouteTables = append(sc.RouteTables, &awsfake.RouteTable{ID: mainRT2, VpcID: vpc2, Main: true, Routes: []awsfake.Route{
		{DestinationCIDR: "10.1.0.0/16", GatewayID: "local"}, {DestinationCIDR: "0.0.0.0/0", NatGatewayID: nat2}}})
	for i := range scaleNodes {
		policies := []string{awsfake.PolicyWorkerNode, awsfake.PolicyCNI, awsfake.PolicyPullOnly}
		if i == scaleNodes-1 {
			policies = policies[:2] // the last pool lost its ECR permissions
		}
		profile := fmt.Sprintf("eks-ng-pool%d-profile", i)
		sc.Roles = append(sc.Roles, &awsfake.Role{Name: scaleRole(i), CreatedAt: now.Add(-100 * 24 * time.Hour), AttachedPolicies: policies})
		sc.InstanceProfiles = append(sc.InstanceProfiles, &awsfake.InstanceProfile{Name: profile, Roles: []string{scaleRole(i)}})
		subnet, vpc, zone := scaleSubnet(i)
		sc.Instances = append(sc.Instances, &awsfake.Instance{
			ID: scaleInstance(i), InstanceType: "m7i.large", Architecture: "x86_64", SubnetID: subnet, VpcID: vpc, AvailabilityZone: zone,
			PrivateIP: fmt.Sprintf("10.%d.%d.10", min(i/3, 1), 12+i), InstanceProfileArn: "arn:aws:iam::111122223333:instance-profile/" + profile,
			SecurityGroupIDs: []string{awsfake.ExampleNodeSG}, LaunchTime: now.Add(-24 * time.Hour),
		})
	}
	for r := range scaleRepos {
		repo := &awsfake.Repository{Name: fmt.Sprintf("team%d/svc", r), CreatedAt: now.Add(-200 * 24 * time.Hour)}
		if r%2 == 0 {
			repo.LifecyclePolicy = `{"rules":[{"rulePriority":1,"description":"keep 3 releases","selection":{"tagStatus":"tagged","tagPrefixList":["1."],"countType":"imageCountMoreThan","countNumber":3},"action":{"type":"expire"}}]}`
		}
		for k := range 3 {
			tag := fmt.Sprintf("1.%d.0", k)
			repo.Images = append(repo.Images, awsfake.SingleArchImage(fmt.Sprintf("team%d-%s", r, tag), "amd64", 20_000_000, now.Add(-time.Duration(30-k)*24*time.Hour), tag))
		}
		sc.Repositories = append(sc.Repositories, repo)
	}
}

// scalePodFacts are 500 failing pods: pod p pulls image p%50 on node (p/50)%5, so that every
// node pulls every image.
func scalePodFacts(t testing.TB) []*diagnosis.Facts {
	nodes := make([]*diagnosis.NodeFacts, scaleNodes)
	for i := range nodes {
		_, _, zone := scaleSubnet(i)
		nodes[i] = ec2Node(t, fmt.Sprintf("ip-10-0-%d-10.us-west-2.compute.internal", 12+i), scaleInstance(i), zone)
	}
	pods := make([]*diagnosis.Facts, scalePods)
	for p := range pods {
		img := scaleImage(p % scaleImages)
		pods[p] = podFacts(fmt.Sprintf("svc-%03d", p), nodes[(p/scaleImages)%scaleNodes], failing("svc", img, notFoundMsg(img)))
	}
	return pods
}

// A scan of 500 failing pods over 50 images and 5 node roles makes one lookup per image,
// repository, role, instance, subnet and VPC; a second scan within the TTL makes none; after
// the TTL everything is read again.
func TestBatchingAndCaching(t *testing.T) {
	const ttl = 5 * time.Minute
	e := newEnv(t, scaleScenario, cloud.Options{TTL: ttl})
	first := scalePodFacts(t)
	e.enrich(t, first...)

	wantCalls := map[string]int{
		"ecr:DescribeImages":                scaleImages, // one per image
		"ecr:DescribeRepositories":          scaleImages, // read with each image
		"ecr:ListImages":                    2 * scaleRepos,
		"ecr:GetLifecyclePolicy":            2 * scaleRepos, // the missing tags' follow-ups
		"ecr:GetRepositoryPolicy":           scaleRepos,     // one per repository
		"ecr:DescribePullThroughCacheRules": 1,              // one per registry
		"sts:GetCallerIdentity":             1,
		"ec2:DescribeInstances":             scaleNodes, // one per instance
		"iam:GetInstanceProfile":            scaleNodes,
		"iam:ListAttachedRolePolicies":      scaleNodes,
		"iam:SimulatePrincipalPolicy":       scaleNodes, // one per role, over all its repositories
		"ec2:DescribeRouteTables":           4,          // three subnets; the third has no association (+ main table)
		"ec2:DescribeVpcEndpoints":          2,          // one per VPC
		"ec2:DescribeSubnets":               1,          // only the first VPC has ECR interface endpoints
		"ec2:DescribeSecurityGroups":        1,
		"ec2:DescribeVpcAttribute":          2, // the first VPC's two DNS attributes (its endpoints have private DNS)
	}
	if diff := cmp.Diff(wantCalls, counts(e.srv)); diff != "" {
		t.Errorf("calls of the first scan (-want +got):\n%s", diff)
	}

	// Every pod has its own evidence, right for its image and node.
	for p, f := range first {
		img, node := p%scaleImages, (p/scaleImages)%scaleNodes
		if len(f.Skipped) > 0 {
			t.Fatalf("%s skipped %+v", f.Ref(), f.Skipped)
		}
		ev := ecrOf(t, f, scaleImage(img))
		wantExists := diagnosis.Yes
		if img%scaleTags >= 3 {
			wantExists = diagnosis.No
		}
		if ev.RepositoryExists != diagnosis.Yes || ev.ImageExists != wantExists {
			t.Fatalf("%s (%s): repository %v, image %v; want yes, %v", f.Ref(), scaleImage(img), ev.RepositoryExists, ev.ImageExists, wantExists)
		}
		if wantExists == diagnosis.No && !cmp.Equal(ev.RecentTags, []string{"1.2.0", "1.1.0", "1.0.0"}) {
			t.Fatalf("%s: recent tags %v", f.Ref(), ev.RecentTags)
		}
		pr := f.Cloud.Principal
		if pr == nil || pr.RoleName != scaleRole(node) {
			t.Fatalf("%s: principal %+v, want role %s", f.Ref(), pr, scaleRole(node))
		}
		wantDecision := "allowed"
		if node == scaleNodes-1 {
			wantDecision = "implicitDeny"
		}
		if d := pr.Decisions["ecr:BatchGetImage"]; d != wantDecision {
			t.Fatalf("%s: ecr:BatchGetImage %q, want %q", f.Ref(), d, wantDecision)
		}
		subnet, vpc, zone := scaleSubnet(node)
		if n := f.Cloud.Network; n == nil || n.VPC != vpc || n.Subnet != subnet || n.AZ != zone {
			t.Fatalf("%s: network %+v, want %s/%s/%s", f.Ref(), n, vpc, subnet, zone)
		}
	}
	if n := first[0].Cloud.Network; n.Endpoints["ecr.dkr"] == nil || n.DefaultRoute != awsfake.ExampleNatGatewayID {
		t.Errorf("network of node 0: %+v, want the example VPC's endpoints and NAT", n)
	}
	if n := first[3*scaleImages].Cloud.Network; n.RouteTable != mainRT2 || n.DefaultRoute != nat2 || len(n.Endpoints) != 0 {
		t.Errorf("network of node 3: %+v, want the second VPC's main table, its NAT and no endpoints", n)
	}
	if n := first[2*scaleImages].Cloud.Network; n.Endpoints["ecr.api"].InNodeAZ != diagnosis.Yes {
		t.Errorf("node 2 (us-west-2b): ecr.api in the node's AZ %v, want yes", n.Endpoints["ecr.api"].InNodeAZ)
	}

	// Within the TTL: no call at all, and the same evidence.
	e.clock.Advance(ttl - time.Second)
	e.srv.ResetCalls()
	second := scalePodFacts(t)
	e.enrich(t, second...)
	if calls := e.srv.Calls(); len(calls) > 0 {
		t.Errorf("a scan within the TTL made %d calls (%v), want none", len(calls), e.srv.Actions())
	}
	for p := range second {
		if diff := cmp.Diff(first[p].Cloud, second[p].Cloud); diff != "" {
			t.Fatalf("%s: cached evidence differs (-first +second):\n%s", second[p].Ref(), diff)
		}
	}

	// After the TTL: everything is read again, once.
	e.clock.Advance(2 * time.Second)
	e.srv.ResetCalls()
	third := scalePodFacts(t)
	e.enrich(t, third...)
	if diff := cmp.Diff(wantCalls, counts(e.srv)); diff != "" {
		t.Errorf("calls after the TTL (-want +got):\n%s", diff)
	}
	for p := range third {
		if diff := cmp.Diff(first[p].Cloud, third[p].Cloud); diff != "" {
			t.Fatalf("%s: evidence after the TTL differs (-first +third):\n%s", third[p].Ref(), diff)
		}
	}
}

// A lookup that fails (refused, or not answering) is made once per scan, not once per pod,
// and is made again by the next scan.
func TestFailuresAtScale(t *testing.T) {
	const timeout = 500 * time.Millisecond
	// One of each kind: an error (DescribeInstances), a skip inside a cached image, repository
	// policy or VPC (DescribeImages, GetRepositoryPolicy, DescribeSecurityGroups), and the
	// simulation the whole scan waits for.
	ops := []string{"ec2:DescribeInstances", "ecr:DescribeImages", "ecr:GetRepositoryPolicy", "ec2:DescribeSecurityGroups", "iam:SimulatePrincipalPolicy"}
	ok := newEnv(t, scaleScenario, cloud.Options{})
	start := time.Now()
	ok.enrich(t, scalePodFacts(t)...)
	base := time.Since(start)
	want := counts(ok.srv)
	for _, op := range ops {
		for _, slow := range []bool{false, true} {
			name := "denied " + op
			if slow {
				name = "slow " + op
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, func(sc *awsfake.Scenario) {
					scaleScenario(sc)
					if !slow {
						sc.Denied[op] = true
					}
				}, cloud.Options{CheckTimeout: timeout})
				if slow {
					e.srv.FailNext(op, 10*scalePods, awsfake.Slow(time.Minute))
				}
				pods := scalePodFacts(t)
				start := time.Now()
				e.enrich(t, pods...)
				took := time.Since(start)
				// At most once per lookup, as without the fault (a slow request may time out in
				// the client before it reaches the server).
				if n := counts(e.srv)[op]; n > want[op] || n == 0 {
					t.Errorf("%s called %d times, want 1 to %d", op, n, want[op])
				}
				// Lookups of different keys overlap and each times out once: a few timeouts,
				// not one per pod (500 pods, 32 at a time, would be 16 or more).
				if slow && took > 3*base+6*timeout {
					t.Errorf("EnrichAll took %v with slow %s (%v without; timeout %v)", took, op, base, timeout)
				}
				skipped := 0
				for _, f := range pods {
					if strings.Contains(fmt.Sprint(f.Skipped), op) {
						skipped++
					}
				}
				if skipped == 0 {
					t.Errorf("no pod has a skip for %s", op)
				}
				// The next scan reads again.
				e.srv.ResetCalls()
				e.enrich(t, scalePodFacts(t)[3]) // a missing tag on a node of the VPC with ECR endpoints
				if n := counts(e.srv)[op]; n == 0 {
					t.Errorf("the next scan did not call %s again", op)
				}
			})
		}
	}
}

// Pods enriched one at a time (Enrich) share the cache too.
func TestEnrichSharesTheCache(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	a := podFacts(tPod, exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.g.Enrich(context.Background(), a)
	e.srv.ResetCalls()
	b := podFacts("payments-api-6f7d9c8b5-x7y8z", exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.g.Enrich(context.Background(), b)
	if calls := e.srv.Calls(); len(calls) > 0 {
		t.Errorf("the second pod made calls %v, want none", e.srv.Actions())
	}
	if diff := cmp.Diff(a.Cloud, b.Cloud); diff != "" {
		t.Errorf("evidence differs (-first +second):\n%s", diff)
	}
}

// Evidence handed to one pod is its own: changing it does not change another pod's, nor
// what the cache hands out next.
func TestEvidenceIsNotShared(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	a := podFacts(tPod, exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	b := podFacts("payments-api-6f7d9c8b5-x7y8z", exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, a, b)
	want := podFacts("payments-api-6f7d9c8b5-w1v2u", exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, want)

	ev := ecrOf(t, a, tMissingTag)
	ev.ImageExists, ev.Policy.Allows = diagnosis.Yes, diagnosis.Yes
	a.Cloud.Principal.Decisions["ecr:BatchGetImage"] = "explicitDeny"
	a.Cloud.Principal.RoleName = "changed"
	a.Cloud.Network.Endpoints["ecr.dkr"].PolicyDenies = "ecr:BatchGetImage"
	a.Cloud.Network.RouteTable = "changed"

	c := podFacts("payments-api-6f7d9c8b5-t9s8r", exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, c)
	for _, f := range []*diagnosis.Facts{b, c} {
		if diff := cmp.Diff(want.Cloud, f.Cloud); diff != "" {
			t.Errorf("%s: evidence changed with another pod's (-want +got):\n%s", f.Ref(), diff)
		}
	}
}

// signalClient calls fn once, when the first request for an operation (X-Amz-Target suffix) is
// sent after it was armed.
type signalClient struct {
	http.Client
	op    string
	armed atomic.Bool
	once  sync.Once
	fn    func()
}

func (c *signalClient) Do(req *http.Request) (*http.Response, error) {
	if c.armed.Load() && strings.HasSuffix(req.Header.Get("X-Amz-Target"), "."+c.op) {
		c.once.Do(c.fn)
	}
	return c.Client.Do(req)
}

// A scan whose context ends while pods wait for a lookup another pod started returns, with
// a skip for what it could not read, and does not panic.
func TestCancelledWhileWaiting(t *testing.T) {
	srv := startFake(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := srv.SDKConfig(ctx)
	signal := &signalClient{Client: *srv.Client(), op: "GetRepositoryPolicy", fn: cancel}
	cfg.HTTPClient = signal
	g := cloud.New(cfg, cloud.Options{Now: newClock().Now})

	// Warm every lookup but the repository policy (a refused read is not cached).
	srv.Update(func(sc *awsfake.Scenario) { sc.Denied["ecr:GetRepositoryPolicy"] = true })
	warm := podFacts(tPod, exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	g.EnrichAll(context.Background(), []*diagnosis.Facts{warm})
	srv.Update(func(sc *awsfake.Scenario) { sc.Denied = nil })
	srv.FailNext("ecr:GetRepositoryPolicy", 1, awsfake.Slow(time.Minute))
	signal.armed.Store(true)

	// Many pods on the same repository: one reads the policy, the others wait for it, and the
	// scan's context ends as the read starts.
	var pods []*diagnosis.Facts
	for i := range 16 {
		pods = append(pods, podFacts(fmt.Sprintf("%s-%d", tPod, i), exampleNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag))))
	}
	g.EnrichAll(ctx, pods)
	if ctx.Err() == nil {
		t.Fatal("the scan's context did not end: the test did not test anything")
	}
	// What was cached is still reported; only the policy verdict is missing, with a skip.
	for _, f := range pods {
		checkSkips(t, f)
		if diff := cmp.Diff(warm.Cloud, f.Cloud, cmpopts.IgnoreFields(diagnosis.ECRImageEvidence{}, "Policy")); diff != "" {
			t.Errorf("%s: evidence (-warm +got):\n%s", f.Ref(), diff)
		}
		if ev := ecrOf(t, f, tMissingTag); ev.Policy != nil {
			t.Errorf("%s: repository policy verdict %+v, want none", f.Ref(), ev.Policy)
		}
		if len(f.Skipped) != 1 || f.Skipped[0].Check != "ecr-repository-policy" || !strings.Contains(f.Skipped[0].Reason, "ecr:GetRepositoryPolicy") {
			t.Errorf("%s: skipped %+v, want one skip for ecr:GetRepositoryPolicy", f.Ref(), f.Skipped)
		}
	}
}
