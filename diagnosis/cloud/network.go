package cloud

import (
	"context"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

type routeInfo struct {
	table, defaultRoute string
	prefixLists         []string
}

type endpointInfo struct {
	id, service, kind, state, policy string
	privateDNS                       bool
	subnets, groups, routeTables     []string
}

type subnetInfo struct{ az, cidr string }

type groupRule struct {
	fromPort, toPort int32
	protocol         string
	cidrs, groups    []string
}

// network reads the node's route table and its VPC's endpoints for ECR and S3, with the
// security groups and policies that decide whether the node can use them.
func (g *Gatherer) network(ctx context.Context, w *podWork) {
	in, n := w.instance, w.f.Node
	if in == nil || in.subnet == "" || in.vpc == "" {
		return
	}
	region := n.Region
	ec := g.clients(region).ec2
	endpoint := "ec2." + region + ".amazonaws.com"
	ev := &diagnosis.NetworkEvidence{VPC: in.vpc, Subnet: in.subnet, AZ: in.az, SecurityGroups: in.groups, Endpoints: map[string]*diagnosis.VPCEndpoint{}}
	w.network = ev

	rt, err := g.routes.get(ctx, in.subnet, func(ctx context.Context) (*routeInfo, error) {
		tables, err := g.routeTables(ctx, ec, []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{in.subnet}}})
		if err == nil && len(tables) == 0 { // no explicit association: the VPC's main table
			tables, err = g.routeTables(ctx, ec, []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{in.vpc}}, {Name: aws.String("association.main"), Values: []string{"true"}}})
		}
		if err != nil || len(tables) == 0 {
			return &routeInfo{}, err
		}
		t := tables[0]
		ri := &routeInfo{table: aws.ToString(t.RouteTableId)}
		for _, r := range t.Routes {
			if r.State == ec2types.RouteStateBlackhole {
				continue
			}
			if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				ri.defaultRoute = firstNonEmpty(aws.ToString(r.NatGatewayId), aws.ToString(r.GatewayId), aws.ToString(r.TransitGatewayId), aws.ToString(r.NetworkInterfaceId), aws.ToString(r.VpcPeeringConnectionId))
			}
			if pl := aws.ToString(r.DestinationPrefixListId); pl != "" {
				ri.prefixLists = append(ri.prefixLists, pl)
			}
		}
		return ri, nil
	})
	if err != nil {
		w.skip(skipFor("network-routes", "ec2:DescribeRouteTables", "", endpoint, err))
	} else {
		ev.RouteTable, ev.DefaultRoute = rt.table, rt.defaultRoute
	}

	eps, err := g.endpoints.get(ctx, in.vpc, func(ctx context.Context) ([]endpointInfo, error) {
		var out []endpointInfo
		pg := ec2.NewDescribeVpcEndpointsPaginator(ec, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{in.vpc}}}})
		for pg.HasMorePages() {
			var page *ec2.DescribeVpcEndpointsOutput
			err := g.call(ctx, func(ctx context.Context) (err error) {
				page, err = pg.NextPage(ctx)
				return err
			})
			if err != nil {
				return nil, err
			}
			for _, e := range page.VpcEndpoints {
				ei := endpointInfo{id: aws.ToString(e.VpcEndpointId), service: aws.ToString(e.ServiceName), kind: string(e.VpcEndpointType),
					state: string(e.State), privateDNS: aws.ToBool(e.PrivateDnsEnabled), subnets: e.SubnetIds, routeTables: e.RouteTableIds,
					policy: aws.ToString(e.PolicyDocument)}
				for _, gr := range e.Groups {
					ei.groups = append(ei.groups, aws.ToString(gr.GroupId))
				}
				out = append(out, ei)
			}
		}
		return out, nil
	})
	if err != nil {
		w.skip(skipFor("network-endpoints", "ec2:DescribeVpcEndpoints", "", endpoint, err))
		return
	}
	for _, e := range eps {
		suffix := endpointSuffix(e.service, region)
		if suffix == "" || e.state == "deleted" || e.state == "rejected" {
			continue
		}
		if old, ok := ev.Endpoints[suffix]; ok && old.State == "available" {
			continue
		}
		ve := &diagnosis.VPCEndpoint{ID: e.id, Type: e.kind, State: e.state, PrivateDNS: e.privateDNS}
		if strings.EqualFold(e.kind, "Gateway") {
			ve.OnNodeRouteTable = triOf(rt != nil && rt.table != "" && contains(e.routeTables, rt.table))
		} else {
			ve.InNodeAZ = g.endpointInAZ(ctx, w, ec, e.subnets, in.az)
			ve.AllowsNode443 = g.groupsAllow443(ctx, w, ec, e.groups, in)
		}
		ve.PolicyDenies = endpointPolicyDenies(e.policy, suffix, region, w)
		ev.Endpoints[suffix] = ve
	}
}

func (g *Gatherer) routeTables(ctx context.Context, ec *ec2.Client, filters []ec2types.Filter) ([]ec2types.RouteTable, error) {
	var out *ec2.DescribeRouteTablesOutput
	err := g.call(ctx, func(ctx context.Context) (err error) {
		out, err = ec.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: filters})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out.RouteTables, nil
}

func (g *Gatherer) subnet(ctx context.Context, ec *ec2.Client, id string) (subnetInfo, error) {
	return g.subnets.get(ctx, id, func(ctx context.Context) (subnetInfo, error) {
		var out *ec2.DescribeSubnetsOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
			return err
		})
		if err != nil || len(out.Subnets) == 0 {
			return subnetInfo{}, err
		}
		return subnetInfo{az: aws.ToString(out.Subnets[0].AvailabilityZone), cidr: aws.ToString(out.Subnets[0].CidrBlock)}, nil
	})
}

func (g *Gatherer) endpointInAZ(ctx context.Context, w *podWork, ec *ec2.Client, subnets []string, az string) diagnosis.Tri {
	if az == "" {
		return diagnosis.Unknown
	}
	for _, s := range subnets {
		info, err := g.subnet(ctx, ec, s)
		if err != nil {
			w.skip(skipFor("network-endpoints", "ec2:DescribeSubnets", "", "ec2 API", err))
			return diagnosis.Unknown
		}
		if info.az == az {
			return diagnosis.Yes
		}
	}
	return diagnosis.No
}

// groupsAllow443 reports whether the endpoint's security groups admit HTTPS from the node: from
// one of the node's security groups, or from a CIDR that holds the node's address.
func (g *Gatherer) groupsAllow443(ctx context.Context, w *podWork, ec *ec2.Client, groups []string, in *instance) diagnosis.Tri {
	if len(groups) == 0 {
		return diagnosis.Unknown
	}
	var rules []groupRule
	for _, id := range groups {
		rs, err := g.groups.get(ctx, id, func(ctx context.Context) ([]groupRule, error) {
			var out *ec2.DescribeSecurityGroupsOutput
			err := g.call(ctx, func(ctx context.Context) (err error) {
				out, err = ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
				return err
			})
			if err != nil {
				return nil, err
			}
			var rules []groupRule
			for _, sg := range out.SecurityGroups {
				for _, p := range sg.IpPermissions {
					r := groupRule{fromPort: aws.ToInt32(p.FromPort), toPort: aws.ToInt32(p.ToPort), protocol: aws.ToString(p.IpProtocol)}
					for _, ip := range p.IpRanges {
						r.cidrs = append(r.cidrs, aws.ToString(ip.CidrIp))
					}
					for _, pair := range p.UserIdGroupPairs {
						r.groups = append(r.groups, aws.ToString(pair.GroupId))
					}
					rules = append(rules, r)
				}
			}
			return rules, nil
		})
		if err != nil {
			w.skip(skipFor("network-security-groups", "ec2:DescribeSecurityGroups", "", "ec2 API", err))
			return diagnosis.Unknown
		}
		rules = append(rules, rs...)
	}
	ip, _ := netip.ParseAddr(in.privateIP)
	for _, r := range rules {
		if r.protocol != "-1" && !(r.protocol == "tcp" && r.fromPort <= 443 && r.toPort >= 443) {
			continue
		}
		for _, sg := range r.groups {
			if contains(in.groups, sg) {
				return diagnosis.Yes
			}
		}
		for _, c := range r.cidrs {
			if p, err := netip.ParsePrefix(c); err == nil && ip.IsValid() && p.Contains(ip) {
				return diagnosis.Yes
			}
		}
	}
	return diagnosis.No
}

// endpointSuffix maps com.amazonaws.us-west-2.ecr.api (or cn.com.amazonaws.…) to ecr.api.
func endpointSuffix(service, region string) string {
	for _, s := range []string{"ecr.api", "ecr.dkr", "s3"} {
		if strings.HasSuffix(service, region+"."+s) {
			return s
		}
	}
	return ""
}

// endpointPolicyDenies says what an endpoint policy refuses the node: an ECR action, or the
// S3 layer bucket.
func endpointPolicyDenies(policy, suffix, region string, w *podWork) string {
	if strings.TrimSpace(policy) == "" {
		return ""
	}
	role, account := "", ""
	if w.principal != nil {
		role = w.principal.RoleARN
		if parts := strings.Split(role, ":"); len(parts) > 4 {
			account = parts[4]
		}
	}
	type req struct{ action, resource string }
	var reqs []req
	switch suffix {
	case "ecr.api":
		reqs = []req{{"ecr:GetAuthorizationToken", "*"}}
	case "ecr.dkr":
		for _, img := range w.images {
			reqs = append(reqs, req{"ecr:BatchGetImage", img.ref.RepositoryARN()}, req{"ecr:GetDownloadUrlForLayer", img.ref.RepositoryARN()})
		}
	case "s3":
		reqs = []req{{"s3:GetObject", "arn:aws:s3:::prod-" + region + "-starport-layer-bucket/layer"}}
	}
	for _, r := range reqs {
		d, err := evaluate(policy, role, account, r.action, r.resource)
		if err != nil {
			return ""
		}
		if d.denied || !d.allowed {
			if suffix == "s3" {
				return "s3:GetObject on arn:aws:s3:::prod-" + region + "-starport-layer-bucket/*"
			}
			return r.action
		}
	}
	return ""
}

func triOf(b bool) diagnosis.Tri {
	if b {
		return diagnosis.Yes
	}
	return diagnosis.No
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
