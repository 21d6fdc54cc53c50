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
}

// endpointService is the VPC endpoint service name for a suffix (ecr.api, ecr.dkr, s3).
func endpointService(region, suffix string) string {
	prefix := "com.amazonaws."
	if strings.HasPrefix(region, "cn-") {
		prefix = "cn.com.amazonaws."
	}
	return prefix + region + "." + suffix
}

// servicePath decides, from the network evidence, whether the node reaches the service behind
// suffix (ecr.api, ecr.dkr or s3): through a healthy VPC endpoint when one exists (with private
// DNS, its name resolves to it), otherwise through the default route (NAT or internet gateway).
func servicePath(f *Facts, suffix string) pathVerdict {
	n := f.Network()
	if n == nil || f.Node == nil {
		return pathVerdict{}
	}
	region := f.Node.Region
	svc := endpointService(region, suffix)
	ep := n.Endpoints[suffix]
	natted := strings.HasPrefix(n.DefaultRoute, "nat-") || strings.HasPrefix(n.DefaultRoute, "igw-") || strings.HasPrefix(n.DefaultRoute, "tgw-")
	routeWhy := fmt.Sprintf("route table %s of subnet %s has no default route (no NAT gateway)", orDash(n.RouteTable), n.Subnet)
	if natted {
		routeWhy = fmt.Sprintf("route table %s of subnet %s sends 0.0.0.0/0 to %s", n.RouteTable, n.Subnet, n.DefaultRoute)
	}
	if suffix == "s3" {
		if ep != nil && ep.State == "available" && ep.OnNodeRouteTable == Yes {
			return pathVerdict{reachable: Yes, why: fmt.Sprintf("S3 gateway endpoint %s is on route table %s", ep.ID, n.RouteTable)}
		}
		if natted {
			return pathVerdict{reachable: Yes, why: routeWhy}
		}
		if ep != nil && ep.OnNodeRouteTable == No {
			return pathVerdict{reachable: No, why: fmt.Sprintf("S3 gateway endpoint %s is not associated with route table %s of the node's subnet %s, and %s", ep.ID, n.RouteTable, n.Subnet, routeWhy),
				fix: &Fix{Title: fmt.Sprintf("Add route table %s to the S3 gateway endpoint %s", n.RouteTable, ep.ID), Commands: []string{
					fmt.Sprintf("aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id %s --add-route-table-ids %s", region, ep.ID, n.RouteTable)}}}
		}
		return pathVerdict{reachable: No, why: fmt.Sprintf("VPC %s has no S3 gateway endpoint and %s", n.VPC, routeWhy),
			fix: &Fix{Title: fmt.Sprintf("Create the S3 gateway endpoint on route table %s (ECR keeps image layers in S3)", n.RouteTable), Commands: []string{
				fmt.Sprintf("aws ec2 create-vpc-endpoint --region %s --vpc-id %s --vpc-endpoint-type Gateway --service-name %s --route-table-ids %s", region, n.VPC, svc, n.RouteTable)}}}
	}
	if ep != nil {
		switch {
		case ep.State != "available":
			return pathVerdict{reachable: No, why: fmt.Sprintf("VPC endpoint %s for %s is %s, not available", ep.ID, svc, ep.State)}
		case !ep.PrivateDNS && !natted:
			return pathVerdict{reachable: No, why: fmt.Sprintf("VPC endpoint %s for %s has private DNS off, so the service name resolves to public addresses, and %s", ep.ID, svc, routeWhy),
				fix: &Fix{Title: fmt.Sprintf("Turn on private DNS for endpoint %s", ep.ID), Commands: []string{
					fmt.Sprintf("aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id %s --private-dns-enabled", region, ep.ID)}}}
		case ep.PrivateDNS && ep.AllowsNode443 == No:
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
			return pathVerdict{reachable: Yes, why: why}
		}
	}
	if natted {
		return pathVerdict{reachable: Yes, why: routeWhy}
	}
	if n.RouteTable == "" {
		return pathVerdict{}
	}
	sgArg := ""
	if len(n.SecurityGroups) > 0 {
		sgArg = " --security-group-ids " + strings.Join(n.SecurityGroups, " ")
	}
	return pathVerdict{reachable: No, why: fmt.Sprintf("VPC %s has no %s endpoint and %s", n.VPC, svc, routeWhy),
		fix: &Fix{Title: fmt.Sprintf("Create the %s interface endpoint (private DNS on) in subnet %s", svc, n.Subnet), Commands: []string{
			fmt.Sprintf("aws ec2 create-vpc-endpoint --region %s --vpc-id %s --vpc-endpoint-type Interface --service-name %s --subnet-ids %s%s --private-dns-enabled", region, n.VPC, svc, n.Subnet, sgArg)}}}
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}
