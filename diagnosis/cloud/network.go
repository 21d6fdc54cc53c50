package cloud

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

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

type groupRule struct {
	fromPort, toPort int32
	protocol         string
	cidrs, groups    []string
}

// vpcInfo is one VPC's endpoints with the availability zones of their subnets and the
// ingress rules of their security groups, and its DNS attributes: one read per VPC, shared by
// every node in it. subnetAZ and rules are nil, and dnsSupport and dnsHostnames Unknown, when
// they could not be read (skips says why).
type vpcInfo struct {
	endpoints                []endpointInfo
	subnetAZ                 map[string]string
	rules                    map[string][]groupRule
	dnsSupport, dnsHostnames diagnosis.Tri
	skips                    []diagnosis.Skip
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

	var (
		rt      *routeInfo
		vpc     *vpcInfo
		rtErr   error
		vpcErr  error
		lookups sync.WaitGroup
	)
	lookups.Go(func() { rt, rtErr = g.subnetRoutes(ctx, ec, in) })
	lookups.Go(func() { vpc, vpcErr = g.vpc(ctx, ec, in.vpc, endpoint) })
	lookups.Wait()
	if rtErr != nil {
		w.skip(skipFor("network-routes", "ec2:DescribeRouteTables", "", endpoint, rtErr))
	} else {
		ev.RouteTable, ev.DefaultRoute = rt.table, rt.defaultRoute
	}
	if vpcErr == nil {
		ev.DNSSupport, ev.DNSHostnames = vpc.dnsSupport, vpc.dnsHostnames
	}
	policies := map[string]string{}
	if vpcErr != nil {
		w.skip(skipFor("network-endpoints", "ec2:DescribeVpcEndpoints", "", endpoint, vpcErr))
		w.setNetwork(ev, policies)
		return
	}
	for _, s := range vpc.skips {
		w.skip(s)
	}
	for _, e := range vpc.endpoints {
		suffix := endpointSuffix(e.service, region)
		if suffix == "" || e.state == "deleted" || e.state == "rejected" {
			continue
		}
		if old, ok := ev.Endpoints[suffix]; ok && old.State == "available" {
			continue
		}
		ve := &diagnosis.VPCEndpoint{ID: e.id, Type: e.kind, State: e.state, PrivateDNS: e.privateDNS}
		if strings.EqualFold(e.kind, "Gateway") {
			ve.OnNodeRouteTable = diagnosis.Unknown // the node's route table was not read
			if rt != nil && rt.table != "" {
				ve.OnNodeRouteTable = triOf(contains(e.routeTables, rt.table))
			}
		} else {
			ve.InNodeAZ = diagnosis.Unknown
			if in.az != "" && vpc.subnetAZ != nil {
				ve.InNodeAZ = diagnosis.No
				for _, sub := range e.subnets {
					if vpc.subnetAZ[sub] == in.az {
						ve.InNodeAZ = diagnosis.Yes
					}
				}
			}
			ve.AllowsNode443 = allows443(vpc, e.groups, in)
		}
		policies[suffix] = e.policy
		ev.Endpoints[suffix] = ve
	}
	w.setNetwork(ev, policies)
}

// setNetwork records the network evidence; the endpoint policies are evaluated once the
// pulling role is known (evaluatePolicies).
func (w *podWork) setNetwork(ev *diagnosis.NetworkEvidence, policies map[string]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.network = ev
	w.endpointPolicies = policies
}

// subnetRoutes reads the route table of the node's subnet (or the VPC's main table).
func (g *Gatherer) subnetRoutes(ctx context.Context, ec *ec2.Client, in *instance) (*routeInfo, error) {
	return g.routes.get(ctx, in.subnet, func(ctx context.Context) (*routeInfo, error) {
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
}

// vpc reads a VPC's endpoints, then, in one call each, their subnets and security groups and,
// when an ECR interface endpoint has private DNS on, the VPC's two DNS attributes (its name
// resolves to it only with both on).
func (g *Gatherer) vpc(ctx context.Context, ec *ec2.Client, id, endpoint string) (*vpcInfo, error) {
	return g.vpcs.get(ctx, id, func(ctx context.Context) (*vpcInfo, error) {
		info := &vpcInfo{subnetAZ: map[string]string{}, rules: map[string][]groupRule{}}
		pg := ec2.NewDescribeVpcEndpointsPaginator(ec, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{id}}}})
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
					state: strings.ToLower(string(e.State)), privateDNS: aws.ToBool(e.PrivateDnsEnabled), subnets: e.SubnetIds, routeTables: e.RouteTableIds,
					policy: aws.ToString(e.PolicyDocument)}
				for _, gr := range e.Groups {
					ei.groups = append(ei.groups, aws.ToString(gr.GroupId))
				}
				info.endpoints = append(info.endpoints, ei)
			}
		}
		var subnets, groups []string
		privateDNS := false
		for _, e := range info.endpoints {
			if s := endpointSuffix(e.service, ""); s != "ecr.api" && s != "ecr.dkr" {
				continue // only the ECR interface endpoints need their subnets and groups
			}
			subnets = appendNew(subnets, e.subnets...)
			groups = appendNew(groups, e.groups...)
			if e.privateDNS && e.state != "deleted" && e.state != "rejected" {
				privateDNS = true
			}
		}
		var wg sync.WaitGroup
		var subErr, sgErr, supportErr, hostnamesErr error
		if privateDNS {
			wg.Go(func() {
				info.dnsSupport, supportErr = g.vpcAttribute(ctx, ec, id, ec2types.VpcAttributeNameEnableDnsSupport)
			})
			wg.Go(func() {
				info.dnsHostnames, hostnamesErr = g.vpcAttribute(ctx, ec, id, ec2types.VpcAttributeNameEnableDnsHostnames)
			})
		}
		if len(subnets) > 0 {
			wg.Go(func() {
				var out *ec2.DescribeSubnetsOutput
				subErr = g.call(ctx, func(ctx context.Context) (err error) {
					out, err = ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets})
					return err
				})
				if subErr == nil {
					for _, s := range out.Subnets {
						info.subnetAZ[aws.ToString(s.SubnetId)] = aws.ToString(s.AvailabilityZone)
					}
				}
			})
		}
		if len(groups) > 0 {
			wg.Go(func() {
				var out *ec2.DescribeSecurityGroupsOutput
				sgErr = g.call(ctx, func(ctx context.Context) (err error) {
					out, err = ec.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: groups})
					return err
				})
				if sgErr == nil {
					for _, sg := range out.SecurityGroups {
						id := aws.ToString(sg.GroupId)
						for _, p := range sg.IpPermissions {
							r := groupRule{fromPort: aws.ToInt32(p.FromPort), toPort: aws.ToInt32(p.ToPort), protocol: aws.ToString(p.IpProtocol)}
							for _, ip := range p.IpRanges {
								r.cidrs = append(r.cidrs, aws.ToString(ip.CidrIp))
							}
							for _, pair := range p.UserIdGroupPairs {
								r.groups = append(r.groups, aws.ToString(pair.GroupId))
							}
							info.rules[id] = append(info.rules[id], r)
						}
					}
				}
			})
		}
		wg.Wait()
		if subErr != nil {
			info.subnetAZ = nil
			info.skips = append(info.skips, skipFor("network-endpoints", "ec2:DescribeSubnets", "", endpoint, subErr))
		}
		if sgErr != nil {
			info.rules = nil
			info.skips = append(info.skips, skipFor("network-endpoints", "ec2:DescribeSecurityGroups", "", endpoint, sgErr))
		}
		if err := cmp.Or(supportErr, hostnamesErr); err != nil {
			// One skip for the pair: the same call, needing the same.
			info.skips = append(info.skips, skipFor("network-dns", "ec2:DescribeVpcAttribute", "", endpoint, err))
		}
		return info, nil
	})
}

// vpcAttribute reads one of a VPC's boolean DNS attributes (enableDnsSupport or
// enableDnsHostnames: DescribeVpcAttribute takes one attribute per call).
func (g *Gatherer) vpcAttribute(ctx context.Context, ec *ec2.Client, id string, attr ec2types.VpcAttributeName) (diagnosis.Tri, error) {
	var out *ec2.DescribeVpcAttributeOutput
	err := g.call(ctx, func(ctx context.Context) (err error) {
		out, err = ec.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(id), Attribute: attr})
		return err
	})
	if err != nil {
		return diagnosis.Unknown, fmt.Errorf("describe %s of %s: %w", attr, id, err)
	}
	v := out.EnableDnsSupport
	if attr == ec2types.VpcAttributeNameEnableDnsHostnames {
		v = out.EnableDnsHostnames
	}
	if v == nil || v.Value == nil {
		return diagnosis.Unknown, nil
	}
	return triOf(*v.Value), nil
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

// allows443 reports whether the endpoint's security groups admit HTTPS from the node: from one
// of the node's security groups, or from a CIDR that holds the node's address.
func allows443(vpc *vpcInfo, groups []string, in *instance) diagnosis.Tri {
	if len(groups) == 0 || vpc.rules == nil {
		return diagnosis.Unknown
	}
	ip, _ := netip.ParseAddr(in.privateIP)
	for _, id := range groups {
		for _, r := range vpc.rules[id] {
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
	}
	return diagnosis.No
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

// endpointSuffix maps com.amazonaws.us-west-2.ecr.api (or cn.com.amazonaws.…) to ecr.api.
func endpointSuffix(service, region string) string {
	for _, s := range []string{"ecr.api", "ecr.dkr", "s3"} {
		if region == "" && strings.HasSuffix(service, "."+s) || region != "" && strings.HasSuffix(service, region+"."+s) {
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
	if role == "" && namesPrincipals(policy) {
		return "" // the verdict depends on who pulls, and that is unknown
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
		reqs = []req{{"s3:GetObject", "arn:" + partitionOfRegion(region) + ":s3:::prod-" + region + "-starport-layer-bucket/layer"}}
	}
	for _, r := range reqs {
		d, err := evaluate(policy, role, account, r.action, r.resource)
		if err != nil {
			return ""
		}
		if d.denied || !d.allowed {
			if suffix == "s3" {
				return "s3:GetObject on arn:" + partitionOfRegion(region) + ":s3:::prod-" + region + "-starport-layer-bucket/*"
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

// partitionOfRegion is the ARN partition of a region.
func partitionOfRegion(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
