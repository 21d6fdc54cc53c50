package diagnosis

import (
	"fmt"
	"slices"
	"strings"
)

// checkUnreachable: the node could not talk to the registry (DNS, timeouts, refused
// connections, no route) or the registry answered with a server error.
func checkUnreachable(f *Facts, c *Container) *Verdict {
	switch c.Signal.Kind {
	case SigDNS, SigTimeout, SigRefused, SigNetUnreachable, SigServerError:
	default:
		return nil
	}
	x := cmdContext{f, c}
	host := c.Signal.Host
	if host == "" {
		host = c.Image.RegistryHost()
	}
	node := x.nodeName()
	v := &Verdict{Cause: CauseRegistryUnreachable, Confidence: Likely,
		Notes:        []string{noteNetworkPolicy},
		RestartHelps: RestartAdvice{Helps: true, Reason: "once the network path works, a new pod pulls at once instead of waiting out the back-off (up to 5 minutes)"}}
	what := map[SignalKind]string{
		SigDNS: "cannot resolve", SigTimeout: "timed out connecting to", SigRefused: "was refused by",
		SigNetUnreachable: "has no route to", SigServerError: "got a server error from",
	}[c.Signal.Kind]
	v.Summary = fmt.Sprintf("Node %s %s %s while pulling %s.", node, what, host, c.Image.Raw)
	if c.Signal.Kind == SigServerError {
		v.Confidence = Possible
		v.Summary = fmt.Sprintf("%s answered %d while node %s pulled %s: the registry (or a proxy in front of it) is failing.", host, c.Signal.Status, node, c.Image.Raw)
	}
	if f.Node != nil && f.Node.Fargate {
		v.Notes = append(v.Notes, noteFargateSG)
	} else {
		v.Notes = append(v.Notes, noteSGForPods)
	}
	netPath := networkEvidence(f, c, x, v)
	path := netPath.reachable
	if path == No {
		return v
	}
	if rel, ok := f.Related[c.Image.Raw]; ok && rel.Nodes > 1 {
		v.Evidence = append(v.Evidence, fmt.Sprintf("pods on %d nodes fail to reach %s: a cluster-wide network or registry problem, not this workload", rel.Nodes, c.Image.Domain))
	}
	if c.Signal.Kind == SigDNS && c.Image.Registry == RegistryOther && looksLikeTypoOfECR(c.Image.Domain) {
		v.Summary = fmt.Sprintf("The registry host %s does not resolve and is not a valid ECR host name: check the image reference for a typo.", c.Image.Domain)
		v.Alternatives = append(v.Alternatives, CauseRepositoryNotFound)
	}
	n := f.Node
	if c.Signal.LayerBucket {
		v.Summary = fmt.Sprintf("The manifest of %s resolved, but node %s %s ECR's S3 layer bucket (%s): the S3 gateway endpoint is missing or not on the node subnet's route table.", c.Image.Raw, node, what, host)
	}
	if (c.Image.IsECR() || c.Signal.LayerBucket) && n != nil && n.InstanceID != "" && n.Region != "" {
		r := n.Region
		v.Fixes = append(v.Fixes, Fix{Title: "Check the node subnet's routes (NAT or internet) and the VPC endpoints for ecr.api, ecr.dkr and S3", Commands: []string{
			fmt.Sprintf("read VPC SUBNET < <(aws ec2 describe-instances --region %s --instance-ids %s --query 'Reservations[0].Instances[0].[VpcId,SubnetId]' --output text)", r, n.InstanceID),
			fmt.Sprintf(`aws ec2 describe-route-tables --region %s --filters Name=association.subnet-id,Values="$SUBNET" --query 'RouteTables[].Routes[].[DestinationCidrBlock,DestinationPrefixListId,NatGatewayId,GatewayId,State]' --output text`, r),
			fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --filters Name=vpc-id,Values="$VPC" --query 'VpcEndpoints[].[ServiceName,VpcEndpointType,State,PrivateDnsEnabled]' --output text`, r),
		}})
		// Endpoints serve only their own region, and are not missing when the evidence shows a
		// path, or shows them there with only the VPC's DNS attributes unread.
		if netPath.dnsUnread {
			v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Check that VPC %s has DNS support and DNS hostnames on: the endpoints' private DNS names resolve to them only with both", f.Network().VPC), Commands: []string{
				fmt.Sprintf("aws ec2 describe-vpc-attribute --region %s --vpc-id %s --attribute enableDnsSupport --query EnableDnsSupport.Value --output text", r, f.Network().VPC),
				fmt.Sprintf("aws ec2 describe-vpc-attribute --region %s --vpc-id %s --attribute enableDnsHostnames --query EnableDnsHostnames.Value --output text", r, f.Network().VPC),
			}})
		} else if path != Yes && !(c.Image.IsECR() && c.Image.Region != n.Region) {
			v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("If there is no NAT route, add the ECR interface endpoints (private DNS on) and the S3 gateway endpoint in %s", r), Commands: []string{
				fmt.Sprintf(`aws ec2 create-vpc-endpoint --region %s --vpc-id "$VPC" --vpc-endpoint-type Interface --service-name %s --subnet-ids "$SUBNET" --private-dns-enabled`, r, endpointService(r, "ecr.api")),
				fmt.Sprintf(`aws ec2 create-vpc-endpoint --region %s --vpc-id "$VPC" --vpc-endpoint-type Interface --service-name %s --subnet-ids "$SUBNET" --private-dns-enabled`, r, endpointService(r, "ecr.dkr")),
				fmt.Sprintf(`aws ec2 create-vpc-endpoint --region %s --vpc-id "$VPC" --vpc-endpoint-type Gateway --service-name %s --route-table-ids "$(aws ec2 describe-route-tables --region %s --filters Name=association.subnet-id,Values="$SUBNET" --query 'RouteTables[0].RouteTableId' --output text)"`, r, endpointService(r, "s3"), r),
			}})
		}
		if c.Image.IsECR() && c.Image.Region != n.Region {
			v.Evidence = append(v.Evidence, fmt.Sprintf("the image is in region %s but the node in %s: VPC endpoints do not serve other regions, so this pull needs a NAT path", c.Image.Region, n.Region))
		}
	}
	if node != "" {
		v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("See whether other pods on %s pull from %s", node, c.Image.Domain), Commands: []string{
			"kubectl get pods -A --field-selector spec.nodeName=" + shellQuote(node) + " -o wide"}})
	}
	return v
}

// looksLikeTypoOfECR: a host that resembles an ECR host but does not match the pattern.
func looksLikeTypoOfECR(host string) bool {
	h := strings.ToLower(host)
	return (strings.Contains(h, "dkr") || strings.Contains(h, "ecr")) && strings.Contains(h, "amazonaws")
}

// networkEvidence settles an ECR timeout with the node's route table and VPC endpoints: it
// names the missing piece (NAT, the ecr.dkr endpoint, private DNS, a security group, the S3
// gateway endpoint) and gives the change with real IDs. It returns what the evidence says of
// the path (reachable No when it settled v).
func networkEvidence(f *Facts, c *Container, x cmdContext, v *Verdict) pathVerdict {
	if !(c.Image.IsECR() || c.Signal.LayerBucket) || f.Network() == nil {
		return pathVerdict{}
	}
	switch c.Signal.Kind {
	case SigTimeout, SigNetUnreachable, SigRefused, SigDNS:
	default:
		return pathVerdict{}
	}
	suffix := "ecr.dkr"
	if c.Signal.LayerBucket || c.Signal.Stage == StageFetch {
		suffix = "s3"
	}
	path := servicePath(f, c.Image.Region, suffix) // "" (the node's region) for a non-ECR reference
	switch path.reachable {
	case No: // servicePath judges only with a node
		region := c.Image.Region
		if region == "" {
			region = f.Node.Region
		}
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("%s has no working path to %s in %s: %s.", capitalize(x.nodeLabel()), suffixLabel(suffix), region, path.why)
		v.Evidence = append(v.Evidence, path.why)
		v.Fixes = nil
		if path.fix != nil {
			v.Fixes = append(v.Fixes, *path.fix)
		}
		if path.verify != "" {
			v.Verify = path.verify
		}
		if suffix == "ecr.dkr" { // a private subnet needs all three endpoints
			for _, other := range []string{"ecr.api", "s3"} {
				if p := servicePath(f, c.Image.Region, other); p.reachable == No && p.fix != nil {
					v.Evidence = append(v.Evidence, p.why)
					v.Fixes = appendNewCommands(v.Fixes, *p.fix)
				}
			}
			v.Fixes = mergeEndpointGroupFixes(f, c.Image.Region, v.Fixes)
		}
		return path
	case Yes:
		v.Evidence = append(v.Evidence, path.why+": the VPC side looks right, so look at network ACLs, the node's security group egress, a proxy, or DNS")
	default:
		if path.why != "" {
			v.Evidence = append(v.Evidence, path.why)
		}
	}
	return path
}

// mergeEndpointGroupFixes replaces the fixes that admit HTTPS from the node to the ecr.dkr and
// to the ecr.api endpoint with one that admits it once per security group: both endpoints
// usually share one group, and authorizing the same rule twice fails
// (InvalidPermission.Duplicate), which stops the fix half-way.
func mergeEndpointGroupFixes(f *Facts, region string, fixes []Fix) []Fix {
	n := f.Network()
	if len(vpcDNSOff(n)) > 0 { // the fixes turn the VPC's DNS on, not the groups
		return fixes
	}
	var ids []string
	drop := map[string]bool{}
	for _, suffix := range []string{"ecr.dkr", "ecr.api"} {
		ep := n.Endpoints[suffix]
		p := servicePath(f, region, suffix)
		if ep == nil || p.reachable != No || p.fix == nil || !ep.PrivateDNS || ep.AllowsNode443 != No {
			return fixes
		}
		ids = append(ids, ep.ID)
		drop[p.fix.Title] = true
	}
	sg := firstOr(n.SecurityGroups, "")
	if sg == "" {
		return fixes
	}
	if region == "" {
		region = f.Node.Region
	}
	merged := Fix{Title: fmt.Sprintf("Admit HTTPS from the node's security group %s to endpoints %s (each of their security groups once)", sg, strings.Join(ids, " and ")), Commands: []string{
		fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --vpc-endpoint-ids %s --query 'VpcEndpoints[].Groups[0].GroupId' --output text | tr '\t' '\n' | sort -u | while read -r SG; do aws ec2 authorize-security-group-ingress --region %s --group-id "$SG" --protocol tcp --port 443 --source-group %s; done`,
			region, strings.Join(ids, " "), region, sg)}}
	out := []Fix{merged}
	for _, fx := range fixes {
		if !drop[fx.Title] {
			out = append(out, fx)
		}
	}
	return out
}

// appendNewCommands appends fx without the commands that fixes already run: one change can
// open several paths (the VPC's DNS attributes), and is given once. A fix left without
// commands is dropped.
func appendNewCommands(fixes []Fix, fx Fix) []Fix {
	var cmds []string
	for _, c := range fx.Commands {
		if !slices.ContainsFunc(fixes, func(old Fix) bool { return slices.Contains(old.Commands, c) }) {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) == 0 {
		return fixes
	}
	fx.Commands = cmds
	return append(fixes, fx)
}

func suffixLabel(suffix string) string {
	switch suffix {
	case "s3":
		return "ECR's S3 layer storage"
	case "ecr.api":
		return "the ECR API (ecr.api)"
	}
	return "the ECR registry (ecr.dkr)"
}
