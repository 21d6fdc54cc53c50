package awsfake

import (
	"strings"
	"time"
)

// IDs and names of the worked example (DOMAIN.md), for tests to refer to.
const (
	ExampleAccount        = "111122223333"
	ExampleRegistryAcct   = "444455556666"
	ExampleRegion         = "us-west-2"
	ExampleInstanceID     = "i-0abc1234def567890"
	ExampleSubnetID       = "subnet-0123abcd4567ef890"
	ExampleSubnet2ID      = "subnet-0456abcd7890ef123"
	ExampleVpcID          = "vpc-0a1b2c3d4e5f67890"
	ExampleZone           = "us-west-2a"
	ExampleRouteTableID   = "rtb-0fedcba9876543210"
	ExampleMainRouteTable = "rtb-0a0b0c0d0e0f01234"
	ExampleNatGatewayID   = "nat-0a1b2c3d4e5f67890"
	ExampleInternetGW     = "igw-0a1b2c3d4e5f67890"
	ExampleNodeSG         = "sg-0node234567890abcd"
	ExampleEndpointSG     = "sg-0ecr1234567890abc"
	ExampleECRAPIEndpoint = "vpce-0ecrapi1234567890"
	ExampleECRDKREndpoint = "vpce-0ecrdkr1234567890"
	ExampleS3Endpoint     = "vpce-0s3gw1234567890"
	ExampleS3PrefixList   = "pl-68a54001"
	ExampleProfileName    = "eks-ng-general-profile"
	ExampleNodeRole       = "eks-ng-general-NodeInstanceRole"
	ExampleFargateRole    = "AmazonEKSFargatePodExecutionRole"
	ExampleCluster        = "prod-eks"
	ExampleNodegroup      = "ng-general"
	ExampleFargateProfile = "fp-payments"
	ExampleRepository     = "payments/api"
	ExampleKMSRepository  = "payments/ledger"
	ExampleCrossAcctRepo  = "platform/base"
	ExampleKMSKeyID       = "1234abcd-12ab-34cd-56ef-1234567890ab"
	ExampleKMSAlias       = "alias/ecr-payments"
	ExampleKMSGrantID     = "0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d"
	ExampleMultiArchTag   = "1.8.1-multiarch"
	ExampleArchivedTag    = "1.7.0"

	PolicyPullOnly       = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly"
	PolicyReadOnly       = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
	PolicyFargatePodExec = "arn:aws:iam::aws:policy/AmazonEKSFargatePodExecutionRolePolicy"
	PolicyWorkerNode     = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
	PolicyCNI            = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
)

// ExampleNow is the clock of WorkedExample.
var ExampleNow = time.Date(2026, 8, 22, 10, 0, 0, 0, time.UTC)

// AWSManagedPolicies returns the AWS managed policies the worked example uses. The ECR
// and Fargate documents list the actions AWS's versions grant; the worker-node and CNI
// documents are shortened to their EC2/EKS describe actions.
func AWSManagedPolicies() map[string]*ManagedPolicy {
	return map[string]*ManagedPolicy{
		PolicyPullOnly:       {Name: "AmazonEC2ContainerRegistryPullOnly", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchImportUpstreamImage"],"Resource":"*"}]}`},
		PolicyReadOnly:       {Name: "AmazonEC2ContainerRegistryReadOnly", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:GetRepositoryPolicy","ecr:DescribeRepositories","ecr:ListImages","ecr:DescribeImages","ecr:BatchGetImage","ecr:GetLifecyclePolicy","ecr:GetLifecyclePolicyPreview","ecr:ListTagsForResource","ecr:DescribeImageScanFindings"],"Resource":"*"}]}`},
		PolicyFargatePodExec: {Name: "AmazonEKSFargatePodExecutionRolePolicy", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage"],"Resource":"*"}]}`},
		PolicyWorkerNode:     {Name: "AmazonEKSWorkerNodePolicy", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeInstanceTypes","ec2:DescribeRouteTables","ec2:DescribeSecurityGroups","ec2:DescribeSubnets","ec2:DescribeVolumes","ec2:DescribeVolumesModifications","ec2:DescribeVpcs","eks:DescribeCluster","eks-auth:AssumeRoleForPodIdentity"],"Resource":"*"}]}`},
		PolicyCNI:            {Name: "AmazonEKS_CNI_Policy", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:AssignPrivateIpAddresses","ec2:AttachNetworkInterface","ec2:CreateNetworkInterface","ec2:DeleteNetworkInterface","ec2:DescribeInstances","ec2:DescribeTags","ec2:DescribeNetworkInterfaces","ec2:DescribeInstanceTypes","ec2:DescribeSubnets","ec2:DetachNetworkInterface","ec2:ModifyNetworkInterfaceAttribute","ec2:UnassignPrivateIpAddresses"],"Resource":"*"}]}`},
	}
}

// WorkedExample returns a fresh Scenario with the values of the reference worked example:
// account 111122223333 in us-west-2; node i-0abc1234def567890 in subnet-0123abcd4567ef890 /
// vpc-0a1b2c3d4e5f67890 / us-west-2a with instance profile eks-ng-general-profile →
// role eks-ng-general-NodeInstanceRole (AmazonEC2ContainerRegistryPullOnly attached); the
// subnet's route table rtb-0fedcba9876543210 with a NAT default route and the S3 gateway
// endpoint route; ecr.api, ecr.dkr and S3 endpoints; repository payments/api with tags
// 1.8.1 and 1.8.0 (no 1.8.2), the multi-arch index 1.8.1-multiarch, the ARCHIVED tag 1.7.0
// and a lifecycle policy; KMS-encrypted payments/ledger; platform/base in account
// 444455556666 with a repository policy that does not name the cluster account; PTC
// rules docker-hub and ecr-public; cluster prod-eks with node group ng-general and
// Fargate profile fp-payments; KMS key 1234abcd-… (alias/ecr-payments) with ECR's grant for
// payments/ledger.
func WorkedExample() *Scenario {
	now := ExampleNow
	day := 24 * time.Hour

	amd := SingleArchImage("payments-api-1.8.1-multiarch", "amd64", 48_213_112, now.Add(-5*day))
	arm := SingleArchImage("payments-api-1.8.1-multiarch", "arm64", 46_998_420, now.Add(-5*day))
	arm.Platform.Variant = "v8"
	amd.LastPulledAt = now.Add(-2 * time.Hour)
	arm.LastPulledAt = now.Add(-3 * time.Hour)
	index := IndexImage(now.Add(-5*day), []*Image{amd, arm}, ExampleMultiArchTag)
	index.LastPulledAt = now.Add(-2 * time.Hour)

	v181 := SingleArchImage("payments-api-1.8.1", "amd64", 48_113_002, now.Add(-12*day), "1.8.1")
	v181.LastPulledAt = now.Add(-1 * time.Hour)
	v180 := SingleArchImage("payments-api-1.8.0", "amd64", 47_990_316, now.Add(-40*day), "1.8.0")
	v180.LastPulledAt = now.Add(-9 * day)
	v170 := SingleArchImage("payments-api-1.7.0", "amd64", 45_001_554, now.Add(-200*day), ExampleArchivedTag)
	v170.Status = "ARCHIVED"
	v170.LastPulledAt = now.Add(-120 * day)

	ledger := SingleArchImage("payments-ledger-3.2.0", "amd64", 61_440_000, now.Add(-20*day), "3.2.0")
	base := SingleArchImage("platform-base-2024.06", "amd64", 30_118_220, now.Add(-60*day), "2024.06")

	keyArn := "arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID
	nodeRoleArn := "arn:aws:iam::111122223333:role/" + ExampleNodeRole
	fargateRoleArn := "arn:aws:iam::111122223333:role/" + ExampleFargateRole

	return &Scenario{
		Account: ExampleAccount,
		Region:  ExampleRegion,
		Now:     now,
		Caller: Caller{
			Arn:    "arn:aws:sts::111122223333:assumed-role/pullcheck-bot/pullcheck",
			UserID: "AROAEXAMPLEPULLCHECK1:pullcheck",
		},
		Denied: map[string]bool{},

		Repositories: []*Repository{
			{
				Name:      ExampleRepository,
				CreatedAt: now.Add(-400 * day),
				Images:    []*Image{v181, v180, index, amd, arm, v170},
				LifecyclePolicy: `{"rules":[` +
					`{"rulePriority":1,"description":"expire untagged images after 14 days","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}},` +
					`{"rulePriority":2,"description":"keep the last 20 release images","selection":{"tagStatus":"tagged","tagPrefixList":["1."],"countType":"imageCountMoreThan","countNumber":20},"action":{"type":"expire"}},` +
					`{"rulePriority":3,"description":"archive images not pulled for 90 days","selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90},"action":{"type":"transition","targetStorageClass":"archive"}}]}`,
			},
			{
				Name:           ExampleKMSRepository,
				CreatedAt:      now.Add(-300 * day),
				EncryptionType: "KMS",
				KMSKey:         keyArn,
				Images:         []*Image{ledger},
			},
			{
				RegistryID: ExampleRegistryAcct,
				Name:       ExampleCrossAcctRepo,
				CreatedAt:  now.Add(-700 * day),
				Images:     []*Image{base},
				Policy:     `{"Version":"2012-10-17","Statement":[{"Sid":"AllowPullFromCiAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::777788889999:root"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]}`,
			},
		},
		PullThroughCacheRules: []*PullThroughCacheRule{
			{
				EcrRepositoryPrefix: "docker-hub",
				UpstreamRegistryURL: "registry-1.docker.io",
				UpstreamRegistry:    "docker-hub",
				CredentialArn:       "arn:aws:secretsmanager:us-west-2:111122223333:secret:ecr-pullthroughcache/docker-hub-AbCdEf",
				CreatedAt:           now.Add(-90 * day),
			},
			{
				EcrRepositoryPrefix: "ecr-public",
				UpstreamRegistryURL: "public.ecr.aws",
				UpstreamRegistry:    "ecr-public",
				CreatedAt:           now.Add(-90 * day),
			},
		},

		ManagedPolicies: AWSManagedPolicies(),
		Roles: []*Role{
			{
				Name:             ExampleNodeRole,
				ID:               "AROAEXAMPLENODEROLE01",
				CreatedAt:        now.Add(-400 * day),
				AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
				AttachedPolicies: []string{PolicyWorkerNode, PolicyCNI, PolicyPullOnly},
			},
			{
				Name:             ExampleFargateRole,
				ID:               "AROAEXAMPLEFARGATE001",
				CreatedAt:        now.Add(-400 * day),
				AssumeRolePolicy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pods.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:eks:us-west-2:111122223333:fargateprofile/prod-eks/*"}}}]}`,
				AttachedPolicies: []string{PolicyFargatePodExec},
			},
		},
		InstanceProfiles: []*InstanceProfile{
			{Name: ExampleProfileName, ID: "AIPAEXAMPLENODEPROF01", CreatedAt: now.Add(-400 * day), Roles: []string{ExampleNodeRole}},
		},

		Instances: []*Instance{
			{
				ID:                 ExampleInstanceID,
				InstanceType:       "m7i.large",
				Architecture:       "x86_64",
				SubnetID:           ExampleSubnetID,
				VpcID:              ExampleVpcID,
				AvailabilityZone:   ExampleZone,
				PrivateIP:          "10.0.12.34",
				PrivateDNSName:     "ip-10-0-12-34.us-west-2.compute.internal",
				InstanceProfileArn: "arn:aws:iam::111122223333:instance-profile/" + ExampleProfileName,
				SecurityGroupIDs:   []string{ExampleNodeSG},
				LaunchTime:         now.Add(-3 * day),
			},
		},
		VPCs: []*VPC{
			{ID: ExampleVpcID, CIDR: "10.0.0.0/16", EnableDNSSupport: true, EnableDNSHostnames: true},
		},
		Subnets: []*Subnet{
			{ID: ExampleSubnetID, VpcID: ExampleVpcID, AvailabilityZone: ExampleZone, CIDR: "10.0.12.0/22"},
			{ID: ExampleSubnet2ID, VpcID: ExampleVpcID, AvailabilityZone: "us-west-2b", CIDR: "10.0.16.0/22"},
		},
		RouteTables: []*RouteTable{
			{
				ID:        ExampleRouteTableID,
				VpcID:     ExampleVpcID,
				SubnetIDs: []string{ExampleSubnetID, ExampleSubnet2ID},
				Routes: []Route{
					{DestinationCIDR: "10.0.0.0/16", GatewayID: "local"},
					{DestinationCIDR: "0.0.0.0/0", NatGatewayID: ExampleNatGatewayID},
					{DestinationPrefixListID: ExampleS3PrefixList, GatewayID: ExampleS3Endpoint},
				},
			},
			{
				ID:    ExampleMainRouteTable,
				VpcID: ExampleVpcID,
				Main:  true,
				Routes: []Route{
					{DestinationCIDR: "10.0.0.0/16", GatewayID: "local"},
					{DestinationCIDR: "0.0.0.0/0", GatewayID: ExampleInternetGW},
				},
			},
		},
		VpcEndpoints: []*VpcEndpoint{
			{
				ID: ExampleECRAPIEndpoint, VpcID: ExampleVpcID, ServiceName: "com.amazonaws.us-west-2.ecr.api",
				Type: "Interface", PrivateDNSEnabled: true,
				SubnetIDs: []string{ExampleSubnetID, ExampleSubnet2ID}, SecurityGroupIDs: []string{ExampleEndpointSG},
				CreatedAt: now.Add(-300 * day),
			},
			{
				ID: ExampleECRDKREndpoint, VpcID: ExampleVpcID, ServiceName: "com.amazonaws.us-west-2.ecr.dkr",
				Type: "Interface", PrivateDNSEnabled: true,
				SubnetIDs: []string{ExampleSubnetID, ExampleSubnet2ID}, SecurityGroupIDs: []string{ExampleEndpointSG},
				CreatedAt: now.Add(-300 * day),
			},
			{
				ID: ExampleS3Endpoint, VpcID: ExampleVpcID, ServiceName: "com.amazonaws.us-west-2.s3",
				Type: "Gateway", RouteTableIDs: []string{ExampleRouteTableID},
				CreatedAt: now.Add(-300 * day),
			},
		},
		SecurityGroups: []*SecurityGroup{
			{
				ID: ExampleNodeSG, Name: "eks-cluster-sg-prod-eks-123456789", Description: "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.",
				VpcID:   ExampleVpcID,
				Ingress: []Permission{{Protocol: "-1", GroupIDs: []string{ExampleNodeSG}}},
				Egress:  []Permission{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}},
			},
			{
				ID: ExampleEndpointSG, Name: "ecr-endpoints", Description: "ECR interface endpoints",
				VpcID:   ExampleVpcID,
				Ingress: []Permission{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"10.0.0.0/16"}}},
				Egress:  []Permission{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}},
			},
		},
		PrefixLists: []*PrefixList{
			{ID: ExampleS3PrefixList, Name: "com.amazonaws.us-west-2.s3", CIDRs: []string{"3.5.76.0/22", "18.34.244.0/22", "18.34.48.0/20", "3.5.80.0/21", "52.218.128.0/17", "52.92.128.0/17"}},
			{ID: "pl-00a54069", Name: "com.amazonaws.us-west-2.dynamodb", CIDRs: []string{"52.94.24.0/23", "52.119.232.0/21"}},
		},

		Clusters: []*Cluster{
			{
				Name:                   ExampleCluster,
				Version:                "1.33",
				RoleArn:                "arn:aws:iam::111122223333:role/prod-eks-cluster-role",
				VpcID:                  ExampleVpcID,
				SubnetIDs:              []string{ExampleSubnetID, ExampleSubnet2ID},
				ClusterSecurityGroupID: ExampleNodeSG,
				OIDCIssuer:             "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
				CreatedAt:              now.Add(-400 * day),
				Nodegroups: []*Nodegroup{{
					Name:          ExampleNodegroup,
					NodeRole:      nodeRoleArn,
					Subnets:       []string{ExampleSubnetID, ExampleSubnet2ID},
					InstanceTypes: []string{"m7i.large"},
					AMIType:       "AL2023_x86_64_STANDARD",
					DiskSize:      20,
					CreatedAt:     now.Add(-400 * day),
				}},
				FargateProfiles: []*FargateProfile{{
					Name:                ExampleFargateProfile,
					PodExecutionRoleArn: fargateRoleArn,
					Subnets:             []string{ExampleSubnetID, ExampleSubnet2ID},
					Selectors:           []FargateSelector{{Namespace: "payments", Labels: map[string]string{"compute": "fargate"}}},
					CreatedAt:           now.Add(-200 * day),
				}},
			},
		},
		KMSKeys: []*KMSKey{
			{ID: ExampleKMSKeyID, Description: "ECR repository encryption for payments", Aliases: []string{ExampleKMSAlias}, CreatedAt: now.Add(-300 * day),
				Grants: []KMSGrant{ECRGrant(ExampleKMSGrantID, ExampleRegion, "arn:aws:ecr:us-west-2:111122223333:repository/"+ExampleKMSRepository, now.Add(-300*day))}},
		},
	}
}

// ECRGrant is the grant ECR makes on a repository's KMS key when it creates a KMS-encrypted
// repository: to ECR's regional service principal, constrained to the repository's ARN.
// The shape (principal, operations, the aws:ecr:arn context key) is inferred from the ECR
// guide's encryption-at-rest page and its CloudTrail examples as remembered, not copied from
// a captured ListGrants answer.
func ECRGrant(id, region, repositoryARN string, created time.Time) KMSGrant {
	ecr := "ecr." + region + ".amazonaws.com"
	return KMSGrant{
		ID: id, Name: "ecr-" + repositoryARN[strings.LastIndex(repositoryARN, ":repository/")+len(":repository/"):],
		GranteePrincipal: ecr, RetiringPrincipal: ecr,
		Operations:        []string{"Decrypt", "Encrypt", "GenerateDataKey", "RetireGrant", "DescribeKey"},
		EncryptionContext: map[string]string{"aws:ecr:arn": repositoryARN},
		CreatedAt:         created,
	}
}
