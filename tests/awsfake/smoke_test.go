package awsfake

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestSmoke(t *testing.T) {
	s := New(WorkedExample())
	defer s.Close()
	ctx := context.Background()
	cfg := s.SDKConfig(ctx)
	e := ecr.NewFromConfig(cfg)
	out, err := e.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("payments/api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1.8.1")}}})
	t.Logf("%+v %v", out, err)
	if out != nil { t.Logf("%+v %v", out.ImageDetails[0], *out.ImageDetails[0].ImagePushedAt) }
	_, err = e.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("payments/api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1.8.2")}}})
	t.Logf("%T %v", err, err)
	i := iam.NewFromConfig(cfg)
	ip, err := i.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("eks-ng-general-profile")})
	t.Logf("%+v %v", ip, err)
	if ip != nil { t.Logf("%+v", ip.InstanceProfile.Roles) }
	_, err = i.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
	t.Logf("%T %v", err, err)
	_, err = i.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(ExampleNodeRole), PolicyArn: aws.String(PolicyReadOnly)})
	t.Logf("attach %v", err)
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	t.Logf("%+v %v", id, err)
	di, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ExampleInstanceID}})
	t.Logf("%v", err)
	if di != nil { t.Logf("%+v", di.Reservations[0].Instances[0]) }
	_, err = ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-nope"}})
	t.Logf("%T %v", err, err)
	fp, err := eks.NewFromConfig(cfg).DescribeFargateProfile(ctx, &eks.DescribeFargateProfileInput{ClusterName: aws.String("prod-eks"), FargateProfileName: aws.String("fp-payments")})
	t.Logf("%v", err)
	if fp != nil { t.Logf("%+v", fp.FargateProfile) }
	_, err = eks.NewFromConfig(cfg).DescribeFargateProfile(ctx, &eks.DescribeFargateProfileInput{ClusterName: aws.String("prod-eks"), FargateProfileName: aws.String("fp-x")})
	t.Logf("%T %v", err, err)
	k, err := kms.NewFromConfig(cfg).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ExampleKMSAlias)})
	t.Logf("%v", err)
	if k != nil { t.Logf("%+v", k.KeyMetadata) }
	outc, err := s.RunCLI(t, `aws ecr describe-images --repository-name payments/api --image-ids imageTag=1.7.0
aws ecr update-image-storage-class --repository-name payments/api --image-id imageTag=1.7.0 --target-storage-class STANDARD
aws iam simulate-principal-policy --policy-source-arn arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole --action-names ecr:GetAuthorizationToken ecr:DescribeImages --output text
aws ec2 describe-route-tables --filters Name=association.subnet-id,Values=subnet-0123abcd4567ef890 --query 'RouteTables[].Routes' 
aws eks describe-fargate-profile --cluster-name prod-eks --fargate-profile-name fp-payments
aws sts get-caller-identity
aws kms describe-key --key-id alias/ecr-payments
`)
	t.Logf("%s\n%v", outc, err)
	t.Log(s.Calls())
}
