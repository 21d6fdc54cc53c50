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
	verify    string // the command that shows the change took, when fix has one of its own
	// endpoint is the VPC endpoint that carries the node's traffic to the service (its policy
	// applies), or nil when the traffic takes the default route or the path is unknown.
	endpoint *VPCEndpoint
	// dnsUnread: the path runs through endpoint's private DNS name, and the VPC's DNS
	// attributes that decide whether it resolves were not read.
	dnsUnread bool
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
				needsVPCDNS(region, n, &Fix{Title: fmt.Sprintf("Turn on private DNS for endpoint %s", ep.ID), Commands: []string{
					fmt.Sprintf("aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id %s --private-dns-enabled", region, ep.ID)}}))
		case ep.PrivateDNS && len(vpcDNSOff(n)) > 0:
			return vpcDNSPath(n, ep, region, svc, egress, routeWhy, noRoute)
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
			if n.DNSSupport == Unknown || n.DNSHostnames == Unknown {
				// The endpoint most likely carries the traffic (endpoint stays set, so its
				// policy is judged), but whether its name resolves to it was not read.
				why += fmt.Sprintf(", but the DNS attributes of VPC %s were not read: the endpoint's private DNS name resolves to it only with enableDnsSupport and enableDnsHostnames on", n.VPC)
				return pathVerdict{reachable: Unknown, why: why, endpoint: ep, dnsUnread: true}
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
		needsVPCDNS(region, n, &Fix{Title: fmt.Sprintf("Create the %s interface endpoint (private DNS on) in subnet %s", svc, n.Subnet), Commands: []string{
			fmt.Sprintf("aws ec2 create-vpc-endpoint --region %s --vpc-id %s --vpc-endpoint-type Interface --service-name %s --subnet-ids %s%s --private-dns-enabled", region, n.VPC, svc, n.Subnet, sgArg)}}))
}

// vpcDNSOff names the VPC's DNS attributes that are off, enableDnsSupport first (the order
// in which they must be turned on). An interface endpoint's private DNS name resolves to the
// endpoint only when both are on (AWS PrivateLink guide: "To use private DNS, you must enable
// DNS hostnames and DNS resolution for your VPC"; DOMAIN §C10 decision rules).
func vpcDNSOff(n *NetworkEvidence) []string {
	var off []string
	if n.DNSSupport == No {
		off = append(off, "enableDnsSupport")
	}
	if n.DNSHostnames == No {
		off = append(off, "enableDnsHostnames")
	}
	return off
}

// vpcDNSPath is the path to an interface endpoint with private DNS on in a VPC whose DNS
// support or DNS hostnames are off: the endpoint's private DNS name does not apply, so the
// node resolves the service's public name (DOMAIN §C10: "ecr.dkr endpoint exists but private
// DNS off → name resolves to public IPs → same timeout without NAT").
func vpcDNSPath(n *NetworkEvidence, ep *VPCEndpoint, region, svc string, egress bool, routeWhy string, noRoute func(string, *Fix) pathVerdict) pathVerdict {
	off := vpcDNSOff(n)
	why := fmt.Sprintf("VPC endpoint %s for %s has private DNS on, but VPC %s has %s off, so the endpoint's private DNS name does not apply", ep.ID, svc, n.VPC, strings.Join(off, " and "))
	if n.DNSSupport == No {
		// The Amazon-provided DNS server is off in the VPC: a node that uses it resolves
		// nothing; one that uses other DNS servers (DHCP options, not read) gets public addresses.
		why += " (the Amazon-provided DNS server of the VPC is off: the service name resolves only through other DNS servers, to public addresses)"
	} else {
		why += ": the service name resolves to public addresses"
	}
	if egress {
		if n.DNSSupport == No { // the default route helps only if the node can resolve at all
			return pathVerdict{reachable: Unknown, why: why + ", and " + routeWhy + ", which helps only if the node's DNS servers resolve public names"}
		}
		// The public name goes out through the default route; the endpoint (and its policy) is not used.
		return pathVerdict{reachable: Yes, why: why + ", so the traffic takes the default route: " + routeWhy}
	}
	cmds, verify := vpcDNSCommands(region, n)
	v := noRoute(why+", and "+routeWhy, &Fix{Title: vpcDNSFixTitle(n), Commands: cmds})
	if v.reachable == No {
		v.verify = verify
	}
	return v
}

func vpcDNSFixTitle(n *NetworkEvidence) string {
	return fmt.Sprintf("Turn on %s of VPC %s (one attribute per call, DNS support first), so that the endpoints' private DNS names resolve to them", strings.Join(vpcDNSOff(n), " and "), n.VPC)
}

// vpcDNSCommands turn on the VPC's DNS attributes that are off, and verify reads them back.
// The CLI takes one attribute per call, and DNS hostnames can be turned on only once DNS
// support is on (EC2 API reference, ModifyVpcAttribute).
func vpcDNSCommands(region string, n *NetworkEvidence) (cmds []string, verify string) {
	flags := map[string]string{"enableDnsSupport": "--enable-dns-support", "enableDnsHostnames": "--enable-dns-hostnames"}
	var reads []string
	for _, attr := range vpcDNSOff(n) {
		cmds = append(cmds, fmt.Sprintf(`aws ec2 modify-vpc-attribute --region %s --vpc-id %s %s "{\"Value\":true}"`, region, n.VPC, flags[attr]))
		reads = append(reads, fmt.Sprintf("aws ec2 describe-vpc-attribute --region %s --vpc-id %s --attribute %s --query %s.Value --output text", region, n.VPC, attr, strings.ToUpper(attr[:1])+attr[1:]))
	}
	return cmds, strings.Join(reads, " && ")
}

// needsVPCDNS puts the commands that turn the VPC's DNS attributes on ahead of a fix that
// turns an endpoint's private DNS on: EC2 refuses private DNS in a VPC without both.
func needsVPCDNS(region string, n *NetworkEvidence, fix *Fix) *Fix {
	cmds, _ := vpcDNSCommands(region, n)
	if len(cmds) == 0 {
		return fix
	}
	fix.Title += fmt.Sprintf(", after turning on %s of VPC %s (private DNS needs both)", strings.Join(vpcDNSOff(n), " and "), n.VPC)
	fix.Commands = append(cmds, fix.Commands...)
	return fix
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}
