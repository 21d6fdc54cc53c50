package cloud

import (
	"context"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// instance is what DescribeInstances says about a node.
type instance struct {
	profileARN, subnet, vpc, az, privateIP string
	groups                                 []string
	imds                                   diagnosis.Tri
}

// pullActions are the ECR actions a pull needs (the last two only for pull-through cache imports).
var pullActions = []string{"ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}

func (g *Gatherer) instance(ctx context.Context, region, id string) (*instance, error) {
	return g.instances.get(ctx, id, func(ctx context.Context) (*instance, error) {
		var out *ec2.DescribeInstancesOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = g.clients(region).ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, r := range out.Reservations {
			for _, in := range r.Instances {
				i := &instance{subnet: aws.ToString(in.SubnetId), vpc: aws.ToString(in.VpcId), privateIP: aws.ToString(in.PrivateIpAddress), imds: diagnosis.Unknown}
				if in.IamInstanceProfile != nil {
					i.profileARN = aws.ToString(in.IamInstanceProfile.Arn)
				}
				if in.Placement != nil {
					i.az = aws.ToString(in.Placement.AvailabilityZone)
				}
				for _, sg := range in.SecurityGroups {
					i.groups = append(i.groups, aws.ToString(sg.GroupId))
				}
				if mo := in.MetadataOptions; mo != nil && mo.HttpEndpoint != "" {
					i.imds = diagnosis.Yes
					if mo.HttpEndpoint == ec2types.InstanceMetadataEndpointStateDisabled {
						i.imds = diagnosis.No
					}
				}
				return i, nil
			}
		}
		return &instance{}, nil
	})
}

// principal resolves the role that pulls for the node: the instance profile's role on EC2,
// the profile's pod execution role on Fargate.
// The network read and the role's attached policies are started on background as soon as
// their inputs are known.
func (g *Gatherer) principal(ctx context.Context, w *podWork, background *sync.WaitGroup) {
	n := w.f.Node
	switch {
	case n == nil:
		return
	case n.Fargate:
		g.fargatePrincipal(ctx, w, background)
		return
	case n.InstanceID == "" || n.Region == "":
		return
	}
	in, err := g.instance(ctx, n.Region, n.InstanceID)
	if err != nil {
		w.skip(skipFor("node-role", "ec2:DescribeInstances", "", "ec2."+n.Region+".amazonaws.com", err))
		return
	}
	w.instance = in
	background.Go(func() { g.network(ctx, w) })
	p := &diagnosis.PrincipalEvidence{Kind: "node-role", InstanceProfileARN: in.profileARN, IMDSEnabled: in.imds}
	w.principal = p
	if in.profileARN == "" {
		return
	}
	name := in.profileARN[strings.LastIndex(in.profileARN, "/")+1:]
	role, err := g.profiles.get(ctx, name, func(ctx context.Context) (string, error) {
		var out *iam.GetInstanceProfileOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = g.clients(n.Region).iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
			return err
		})
		if err != nil {
			return "", err
		}
		if len(out.InstanceProfile.Roles) == 0 {
			return "", nil
		}
		return aws.ToString(out.InstanceProfile.Roles[0].Arn), nil
	})
	if err != nil {
		w.skip(skipFor("node-role", "iam:GetInstanceProfile", in.profileARN, "iam.amazonaws.com", err))
		return
	}
	g.setRole(ctx, w, role, background)
}

func (g *Gatherer) fargatePrincipal(ctx context.Context, w *podWork, background *sync.WaitGroup) {
	n := w.f.Node
	region := n.Region
	if region == "" {
		region = w.region()
	}
	if g.opts.Cluster == "" || n.FargateProfile == "" || region == "" {
		w.skip(diagnosis.Skip{Check: "fargate-role", Reason: "the Fargate pod execution role is found through the EKS cluster's Fargate profile",
			Needs: "the EKS cluster name (--cluster or PULLCHECK_CLUSTER) and the node's eks.amazonaws.com/fargate-profile label"})
		return
	}
	role, err := g.fargate.get(ctx, g.opts.Cluster+"/"+n.FargateProfile, func(ctx context.Context) (string, error) {
		var out *eks.DescribeFargateProfileOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = g.clients(region).eks.DescribeFargateProfile(ctx, &eks.DescribeFargateProfileInput{ClusterName: aws.String(g.opts.Cluster), FargateProfileName: aws.String(n.FargateProfile)})
			return err
		})
		if err != nil {
			return "", err
		}
		return aws.ToString(out.FargateProfile.PodExecutionRoleArn), nil
	})
	if err != nil {
		w.skip(skipFor("fargate-role", "eks:DescribeFargateProfile", "arn:aws:eks:"+region+":*:fargateprofile/"+g.opts.Cluster+"/"+n.FargateProfile+"/*", "eks."+region+".amazonaws.com", err))
		return
	}
	w.principal = &diagnosis.PrincipalEvidence{Kind: "fargate-execution-role"}
	g.setRole(ctx, w, role, background)
}

func (g *Gatherer) setRole(ctx context.Context, w *podWork, roleARN string, background *sync.WaitGroup) {
	if roleARN == "" {
		return
	}
	p := w.principal
	p.RoleARN = roleARN
	p.RoleName = roleARN[strings.LastIndex(roleARN, "/")+1:]
	background.Go(func() {
		policies, err := g.attached.get(ctx, p.RoleName, func(ctx context.Context) ([]string, error) {
			var names []string
			pg := iam.NewListAttachedRolePoliciesPaginator(g.clients(w.region()).iam, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(p.RoleName)})
			for pg.HasMorePages() {
				var page *iam.ListAttachedRolePoliciesOutput
				err := g.call(ctx, func(ctx context.Context) (err error) {
					page, err = pg.NextPage(ctx)
					return err
				})
				if err != nil {
					return nil, err
				}
				for _, a := range page.AttachedPolicies {
					names = append(names, aws.ToString(a.PolicyName))
				}
			}
			return names, nil
		})
		if err != nil {
			w.skip(skipFor("role-policies", "iam:ListAttachedRolePolicies", roleARN, "iam.amazonaws.com", err))
		}
		w.mu.Lock()
		p.AttachedPolicies = policies
		w.mu.Unlock()
	})
}

// simKey caches one simulation per role and set of repositories.
type simKey struct{ role, repos string }

// simulate asks IAM, once for the role, what it allows on every repository in repos. The result
// maps repository ARN -> action -> decision.
func (g *Gatherer) simulate(ctx context.Context, work []*podWork, role string, repos map[string]bool) (map[string]map[string]string, error) {
	var arns []string
	for r := range repos {
		arns = append(arns, r)
	}
	sortStrings(arns)
	region := ""
	for _, w := range work {
		if w.principal != nil && w.principal.RoleARN == role {
			region = w.region()
			break
		}
	}
	flat, err := g.simulations.get(ctx, simKey{role, strings.Join(arns, ",")}, func(ctx context.Context) (map[string]string, error) {
		res := map[string]string{}
		pg := iam.NewSimulatePrincipalPolicyPaginator(g.clients(region).iam, &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String(role), ActionNames: pullActions, ResourceArns: arns})
		for pg.HasMorePages() {
			var page *iam.SimulatePrincipalPolicyOutput
			err := g.call(ctx, func(ctx context.Context) (err error) {
				page, err = pg.NextPage(ctx)
				return err
			})
			if err != nil {
				return nil, err
			}
			for _, r := range page.EvaluationResults {
				action := aws.ToString(r.EvalActionName)
				if len(r.ResourceSpecificResults) > 0 {
					for _, rr := range r.ResourceSpecificResults {
						res[aws.ToString(rr.EvalResourceName)+"|"+action] = string(rr.EvalResourceDecision)
					}
					continue
				}
				res[aws.ToString(r.EvalResourceName)+"|"+action] = string(r.EvalDecision)
			}
		}
		return res, nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for k, v := range flat {
		repo, action, _ := strings.Cut(k, "|")
		if out[repo] == nil {
			out[repo] = map[string]string{}
		}
		out[repo][action] = v
	}
	return out, nil
}
