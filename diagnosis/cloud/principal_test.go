package cloud_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// The node role, found through the instance profile, with what IAM's simulation decides for it.
func TestPrincipalNodeRole(t *testing.T) {
	allDenied := map[string]string{
		"ecr:GetAuthorizationToken": "implicitDeny", "ecr:BatchGetImage": "implicitDeny", "ecr:GetDownloadUrlForLayer": "implicitDeny",
		"ecr:BatchImportUpstreamImage": "implicitDeny", "ecr:CreateRepository": "implicitDeny",
	}
	tests := []struct {
		name   string
		setup  func(*awsfake.Scenario)
		images []string
		want   func(*diagnosis.PrincipalEvidence)
	}{
		{
			name:   "AmazonEC2ContainerRegistryPullOnly attached",
			images: []string{tMissingTag},
			want:   func(*diagnosis.PrincipalEvidence) {},
		},
		{
			name: "AmazonEC2ContainerRegistryPullOnly removed",
			setup: func(sc *awsfake.Scenario) {
				sc.Role(awsfake.ExampleNodeRole).AttachedPolicies = []string{awsfake.PolicyWorkerNode, awsfake.PolicyCNI}
			},
			images: []string{tMissingTag},
			want: func(p *diagnosis.PrincipalEvidence) {
				p.AttachedPolicies = []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"}
				p.Decisions = allDenied
			},
		},
		{
			name: "an inline Deny",
			setup: func(sc *awsfake.Scenario) {
				sc.Role(awsfake.ExampleNodeRole).InlinePolicies = map[string]string{
					"no-layers": `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"ecr:GetDownloadUrlForLayer","Resource":"*"}]}`,
				}
			},
			images: []string{tMissingTag},
			want:   func(p *diagnosis.PrincipalEvidence) { p.Decisions["ecr:GetDownloadUrlForLayer"] = "explicitDeny" },
		},
		{
			name: "the most restrictive decision over the pod's repositories",
			setup: func(sc *awsfake.Scenario) {
				r := sc.Role(awsfake.ExampleNodeRole)
				r.AttachedPolicies = []string{awsfake.PolicyWorkerNode, awsfake.PolicyCNI}
				r.InlinePolicies = map[string]string{"payments-only": `{"Version":"2012-10-17","Statement":[` +
					`{"Effect":"Allow","Action":"ecr:GetAuthorizationToken","Resource":"*"},` +
					`{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"arn:aws:ecr:us-west-2:111122223333:repository/payments/*"}]}`}
			},
			images: []string{tMissingTag, tXAccount},
			want: func(p *diagnosis.PrincipalEvidence) {
				p.AttachedPolicies = []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"}
				p.Decisions = map[string]string{
					"ecr:GetAuthorizationToken": "allowed", "ecr:BatchGetImage": "implicitDeny", "ecr:GetDownloadUrlForLayer": "implicitDeny",
					"ecr:BatchImportUpstreamImage": "implicitDeny", "ecr:CreateRepository": "implicitDeny",
				}
			},
		},
		{
			name: "an explicit Deny on one repository beats an implicit one on another",
			setup: func(sc *awsfake.Scenario) {
				r := sc.Role(awsfake.ExampleNodeRole)
				r.AttachedPolicies = []string{awsfake.PolicyWorkerNode, awsfake.PolicyCNI}
				r.InlinePolicies = map[string]string{"no-platform": `{"Version":"2012-10-17","Statement":[` +
					`{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:GetDownloadUrlForLayer"],"Resource":"*"},` +
					`{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:*:444455556666:repository/platform/*"}]}`}
			},
			images: []string{tMissingTag, tXAccount},
			want: func(p *diagnosis.PrincipalEvidence) {
				p.AttachedPolicies = []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"}
				p.Decisions = map[string]string{
					"ecr:GetAuthorizationToken": "allowed", "ecr:BatchGetImage": "explicitDeny", "ecr:GetDownloadUrlForLayer": "allowed",
					"ecr:BatchImportUpstreamImage": "implicitDeny", "ecr:CreateRepository": "implicitDeny",
				}
			},
		},
		{
			name:   "instance metadata switched off",
			setup:  func(sc *awsfake.Scenario) { sc.Instance(tInstance).MetadataHTTPEndpoint = "disabled" },
			images: []string{tMissingTag},
			want:   func(p *diagnosis.PrincipalEvidence) { p.IMDSEnabled = diagnosis.No },
		},
		{
			name:   "no instance profile",
			setup:  func(sc *awsfake.Scenario) { sc.Instance(tInstance).InstanceProfileArn = "" },
			images: []string{tMissingTag},
			want: func(p *diagnosis.PrincipalEvidence) {
				*p = diagnosis.PrincipalEvidence{Kind: "node-role", IMDSEnabled: diagnosis.Yes}
			},
		},
		{
			name:   "an instance profile without a role",
			setup:  func(sc *awsfake.Scenario) { sc.InstanceProfile(awsfake.ExampleProfileName).Roles = nil },
			images: []string{tMissingTag},
			want: func(p *diagnosis.PrincipalEvidence) {
				*p = diagnosis.PrincipalEvidence{Kind: "node-role", InstanceProfileARN: tProfileARN, IMDSEnabled: diagnosis.Yes}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.setup, cloud.Options{})
			var cs []ctr
			for i, img := range tc.images {
				cs = append(cs, failing("c"+string(rune('0'+i)), img, forbiddenMsg(img)))
			}
			f := podFacts(tPod, exampleNode(t), cs...)
			e.enrich(t, f)

			want := exampleNodePrincipal()
			tc.want(want)
			if diff := cmp.Diff(want, f.Cloud.Principal); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
			if len(f.Skipped) > 0 {
				t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
			}
			if want.RoleARN == "" && counts(e.srv)["iam:SimulatePrincipalPolicy"] > 0 {
				t.Errorf("simulated a policy without a role")
			}
		})
	}
}

// On Fargate the profile's pod execution role pulls (DOMAIN §4.2, C16): no instance, no node network.
func TestPrincipalFargate(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{Cluster: awsfake.ExampleCluster})
	f := podFacts(tPod, fargateNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, f)

	want := &diagnosis.PrincipalEvidence{
		Kind: "fargate-execution-role", RoleARN: tFargateRoleARN, RoleName: awsfake.ExampleFargateRole,
		AttachedPolicies: []string{"AmazonEKSFargatePodExecutionRolePolicy"},
		Decisions: map[string]string{
			"ecr:GetAuthorizationToken": "allowed", "ecr:BatchGetImage": "allowed", "ecr:GetDownloadUrlForLayer": "allowed",
			// AmazonEKSFargatePodExecutionRolePolicy (v1) cannot import into a pull-through cache.
			"ecr:BatchImportUpstreamImage": "implicitDeny", "ecr:CreateRepository": "implicitDeny",
		},
	}
	if diff := cmp.Diff(want, f.Cloud.Principal); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	if f.Cloud.Network != nil {
		t.Errorf("network %+v, want none on Fargate", f.Cloud.Network)
	}
	if len(f.Skipped) > 0 {
		t.Errorf("skipped %+v, want nothing skipped", f.Skipped)
	}
	c := counts(e.srv)
	if c["eks:DescribeFargateProfile"] != 1 {
		t.Errorf("eks:DescribeFargateProfile called %d times, want 1", c["eks:DescribeFargateProfile"])
	}
	for a := range c {
		if strings.HasPrefix(a, "ec2:") || a == "iam:GetInstanceProfile" {
			t.Errorf("called %s for a Fargate pod", a)
		}
	}
	// The repository policy is evaluated for the execution role.
	if got := ecrOf(t, f, tMissingTag).Policy; got == nil || got.Allows != diagnosis.No || got.Exists {
		t.Errorf("repository policy verdict %+v, want no policy", got)
	}
}

func TestPrincipalFargateWithoutClusterName(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	f := podFacts(tPod, fargateNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, f)

	want := []diagnosis.Skip{{Check: "fargate-role", Reason: "the Fargate pod execution role is found through the EKS cluster's Fargate profile",
		Needs: "the EKS cluster name (--cluster or PULLCHECK_CLUSTER) and the node's eks.amazonaws.com/fargate-profile label"}}
	if diff := diffSkips(want, f.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if f.Cloud.Principal != nil {
		t.Errorf("principal %+v, want none", f.Cloud.Principal)
	}
	if slices.ContainsFunc(e.srv.Calls(), func(c awsfake.Call) bool { return c.Service == "eks" || c.Service == "iam" }) {
		t.Errorf("calls %v, want no EKS or IAM call without a cluster name", e.srv.Actions())
	}
	// The image evidence does not depend on who pulls.
	if ev := ecrOf(t, f, tMissingTag); ev.ImageExists != diagnosis.No || len(ev.RecentTags) == 0 {
		t.Errorf("ECR evidence %+v, want the missing tag with the tags that exist", ev)
	}
}

func TestPrincipalFargateProfileMissing(t *testing.T) {
	e := newEnv(t, func(sc *awsfake.Scenario) { sc.Cluster(awsfake.ExampleCluster).FargateProfiles = nil }, cloud.Options{Cluster: awsfake.ExampleCluster})
	f := podFacts(tPod, fargateNode(t), failing("api", tMissingTag, notFoundMsg(tMissingTag)))
	e.enrich(t, f)

	want := []diagnosis.Skip{{Check: "fargate-role", Reason: "eks:DescribeFargateProfile failed: ResourceNotFoundException",
		Needs: "eks:DescribeFargateProfile on arn:aws:eks:us-west-2:*:fargateprofile/prod-eks/fp-payments/*"}}
	if diff := diffSkips(want, f.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if f.Cloud.Principal != nil {
		t.Errorf("principal %+v, want none", f.Cloud.Principal)
	}
}
