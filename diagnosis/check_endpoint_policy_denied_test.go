package diagnosis

import (
	"strings"
	"testing"
)

func TestCheckLayerDenied(t *testing.T) {
	layer403 := layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden")
	blob403 := layerErr(ecrImage, "unexpected status code https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/payments/api/blobs/sha256:9f8e7d6c: 403 Forbidden")
	runCheckCases(t, checkLayerDenied, []checkCase{
		{
			name:  "403 on the starport layer bucket",
			facts: newFacts(pullFailed("api", layer403)),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			says: []string{"prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com"},
			fixes: []string{
				"VPC=$(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890",
				"Name=service-name,Values=com.amazonaws.us-west-2.s3",
				"arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*",
				"aws ec2 modify-vpc-endpoint --region us-west-2",
			},
			notes:   []string{"NetworkPolicy cannot block an image pull"},
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "403 on an ECR blob redirect (not the bucket itself)",
			facts: newFacts(pullFailed("api", blob403)),
			cause: CauseEndpointPolicyDenied, conf: Possible,
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{
			// Without an instance the node's VPC is unknown: no command may use $VPC.
			name:  "Fargate node",
			facts: newFacts(onFargate, pullFailed("api", layer403)),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			fixes:   []string{"Name=service-name,Values=com.amazonaws.us-west-2.s3"},
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{name: "manifest 403 belongs to access-denied", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))), wantNil: true},
		{name: "layer timeout belongs to registry-unreachable", facts: newFacts(pullFailed("api", layerErr(ecrImage, `failed to do request: Get "`+layerURL+`": dial tcp 52.218.1.1:443: i/o timeout`))), wantNil: true},
	})
}

// TestCheckLayerDeniedEvidence: a 403 on ECR's layer bucket is the S3 endpoint policy, the
// repository's KMS key, or the role's ecr:GetDownloadUrlForLayer (DOMAIN C02, C10, C11).
func TestCheckLayerDeniedEvidence(t *testing.T) {
	const china = "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2"
	const east = "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api:1.8.2"
	chinaURL := strings.ReplaceAll(strings.Replace(layerURL, "amazonaws.com", "amazonaws.com.cn", 1), "us-west-2", "cn-north-1")
	eastURL := strings.ReplaceAll(layerURL, "us-west-2", "us-east-1")
	layer403 := func(image, url string, mods ...func(*Facts)) *Facts {
		return newFacts(append([]func(*Facts){withImage("api", image), pullFailed("api", layerErr(image, "unexpected status code "+url+": 403 Forbidden"))}, mods...)...)
	}
	s3Denies := func(mods ...func(*VPCEndpoint)) eps {
		return eps{"ecr.api": iface(tEpAPI), "ecr.dkr": iface(tEpDKR),
			"s3": gateway(tEpS3, append([]func(*VPCEndpoint){denies("s3:GetObject on arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*")}, mods...)...)}
	}
	kmsRepo := func(image, state string) func(*Facts) {
		return withECR(image, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, EncryptionType: "KMS", KMSKey: tKMSKey, KMSKeyState: state})
	}
	runCheckCases(t, checkLayerDenied, []checkCase{
		{
			name:  "S3 gateway endpoint policy refuses the layer bucket",
			facts: layer403(ecrImage, layerURL, nodeRole(allowed()), withNetwork("", s3Denies())),
			cause: CauseEndpointPolicyDenied, conf: Confirmed,
			says: []string{"The policy of S3 gateway endpoint " + tEpS3 + " on the node's route table " + tRouteTable + " does not allow s3:GetObject on arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*",
				"endpoint " + tEpS3 + "'s policy refuses s3:GetObject"},
			firstFix: "aws ec2 describe-vpc-endpoints --region us-west-2 --vpc-endpoint-ids " + tEpS3 + " --query 'VpcEndpoints[0].PolicyDocument' --output text > current.json",
			fixes: []string{
				`jq '.Statement += [{"Sid":"AllowEcrLayers","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"}]' current.json > new.json`,
				"aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id " + tEpS3 + " --policy-document file://new.json",
			},
			notFixes: []string{"$VPC", "describe-instances"},
			notes:    []string{"NetworkPolicy cannot block an image pull"},
			restart:  true,
		},
		{
			// The route table lost the endpoint and NAT carries the layers: its policy is not on the path.
			name:  "S3 endpoint policy refuses, but the endpoint is not on the route table",
			facts: layer403(ecrImage, layerURL, nodeRole(allowed()), withNetwork(tNAT, s3Denies(offRouteTable))),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			fixes:   []string{"VPC=$(aws ec2 describe-instances --region us-west-2 --instance-ids " + tInstance},
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{
			// The bucket's ARN is in the aws-cn partition: an arn:aws: statement would match nothing.
			name: "China: the layer bucket ARN is arn:aws-cn",
			facts: layer403(china, chinaURL, withNodeRegion("cn-north-1"), nodeRole(allowed()),
				withNetwork("", eps{"s3": gateway(tEpS3, denies("s3:GetObject on arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"))})),
			cause: CauseEndpointPolicyDenied, conf: Confirmed,
			fixes:    []string{`"Resource":"arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"`, "--region cn-north-1 --vpc-endpoint-id " + tEpS3},
			notFixes: []string{"arn:aws:s3:::"},
			restart:  true,
		},
		{
			name:  "China without network evidence",
			facts: layer403(china, chinaURL, withNodeRegion("cn-north-1")),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			fixes:    []string{"Name=service-name,Values=cn.com.amazonaws.cn-north-1.s3", `"Resource":"arn:aws-cn:s3:::prod-cn-north-1-starport-layer-bucket/*"`},
			notFixes: []string{"arn:aws:s3:::", "Values=com.amazonaws."},
			alts:     []Cause{CauseKMSDenied, CauseAccessDenied},
			restart:  true,
		},
		{
			// The node's S3 endpoint serves us-west-2 only: a us-east-1 bucket goes through NAT.
			name:  "layer bucket in another region: the node's S3 endpoint is not on the path",
			facts: layer403(east, eastURL, nodeRole(allowed()), withNetwork(tNAT, s3Denies())),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "repository key disabled",
			facts: layer403(ecrImage, layerURL, kmsRepo(ecrImage, "Disabled"), nodeRole(allowed()), withNetwork("", allEndpoints())),
			cause: CauseKMSDenied, conf: Confirmed,
			says: []string{"The KMS key " + tKMSKey + " that encrypts payments/api is Disabled",
				"ecr:DescribeRepositories: payments/api is encrypted with KMS key " + tKMSKey + "; kms:DescribeKey: Disabled"},
			firstFix: "aws kms enable-key --region us-west-2 --key-id " + tKMSKey,
			notFixes: []string{"$KEY", "cancel-key-deletion"},
			verify:   []string{"aws kms describe-key --region us-west-2 --key-id " + tKMSKey + " --query KeyMetadata.KeyState"},
			notes:    []string{"kms:Decrypt to the node role is not the documented fix"},
			restart:  true,
		},
		{
			name:  "repository key pending deletion",
			facts: layer403(ecrImage, layerURL, kmsRepo(ecrImage, "PendingDeletion")),
			cause: CauseKMSDenied, conf: Confirmed,
			says:     []string{"scheduled for deletion"},
			firstFix: "aws kms cancel-key-deletion --region us-west-2 --key-id " + tKMSKey,
			fixes:    []string{"aws kms enable-key --region us-west-2 --key-id " + tKMSKey},
			restart:  true,
		},
		{
			// An enabled key does not explain a layer 403: the endpoint policy stays the suspect.
			name:  "repository key enabled",
			facts: layer403(ecrImage, layerURL, kmsRepo(ecrImage, "Enabled")),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "role may not call GetDownloadUrlForLayer",
			facts: layer403(ecrImage, layerURL, nodeRole(allowed("ecr:GetDownloadUrlForLayer", "implicitDeny")), withNetwork("", allEndpoints())),
			cause: CauseAccessDenied, conf: Confirmed,
			says: []string{"The role " + tRoleName + " may read the manifest of " + ecrImage + " but not its layers: ecr:GetDownloadUrlForLayer is implicitDeny",
				"iam:SimulatePrincipalPolicy for " + tRoleARN + " on " + tRepoARN + ": ecr:GetDownloadUrlForLayer implicitDeny"},
			firstFix: "aws iam attach-role-policy --role-name " + tRoleName + " --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
			verify:   []string{"--policy-source-arn " + tRoleARN},
			notes:    []string{"has no effect on image pulls"},
			restart:  true,
		},
		{
			name:  "S3 endpoint fine, role and key fine",
			facts: layer403(ecrImage, layerURL, nodeRole(allowed()), withNetwork("", allEndpoints()), kmsRepo(ecrImage, "Enabled")),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
	})
}
