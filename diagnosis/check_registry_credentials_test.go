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
