package diagnosis

import "testing"

func TestCheckUnreachable(t *testing.T) {
	const east = "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api:1.8.2"
	const typo = "111122223333.dkr.ecr.us-west-2.amazonaws.co/payments/api:1.8.2"
	dns := func(image string) string {
		host := ParseImage(image).Domain
		return resolveErr(image, `failed to do request: Head "`+headURL(image)+`": dial tcp: lookup `+host+` on 10.0.0.2:53: no such host`)
	}
	layerTimeout := layerErr(ecrImage, `failed to do request: Get "`+layerURL+`": dial tcp 52.218.1.1:443: i/o timeout`)
	runCheckCases(t, checkUnreachable, []checkCase{
		{
			name:  "ECR timeout from a private subnet",
			facts: newFacts(pullFailed("api", timeoutErr(ecrImage, "52.94.1.10"))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says: []string{"Node " + tNode + " timed out connecting to 111122223333.dkr.ecr.us-west-2.amazonaws.com"},
			fixes: []string{
				"read VPC SUBNET < <(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890",
				`aws ec2 describe-route-tables --region us-west-2 --filters Name=association.subnet-id,Values="$SUBNET"`,
				"--service-name com.amazonaws.us-west-2.ecr.api",
				"--service-name com.amazonaws.us-west-2.ecr.dkr",
				"--service-name com.amazonaws.us-west-2.s3",
				"kubectl get pods -A --field-selector spec.nodeName=" + tNode,
			},
			// A NetworkPolicy in the namespace is a common suspect; it cannot block a pull (DOMAIN §11.2).
			notes:   []string{"NetworkPolicy cannot block an image pull", "Security groups for pods"},
			restart: true,
		},
		{
			name:  "S3 layer bucket timeout",
			facts: newFacts(pullFailed("api", layerTimeout)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"S3 gateway endpoint", "prod-us-west-2-starport-layer-bucket"},
			restart: true,
		},
		{
			name:  "typo in the ECR host",
			facts: newFacts(withImage("api", typo), pullFailed("api", dns(typo))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"111122223333.dkr.ecr.us-west-2.amazonaws.co does not resolve and is not a valid ECR host name"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:  "Fargate: the pod's security groups",
			facts: newFacts(onFargate, pullFailed("api", timeoutErr(ecrImage, "52.94.1.10"))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:     []string{"Node " + tFargate},
			notes:    []string{"On Fargate the pull goes out through the pod's own network interface"},
			notFixes: []string{"describe-instances"},
			restart:  true,
		},
		{
			name:  "image in another region",
			facts: newFacts(withImage("api", east), pullFailed("api", timeoutErr(east, "52.46.1.1"))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"the image is in region us-east-1 but the node in us-west-2"},
			restart: true,
		},
		{
			name:  "registry 503",
			facts: newFacts(withImage("api", "quay.io/acme/app:3.1"), pullFailed("api", headStatusErr("quay.io/acme/app:3.1", "503 Service Unavailable"))),
			cause: CauseRegistryUnreachable, conf: Possible,
			says:    []string{"quay.io answered 503"},
			restart: true,
		},
		{
			name: "many nodes fail",
			facts: newFacts(pullFailed("api", timeoutErr(ecrImage, "52.94.1.10")), func(f *Facts) {
				f.Related = map[string]Related{ecrImage: {Scope: "cluster", SameImagePods: 3, Nodes: 4}}
			}),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"pods on 4 nodes fail to reach"},
			restart: true,
		},
		{
			name: "CRI-O RegistryUnavailable",
			facts: newFacts(withImage("api", "harbor.internal/team/app:3.1"),
				waiting("api", ReasonRegistryUnavailable, `image pull failed for harbor.internal/team/app:3.1 because the registry is unavailable: pinging container registry harbor.internal: Get "https://harbor.internal/v2/": dial tcp 10.1.2.3:443: connect: connection refused`)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"was refused by harbor.internal"},
			restart: true,
		},
		{name: "401", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized"))), wantNil: true},
	})
}

// TestCheckUnreachableEvidence: an ECR timeout with the node's route table and VPC endpoints
// known names the missing piece and the change, with real IDs (DOMAIN C10).
func TestCheckUnreachableEvidence(t *testing.T) {
	const east = "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api:1.8.2"
	const china = "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2"
	timeout := func(image string, mods ...func(*Facts)) *Facts {
		return newFacts(append([]func(*Facts){withImage("api", image), pullFailed("api", timeoutErr(image, "52.94.1.10"))}, mods...)...)
	}
	layerTimeout := func(mods ...func(*Facts)) *Facts {
		return newFacts(append([]func(*Facts){pullFailed("api", layerErr(ecrImage, `failed to do request: Get "`+layerURL+`": dial tcp 52.218.1.1:443: i/o timeout`))}, mods...)...)
	}
	runCheckCases(t, checkUnreachable, []checkCase{
		{
			// A private subnet without NAT needs all three endpoints: name them all.
			name:  "private subnet, no NAT, no endpoints",
			facts: timeout(ecrImage, withNetwork("", nil)),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says: []string{
				"Node " + tNode + " has no working path to the ECR registry (ecr.dkr) in us-west-2: VPC " + tVPC + " has no com.amazonaws.us-west-2.ecr.dkr endpoint and route table " + tRouteTable + " of subnet " + tSubnet + " has no default route (no NAT gateway).",
				"VPC " + tVPC + " has no com.amazonaws.us-west-2.ecr.api endpoint",
				"VPC " + tVPC + " has no S3 gateway endpoint",
			},
			firstFix: "aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id " + tVPC + " --vpc-endpoint-type Interface --service-name com.amazonaws.us-west-2.ecr.dkr --subnet-ids " + tSubnet + " --security-group-ids " + tNodeSG + " " + tClusterSG + " --private-dns-enabled",
			fixes: []string{
				"--service-name com.amazonaws.us-west-2.ecr.api --subnet-ids " + tSubnet,
				"aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id " + tVPC + " --vpc-endpoint-type Gateway --service-name com.amazonaws.us-west-2.s3 --route-table-ids " + tRouteTable,
			},
			notFixes: []string{"$VPC", "$SUBNET", "kubectl get pods -A"},
			notes:    []string{"NetworkPolicy cannot block an image pull"},
			restart:  true,
		},
		{
			name:  "ecr.dkr endpoint without private DNS; ecr.api fine; S3 endpoint off the route table",
			facts: timeout(ecrImage, withNetwork("", eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR, privateDNSOff), "s3": gateway(tEpS3, offRouteTable)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr has private DNS off", "S3 gateway endpoint " + tEpS3 + " is not associated with route table " + tRouteTable},
			firstFix: "aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpDKR + " --private-dns-enabled",
			fixes:    []string{"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpS3 + " --add-route-table-ids " + tRouteTable},
			notFixes: []string{"ecr.api"},
			restart:  true,
		},
		{
			name:  "ecr.dkr endpoint's security group does not admit the node",
			facts: timeout(ecrImage, withNetwork(tNAT, eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR, no443), "s3": gateway(tEpS3)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"the security groups of VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr do not admit HTTPS (443) from the node's security groups " + tNodeSG},
			firstFix: "aws ec2 authorize-security-group-ingress --region us-west-2",
			fixes:    []string{"--vpc-endpoint-ids " + tEpDKR, "--source-group " + tNodeSG},
			restart:  true,
		},
		{
			// Both endpoints usually share one group: authorizing the same rule twice fails
			// with InvalidPermission.Duplicate, so the fix admits each group once.
			name:  "both ECR endpoints' security groups refuse the node: one fix, each group once",
			facts: timeout(ecrImage, withNetwork(tNAT, eps{"ecr.api": iface(tEpAPI, no443), "ecr.dkr": iface(tEpDKR, no443), "s3": gateway(tEpS3)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says: []string{"the security groups of VPC endpoint " + tEpDKR, "the security groups of VPC endpoint " + tEpAPI},
			firstFix: "aws ec2 describe-vpc-endpoints --region us-west-2 --vpc-endpoint-ids " + tEpDKR + " " + tEpAPI +
				` --query 'VpcEndpoints[].Groups[0].GroupId' --output text | tr '\t' '\n' | sort -u | while read -r SG; do aws ec2 authorize-security-group-ingress --region us-west-2 --group-id "$SG" --protocol tcp --port 443 --source-group ` + tNodeSG + "; done",
			notFixes: []string{`--group-id "$(aws`},
			restart:  true,
		},
		{
			// DOMAIN §C10 "ecr.dkr endpoint exists but private DNS off": here the endpoints have
			// private DNS on, but the VPC's DNS hostnames are off, so it does not apply.
			name:  "endpoints with private DNS, VPC DNS hostnames off, no NAT",
			facts: timeout(ecrImage, withNetwork("", allEndpoints()), withVPCDNS(Yes, No)),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says: []string{
				"Node " + tNode + " has no working path to the ECR registry (ecr.dkr) in us-west-2: VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr has private DNS on, but VPC " + tVPC + " has enableDnsHostnames off, so the endpoint's private DNS name does not apply: the service name resolves to public addresses, and route table " + tRouteTable + " of subnet " + tSubnet + " has no default route (no NAT gateway).",
				"VPC endpoint " + tEpAPI + " for com.amazonaws.us-west-2.ecr.api has private DNS on, but VPC " + tVPC + " has enableDnsHostnames off",
			},
			firstFix: `aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + tVPC + ` --enable-dns-hostnames "{\"Value\":true}"`,
			notFixes: []string{"--enable-dns-support", "create-vpc-endpoint", "modify-vpc-endpoint", "$VPC"},
			verify:   []string{"aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id " + tVPC + " --attribute enableDnsHostnames --query EnableDnsHostnames.Value --output text"},
			restart:  true,
		},
		{
			// Both off: DNS support first (hostnames can be turned on only with it), one per call.
			// The lookup itself times out: the VPC's resolver is off [inferred: Go's resolver
			// error for a DNS server that does not answer].
			name: "endpoints with private DNS, VPC DNS support and hostnames off, no NAT",
			facts: newFacts(pullFailed("api", resolveErr(ecrImage, `failed to do request: Head "`+headURL(ecrImage)+`": dial tcp: lookup 111122223333.dkr.ecr.us-west-2.amazonaws.com on 10.0.0.2:53: read udp 10.0.12.34:41234->10.0.0.2:53: i/o timeout`)),
				withNetwork("", allEndpoints()), withVPCDNS(No, No)),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"VPC " + tVPC + " has enableDnsSupport and enableDnsHostnames off", "the Amazon-provided DNS server of the VPC is off"},
			firstFix: `aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + tVPC + ` --enable-dns-support "{\"Value\":true}"`,
			fixes:    []string{`aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + tVPC + ` --enable-dns-hostnames "{\"Value\":true}"`},
			verify: []string{"--attribute enableDnsSupport --query EnableDnsSupport.Value --output text && aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id " + tVPC +
				" --attribute enableDnsHostnames --query EnableDnsHostnames.Value --output text"},
			restart: true,
		},
		{
			// With NAT the public name works: the DNS attributes are not the cause.
			name:  "endpoints with private DNS, VPC DNS hostnames off, NAT route",
			facts: timeout(ecrImage, withNetwork(tNAT, allEndpoints()), withVPCDNS(Yes, No)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:     []string{"has enableDnsHostnames off", "so the traffic takes the default route", "the VPC side looks right"},
			notFixes: []string{"modify-vpc-attribute"},
			restart:  true,
		},
		{
			// ec2:DescribeVpcAttribute failed: do not claim the VPC side looks right.
			name:  "endpoints with private DNS, VPC DNS attributes not read",
			facts: timeout(ecrImage, withNetwork("", allEndpoints()), withVPCDNS(Unknown, Unknown)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:     []string{"the DNS attributes of VPC " + tVPC + " were not read"},
			fixes:    []string{"aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id " + tVPC + " --attribute enableDnsHostnames"},
			notFixes: []string{"modify-vpc-attribute", "create-vpc-endpoint"},
			restart:  true,
		},
		{
			// The VPC attributes come first: EC2 refuses private DNS on an endpoint without them.
			name:  "no ecr.dkr endpoint, VPC DNS hostnames off, no NAT",
			facts: timeout(ecrImage, withNetwork("", eps{"ecr.api": iface(tEpAPI), "s3": gateway(tEpS3)}), withVPCDNS(Yes, No)),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"VPC " + tVPC + " has no com.amazonaws.us-west-2.ecr.dkr endpoint", "VPC endpoint " + tEpAPI + " for com.amazonaws.us-west-2.ecr.api has private DNS on, but VPC " + tVPC + " has enableDnsHostnames off"},
			firstFix: `aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + tVPC + ` --enable-dns-hostnames "{\"Value\":true}"`,
			fixes:    []string{"--service-name com.amazonaws.us-west-2.ecr.dkr --subnet-ids " + tSubnet},
			restart:  true,
		},
		{
			name:  "layer bucket timeout: S3 gateway endpoint not on the node's route table",
			facts: layerTimeout(withNetwork("", eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR), "s3": gateway(tEpS3, offRouteTable)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"Node " + tNode + " has no working path to ECR's S3 layer storage in us-west-2: S3 gateway endpoint " + tEpS3 + " is not associated with route table " + tRouteTable + " of the node's subnet " + tSubnet},
			firstFix: "aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpS3 + " --add-route-table-ids " + tRouteTable,
			notFixes: []string{"create-vpc-endpoint"},
			restart:  true,
		},
		{
			name:  "layer bucket timeout: no S3 endpoint, no NAT",
			facts: layerTimeout(withNetwork("", eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			firstFix: "aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id " + tVPC + " --vpc-endpoint-type Gateway --service-name com.amazonaws.us-west-2.s3 --route-table-ids " + tRouteTable,
			restart:  true,
		},
		{
			// Everything on the VPC side is in place: say so, and do not offer to create endpoints.
			name:  "ecr.dkr reachable through its endpoint",
			facts: timeout(ecrImage, withNetwork("", allEndpoints())),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:     []string{"VPC endpoint " + tEpDKR + " for com.amazonaws.us-west-2.ecr.dkr is available with private DNS and admits HTTPS from the node: the VPC side looks right, so look at network ACLs"},
			fixes:    []string{"read VPC SUBNET < <(aws ec2 describe-instances --region us-west-2 --instance-ids " + tInstance},
			notFixes: []string{"create-vpc-endpoint"},
			restart:  true,
		},
		{
			name:  "layer bucket reachable through the gateway endpoint",
			facts: layerTimeout(withNetwork("", allEndpoints())),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:     []string{"S3 gateway endpoint " + tEpS3 + " is on route table " + tRouteTable + ": the VPC side looks right"},
			notFixes: []string{"create-vpc-endpoint"},
			restart:  true,
		},
		{
			name:  "DNS failure with a NAT route",
			facts: newFacts(pullFailed("api", resolveErr(ecrImage, `failed to do request: Head "`+headURL(ecrImage)+`": dial tcp: lookup 111122223333.dkr.ecr.us-west-2.amazonaws.com on 10.0.0.2:53: no such host`)), withNetwork(tNAT, nil)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"sends 0.0.0.0/0 to " + tNAT + ": the VPC side looks right", "DNS"},
			restart: true,
		},
		{
			// 0.0.0.0/0 to a peering connection: pullcheck cannot follow it, so it claims nothing.
			name:  "default route to a peering connection",
			facts: timeout(ecrImage, withNetwork("pcx-0123456789abcdef0", nil)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"sends 0.0.0.0/0 to pcx-0123456789abcdef0, which may not lead to the internet"},
			fixes:   []string{`--service-name com.amazonaws.us-west-2.ecr.dkr --subnet-ids "$SUBNET"`},
			restart: true,
		},
		{
			// The node's endpoints serve us-west-2 only; more of them would not help.
			name:  "image in another region, endpoints only",
			facts: timeout(east, withNetwork("", allEndpoints())),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"has no working path to the ECR registry (ecr.dkr) in us-east-1", "com.amazonaws.us-east-1.ecr.dkr is in region us-east-1 but the node in us-west-2: the VPC endpoints of " + tVPC + " serve only us-west-2"},
			notFixes: []string{"create-vpc-endpoint", "modify-vpc-endpoint"},
			restart:  true,
		},
		{
			name:  "image in another region, NAT route",
			facts: timeout(east, withNetwork(tNAT, allEndpoints())),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:     []string{"serve only us-west-2, and route table " + tRouteTable + " of subnet " + tSubnet + " sends 0.0.0.0/0 to " + tNAT + ": the VPC side looks right"},
			notFixes: []string{"create-vpc-endpoint"},
			restart:  true,
		},
		{
			name:  "China: cn.com.amazonaws endpoint service",
			facts: timeout(china, withNodeRegion("cn-north-1"), withNetwork("", eps{"ecr.api": iface(tEpAPI), "s3": gateway(tEpS3)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			firstFix: "aws ec2 create-vpc-endpoint --region cn-north-1 --vpc-id " + tVPC + " --vpc-endpoint-type Interface --service-name cn.com.amazonaws.cn-north-1.ecr.dkr",
			restart:  true,
		},
		{
			name:  "China without network evidence",
			facts: timeout(china, withNodeRegion("cn-north-1")),
			cause: CauseRegistryUnreachable, conf: Likely,
			fixes:    []string{"--service-name cn.com.amazonaws.cn-north-1.ecr.api", "--service-name cn.com.amazonaws.cn-north-1.ecr.dkr"},
			notFixes: []string{"--service-name com.amazonaws."},
			restart:  true,
		},
		{
			// Network evidence is about the path to AWS: it says nothing about another registry.
			name:  "non-ECR registry",
			facts: timeout(tPrivate, withNetwork("", nil)),
			cause: CauseRegistryUnreachable, conf: Likely,
			notFixes: []string{"create-vpc-endpoint"},
			restart:  true,
		},
	})
}
