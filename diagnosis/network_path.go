package diagnosis

import (
	"fmt"
	"strings"
)

// pathVerdict is whether the node can reach one AWS service endpoint, and why not.
type pathVerdict struct {
	reachable Tri
	why       string // evidence, naming the subnet, route table, endpoint, group
	fix       *Fix   // the change that opens the path, with real IDs
	// endpoint is the VPC endpoint that carries the node's traffic to the service (its policy
	// applies), or nil when the traffic takes the default route or the path is unknown.
	endpoint *VPCEndpoint
}

// endpointService is the VPC endpoint service name for a suffix (ecr.api, ecr.dkr, s3).
func endpointService(region, suffix string) string {
	prefix := "com.amazonaws."
	if strings.HasPrefix(region, "cn-") {
		prefix = "cn.com.amazonaws."
	}
	return prefix + region + "." + suffix
}

// egressRoute reports whether a default route target leads out of the VPC: a NAT gateway, an
// internet gateway, a transit gateway (central egress), or a network interface (a NAT
// instance or a firewall appliance).
func egressRoute(target string) bool {
	for _, p := range []string{"nat-", "igw-", "tgw-", "eni-"} {
		if strings.HasPrefix(target, p) {
			return true
		}
	}
	return false
}

// servicePath decides, from the network evidence, whether the node reaches the service behind
// suffix (ecr.api, ecr.dkr or s3) in region (the image's; "" for the node's): through a healthy
// VPC endpoint when one exists (with private DNS, its name resolves to it), otherwise through
// the default route (NAT or internet gateway). The node's VPC endpoints serve only the node's
// region, so a service in another region needs the default route.
func servicePath(f *Facts, region, suffix string) pathVerdict {
	n := f.Network()
	if n == nil || f.Node == nil {
		return pathVerdict{}
	}
	nodeRegion := f.Node.Region
	if region == "" {
		region = nodeRegion
	}
	svc := endpointService(region, suffix)
	ep := n.Endpoints[suffix]
	egress := egressRoute(n.DefaultRoute)
	// otherRoute: 0.0.0.0/0 goes somewhere pullcheck cannot follow (a peering connection, a
	// VPN gateway, a load balancer endpoint), so a path that depends on it is unknown.
	otherRoute := n.DefaultRoute != "" && !egress
	routeWhy := fmt.Sprintf("route table %s of subnet %s has no default route (no NAT gateway)", n.RouteTable, n.Subnet)
	switch {
	case egress:
		routeWhy = fmt.Sprintf("route table %s of subnet %s sends 0.0.0.0/0 to %s", n.RouteTable, n.Subnet, n.DefaultRoute)
	case otherRoute:
		routeWhy = fmt.Sprintf("route table %s of subnet %s sends 0.0.0.0/0 to %s, which may not lead to the internet", n.RouteTable, n.Subnet, n.DefaultRoute)
	}
	// noRoute is the verdict when the path depends on the default route and it does not lead
	// out: unknown when the routes were not read or lead somewhere pullcheck cannot follow.
	noRoute := func(why string, fix *Fix) pathVerdict {
		switch {
		case n.RouteTable == "" && n.DefaultRoute == "":
			return pathVerdict{}
		case otherRoute:
			return pathVerdict{reachable: Unknown, why: why}
		}
		return pathVerdict{reachable: No, why: why, fix: fix}
	}
	if region != nodeRegion {
		why := fmt.Sprintf("%s is in region %s but the node in %s: the VPC endpoints of %s serve only %s, and %s", svc, region, nodeRegion, n.VPC, nodeRegion, routeWhy)
		if egress {
			return pathVerdict{reachable: Yes, why: why}
		}
		return noRoute(why, nil)
	}
	if suffix == "s3" {
		if ep != nil && ep.State == "available" && ep.OnNodeRouteTable == Yes {
			return pathVerdict{reachable: Yes, why: fmt.Sprintf("S3 gateway endpoint %s is on route table %s", ep.ID, n.RouteTable), endpoint: ep}
		}
		if egress {
			return pathVerdict{reachable: Yes, why: routeWhy}
		}
		switch {
		case ep != nil && ep.State != "available":
			return noRoute(fmt.Sprintf("S3 endpoint %s is %s, not available, and %s", ep.ID, ep.State, routeWhy), nil)
		case ep != nil && ep.OnNodeRouteTable == No:
			return noRoute(fmt.Sprintf("S3 gateway endpoint %s is not associated with route table %s of the node's subnet %s, and %s", ep.ID, n.RouteTable, n.Subnet, routeWhy),
				&Fix{Title: fmt.Sprintf("Add route table %s to the S3 gateway endpoint %s", n.RouteTable, ep.ID), Commands: []string{
					fmt.Sprintf("aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id %s --add-route-table-ids %s", region, ep.ID, n.RouteTable)}})
		case ep != nil:
			return pathVerdict{reachable: Unknown, why: fmt.Sprintf("S3 endpoint %s (type %s) exists, but pullcheck cannot tell whether it serves route table %s", ep.ID, orNone(ep.Type), n.RouteTable)}
		}
		return noRoute(fmt.Sprintf("VPC %s has no S3 gateway endpoint and %s", n.VPC, routeWhy),
			&Fix{Title: fmt.Sprintf("Create the S3 gateway endpoint on route table %s (ECR keeps image layers in S3)", n.RouteTable), Commands: []string{
				fmt.Sprintf("aws ec2 create-vpc-endpoint --region %s --vpc-id %s --vpc-endpoint-type Gateway --service-name %s --route-table-ids %s", region, n.VPC, svc, n.RouteTable)}})
	}
	if ep != nil {
		switch {
		case ep.State != "available":
			why := fmt.Sprintf("VPC endpoint %s for %s is %s, not available", ep.ID, svc, ep.State)
			if egress {
				return pathVerdict{reachable: Yes, why: why + ", so the traffic takes the default route: " + routeWhy}
			}
			return noRoute(why+", and "+routeWhy, nil)
		case !ep.PrivateDNS && !egress:
			return noRoute(fmt.Sprintf("VPC endpoint %s for %s has private DNS off, so the service name resolves to public addresses, and %s", ep.ID, svc, routeWhy),
				&Fix{Title: fmt.Sprintf("Turn on private DNS for endpoint %s", ep.ID), Commands: []string{
					fmt.Sprintf("aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id %s --private-dns-enabled", region, ep.ID)}})
		case ep.PrivateDNS && ep.AllowsNode443 == No:
			// With private DNS the name resolves to the endpoint, so a NAT route does not help.
			sg := firstOr(n.SecurityGroups, "")
			v := pathVerdict{reachable: No, why: fmt.Sprintf("the security groups of VPC endpoint %s for %s do not admit HTTPS (443) from the node's security groups %s", ep.ID, svc, strings.Join(n.SecurityGroups, ", "))}
			if sg != "" {
				v.fix = &Fix{Title: fmt.Sprintf("Admit HTTPS from the node's security group %s to endpoint %s", sg, ep.ID), Commands: []string{
					fmt.Sprintf(`aws ec2 authorize-security-group-ingress --region %s --group-id "$(aws ec2 describe-vpc-endpoints --region %s --vpc-endpoint-ids %s --query 'VpcEndpoints[0].Groups[0].GroupId' --output text)" --protocol tcp --port 443 --source-group %s`, region, region, ep.ID, sg)}}
			}
			return v
		case ep.PrivateDNS:
			why := fmt.Sprintf("VPC endpoint %s for %s is available with private DNS", ep.ID, svc)
			if ep.AllowsNode443 == Yes {
				why += " and admits HTTPS from the node"
			}
			return pathVerdict{reachable: Yes, why: why, endpoint: ep}
		}
	}
	if egress {
		return pathVerdict{reachable: Yes, why: routeWhy}
	}
	sgArg := ""
	if len(n.SecurityGroups) > 0 {
		sgArg = " --security-group-ids " + strings.Join(n.SecurityGroups, " ")
	}
	return noRoute(fmt.Sprintf("VPC %s has no %s endpoint and %s", n.VPC, svc, routeWhy),
		&Fix{Title: fmt.Sprintf("Create the %s interface endpoint (private DNS on) in subnet %s", svc, n.Subnet), Commands: []string{
			fmt.Sprintf("aws ec2 create-vpc-endpoint --region %s --vpc-id %s --vpc-endpoint-type Interface --service-name %s --subnet-ids %s%s --private-dns-enabled", region, n.VPC, svc, n.Subnet, sgArg)}})
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}
