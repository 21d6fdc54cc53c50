package diagnosis

import (
	"strings"
	"testing"
)

func TestCheckAccessDenied(t *testing.T) {
	// eks-workshop private_image.md@bb1b300 (HEAD 403), containerd >= 2.4 body with IAM's wording (DOMAIN C02, C03).
	body := "403 Forbidden: denied: User: arn:aws:sts::111122223333:assumed-role/eks-ng-general-NodeInstanceRole/i-0abc1234def567890 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-west-2:111122223333:repository/payments/api because no identity-based policy allows the ecr:BatchGetImage action"
	deny := "403 Forbidden: denied: User: arn:aws:sts::111122223333:assumed-role/eks-ng-general-NodeInstanceRole/i-0abc1234def567890 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-west-2:111122223333:repository/payments/api with an explicit deny in a resource-based policy"
	const china = "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2"
	const fips = "111122223333.dkr.ecr-fips.us-west-2.amazonaws.com/payments/api:1.8.2"
	runCheckCases(t, checkAccessDenied, []checkCase{
		{
			name:  "ECR 403 on the manifest",
			facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))),
			cause: CauseAccessDenied, conf: Likely,
			says: []string{"the IAM role of instance i-0abc1234def567890 (node " + tNode + ")", "payments/api"},
			fixes: []string{
				"PROFILE=$(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890",
				`aws iam attach-role-policy --role-name "$NODE_ROLE" --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly`,
				"aws ecr get-repository-policy --region us-west-2 --registry-id 111122223333 --repository-name payments/api",
			},
			notes:   []string{"has no effect on image pulls"},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
		{
			name:  "containerd 2.4 shows ECR's answer",
			facts: newFacts(pullFailed("api", headStatusErr(ecrImage, body))),
			cause: CauseAccessDenied, conf: Confirmed,
			says:    []string{"is not authorized to perform: ecr:BatchGetImage"},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
		{
			name:  "explicit deny in the repository policy",
			facts: newFacts(pullFailed("api", headStatusErr(ecrImage, deny))),
			cause: CauseAccessDenied, conf: Confirmed,
			says:    []string{"An explicit Deny"},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
		{
			name:  "cross-account repository",
			facts: newFacts(withImage("api", tXAccount), pullFailed("api", headStatusErr(tXAccount, "403 Forbidden"))),
			cause: CauseAccessDenied, conf: Likely,
			fixes:   []string{"aws ecr get-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/base"},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
		{
			name:  "IRSA annotation on the service account",
			facts: newFacts(withIRSA, pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))),
			cause: CauseAccessDenied, conf: Likely,
			notes:   []string{"The service account payments-api has the IRSA role " + tIRSA + ", but that role has no effect on image pulls"},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
		{
			// On Fargate the pod execution role pulls (DOMAIN §4.2, C16).
			name:  "Fargate: the pod execution role",
			facts: newFacts(onFargate, pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))),
			cause: CauseAccessDenied, conf: Likely,
			says: []string{"the pod execution role of Fargate profile fp-payments"},
			fixes: []string{
				"aws eks describe-fargate-profile --region us-west-2 --cluster-name prod-eks --fargate-profile-name fp-payments",
				"arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy",
			},
			notFixes: []string{"describe-instances", "AmazonEC2ContainerRegistryPullOnly"},
			alts:     []Cause{CauseEndpointPolicyDenied},
			restart:  true,
		},
		{
			name:  "China partition",
			facts: newFacts(withImage("api", china), withNodeRegion("cn-north-1"), pullFailed("api", headStatusErr(china, "403 Forbidden"))),
			cause: CauseAccessDenied, conf: Likely,
			fixes: []string{
				"--policy-arn arn:aws-cn:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
				"aws ecr get-repository-policy --region cn-north-1 --registry-id 111122223333",
			},
			notFixes: []string{"arn:aws:iam::aws:"},
			alts:     []Cause{CauseEndpointPolicyDenied},
			restart:  true,
		},
		{
			name:  "FIPS endpoint",
			facts: newFacts(withImage("api", fips), pullFailed("api", headStatusErr(fips, "403 Forbidden"))),
			cause: CauseAccessDenied, conf: Likely,
			fixes:   []string{"aws ecr get-repository-policy --region us-west-2 --registry-id 111122223333 --repository-name payments/api"},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
		{
			name:  "private registry refuses a presented secret",
			facts: newFacts(withImage("api", tPrivate), withSecret(dockerSecret("regcred", "registry.example.com:5000")), pullFailed("api", headStatusErr(tPrivate, "403 Forbidden"))),
			cause: CauseAccessDenied, conf: Likely,
			says:    []string{"accepted the credentials in pull secret regcred", "team/app"},
			restart: true,
		},
		{name: "private registry, no secret: pull-secret", facts: newFacts(withImage("api", tPrivate), pullFailed("api", headStatusErr(tPrivate, "403 Forbidden"))), wantNil: true},
		{name: "layer bucket 403", facts: newFacts(pullFailed("api", layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden"))), wantNil: true},
		{name: "401", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized"))), wantNil: true},
	})
	_ = strings.Contains
}

// TestCheckAccessDeniedEvidence: a 403 on an ECR manifest is the node role, the repository
// policy, or the ecr.dkr endpoint policy (DOMAIN C02, C03, C10): the evidence says which.
func TestCheckAccessDeniedEvidence(t *testing.T) {
	forbidden := func(image string, mods ...func(*Facts)) *Facts {
		return newFacts(append([]func(*Facts){withImage("api", image), pullFailed("api", headStatusErr(image, "403 Forbidden"))}, mods...)...)
	}
	policy := func(image string, p RepositoryPolicyEvidence) func(*Facts) {
		return withECR(image, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, Policy: &p})
	}
	dkrDenies := eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR, denies("ecr:BatchGetImage")), "s3": gateway(tEpS3)}
	xPolicyFix := `jq '.Statement += [{"Sid":"AllowPullFrom111122223333eksnggeneralNodeInstanceRole","Effect":"Allow","Principal":{"AWS":"` + tRoleARN + `"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]' current.json > new.json`
	runCheckCases(t, checkAccessDenied, []checkCase{
		{
			name:  "ecr.dkr endpoint policy refuses BatchGetImage",
			facts: forbidden(ecrImage, nodeRole(allowed()), withNetwork("", dkrDenies)),
			cause: CauseEndpointPolicyDenied, conf: Confirmed,
			says: []string{"The policy of VPC endpoint " + tEpDKR + " (ecr.dkr) does not allow ecr:BatchGetImage for the IAM role of instance " + tInstance,
				"endpoint " + tEpDKR + "'s policy refuses ecr:BatchGetImage on " + tRepoARN},
			fixes: []string{
				"aws ec2 describe-vpc-endpoints --region us-west-2 --vpc-endpoint-ids " + tEpDKR,
				"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpDKR + " --reset-policy",
			},
			notFixes: []string{"attach-role-policy"},
			notes:    []string{"has no effect on image pulls"},
			restart:  true,
		},
		{
			// Private DNS off: the pull goes out through NAT, past the endpoint and its policy.
			name:  "ecr.dkr endpoint policy refuses, but the endpoint is not used",
			facts: forbidden(ecrImage, nodeRole(allowed()), withNetwork(tNAT, eps{"ecr.dkr": iface(tEpDKR, privateDNSOff, denies("ecr:BatchGetImage"))})),
			cause: CauseAccessDenied, conf: Likely,
			says:    []string{"the refusal comes from elsewhere"},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
		{
			// eks-workshop private_image.md@bb1b300: a Deny statement naming the node role.
			name:  "repository policy denies the role",
			facts: forbidden(ecrImage, nodeRole(allowed()), policy(ecrImage, RepositoryPolicyEvidence{Exists: true, Allows: No, DenyStatement: "DenyEksNodes"})),
			cause: CauseAccessDenied, conf: Confirmed,
			says: []string{"The repository policy of payments/api explicitly denies the IAM role of instance " + tInstance + " (node " + tNode + ") (statement DenyEksNodes)",
				"ecr:GetRepositoryPolicy (account 111122223333): statement DenyEksNodes denies ecr:BatchGetImage to " + tRoleARN},
			firstFix: "aws ecr get-repository-policy --region us-west-2 --registry-id 111122223333 --repository-name payments/api --query policyText --output text > current.json",
			fixes: []string{
				`jq 'del(.Statement[] | select(.Sid == "DenyEksNodes"))' current.json > new.json`,
				"aws ecr set-repository-policy --region us-west-2 --registry-id 111122223333 --repository-name payments/api --policy-text file://new.json",
			},
			notFixes: []string{"attach-role-policy", "$NODE_ROLE"},
			restart:  true,
		},
		{
			// The evaluator names a statement without a Sid by position: select(.Sid == ...)
			// would match nothing and leave the Deny in place.
			name:  "repository policy denies in a statement without a Sid",
			facts: forbidden(ecrImage, policy(ecrImage, RepositoryPolicyEvidence{Exists: true, Allows: No, DenyStatement: "statement 2"})),
			cause: CauseAccessDenied, conf: Confirmed,
			says:     []string{"explicitly denies", "(statement 2)", "statement 2 denies ecr:BatchGetImage to the pulling role"},
			fixes:    []string{`jq 'del(.Statement[1])' current.json > new.json`},
			notFixes: []string{".Sid ==", "statement statement"},
			restart:  true,
		},
		{
			name:  "node role may not call BatchGetImage",
			facts: forbidden(ecrImage, nodeRole(allowed("ecr:BatchGetImage", "implicitDeny")), withNetwork("", allEndpoints())),
			cause: CauseAccessDenied, conf: Confirmed,
			says: []string{"The role " + tRoleName + " that pulls for node " + tNode + " may not call ecr:BatchGetImage on payments/api",
				"iam:SimulatePrincipalPolicy for " + tRoleARN + " on " + tRepoARN + ": ecr:BatchGetImage implicitDeny; attached policies: AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy"},
			firstFix: "aws iam attach-role-policy --role-name " + tRoleName + " --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
			fixes:    []string{"aws ecr get-repository-policy --region us-west-2 --registry-id 111122223333 --repository-name payments/api"},
			notFixes: []string{"$NODE_ROLE", "PROFILE=$("},
			verify:   []string{"aws iam simulate-principal-policy --policy-source-arn " + tRoleARN, "--resource-arns " + tRepoARN},
			restart:  true,
		},
		{
			// get-repository-policy fails with RepositoryPolicyNotFoundException: nothing to read.
			name:  "node role may not call BatchGetImage, the repository has no policy",
			facts: forbidden(ecrImage, nodeRole(allowed("ecr:BatchGetImage", "implicitDeny")), policy(ecrImage, RepositoryPolicyEvidence{Exists: false, Allows: No})),
			cause: CauseAccessDenied, conf: Confirmed,
			firstFix: "aws iam attach-role-policy --role-name " + tRoleName + " --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
			notFixes: []string{"get-repository-policy"},
			restart:  true,
		},
		{
			name:  "node role may read neither manifests nor layers",
			facts: forbidden(ecrImage, nodeRole(allowed("ecr:BatchGetImage", "explicitDeny", "ecr:GetDownloadUrlForLayer", "implicitDeny"))),
			cause: CauseAccessDenied, conf: Confirmed,
			says:    []string{"may not call ecr:BatchGetImage or ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage explicitDeny, ecr:GetDownloadUrlForLayer implicitDeny"},
			restart: true,
		},
		{
			name:  "Fargate: execution role may not call BatchGetImage",
			facts: forbidden(ecrImage, onFargate, fargateRole(allowed("ecr:BatchGetImage", "implicitDeny"))),
			cause: CauseAccessDenied, conf: Confirmed,
			firstFix: "aws iam attach-role-policy --role-name " + tFargateRole + " --policy-arn arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy",
			notFixes: []string{"ROLE_ARN=$(", "AmazonEC2ContainerRegistryPullOnly"},
			restart:  true,
		},
		{
			// DOMAIN C03: the registry account has no repository policy at all.
			name:  "cross-account, no repository policy",
			facts: forbidden(tXAccount, nodeRole(allowed()), policy(tXAccount, RepositoryPolicyEvidence{Exists: false, Allows: No})),
			cause: CauseAccessDenied, conf: Confirmed,
			says: []string{"platform/base is in account 444455556666, the pulling role " + tRoleName + " in account 111122223333: a cross-account pull needs an Allow in the repository policy",
				"ecr:GetRepositoryPolicy (account 444455556666): the policy does not exist for " + tRoleARN},
			firstFix: `echo '{"Version":"2012-10-17","Statement":[]}' > current.json`,
			fixes:    []string{xPolicyFix, "aws ecr set-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/base --policy-text file://new.json"},
			notFixes: []string{"--output text > current.json", "attach-role-policy"},
			restart:  true,
		},
		{
			name:  "cross-account, policy without an Allow for the role",
			facts: forbidden(tXAccount, nodeRole(allowed()), policy(tXAccount, RepositoryPolicyEvidence{Exists: true, Allows: No})),
			cause: CauseAccessDenied, conf: Confirmed,
			says:     []string{"ecr:GetRepositoryPolicy (account 444455556666): the policy has no statement allowing it for " + tRoleARN},
			firstFix: "aws ecr get-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/base --query policyText --output text > current.json",
			fixes:    []string{xPolicyFix, "--registry-id 444455556666 --repository-name platform/base --policy-text file://new.json"},
			notFixes: []string{"echo '{", "attach-role-policy"},
			restart:  true,
		},
		{
			// Fargate: the principal in the repository policy is the pod execution role (DOMAIN C16).
			name:  "cross-account on Fargate",
			facts: forbidden(tXAccount, onFargate, fargateRole(allowed()), policy(tXAccount, RepositoryPolicyEvidence{Exists: true, Allows: No})),
			cause: CauseAccessDenied, conf: Confirmed,
			fixes:    []string{`"Principal":{"AWS":"` + tFargateARN + `"}`},
			notFixes: []string{"ROLE_ARN=$(", tRoleARN},
			restart:  true,
		},
		{
			name: "cross-account, the policy allows: the refusal comes from elsewhere",
			facts: forbidden(tXAccount, nodeRole(allowed()), policy(tXAccount, RepositoryPolicyEvidence{Exists: true, Allows: Yes,
				Conditions: []string{"aws:PrincipalOrgID", "aws:SourceVpce"}})),
			cause: CauseAccessDenied, conf: Likely,
			says: []string{"iam:SimulatePrincipalPolicy allows " + tRoleName + " ecr:BatchGetImage on " + tXAccountRepo + ": the refusal comes from elsewhere",
				"the repository policy's statements carry conditions: aws:PrincipalOrgID, aws:SourceVpce"},
			fixes:    []string{"aws ecr get-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/base"},
			notFixes: []string{"attach-role-policy", "set-repository-policy"},
			alts:     []Cause{CauseEndpointPolicyDenied},
			restart:  true,
		},
		{
			// Same account: the identity policy suffices, no repository policy Allow is needed.
			name:  "same account, policy without an Allow",
			facts: forbidden(ecrImage, nodeRole(allowed()), policy(ecrImage, RepositoryPolicyEvidence{Exists: true, Allows: No})),
			cause: CauseAccessDenied, conf: Likely,
			says:     []string{"the refusal comes from elsewhere"},
			notFixes: []string{"set-repository-policy", "attach-role-policy"},
			alts:     []Cause{CauseEndpointPolicyDenied},
			restart:  true,
		},
		{
			name:  "everything allowed",
			facts: forbidden(ecrImage, nodeRole(allowed()), withNetwork("", allEndpoints())),
			cause: CauseAccessDenied, conf: Likely,
			says:     []string{"iam:SimulatePrincipalPolicy allows " + tRoleName + " ecr:BatchGetImage on " + tRepoARN + ": the refusal comes from elsewhere (repository policy conditions, an SCP, a permissions boundary, or an endpoint policy)"},
			fixes:    []string{"aws ecr get-repository-policy --region us-west-2 --registry-id 111122223333 --repository-name payments/api"},
			notFixes: []string{"attach-role-policy", "$NODE_ROLE"},
			alts:     []Cause{CauseEndpointPolicyDenied},
			restart:  true,
		},
		{
			// The principal is known but IAM was not asked: the generic fixes stay.
			name:  "role known, no simulation",
			facts: forbidden(ecrImage, nodeRole(nil)),
			cause: CauseAccessDenied, conf: Likely,
			fixes:   []string{`aws iam attach-role-policy --role-name "$NODE_ROLE"`},
			alts:    []Cause{CauseEndpointPolicyDenied},
			restart: true,
		},
	})
}
