package diagnosis

import (
	"strings"
	"testing"
)

func TestEndpointService(t *testing.T) {
	for _, tc := range []struct{ region, suffix, want string }{
		{"us-west-2", "ecr.api", "com.amazonaws.us-west-2.ecr.api"},
		{"us-west-2", "ecr.dkr", "com.amazonaws.us-west-2.ecr.dkr"},
		{"us-west-2", "s3", "com.amazonaws.us-west-2.s3"},
		{"us-gov-west-1", "ecr.dkr", "com.amazonaws.us-gov-west-1.ecr.dkr"},
		{"cn-north-1", "ecr.api", "cn.com.amazonaws.cn-north-1.ecr.api"},
		{"cn-northwest-1", "ecr.dkr", "cn.com.amazonaws.cn-northwest-1.ecr.dkr"},
	} {
		if got := endpointService(tc.region, tc.suffix); got != tc.want {
			t.Errorf("endpointService(%q, %q) = %q, want %q", tc.region, tc.suffix, got, tc.want)
		}
	}
}

// TestServicePath walks every branch of servicePath (DOMAIN §C10 decision rules): a healthy
// endpoint, the default route, and each broken piece, with the fix naming the real IDs.
func TestServicePath(t *testing.T) {
	for _, tc := range []struct {
		name     string
		facts    *Facts
		region   string // the image's region; "" is the node's
		suffix   string
		want     Tri
		says     []string // substrings of why
		fix      []string // substrings of the fix; nil: no fix
		endpoint string   // the endpoint that carries the traffic
	}{
		// S3 (gateway endpoint, by route table).
		{
			name:  "s3 gateway endpoint on the node's route table",
			facts: newFacts(withNetwork("", allEndpoints())), suffix: "s3",
			want: Yes, says: []string{"S3 gateway endpoint " + tEpS3 + " is on route table " + tRouteTable}, endpoint: tEpS3,
		},
		{
			// The gateway endpoint's route is more specific than 0.0.0.0/0: its policy applies even with NAT.
			name:  "s3 gateway endpoint wins over a NAT route",
			facts: newFacts(withNetwork(tNAT, allEndpoints())), suffix: "s3",
			want: Yes, endpoint: tEpS3,
		},
		{
			name:  "s3 gateway endpoint off the route table, NAT route",
			facts: newFacts(withNetwork(tNAT, eps{"s3": gateway(tEpS3, offRouteTable)})), suffix: "s3",
			want: Yes, says: []string{"route table " + tRouteTable + " of subnet " + tSubnet + " sends 0.0.0.0/0 to " + tNAT},
		},
		{
			name:  "s3 gateway endpoint off the route table, no NAT",
			facts: newFacts(withNetwork("", eps{"s3": gateway(tEpS3, offRouteTable)})), suffix: "s3",
			want: No,
			says: []string{"S3 gateway endpoint " + tEpS3 + " is not associated with route table " + tRouteTable + " of the node's subnet " + tSubnet, "has no default route (no NAT gateway)"},
			fix:  []string{"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpS3 + " --add-route-table-ids " + tRouteTable},
		},
		{
			name:  "no s3 endpoint, internet gateway",
			facts: newFacts(withNetwork("igw-0123456789abcdef0", nil)), suffix: "s3",
			want: Yes, says: []string{"sends 0.0.0.0/0 to igw-0123456789abcdef0"},
		},
		{
			name:  "no s3 endpoint, no NAT",
			facts: newFacts(withNetwork("", eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR)})), suffix: "s3",
			want: No, says: []string{"VPC " + tVPC + " has no S3 gateway endpoint"},
			fix: []string{"aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id " + tVPC + " --vpc-endpoint-type Gateway --service-name com.amazonaws.us-west-2.s3 --route-table-ids " + tRouteTable},
		},
		{
			// Creating a second endpoint does not help one that is still being set up.
			name:  "s3 gateway endpoint pending, no NAT",
			facts: newFacts(withNetwork("", eps{"s3": gateway(tEpS3, state("pending"))})), suffix: "s3",
			want: No, says: []string{"S3 endpoint " + tEpS3 + " is pending, not available"},
		},
		{
			// An S3 interface endpoint has no route table association to check: claim nothing.
			name:  "s3 interface endpoint, no NAT",
			facts: newFacts(withNetwork("", eps{"s3": iface(tEpS3, func(e *VPCEndpoint) { e.OnNodeRouteTable = Unknown })})), suffix: "s3",
			want: Unknown, says: []string{"S3 endpoint " + tEpS3 + " (type Interface) exists, but pullcheck cannot tell whether it serves route table " + tRouteTable},
		},
		{
			// DescribeRouteTables failed: no route table to name, so no command may be built.
			name: "s3, route table unknown",
			facts: newFacts(withNetwork("", eps{"s3": gateway(tEpS3, offRouteTable)}), func(f *Facts) {
				f.Cloud.Network.RouteTable = ""
			}), suffix: "s3",
			want: Unknown,
		},
		// Interface endpoints (ecr.api, ecr.dkr).
		{
			name:  "healthy ecr.dkr endpoint",
			facts: newFacts(withNetwork("", allEndpoints())), suffix: "ecr.dkr",
			want: Yes, says: []string{"VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr is available with private DNS and admits HTTPS from the node"}, endpoint: tEpDKR,
		},
		{
			name:  "no endpoint, NAT gateway",
			facts: newFacts(withNetwork(tNAT, nil)), suffix: "ecr.api",
			want: Yes, says: []string{"sends 0.0.0.0/0 to " + tNAT},
		},
		{
			name:  "no endpoint, transit gateway",
			facts: newFacts(withNetwork("tgw-0123456789abcdef0", nil)), suffix: "ecr.dkr",
			want: Yes, says: []string{"sends 0.0.0.0/0 to tgw-0123456789abcdef0"},
		},
		{
			// A NAT instance is a network interface route: it leads out like a NAT gateway.
			name:  "no endpoint, NAT instance",
			facts: newFacts(withNetwork("eni-0123456789abcdef0", nil)), suffix: "ecr.dkr",
			want: Yes, says: []string{"sends 0.0.0.0/0 to eni-0123456789abcdef0"},
		},
		{
			// A peering connection does not lead to the internet, but a central endpoint VPC
			// behind it might serve the name: pullcheck cannot tell, so it claims nothing.
			name:  "no endpoint, default route to a peering connection",
			facts: newFacts(withNetwork("pcx-0123456789abcdef0", nil)), suffix: "ecr.dkr",
			want: Unknown, says: []string{"sends 0.0.0.0/0 to pcx-0123456789abcdef0, which may not lead to the internet"},
		},
		{
			name:  "no endpoint, no NAT",
			facts: newFacts(withNetwork("", eps{"s3": gateway(tEpS3)})), suffix: "ecr.api",
			want: No, says: []string{"VPC " + tVPC + " has no com.amazonaws.us-west-2.ecr.api endpoint and route table " + tRouteTable + " of subnet " + tSubnet + " has no default route (no NAT gateway)"},
			fix: []string{"aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id " + tVPC + " --vpc-endpoint-type Interface --service-name com.amazonaws.us-west-2.ecr.api --subnet-ids " + tSubnet + " --security-group-ids " + tNodeSG + " " + tClusterSG + " --private-dns-enabled"},
		},
		{
			name: "no endpoint, no NAT, node security groups unknown",
			facts: newFacts(withNetwork("", nil), func(f *Facts) {
				f.Cloud.Network.SecurityGroups = nil
			}), suffix: "ecr.dkr",
			want: No,
			fix:  []string{"--service-name com.amazonaws.us-west-2.ecr.dkr --subnet-ids " + tSubnet + " --private-dns-enabled"},
		},
		{
			name: "routes not read",
			facts: newFacts(withNetwork("", nil), func(f *Facts) {
				f.Cloud.Network.RouteTable = ""
			}), suffix: "ecr.dkr",
			want: Unknown,
		},
		{
			name:  "endpoint pending, no NAT",
			facts: newFacts(withNetwork("", eps{"ecr.dkr": iface(tEpDKR, state("pending"))})), suffix: "ecr.dkr",
			want: No, says: []string{"VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr is pending, not available", "no default route"},
		},
		{
			// An endpoint that is not available serves nothing; the name resolves publicly
			// and the NAT route carries the pull.
			name:  "endpoint failed, NAT route",
			facts: newFacts(withNetwork(tNAT, eps{"ecr.dkr": iface(tEpDKR, state("failed"))})), suffix: "ecr.dkr",
			want: Yes, says: []string{tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr is failed, not available, so the traffic takes the default route", tNAT},
		},
		{
			name:  "private DNS off, no NAT",
			facts: newFacts(withNetwork("", eps{"ecr.dkr": iface(tEpDKR, privateDNSOff)})), suffix: "ecr.dkr",
			want: No, says: []string{"VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr has private DNS off, so the service name resolves to public addresses", "no default route"},
			fix: []string{"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpDKR + " --private-dns-enabled"},
		},
		{
			// The public name goes out through NAT; the endpoint (and its policy) is not used.
			name:  "private DNS off, NAT route",
			facts: newFacts(withNetwork(tNAT, eps{"ecr.dkr": iface(tEpDKR, privateDNSOff, denies("ecr:BatchGetImage"))})), suffix: "ecr.dkr",
			want: Yes, says: []string{"sends 0.0.0.0/0 to " + tNAT},
		},
		{
			// With private DNS the name resolves to the endpoint, so NAT does not help.
			name:  "endpoint security group does not admit 443, NAT route",
			facts: newFacts(withNetwork(tNAT, eps{"ecr.api": iface(tEpAPI, no443)})), suffix: "ecr.api",
			want: No, says: []string{"the security groups of VPC endpoint " + tEpAPI + " for com.amazonaws.us-west-2.ecr.api do not admit HTTPS (443) from the node's security groups " + tNodeSG + ", " + tClusterSG},
			fix: []string{`aws ec2 authorize-security-group-ingress --region us-west-2 --group-id "$(aws ec2 describe-vpc-endpoints --region us-west-2 --vpc-endpoint-ids ` + tEpAPI + ` --query 'VpcEndpoints[0].Groups[0].GroupId' --output text)" --protocol tcp --port 443 --source-group ` + tNodeSG},
		},
		{
			name: "endpoint security group does not admit 443, node groups unknown",
			facts: newFacts(withNetwork("", eps{"ecr.api": iface(tEpAPI, no443)}), func(f *Facts) {
				f.Cloud.Network.SecurityGroups = nil
			}), suffix: "ecr.api",
			want: No,
		},
		{
			name:  "private DNS on, security groups not read",
			facts: newFacts(withNetwork("", eps{"ecr.api": iface(tEpAPI, func(e *VPCEndpoint) { e.AllowsNode443 = Unknown })})), suffix: "ecr.api",
			want: Yes, says: []string{"VPC endpoint " + tEpAPI + " for com.amazonaws.us-west-2.ecr.api is available with private DNS"}, endpoint: tEpAPI,
		},
		// The VPC's DNS attributes (enableDnsSupport, enableDnsHostnames): private DNS needs both.
		{
			// DOMAIN §C10: the endpoint exists, but its private DNS name does not apply, so the
			// node resolves the public name and, without NAT, times out.
			name:  "VPC DNS hostnames off, no NAT",
			facts: newFacts(withNetwork("", allEndpoints()), withVPCDNS(Yes, No)), suffix: "ecr.dkr",
			want: No,
			says: []string{"VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr has private DNS on, but VPC " + tVPC + " has enableDnsHostnames off, so the endpoint's private DNS name does not apply: the service name resolves to public addresses",
				"has no default route (no NAT gateway)"},
			fix: []string{`aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + tVPC + ` --enable-dns-hostnames "{\"Value\":true}"`},
		},
		{
			name:  "VPC DNS support and hostnames off, no NAT",
			facts: newFacts(withNetwork("", allEndpoints()), withVPCDNS(No, No)), suffix: "ecr.api",
			want: No,
			says: []string{"VPC " + tVPC + " has enableDnsSupport and enableDnsHostnames off", "the Amazon-provided DNS server of the VPC is off"},
			fix:  []string{`--vpc-id ` + tVPC + ` --enable-dns-support "{\"Value\":true}"`, `--vpc-id ` + tVPC + ` --enable-dns-hostnames "{\"Value\":true}"`},
		},
		{
			// The public name goes out through NAT: the endpoint (and its policy) is not used.
			name:  "VPC DNS hostnames off, NAT route",
			facts: newFacts(withNetwork(tNAT, eps{"ecr.dkr": iface(tEpDKR, denies("ecr:BatchGetImage"))}), withVPCDNS(Yes, No)), suffix: "ecr.dkr",
			want: Yes, says: []string{"has enableDnsHostnames off", "so the traffic takes the default route", "sends 0.0.0.0/0 to " + tNAT},
		},
		{
			// Without the Amazon-provided DNS server the NAT route helps only if other DNS
			// servers resolve the name, and pullcheck does not read the DHCP options.
			name:  "VPC DNS support off, NAT route",
			facts: newFacts(withNetwork(tNAT, allEndpoints()), withVPCDNS(No, Yes)), suffix: "ecr.dkr",
			want: Unknown, says: []string{"has enableDnsSupport off", "which helps only if the node's DNS servers resolve public names"},
		},
		{
			// The gateway endpoint works by route, not by name.
			name:  "VPC DNS off, S3 gateway endpoint on the route table",
			facts: newFacts(withNetwork("", allEndpoints()), withVPCDNS(No, No)), suffix: "s3",
			want: Yes, endpoint: tEpS3,
		},
		{
			// ec2:DescribeVpcAttribute failed: the endpoint is probably in use, but whether its
			// name resolves to it is not known.
			name:  "VPC DNS attributes not read",
			facts: newFacts(withNetwork("", allEndpoints()), withVPCDNS(Unknown, Unknown)), suffix: "ecr.dkr",
			want: Unknown, says: []string{"is available with private DNS and admits HTTPS from the node, but the DNS attributes of VPC " + tVPC + " were not read"}, endpoint: tEpDKR,
		},
		{
			// EC2 refuses private DNS on an endpoint in a VPC without both attributes on.
			name:  "private DNS off and VPC DNS hostnames off, no NAT",
			facts: newFacts(withNetwork("", eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR, privateDNSOff)}), withVPCDNS(Yes, No)), suffix: "ecr.dkr",
			want: No, says: []string{"has private DNS off"},
			fix: []string{`--enable-dns-hostnames "{\"Value\":true}"`, "aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpDKR + " --private-dns-enabled", "after turning on enableDnsHostnames of VPC " + tVPC},
		},
		{
			name:  "no ecr.dkr endpoint and VPC DNS hostnames off, no NAT",
			facts: newFacts(withNetwork("", eps{"ecr.api": iface(tEpAPI)}), withVPCDNS(Yes, No)), suffix: "ecr.dkr",
			want: No, says: []string{"has no com.amazonaws.us-west-2.ecr.dkr endpoint"},
			fix: []string{`--enable-dns-hostnames "{\"Value\":true}"`, "--service-name com.amazonaws.us-west-2.ecr.dkr"},
		},
		// Regions.
		{
			name:  "China: cn.com.amazonaws service names",
			facts: newFacts(withNodeRegion("cn-north-1"), withNetwork("", nil)), region: "cn-north-1", suffix: "ecr.api",
			want: No, says: []string{"has no cn.com.amazonaws.cn-north-1.ecr.api endpoint"},
			fix: []string{"aws ec2 create-vpc-endpoint --region cn-north-1 --vpc-id " + tVPC + " --vpc-endpoint-type Interface --service-name cn.com.amazonaws.cn-north-1.ecr.api --subnet-ids " + tSubnet},
		},
		{
			name:  "China: healthy endpoint",
			facts: newFacts(withNodeRegion("cn-north-1"), withNetwork("", allEndpoints())), region: "cn-north-1", suffix: "ecr.dkr",
			want: Yes, says: []string{"for cn.com.amazonaws.cn-north-1.ecr.dkr is available"}, endpoint: tEpDKR,
		},
		{
			// VPC endpoints do not serve other regions (DOMAIN §C10): the healthy us-west-2
			// endpoints do not carry a pull from us-east-1, and creating more cannot help.
			name:  "image in another region, endpoints only",
			facts: newFacts(withNetwork("", allEndpoints())), region: "us-east-1", suffix: "ecr.dkr",
			want: No, says: []string{"com.amazonaws.us-east-1.ecr.dkr is in region us-east-1 but the node in us-west-2: the VPC endpoints of " + tVPC + " serve only us-west-2", "no default route"},
		},
		{
			name:  "image in another region, NAT route",
			facts: newFacts(withNetwork(tNAT, allEndpoints())), region: "us-east-1", suffix: "ecr.api",
			want: Yes, says: []string{"serve only us-west-2", "sends 0.0.0.0/0 to " + tNAT},
		},
		{
			name:  "image in the node's region, named explicitly",
			facts: newFacts(withNetwork("", allEndpoints())), region: tRegion, suffix: "ecr.api",
			want: Yes, endpoint: tEpAPI,
		},
		// Missing evidence.
		{name: "no network evidence", facts: newFacts(), suffix: "ecr.dkr", want: Unknown},
		{name: "no node", facts: newFacts(withNetwork("", nil), func(f *Facts) { f.Node = nil }), suffix: "ecr.dkr", want: Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := servicePath(tc.facts, tc.region, tc.suffix)
			if got.reachable != tc.want {
				t.Errorf("reachable = %s, want %s (why %q)", got.reachable, tc.want, got.why)
			}
			for _, s := range tc.says {
				if !strings.Contains(got.why, s) {
					t.Errorf("why %q lacks %q", got.why, s)
				}
			}
			switch {
			case tc.fix == nil && got.fix != nil:
				t.Errorf("fix %+v, want none", *got.fix)
			case tc.fix != nil && got.fix == nil:
				t.Errorf("no fix, want one with %q", tc.fix)
			case got.fix != nil:
				text := fixText([]Fix{*got.fix})
				for _, s := range tc.fix {
					if !strings.Contains(text, s) {
						t.Errorf("fix lacks %q:\n%s", s, text)
					}
				}
				assertSane(t, "summary", RestartAdvice{Reason: "reason"}, []Fix{*got.fix}, "")
			}
			gotEP := ""
			if got.endpoint != nil {
				gotEP = got.endpoint.ID
			}
			if gotEP != tc.endpoint {
				t.Errorf("endpoint in use = %q, want %q", gotEP, tc.endpoint)
			}
		})
	}
}
