package diagnosis

import (
	"testing"
	"time"
)

func TestCheckRegistryCredentials(t *testing.T) {
	const china = "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2"
	const fips = "111122223333.dkr.ecr-fips.us-west-2.amazonaws.com/payments/api:1.8.2"
	ecrSecret := dockerSecret("ecr-token", "https://111122223333.dkr.ecr.us-west-2.amazonaws.com")
	// The sandbox image cannot be pulled (awslabs/amazon-eks-ami#1633 shape, DOMAIN §10.6).
	sandbox := event("Warning", "FailedCreatePodSandBox", "",
		`Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox image "`+tPause+`": failed to pull image "`+tPause+`": `+noBasicAuthErr(tPause), time.Minute)
	runCheckCases(t, checkRegistryCredentials, []checkCase{
		{
			name:  "no basic auth credentials on an EC2 node",
			facts: newFacts(pullFailed("api", noBasicAuthErr(ecrImage))),
			cause: CauseRegistryCredentials, conf: Likely,
			says: []string{"No ECR credential", "the IAM role of instance i-0abc1234def567890 (node " + tNode + ") in us-west-2", "ECR account 111122223333, region us-west-2"},
			fixes: []string{
				"PROFILE=$(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890",
				`NODE_ROLE=$(aws iam get-instance-profile --instance-profile-name "${PROFILE##*/}"`,
				`aws iam attach-role-policy --role-name "$NODE_ROLE" --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly`,
				"Values=com.amazonaws.us-west-2.ecr.api,com.amazonaws.us-west-2.ecr.dkr",
			},
			verify:  []string{"--resource-arns arn:aws:ecr:us-west-2:111122223333:repository/payments/api"},
			notes:   []string{"has no effect on image pulls", "looks exactly like an authentication error"},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "IRSA annotation does not help",
			facts: newFacts(withIRSA, pullFailed("api", noBasicAuthErr(ecrImage))),
			cause: CauseRegistryCredentials, conf: Likely,
			notes:   []string{"The service account payments-api has the IRSA role " + tIRSA + ", but that role has no effect on image pulls"},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "stale static ECR token in the pod's only pull secret",
			facts: newFacts(withSecret(ecrSecret), pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized"))),
			cause: CauseRegistryCredentials, conf: Confirmed,
			says: []string{"(401)", "pull secret ecr-token holds a static token"},
			fixes: []string{
				`kubectl -n payments patch deployment payments-api --type json -p '[{"op":"remove","path":"/spec/template/spec/imagePullSecrets"}]'`,
			},
			notes:   []string{"rebooting nodes is not a fix"},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			// Removing the whole list would also drop the other secret.
			name:  "stale ECR token next to another secret",
			facts: newFacts(withSecret(dockerSecret("ghcr", "ghcr.io")), withSecret(ecrSecret), pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized"))),
			cause: CauseRegistryCredentials, conf: Confirmed,
			notFixes: []string{`"op":"remove"`},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			// The pod's one secret is not the ECR one: removing the list would drop it.
			name: "ECR token only on the service account, pod lists another secret",
			facts: newFacts(withSecret(dockerSecret("ghcr", "ghcr.io")),
				withSecret(PullSecret{Name: "ecr-token", From: "serviceaccount", Status: SecretFound, Type: ecrSecret.Type, Hosts: ecrSecret.Hosts}),
				pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized"))),
			cause: CauseRegistryCredentials, conf: Likely,
			notFixes: []string{`"op":"remove"`},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			name:  "Fargate: the pod execution role",
			facts: newFacts(onFargate, pullFailed("api", noBasicAuthErr(ecrImage))),
			cause: CauseRegistryCredentials, conf: Likely,
			says: []string{"the pod execution role of Fargate profile fp-payments"},
			fixes: []string{
				"ROLE_ARN=$(aws eks describe-fargate-profile --region us-west-2 --cluster-name prod-eks --fargate-profile-name fp-payments",
				`aws iam attach-role-policy --role-name "${ROLE_ARN##*/}" --policy-arn arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy`,
			},
			notFixes: []string{"describe-instances"},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			name:  "China partition",
			facts: newFacts(withImage("api", china), withNodeRegion("cn-north-1"), pullFailed("api", noBasicAuthErr(china))),
			cause: CauseRegistryCredentials, conf: Likely,
			fixes: []string{
				"--region cn-north-1 --instance-ids i-0abc1234def567890",
				"--policy-arn arn:aws-cn:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
			},
			notFixes: []string{"arn:aws:iam::aws:"},
			verify:   []string{"arn:aws-cn:ecr:cn-north-1:111122223333:repository/payments/api"},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			name:  "FIPS endpoint",
			facts: newFacts(withImage("api", fips), pullFailed("api", noBasicAuthErr(fips))),
			cause: CauseRegistryCredentials, conf: Likely,
			verify:  []string{"arn:aws:ecr:us-west-2:111122223333:repository/payments/api"},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "KEP-4412 ecr-role-arn annotation",
			facts: newFacts(func(f *Facts) { f.ServiceAccount.ECRRoleARN = "arn:aws:iam::111122223333:role/payments-ecr-pull" }, pullFailed("api", noBasicAuthErr(ecrImage))),
			cause: CauseRegistryCredentials, conf: Likely,
			says:    []string{"eks.amazonaws.com/ecr-role-arn arn:aws:iam::111122223333:role/payments-ecr-pull"},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "containerd <= 1.6 wording",
			facts: newFacts(pullFailed("api", "rpc error: code = Unknown desc = "+resolveErr(ecrImage, "pulling from host 111122223333.dkr.ecr.us-west-2.amazonaws.com failed with status code [manifests 1.8.2]: 401 Unauthorized"))),
			cause: CauseRegistryCredentials, conf: Likely,
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:      "pod sandbox (pause) image",
			facts:     newFacts(sandbox),
			container: sandboxName,
			cause:     CauseRegistryCredentials, conf: Likely,
			says:    []string{tPause, "ECR account 602401143452, region us-west-2"},
			fixes:   []string{"--instance-ids i-0abc1234def567890"},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "v1.32 waiting message, no events",
			facts: newFacts(backOff132("api", noBasicAuthErr(ecrImage))),
			cause: CauseRegistryCredentials, conf: Likely,
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{name: "not ECR", facts: newFacts(withImage("api", tPrivate), pullFailed("api", headStatusErr(tPrivate, "401 Unauthorized"))), wantNil: true},
		{name: "403 belongs to access-denied", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))), wantNil: true},
	})
}

// TestCheckRegistryCredentialsEvidence: `no basic auth credentials` has several causes that
// look the same (DOMAIN C01, C02, C10): the cloud evidence names the one that applies.
func TestCheckRegistryCredentialsEvidence(t *testing.T) {
	const east = "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api:1.8.2"
	const china = "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2"
	noAuth := func(mods ...func(*Facts)) *Facts {
		return newFacts(append([]func(*Facts){pullFailed("api", noBasicAuthErr(ecrImage))}, mods...)...)
	}
	privateNoAPI := eps{"ecr.dkr": iface(tEpDKR), "s3": gateway(tEpS3)}
	runCheckCases(t, checkRegistryCredentials, []checkCase{
		{
			// DOMAIN §C10: "ecr.api unreachable but ecr.dkr fine" looks like an auth problem.
			name:  "ecr.api unreachable: no NAT, no ecr.api endpoint",
			facts: noAuth(nodeRole(allowed()), withNetwork("", privateNoAPI)),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says: []string{
				"This looks like an authentication error but is a network one: node " + tNode + " cannot reach ecr.api in us-west-2",
				"VPC " + tVPC + " has no com.amazonaws.us-west-2.ecr.api endpoint and route table " + tRouteTable + " of subnet " + tSubnet + " has no default route (no NAT gateway)",
			},
			firstFix: "aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id " + tVPC + " --vpc-endpoint-type Interface --service-name com.amazonaws.us-west-2.ecr.api --subnet-ids " + tSubnet + " --security-group-ids " + tNodeSG + " " + tClusterSG + " --private-dns-enabled",
			notFixes: []string{"attach-role-policy", "$NODE_ROLE"},
			notes:    []string{"looks exactly like an authentication error", "NetworkPolicy cannot block an image pull"},
			alts:     []Cause{CauseRegistryCredentials},
			restart:  true,
		},
		{
			name:  "ecr.api endpoint with private DNS off, no NAT",
			facts: noAuth(nodeRole(allowed()), withNetwork("", eps{"ecr.api": iface(tEpAPI, privateDNSOff), "ecr.dkr": iface(tEpDKR), "s3": gateway(tEpS3)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"VPC endpoint " + tEpAPI + " for com.amazonaws.us-west-2.ecr.api has private DNS off"},
			firstFix: "aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpAPI + " --private-dns-enabled",
			alts:     []Cause{CauseRegistryCredentials},
			restart:  true,
		},
		{
			// The ecr.api endpoint is there, but the VPC's DNS hostnames are off: the credential
			// provider resolves the public name and times out (DOMAIN §C10).
			name:  "ecr.api endpoint's private DNS does not apply: VPC DNS hostnames off, no NAT",
			facts: noAuth(nodeRole(allowed()), withNetwork("", allEndpoints()), withVPCDNS(Yes, No)),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"cannot reach ecr.api in us-west-2", "VPC " + tVPC + " has enableDnsHostnames off"},
			firstFix: `aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id ` + tVPC + ` --enable-dns-hostnames "{\"Value\":true}"`,
			notFixes: []string{"--enable-dns-support", "create-vpc-endpoint", "attach-role-policy"},
			verify:   []string{"aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id " + tVPC + " --attribute enableDnsHostnames --query EnableDnsHostnames.Value --output text"},
			alts:     []Cause{CauseRegistryCredentials},
			restart:  true,
		},
		{
			name:  "ecr.api endpoint's security group does not admit the node",
			facts: noAuth(nodeRole(allowed()), withNetwork(tNAT, eps{"ecr.api": iface(tEpAPI, no443), "ecr.dkr": iface(tEpDKR), "s3": gateway(tEpS3)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"the security groups of VPC endpoint " + tEpAPI + " for com.amazonaws.us-west-2.ecr.api do not admit HTTPS (443)"},
			firstFix: "aws ec2 authorize-security-group-ingress --region us-west-2 --group-id \"$(aws ec2 describe-vpc-endpoints --region us-west-2 --vpc-endpoint-ids " + tEpAPI,
			fixes:    []string{"--protocol tcp --port 443 --source-group " + tNodeSG},
			alts:     []Cause{CauseRegistryCredentials},
			restart:  true,
		},
		{
			// VPC endpoints serve only their region: the us-west-2 endpoints cannot carry the
			// credential provider's call to ecr.api in us-east-1, and more of them cannot either.
			name: "image in another region, endpoints only",
			facts: newFacts(withImage("api", east), pullFailed("api", noBasicAuthErr(east)), nodeRole(allowed()),
				withNetwork("", allEndpoints())),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			says:     []string{"cannot reach ecr.api in us-east-1", "com.amazonaws.us-east-1.ecr.api is in region us-east-1 but the node in us-west-2"},
			notFixes: []string{"create-vpc-endpoint", "modify-vpc-endpoint"},
			alts:     []Cause{CauseRegistryCredentials},
			restart:  true,
		},
		{
			name: "China: the endpoint service is cn.com.amazonaws",
			facts: newFacts(withImage("api", china), withNodeRegion("cn-north-1"), pullFailed("api", noBasicAuthErr(china)), nodeRole(allowed()),
				withNetwork("", eps{"ecr.dkr": iface(tEpDKR)})),
			cause: CauseRegistryUnreachable, conf: Confirmed,
			firstFix: "aws ec2 create-vpc-endpoint --region cn-north-1 --vpc-id " + tVPC + " --vpc-endpoint-type Interface --service-name cn.com.amazonaws.cn-north-1.ecr.api",
			alts:     []Cause{CauseRegistryCredentials},
			restart:  true,
		},
		{
			name:  "ecr.api endpoint policy refuses GetAuthorizationToken",
			facts: noAuth(nodeRole(allowed()), withNetwork("", eps{"ecr.api": iface(tEpAPI, denies("ecr:GetAuthorizationToken")), "ecr.dkr": iface(tEpDKR), "s3": gateway(tEpS3)})),
			cause: CauseEndpointPolicyDenied, conf: Confirmed,
			says: []string{"The policy of VPC endpoint " + tEpAPI + " (ecr.api) does not allow ecr:GetAuthorizationToken for the IAM role of instance " + tInstance,
				"endpoint " + tEpAPI + "'s policy refuses ecr:GetAuthorizationToken"},
			fixes: []string{
				"aws ec2 describe-vpc-endpoints --region us-west-2 --vpc-endpoint-ids " + tEpAPI + " --query 'VpcEndpoints[0].PolicyDocument' --output text",
				"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpAPI + " --reset-policy",
			},
			restart: true,
		},
		{
			// With private DNS off the public name goes out through NAT: the endpoint and its
			// policy are not on the path, so they are not the cause.
			name: "ecr.api endpoint policy refuses, but the endpoint is not used",
			facts: noAuth(nodeRole(allowed()), withNetwork(tNAT, eps{"ecr.api": iface(tEpAPI, privateDNSOff, denies("ecr:GetAuthorizationToken")),
				"ecr.dkr": iface(tEpDKR), "s3": gateway(tEpS3)})),
			cause: CauseRegistryCredentials, conf: Likely,
			says:    []string{"sends 0.0.0.0/0 to " + tNAT},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "IMDS turned off on the instance",
			facts: noAuth(nodeRole(allowed(), func(p *PrincipalEvidence) { p.IMDSEnabled = No }), withNetwork("", allEndpoints())),
			cause: CauseRegistryCredentials, conf: Confirmed,
			says: []string{"Instance metadata (IMDS) is turned off on " + tInstance,
				"ec2:DescribeInstances: " + tInstance + " has MetadataOptions.HttpEndpoint disabled"},
			firstFix: "aws ec2 modify-instance-metadata-options --region us-west-2 --instance-id " + tInstance + " --http-endpoint enabled --http-tokens required --http-put-response-hop-limit 1",
			notFixes: []string{"attach-role-policy", "$NODE_ROLE"},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			name:  "node role may not call GetAuthorizationToken",
			facts: noAuth(nodeRole(allowed("ecr:GetAuthorizationToken", "implicitDeny")), withNetwork("", allEndpoints())),
			cause: CauseRegistryCredentials, conf: Confirmed,
			says: []string{"The role " + tRoleName + " that pulls for node " + tNode + " may not call ecr:GetAuthorizationToken",
				"iam:SimulatePrincipalPolicy for " + tRoleARN + ": ecr:GetAuthorizationToken implicitDeny; attached policies: AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy",
				"VPC endpoint " + tEpAPI + " for com.amazonaws.us-west-2.ecr.api is available with private DNS"},
			firstFix: "aws iam attach-role-policy --role-name " + tRoleName + " --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
			notFixes: []string{"$NODE_ROLE", "PROFILE=$(", "describe-vpc-endpoints"},
			verify:   []string{"aws iam simulate-principal-policy --policy-source-arn " + tRoleARN + " --action-names ecr:GetAuthorizationToken", "--resource-arns " + tRepoARN},
			restart:  true,
		},
		{
			name: "node role with no policies at all",
			facts: noAuth(nodeRole(map[string]string{"ecr:GetAuthorizationToken": "implicitDeny", "ecr:BatchGetImage": "implicitDeny"},
				func(p *PrincipalEvidence) { p.AttachedPolicies = nil })),
			cause: CauseRegistryCredentials, conf: Confirmed,
			says:     []string{"ecr:GetAuthorizationToken implicitDeny; attached policies: none"},
			firstFix: "aws iam attach-role-policy --role-name " + tRoleName,
			// The network was not read: the check of the ecr.api path stays.
			fixes:   []string{"Name=service-name,Values=com.amazonaws.us-west-2.ecr.api,com.amazonaws.us-west-2.ecr.dkr"},
			restart: true,
		},
		{
			name:  "explicit deny of GetAuthorizationToken (SCP or boundary)",
			facts: noAuth(nodeRole(allowed("ecr:GetAuthorizationToken", "explicitDeny"))),
			cause: CauseRegistryCredentials, conf: Confirmed,
			says:    []string{"ecr:GetAuthorizationToken explicitDeny"},
			restart: true,
		},
		{
			// Permissions and path both check out: say so, and point at what is left.
			name:  "everything allowed and reachable",
			facts: noAuth(nodeRole(allowed()), withNetwork("", allEndpoints())),
			cause: CauseRegistryCredentials, conf: Likely,
			says: []string{"iam:SimulatePrincipalPolicy for " + tRoleARN + " allows ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on " + tRepoARN,
				"The role's permissions and the path to ecr.api both look right", "KEP-4412"},
			notFixes: []string{"attach-role-policy", "create-vpc-endpoint", "describe-vpc-endpoints"},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			name:  "everything allowed, reached through NAT",
			facts: noAuth(nodeRole(allowed()), withNetwork(tNAT, nil)),
			cause: CauseRegistryCredentials, conf: Likely,
			says:    []string{"sends 0.0.0.0/0 to " + tNAT, "both look right"},
			alts:    []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "everything allowed, the network not read",
			facts: noAuth(nodeRole(allowed())),
			cause: CauseRegistryCredentials, conf: Likely,
			says:     []string{"allows ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer"},
			fixes:    []string{"Name=service-name,Values=com.amazonaws.us-west-2.ecr.api,com.amazonaws.us-west-2.ecr.dkr"},
			notFixes: []string{"attach-role-policy"},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			// A stale static token next to a healthy role: the secret is the finding.
			name: "stale ECR token in a pull secret, role fine",
			facts: newFacts(withSecret(dockerSecret("ecr-token", "https://111122223333.dkr.ecr.us-west-2.amazonaws.com")),
				pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized")), nodeRole(allowed()), withNetwork("", allEndpoints())),
			cause: CauseRegistryCredentials, conf: Confirmed,
			says:     []string{"pull secret ecr-token holds a static token"},
			fixes:    []string{`"op":"remove","path":"/spec/template/spec/imagePullSecrets"`},
			notFixes: []string{"attach-role-policy"},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			// DOMAIN §4.2: on Fargate the pod execution role pulls, with its own managed policy.
			name:  "Fargate: execution role may not call GetAuthorizationToken",
			facts: newFacts(onFargate, pullFailed("api", noBasicAuthErr(ecrImage)), fargateRole(allowed("ecr:GetAuthorizationToken", "implicitDeny"))),
			cause: CauseRegistryCredentials, conf: Confirmed,
			says:     []string{"The role " + tFargateRole + " that pulls for node " + tFargate + " may not call ecr:GetAuthorizationToken"},
			firstFix: "aws iam attach-role-policy --role-name " + tFargateRole + " --policy-arn arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy",
			notFixes: []string{"ROLE_ARN=$(", "AmazonEC2ContainerRegistryPullOnly", "describe-instances", "modify-instance-metadata-options"},
			verify:   []string{"--policy-source-arn " + tFargateARN},
			restart:  true,
		},
		{
			name:  "Fargate: execution role allowed",
			facts: newFacts(onFargate, pullFailed("api", noBasicAuthErr(ecrImage)), fargateRole(allowed())),
			cause: CauseRegistryCredentials, conf: Likely,
			says:     []string{"iam:SimulatePrincipalPolicy for " + tFargateARN + " allows"},
			notFixes: []string{"attach-role-policy"},
			alts:     []Cause{CauseRegistryUnreachable, CauseAccessDenied},
			restart:  true,
		},
		{
			name:  "China partition, role denied",
			facts: newFacts(withImage("api", china), withNodeRegion("cn-north-1"), pullFailed("api", noBasicAuthErr(china)), nodeRole(allowed("ecr:GetAuthorizationToken", "implicitDeny"))),
			cause: CauseRegistryCredentials, conf: Confirmed,
			firstFix: "aws iam attach-role-policy --role-name " + tRoleName + " --policy-arn arn:aws-cn:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
			fixes:    []string{"Name=service-name,Values=cn.com.amazonaws.cn-north-1.ecr.api,cn.com.amazonaws.cn-north-1.ecr.dkr"},
			notFixes: []string{"arn:aws:iam::aws:", "Values=com.amazonaws."},
			verify:   []string{"arn:aws-cn:ecr:cn-north-1:111122223333:repository/payments/api"},
			restart:  true,
		},
	})
}
