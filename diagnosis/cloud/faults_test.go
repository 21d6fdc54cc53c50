package cloud_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// richPods are a pod on the example node pulling a missing tag, a multi-arch index, an image
// of the KMS-encrypted repository and a cross-account image, and a Fargate pod pulling the
// missing tag: between them they need every lookup the gatherer makes.
func richPods(t testing.TB) []*diagnosis.Facts {
	return []*diagnosis.Facts{
		podFacts(tPod, exampleNode(t),
			failing("api", tMissingTag, notFoundMsg(tMissingTag)),
			failing("multi", tMultiArch, platformMsg(tMultiArch)),
			failing("ledger", tLedger, kmsMsg(tLedger)),
			failing("base", tXAccount, forbiddenMsg(tXAccount)),
		),
		podFacts("payments-batch-5c4b3a2d1-q8w7e", fargateNode(t), failing("batch", tMissingTag, notFoundMsg(tMissingTag))),
	}
}

// richOptions are the options for richPods (the cluster name finds the Fargate profile).
func richOptions() cloud.Options { return cloud.Options{Cluster: awsfake.ExampleCluster} }

// baseline enriches richPods on an untroubled fake.
func baseline(t *testing.T) []*diagnosis.Facts {
	t.Helper()
	e := newEnv(t, nil, richOptions())
	pods := richPods(t)
	e.enrich(t, pods...)
	for _, f := range pods {
		if len(f.Skipped) > 0 {
			t.Fatalf("baseline %s skipped %+v", f.Ref(), f.Skipped)
		}
	}
	return pods
}

// Throttling and server errors are retried by the SDK, and the evidence is the same as without them.
func TestFaultsRetried(t *testing.T) {
	want := baseline(t)
	wantCalls := counts(newEnvRun(t, nil, richOptions()))
	tests := []struct {
		op    string
		fault awsfake.Fault
	}{
		{"ecr:DescribeImages", awsfake.Throttle},
		{"ecr:DescribeRepositories", awsfake.ServerError},
		{"ecr:ListImages", awsfake.Throttle},
		{"ecr:GetLifecyclePolicy", awsfake.ServerError},
		{"ecr:BatchGetImage", awsfake.Throttle},
		{"ecr:GetRepositoryPolicy", awsfake.ServerError},
		{"ecr:DescribePullThroughCacheRules", awsfake.Throttle},
		{"kms:DescribeKey", awsfake.Throttle},
		{"kms:ListGrants", awsfake.Throttle},
		{"kms:ListGrants", awsfake.ServerError},
		{"sts:GetCallerIdentity", awsfake.ServerError},
		{"ec2:DescribeInstances", awsfake.Throttle},
		{"ec2:DescribeRouteTables", awsfake.ServerError},
		{"ec2:DescribeVpcEndpoints", awsfake.Throttle},
		{"ec2:DescribeSubnets", awsfake.ServerError},
		{"ec2:DescribeSecurityGroups", awsfake.Throttle},
		{"ec2:DescribeVpcAttribute", awsfake.Throttle},
		{"ec2:DescribeVpcAttribute", awsfake.ServerError},
		{"iam:GetInstanceProfile", awsfake.Throttle},
		{"iam:ListAttachedRolePolicies", awsfake.ServerError},
		{"iam:SimulatePrincipalPolicy", awsfake.Throttle},
		{"eks:DescribeFargateProfile", awsfake.Throttle},
		{"eks:DescribeFargateProfile", awsfake.ServerError},
	}
	for _, tc := range tests {
		t.Run(tc.op+"/"+tc.fault.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil, richOptions())
			e.srv.FailNext(tc.op, 2, tc.fault) // the third attempt succeeds
			got := richPods(t)
			e.enrich(t, got...)
			for i := range got {
				if diff := cmp.Diff(want[i].Cloud, got[i].Cloud); diff != "" {
					t.Errorf("%s: cloud evidence (-want +got):\n%s", got[i].Ref(), diff)
				}
				if len(got[i].Skipped) > 0 {
					t.Errorf("%s: skipped %+v, want nothing skipped", got[i].Ref(), got[i].Skipped)
				}
			}
			if n, base := counts(e.srv)[tc.op], wantCalls[tc.op]; n != base+2 {
				t.Errorf("%s called %d times, want %d (%d and 2 retries)", tc.op, n, base+2, base)
			}
		})
	}
}

// newEnvRun enriches richPods on a fresh untroubled fake and returns the fake.
func newEnvRun(t *testing.T, setup func(*awsfake.Scenario), opts cloud.Options) *awsfake.Server {
	e := newEnv(t, setup, opts)
	e.enrich(t, richPods(t)...)
	return e.srv
}

// faultCase is a lookup that fails for good: what it removes from the baseline evidence of
// richPods (ec2 pod, Fargate pod) and the skips it leaves instead.
type faultCase struct {
	name   string
	setup  func(*awsfake.Scenario)
	slow   string // an action that answers after CheckTimeout
	slowN  int
	mutate func(ec2, fargate *diagnosis.CloudEvidence)
	skips  [2][]diagnosis.Skip
}

func denied(action, check, resource string) diagnosis.Skip {
	needs := action
	if resource != "" {
		needs += " on " + resource
	}
	return diagnosis.Skip{Check: check, Reason: "the bot's AWS role may not call " + action, Needs: needs}
}

func late(action, check, endpoint string) diagnosis.Skip {
	return diagnosis.Skip{Check: check, Reason: action + " did not answer in time", Needs: "a faster path to " + endpoint}
}

// each runs fn on the ECR evidence of every image of c.
func each(c *diagnosis.CloudEvidence, fn func(*diagnosis.ECRImageEvidence)) {
	for _, im := range c.Images {
		fn(im.ECR)
	}
}

const (
	ecrHost = "api.ecr.us-west-2.amazonaws.com"
	ec2Host = "ec2.us-west-2.amazonaws.com"
	iamHost = "iam.amazonaws.com"
)

var (
	// describeImagesGone is what is left of the ECR evidence without DescribeImages.
	describeImagesGone = func(ev *diagnosis.ECRImageEvidence) {
		*ev = diagnosis.ECRImageEvidence{RepositoryExists: ev.RepositoryExists, EncryptionType: ev.EncryptionType, KMSKey: ev.KMSKey,
			KMSKeyState: ev.KMSKeyState, KMSGrant: ev.KMSGrant, KMSGrantID: ev.KMSGrantID, KMSGrants: ev.KMSGrants,
			Policy: ev.Policy, PullThroughCache: ev.PullThroughCache}
	}
	// grantsGone is the KMS evidence without the key's grants.
	grantsGone = func(ev *diagnosis.ECRImageEvidence) {
		ev.KMSGrant, ev.KMSGrantID, ev.KMSGrants = diagnosis.Unknown, "", 0
	}
	// keyStateGone is the KMS evidence without the key's state (nor, then, its grants).
	keyStateGone = func(ev *diagnosis.ECRImageEvidence) { ev.KMSKeyState = ""; grantsGone(ev) }
	// principalGone is the evidence without the node's role (nor the repository policies' verdicts for it).
	principalGone = func(c *diagnosis.CloudEvidence) {
		c.Principal, c.Network = nil, nil
		each(c, func(ev *diagnosis.ECRImageEvidence) { ev.Policy = nil })
	}
	profileGone = func(c *diagnosis.CloudEvidence) {
		c.Principal = &diagnosis.PrincipalEvidence{Kind: "node-role", InstanceProfileARN: tProfileARN, IMDSEnabled: diagnosis.Yes}
		each(c, func(ev *diagnosis.ECRImageEvidence) { ev.Policy = nil })
	}
	// endpointsGone is the network evidence without the VPC's endpoints (nor, then, its DNS attributes).
	endpointsGone = func(c *diagnosis.CloudEvidence) {
		c.Network.Endpoints = map[string]*diagnosis.VPCEndpoint{}
		c.Network.DNSSupport, c.Network.DNSHostnames = diagnosis.Unknown, diagnosis.Unknown
	}
	dnsGone = func(c *diagnosis.CloudEvidence) {
		c.Network.DNSSupport, c.Network.DNSHostnames = diagnosis.Unknown, diagnosis.Unknown
	}
	fargateRoleGone = func(c *diagnosis.CloudEvidence) {
		c.Principal = nil
		each(c, func(ev *diagnosis.ECRImageEvidence) { ev.Policy = nil })
	}
	none = func(*diagnosis.CloudEvidence) {}
)

func faultCases() []faultCase {
	fargateSkip := "eks:DescribeFargateProfile"
	fargateARN := "arn:aws:eks:us-west-2:*:fargateprofile/prod-eks/fp-payments/*"
	return []faultCase{
		{
			name:  "denied ecr:DescribeImages",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ecr:DescribeImages"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) {
				each(a, describeImagesGone)
				each(b, describeImagesGone)
			},
			skips: [2][]diagnosis.Skip{
				{denied("ecr:DescribeImages", "ecr-image", tAPIRepoARN), denied("ecr:DescribeImages", "ecr-image", tLedgerRepoARN), denied("ecr:DescribeImages", "ecr-image", tBaseRepoARN)},
				{denied("ecr:DescribeImages", "ecr-image", tAPIRepoARN)},
			},
		},
		{
			name:  "denied ecr:DescribeRepositories",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ecr:DescribeRepositories"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) {
				for _, c := range []*diagnosis.CloudEvidence{a, b} {
					each(c, func(ev *diagnosis.ECRImageEvidence) { ev.EncryptionType, ev.KMSKey = "", ""; keyStateGone(ev) })
				}
			},
			skips: [2][]diagnosis.Skip{
				{denied("ecr:DescribeRepositories", "ecr-repository", tAPIRepoARN), denied("ecr:DescribeRepositories", "ecr-repository", tLedgerRepoARN), denied("ecr:DescribeRepositories", "ecr-repository", tBaseRepoARN)},
				{denied("ecr:DescribeRepositories", "ecr-repository", tAPIRepoARN)},
			},
		},
		{
			name:  "denied ecr:ListImages",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ecr:ListImages"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) {
				a.Images[tMissingTag].ECR.RecentTags = nil
				b.Images[tMissingTag].ECR.RecentTags = nil
			},
			skips: [2][]diagnosis.Skip{{denied("ecr:ListImages", "ecr-tags", tAPIRepoARN)}, {denied("ecr:ListImages", "ecr-tags", tAPIRepoARN)}},
		},
		{
			name:  "denied ecr:GetLifecyclePolicy",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ecr:GetLifecyclePolicy"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) {
				a.Images[tMissingTag].ECR.ExpiringRule = nil
				b.Images[tMissingTag].ECR.ExpiringRule = nil
			},
			skips: [2][]diagnosis.Skip{{denied("ecr:GetLifecyclePolicy", "ecr-lifecycle", tAPIRepoARN)}, {denied("ecr:GetLifecyclePolicy", "ecr-lifecycle", tAPIRepoARN)}},
		},
		{
			name:   "denied ecr:BatchGetImage",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["ecr:BatchGetImage"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) { a.Images[tMultiArch].ECR.Platforms = nil },
			skips:  [2][]diagnosis.Skip{{denied("ecr:BatchGetImage", "ecr-platforms", tAPIRepoARN)}, nil},
		},
		{
			name:   "denied kms:DescribeKey",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["kms:DescribeKey"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) { keyStateGone(a.Images[tLedger].ECR) },
			skips:  [2][]diagnosis.Skip{{denied("kms:DescribeKey", "kms-key", tKMSKeyARN)}, nil},
		},
		{
			// The key's state is known; whether ECR's grant is still there is not.
			name:   "denied kms:ListGrants",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["kms:ListGrants"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) { grantsGone(a.Images[tLedger].ECR) },
			skips:  [2][]diagnosis.Skip{{denied("kms:ListGrants", "kms-grants", tKMSKeyARN)}, nil},
		},
		{
			name:  "denied ecr:GetRepositoryPolicy",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ecr:GetRepositoryPolicy"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) {
				each(a, func(ev *diagnosis.ECRImageEvidence) { ev.Policy = nil })
				each(b, func(ev *diagnosis.ECRImageEvidence) { ev.Policy = nil })
			},
			skips: [2][]diagnosis.Skip{
				{denied("ecr:GetRepositoryPolicy", "ecr-repository-policy", tAPIRepoARN), denied("ecr:GetRepositoryPolicy", "ecr-repository-policy", tLedgerRepoARN), denied("ecr:GetRepositoryPolicy", "ecr-repository-policy", tBaseRepoARN)},
				{denied("ecr:GetRepositoryPolicy", "ecr-repository-policy", tAPIRepoARN)},
			},
		},
		{
			name:   "denied ecr:DescribePullThroughCacheRules",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["ecr:DescribePullThroughCacheRules"] = true },
			mutate: func(_, _ *diagnosis.CloudEvidence) {},
			// Only the missing image needs the rules.
			skips: [2][]diagnosis.Skip{
				{denied("ecr:DescribePullThroughCacheRules", "ecr-pull-through-cache", "arn:aws:ecr:us-west-2:111122223333:*")},
				{denied("ecr:DescribePullThroughCacheRules", "ecr-pull-through-cache", "arn:aws:ecr:us-west-2:111122223333:*")},
			},
		},
		{
			name:   "denied sts:GetCallerIdentity",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["sts:GetCallerIdentity"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) { a.CallerAccount, b.CallerAccount = "", "" },
			skips:  [2][]diagnosis.Skip{{denied("sts:GetCallerIdentity", "caller-identity", "")}, {denied("sts:GetCallerIdentity", "caller-identity", "")}},
		},
		{
			name:   "denied ec2:DescribeInstances",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["ec2:DescribeInstances"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) { principalGone(a) },
			skips:  [2][]diagnosis.Skip{{denied("ec2:DescribeInstances", "node-role", "")}, nil},
		},
		{
			name:   "denied iam:GetInstanceProfile",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["iam:GetInstanceProfile"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) { profileGone(a) },
			skips:  [2][]diagnosis.Skip{{denied("iam:GetInstanceProfile", "node-role", tProfileARN)}, nil},
		},
		{
			name:  "denied iam:ListAttachedRolePolicies",
			setup: func(sc *awsfake.Scenario) { sc.Denied["iam:ListAttachedRolePolicies"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) {
				a.Principal.AttachedPolicies, b.Principal.AttachedPolicies = nil, nil
			},
			skips: [2][]diagnosis.Skip{
				{denied("iam:ListAttachedRolePolicies", "role-policies", tNodeRoleARN)},
				{denied("iam:ListAttachedRolePolicies", "role-policies", tFargateRoleARN)},
			},
		},
		{
			name:   "denied iam:SimulatePrincipalPolicy",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["iam:SimulatePrincipalPolicy"] = true },
			mutate: func(a, b *diagnosis.CloudEvidence) { a.Principal.Decisions, b.Principal.Decisions = nil, nil },
			skips: [2][]diagnosis.Skip{
				{denied("iam:SimulatePrincipalPolicy", "iam-simulation", tNodeRoleARN)},
				{denied("iam:SimulatePrincipalPolicy", "iam-simulation", tFargateRoleARN)},
			},
		},
		{
			name:  "denied ec2:DescribeRouteTables",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ec2:DescribeRouteTables"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) {
				a.Network.RouteTable, a.Network.DefaultRoute = "", ""
				a.Network.Endpoints["s3"].OnNodeRouteTable = diagnosis.Unknown // the node's table is unknown
			},
			skips: [2][]diagnosis.Skip{{denied("ec2:DescribeRouteTables", "network-routes", "")}, nil},
		},
		{
			name:   "denied ec2:DescribeVpcEndpoints",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["ec2:DescribeVpcEndpoints"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) { endpointsGone(a) },
			skips:  [2][]diagnosis.Skip{{denied("ec2:DescribeVpcEndpoints", "network-endpoints", "")}, nil},
		},
		{
			// The endpoints are read; whether their private DNS applies is not known.
			name:   "denied ec2:DescribeVpcAttribute",
			setup:  func(sc *awsfake.Scenario) { sc.Denied["ec2:DescribeVpcAttribute"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) { dnsGone(a) },
			skips:  [2][]diagnosis.Skip{{denied("ec2:DescribeVpcAttribute", "network-dns", "")}, nil},
		},
		{
			name:  "denied ec2:DescribeSubnets",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ec2:DescribeSubnets"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) {
				a.Network.Endpoints["ecr.api"].InNodeAZ, a.Network.Endpoints["ecr.dkr"].InNodeAZ = diagnosis.Unknown, diagnosis.Unknown
			},
			skips: [2][]diagnosis.Skip{{denied("ec2:DescribeSubnets", "network-endpoints", "")}, nil},
		},
		{
			name:  "denied ec2:DescribeSecurityGroups",
			setup: func(sc *awsfake.Scenario) { sc.Denied["ec2:DescribeSecurityGroups"] = true },
			mutate: func(a, _ *diagnosis.CloudEvidence) {
				a.Network.Endpoints["ecr.api"].AllowsNode443, a.Network.Endpoints["ecr.dkr"].AllowsNode443 = diagnosis.Unknown, diagnosis.Unknown
			},
			skips: [2][]diagnosis.Skip{{denied("ec2:DescribeSecurityGroups", "network-endpoints", "")}, nil},
		},
		{
			name:   "denied eks:DescribeFargateProfile",
			setup:  func(sc *awsfake.Scenario) { sc.Denied[fargateSkip] = true },
			mutate: func(_, b *diagnosis.CloudEvidence) { fargateRoleGone(b) },
			skips:  [2][]diagnosis.Skip{nil, {denied(fargateSkip, "fargate-role", fargateARN)}},
		},
		{
			name: "slow ecr:DescribeImages", slow: "ecr:DescribeImages", slowN: 4,
			mutate: func(a, b *diagnosis.CloudEvidence) {
				each(a, describeImagesGone)
				each(b, describeImagesGone)
			},
			// the same skip for every repository: one per pod
			skips: [2][]diagnosis.Skip{{late("ecr:DescribeImages", "ecr-image", ecrHost)}, {late("ecr:DescribeImages", "ecr-image", ecrHost)}},
		},
		{
			name: "slow ec2:DescribeInstances", slow: "ec2:DescribeInstances", slowN: 1,
			mutate: func(a, _ *diagnosis.CloudEvidence) { principalGone(a) },
			skips:  [2][]diagnosis.Skip{{late("ec2:DescribeInstances", "node-role", ec2Host)}, nil},
		},
		{
			name: "slow iam:GetInstanceProfile", slow: "iam:GetInstanceProfile", slowN: 1,
			mutate: func(a, _ *diagnosis.CloudEvidence) { profileGone(a) },
			skips:  [2][]diagnosis.Skip{{late("iam:GetInstanceProfile", "node-role", iamHost)}, nil},
		},
		{
			name: "slow iam:SimulatePrincipalPolicy", slow: "iam:SimulatePrincipalPolicy", slowN: 2,
			mutate: func(a, b *diagnosis.CloudEvidence) { a.Principal.Decisions, b.Principal.Decisions = nil, nil },
			skips:  [2][]diagnosis.Skip{{late("iam:SimulatePrincipalPolicy", "iam-simulation", iamHost)}, {late("iam:SimulatePrincipalPolicy", "iam-simulation", iamHost)}},
		},
		{
			name: "slow ec2:DescribeVpcEndpoints", slow: "ec2:DescribeVpcEndpoints", slowN: 1,
			mutate: func(a, _ *diagnosis.CloudEvidence) { endpointsGone(a) },
			skips:  [2][]diagnosis.Skip{{late("ec2:DescribeVpcEndpoints", "network-endpoints", ec2Host)}, nil},
		},
		{
			name: "slow ec2:DescribeVpcAttribute", slow: "ec2:DescribeVpcAttribute", slowN: 2, // both attributes
			mutate: func(a, _ *diagnosis.CloudEvidence) { dnsGone(a) },
			skips:  [2][]diagnosis.Skip{{late("ec2:DescribeVpcAttribute", "network-dns", ec2Host)}, nil},
		},
		{
			name: "slow kms:DescribeKey", slow: "kms:DescribeKey", slowN: 1,
			mutate: func(a, _ *diagnosis.CloudEvidence) { keyStateGone(a.Images[tLedger].ECR) },
			skips:  [2][]diagnosis.Skip{{late("kms:DescribeKey", "kms-key", "kms.us-west-2.amazonaws.com")}, nil},
		},
		{
			name: "slow kms:ListGrants", slow: "kms:ListGrants", slowN: 1,
			mutate: func(a, _ *diagnosis.CloudEvidence) { grantsGone(a.Images[tLedger].ECR) },
			skips:  [2][]diagnosis.Skip{{late("kms:ListGrants", "kms-grants", "kms.us-west-2.amazonaws.com")}, nil},
		},
		{
			name: "slow ecr:GetRepositoryPolicy", slow: "ecr:GetRepositoryPolicy", slowN: 3,
			mutate: func(a, b *diagnosis.CloudEvidence) {
				each(a, func(ev *diagnosis.ECRImageEvidence) { ev.Policy = nil })
				each(b, func(ev *diagnosis.ECRImageEvidence) { ev.Policy = nil })
			},
			skips: [2][]diagnosis.Skip{{late("ecr:GetRepositoryPolicy", "ecr-repository-policy", ecrHost)}, {late("ecr:GetRepositoryPolicy", "ecr-repository-policy", ecrHost)}},
		},
		{
			name: "slow eks:DescribeFargateProfile", slow: "eks:DescribeFargateProfile", slowN: 1,
			mutate: func(_, b *diagnosis.CloudEvidence) { fargateRoleGone(b) },
			skips:  [2][]diagnosis.Skip{nil, {late("eks:DescribeFargateProfile", "fargate-role", "eks.us-west-2.amazonaws.com")}},
		},
	}
}

// checkTimeout bounds each lookup in the fault tests; slow answers take far longer.
const checkTimeout = time.Second

// A lookup that is refused (the bot's role lacks the permission: Scenario.Denied) or does not
// answer within CheckTimeout becomes a Skip that names the call and what it needs; everything
// else still arrives.
func TestFaultsBecomeSkips(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := baseline(t)
			tc.mutate(want[0].Cloud, want[1].Cloud)

			opts := richOptions()
			opts.CheckTimeout = checkTimeout
			e := newEnv(t, tc.setup, opts)
			if tc.slow != "" {
				e.srv.FailNext(tc.slow, tc.slowN, awsfake.Slow(time.Minute))
			}
			got := richPods(t)
			start := time.Now()
			e.enrich(t, got...)
			if d := time.Since(start); d > 20*checkTimeout {
				t.Errorf("EnrichAll took %v, want it bounded by the check timeout %v", d, checkTimeout)
			}
			for i := range got {
				if diff := cmp.Diff(want[i].Cloud, got[i].Cloud); diff != "" {
					t.Errorf("%s: cloud evidence (-want +got):\n%s", got[i].Ref(), diff)
				}
				if diff := diffSkips(tc.skips[i], got[i].Skipped); diff != "" {
					t.Errorf("%s: skipped (-want +got):\n%s", got[i].Ref(), diff)
				}
			}
		})
	}
}

// A lookup that failed is made again by the next EnrichAll, even within the TTL: a transient
// fault or a permission granted since does not stick for a whole TTL.
func TestFaultsAreNotCached(t *testing.T) {
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := baseline(t)

			opts := richOptions()
			opts.CheckTimeout = checkTimeout
			e := newEnv(t, tc.setup, opts)
			if tc.slow != "" {
				e.srv.FailNext(tc.slow, tc.slowN, awsfake.Slow(time.Minute))
			}
			e.enrich(t, richPods(t)...)

			// The fault is gone (the slow answers were used up); the clock has not moved.
			e.srv.Update(func(sc *awsfake.Scenario) { sc.Denied = nil })
			got := richPods(t)
			e.enrich(t, got...)
			for i := range got {
				if diff := cmp.Diff(want[i].Cloud, got[i].Cloud); diff != "" {
					t.Errorf("%s: cloud evidence after the fault (-want +got):\n%s", got[i].Ref(), diff)
				}
				if len(got[i].Skipped) > 0 {
					t.Errorf("%s: skipped %+v after the fault, want nothing skipped", got[i].Ref(), got[i].Skipped)
				}
			}
		})
	}
}

// Without AWS credentials (a cluster off AWS), every pod that would be looked up gets one
// Skip{Check: "aws"} and nothing is called.
func TestNoCredentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds aws.CredentialsProvider
	}{
		{"provider fails", aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errors.New("no EC2 IMDS role found, operation error ec2imds: GetMetadata, request canceled, context deadline exceeded")
		})},
		{"no provider", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startFake(t, nil)
			cfg := srv.SDKConfig(context.Background())
			cfg.Credentials = tc.creds
			g := cloud.New(cfg, cloud.Options{Cluster: awsfake.ExampleCluster, Now: newClock().Now})

			offAWS := podFacts("docker-off-aws", &diagnosis.NodeFacts{Name: "kind-worker"}, failing("web", tDockerHub, notFoundMsg(tDockerHub)))
			pods := append(richPods(t), podFacts("docker-on-ec2", exampleNode(t), failing("web", tDockerHub, notFoundMsg(tDockerHub))), offAWS)
			g.EnrichAll(context.Background(), pods)

			want := []diagnosis.Skip{{Check: "aws", Reason: "no AWS credentials were found (default credential chain), so ECR, IAM and VPC evidence was not gathered",
				Needs: "AWS credentials for the bot: an IRSA or EKS Pod Identity role, or AWS_* environment variables, with deploy/aws/iam-policy.json"}}
			for _, f := range pods[:3] {
				if diff := cmp.Diff(want, f.Skipped); diff != "" {
					t.Errorf("%s: skipped (-want +got):\n%s", f.Ref(), diff)
				}
				if c := f.Cloud; c != nil && (len(c.Images) > 0 || c.Principal != nil || c.Network != nil || c.CallerAccount != "") {
					t.Errorf("%s: cloud evidence %+v without credentials", f.Ref(), c)
				}
			}
			if offAWS.Cloud != nil || len(offAWS.Skipped) > 0 {
				t.Errorf("pod off AWS: cloud %+v, skipped %+v; want nothing", offAWS.Cloud, offAWS.Skipped)
			}
			if calls := srv.Calls(); len(calls) > 0 {
				t.Errorf("calls %+v without credentials, want none", calls)
			}
		})
	}
}
