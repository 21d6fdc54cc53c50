package diagnosis

// Builders for Facts.Cloud: the worked example's AWS side (DOMAIN §C01–C03, §C10, §C11), so
// that every fix command can be checked for the real IDs below.

const (
	tRoleName      = "eks-ng-general-NodeInstanceRole"
	tRoleARN       = "arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"
	tProfileARN    = "arn:aws:iam::111122223333:instance-profile/eks-ng-general-profile"
	tFargateRole   = "AmazonEKSFargatePodExecutionRole"
	tFargateARN    = "arn:aws:iam::111122223333:role/AmazonEKSFargatePodExecutionRole"
	tVPC           = "vpc-0a1b2c3d4e5f67890"
	tSubnet        = "subnet-0123abcd4567ef890"
	tRouteTable    = "rtb-0fedcba9876543210"
	tNodeSG        = "sg-0node234567890abcd"
	tClusterSG     = "sg-0clus234567890abcd"
	tNAT           = "nat-0a1b2c3d4e5f67890"
	tEpAPI         = "vpce-0ecrapi1234567890"
	tEpDKR         = "vpce-0ecrdkr1234567890"
	tEpS3          = "vpce-0s3gw1234567890"
	tKMSKey        = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	tRepoARN       = "arn:aws:ecr:us-west-2:111122223333:repository/payments/api"
	tXAccountRepo  = "arn:aws:ecr:us-west-2:444455556666:repository/platform/base"
	tXAccountOwner = "444455556666"
)

// cloudOf returns the facts' cloud evidence, creating it.
func cloudOf(f *Facts) *CloudEvidence {
	if f.Cloud == nil {
		f.Cloud = &CloudEvidence{Images: map[string]*ImageEvidence{}, CallerAccount: tAccount}
	}
	return f.Cloud
}

func imageEvidence(f *Facts, image string) *ImageEvidence {
	c := cloudOf(f)
	if c.Images[image] == nil {
		c.Images[image] = &ImageEvidence{}
	}
	return c.Images[image]
}

// withECR records what the ECR API said about an image (keyed by the spec's image string).
func withECR(image string, ev ECRImageEvidence) func(*Facts) {
	return func(f *Facts) { imageEvidence(f, image).ECR = &ev }
}

// withProbe records the bot's own manifest request for an image.
func withProbe(image string, p RegistryProbe) func(*Facts) {
	return func(f *Facts) { imageEvidence(f, image).Probe = &p }
}

// allowed is IAM's simulation for a role that has AmazonEC2ContainerRegistryPullOnly; each
// override replaces one action's decision ("ecr:BatchGetImage", "implicitDeny").
func allowed(overrides ...string) map[string]string {
	d := map[string]string{
		"ecr:GetAuthorizationToken":    "allowed",
		"ecr:BatchGetImage":            "allowed",
		"ecr:GetDownloadUrlForLayer":   "allowed",
		"ecr:BatchImportUpstreamImage": "allowed",
		"ecr:CreateRepository":         "implicitDeny",
	}
	for i := 0; i+1 < len(overrides); i += 2 {
		d[overrides[i]] = overrides[i+1]
	}
	return d
}

// nodeRole makes the EC2 node's instance-profile role the pulling principal.
func nodeRole(decisions map[string]string, mods ...func(*PrincipalEvidence)) func(*Facts) {
	return func(f *Facts) {
		p := &PrincipalEvidence{Kind: "node-role", RoleARN: tRoleARN, RoleName: tRoleName, InstanceProfileARN: tProfileARN,
			Decisions: decisions, AttachedPolicies: []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"}, IMDSEnabled: Yes}
		for _, m := range mods {
			m(p)
		}
		cloudOf(f).Principal = p
	}
}

// fargateRole makes the Fargate profile's pod execution role the pulling principal.
func fargateRole(decisions map[string]string) func(*Facts) {
	return func(f *Facts) {
		cloudOf(f).Principal = &PrincipalEvidence{Kind: "fargate-execution-role", RoleARN: tFargateARN, RoleName: tFargateRole, Decisions: decisions}
	}
}

// eps is a VPC's endpoints by service suffix (ecr.api, ecr.dkr, s3).
type eps map[string]*VPCEndpoint

// iface is a healthy interface endpoint: available, private DNS on, in the node's AZ,
// admitting HTTPS from the node; mods break it.
func iface(id string, mods ...func(*VPCEndpoint)) *VPCEndpoint {
	e := &VPCEndpoint{ID: id, Type: "Interface", State: "available", PrivateDNS: true, InNodeAZ: Yes, AllowsNode443: Yes}
	for _, m := range mods {
		m(e)
	}
	return e
}

// gateway is a healthy S3 gateway endpoint on the node subnet's route table.
func gateway(id string, mods ...func(*VPCEndpoint)) *VPCEndpoint {
	e := &VPCEndpoint{ID: id, Type: "Gateway", State: "available", OnNodeRouteTable: Yes}
	for _, m := range mods {
		m(e)
	}
	return e
}

func privateDNSOff(e *VPCEndpoint) { e.PrivateDNS = false }
func no443(e *VPCEndpoint)         { e.AllowsNode443 = No }
func offRouteTable(e *VPCEndpoint) { e.OnNodeRouteTable = No }
func denies(what string) func(*VPCEndpoint) {
	return func(e *VPCEndpoint) { e.PolicyDenies = what }
}
func state(s string) func(*VPCEndpoint) {
	return func(e *VPCEndpoint) { e.State = s }
}

// allEndpoints are the three healthy endpoints a private subnet needs.
func allEndpoints() eps {
	return eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR), "s3": gateway(tEpS3)}
}

// withNetwork places the node in subnet tSubnet of tVPC (route table tRouteTable, node
// security groups tNodeSG and tClusterSG) whose 0.0.0.0/0 goes to defaultRoute ("" for a
// private subnet without NAT), with the given VPC endpoints.
func withNetwork(defaultRoute string, endpoints eps) func(*Facts) {
	return func(f *Facts) {
		if endpoints == nil {
			endpoints = eps{}
		}
		cloudOf(f).Network = &NetworkEvidence{VPC: tVPC, Subnet: tSubnet, AZ: "us-west-2a", RouteTable: tRouteTable,
			SecurityGroups: []string{tNodeSG, tClusterSG}, DefaultRoute: defaultRoute, Endpoints: endpoints, DNSSupport: Yes, DNSHostnames: Yes}
	}
}

// withVPCDNS sets the VPC's enableDnsSupport and enableDnsHostnames attributes (after withNetwork).
func withVPCDNS(support, hostnames Tri) func(*Facts) {
	return func(f *Facts) { f.Cloud.Network.DNSSupport, f.Cloud.Network.DNSHostnames = support, hostnames }
}
