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
