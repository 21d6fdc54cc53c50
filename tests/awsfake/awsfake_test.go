package awsfake

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

type clients struct {
	ecr *ecr.Client
	iam *iam.Client
	sts *sts.Client
	ec2 *ec2.Client
	eks *eks.Client
	kms *kms.Client
}

func newClients(cfg aws.Config) clients {
	return clients{
		ecr: ecr.NewFromConfig(cfg),
		iam: iam.NewFromConfig(cfg),
		sts: sts.NewFromConfig(cfg),
		ec2: ec2.NewFromConfig(cfg),
		eks: eks.NewFromConfig(cfg),
		kms: kms.NewFromConfig(cfg),
	}
}

// start runs a server over the worked example, changed by setup.
func start(t testing.TB, setup func(*Scenario)) (*Server, clients) {
	t.Helper()
	sc := WorkedExample()
	if setup != nil {
		setup(sc)
	}
	s := New(sc)
	t.Cleanup(s.Close)
	return s, newClients(s.SDKConfig(context.Background()))
}

func errAs[T error]() func(error) bool {
	return func(err error) bool {
		var target T
		return errors.As(err, &target)
	}
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

var example = WorkedExample()

func digest(repo, tag string) string { return example.Repository(repo).Image(tag).Digest }

func TestSDKOperations(t *testing.T) {
	repo := aws.String(ExampleRepository)
	nodeRoleArn := "arn:aws:iam::111122223333:role/" + ExampleNodeRole
	pullActions := []string{"ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchImportUpstreamImage"}
	simulate := func(ctx context.Context, c clients, resources []string, actions ...string) ([]string, error) {
		out, err := c.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{
			PolicySourceArn: aws.String(nodeRoleArn), ActionNames: actions, ResourceArns: resources,
		})
		if err != nil {
			return nil, err
		}
		var got []string
		for _, r := range out.EvaluationResults {
			got = append(got, aws.ToString(r.EvalActionName)+" "+aws.ToString(r.EvalResourceName)+" "+string(r.EvalDecision))
		}
		return got, nil
	}
	describeTag := func(ctx context.Context, c clients, tag string) (string, error) {
		out, err := c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String(tag)}}})
		if err != nil {
			return "", err
		}
		d := out.ImageDetails[0]
		return aws.ToString(d.ImageDigest) + " " + string(d.ImageStatus), nil
	}

	tests := []struct {
		name     string
		setup    func(*Scenario)
		call     func(ctx context.Context, c clients) (any, error)
		want     any
		wantErr  func(error) bool
		wantCode string
	}{
		// ---- STS ----
		{
			name: "sts GetCallerIdentity",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
				if err != nil {
					return nil, err
				}
				return []string{aws.ToString(out.Account), aws.ToString(out.Arn), aws.ToString(out.UserId)}, nil
			},
			want: []string{"111122223333", "arn:aws:sts::111122223333:assumed-role/pullcheck-bot/pullcheck", "AROAEXAMPLEPULLCHECK1:pullcheck"},
		},
		// ---- ECR ----
		{
			name: "ecr DescribeRepositories by name",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RegistryId: aws.String(ExampleAccount), RepositoryNames: []string{ExampleRepository, ExampleKMSRepository}})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, r := range out.Repositories {
					got = append(got, fmt.Sprintf("%s %s %s %s %s", aws.ToString(r.RepositoryArn), aws.ToString(r.RepositoryUri),
						r.ImageTagMutability, r.EncryptionConfiguration.EncryptionType, aws.ToString(r.EncryptionConfiguration.KmsKey)))
				}
				return got, nil
			},
			want: []string{
				"arn:aws:ecr:us-west-2:111122223333:repository/payments/api 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api MUTABLE AES256 ",
				"arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/ledger MUTABLE KMS arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID,
			},
		},
		{
			name: "ecr DescribeRepositories cross-account registry",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RegistryId: aws.String(ExampleRegistryAcct)})
				if err != nil {
					return nil, err
				}
				return aws.ToString(out.Repositories[0].RepositoryUri), nil
			},
			want: "444455556666.dkr.ecr.us-west-2.amazonaws.com/platform/base",
		},
		{
			name: "ecr DescribeRepositories missing",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"payments/apii"}})
			},
			wantErr: errAs[*ecrtypes.RepositoryNotFoundException](),
		},
		{
			name: "ecr DescribeRepositories in another region",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{ExampleCrossAcctRepo}, RegistryId: aws.String(ExampleRegistryAcct)},
					func(o *ecr.Options) { o.Region = "us-east-1" })
			},
			wantErr: errAs[*ecrtypes.RepositoryNotFoundException](),
		},
		{
			name: "ecr DescribeImages by tag",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1.8.1")}}})
				if err != nil {
					return nil, err
				}
				d := out.ImageDetails[0]
				return map[string]any{
					"tags": d.ImageTags, "digest": aws.ToString(d.ImageDigest), "status": d.ImageStatus,
					"size": aws.ToInt64(d.ImageSizeInBytes), "pushed": aws.ToTime(d.ImagePushedAt), "pulled": aws.ToTime(d.LastRecordedPullTime),
					"mediaType": aws.ToString(d.ImageManifestMediaType), "artifact": aws.ToString(d.ArtifactMediaType),
				}, nil
			},
			want: map[string]any{
				"tags": []string{"1.8.1"}, "digest": digest(ExampleRepository, "1.8.1"), "status": ecrtypes.ImageStatusActive,
				"size": int64(48_113_002), "pushed": ExampleNow.Add(-12 * 24 * time.Hour), "pulled": ExampleNow.Add(-time.Hour),
				"mediaType": MediaTypeOCIManifest, "artifact": MediaTypeOCIConfig,
			},
		},
		{
			name: "ecr DescribeImages by digest and archived tag",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{
					{ImageDigest: aws.String(digest(ExampleRepository, "1.8.0"))}, {ImageTag: aws.String(ExampleArchivedTag)},
				}})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, d := range out.ImageDetails {
					got = append(got, strings.Join(d.ImageTags, ",")+" "+string(d.ImageStatus))
				}
				return got, nil
			},
			want: []string{"1.8.0 ACTIVE", "1.7.0 ARCHIVED"},
		},
		{
			name: "ecr DescribeImages missing tag",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1.8.2")}}})
			},
			wantErr: errAs[*ecrtypes.ImageNotFoundException](),
		},
		{
			name: "ecr DescribeImages lists active images over pages",
			call: func(ctx context.Context, c clients) (any, error) {
				p := ecr.NewDescribeImagesPaginator(c.ecr, &ecr.DescribeImagesInput{RepositoryName: repo, MaxResults: aws.Int32(2)})
				var got []string
				pages := 0
				for p.HasMorePages() {
					out, err := p.NextPage(ctx)
					if err != nil {
						return nil, err
					}
					pages++
					for _, d := range out.ImageDetails {
						got = append(got, strings.Join(d.ImageTags, ",")+"@"+aws.ToString(d.ImageManifestMediaType))
					}
				}
				return fmt.Sprint(pages, got), nil
			},
			want: fmt.Sprint(3, []string{
				"1.8.1@" + MediaTypeOCIManifest, "1.8.0@" + MediaTypeOCIManifest, ExampleMultiArchTag + "@" + MediaTypeOCIIndex,
				"@" + MediaTypeOCIManifest, "@" + MediaTypeOCIManifest,
			}),
		},
		{
			name: "ecr DescribeImages filter ARCHIVED",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: repo, Filter: &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilterArchived}})
				if err != nil {
					return nil, err
				}
				return out.ImageDetails[0].ImageTags, nil
			},
			want: []string{ExampleArchivedTag},
		},
		{
			name: "ecr ListImages tagged, then archived",
			call: func(ctx context.Context, c clients) (any, error) {
				var got []string
				for _, f := range []*ecrtypes.ListImagesFilter{
					{TagStatus: ecrtypes.TagStatusTagged},
					{ImageStatus: ecrtypes.ImageStatusFilterArchived},
				} {
					out, err := c.ecr.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: repo, Filter: f, MaxResults: aws.Int32(1000)})
					if err != nil {
						return nil, err
					}
					for _, id := range out.ImageIds {
						got = append(got, aws.ToString(id.ImageTag))
					}
				}
				return got, nil
			},
			want: []string{"1.8.1", "1.8.0", ExampleMultiArchTag, ExampleArchivedTag},
		},
		{
			name: "ecr BatchGetImage index platforms and failures",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{
					RepositoryName:     repo,
					AcceptedMediaTypes: []string{MediaTypeOCIIndex, MediaTypeDockerList, MediaTypeOCIManifest, MediaTypeDockerManifest},
					ImageIds: []ecrtypes.ImageIdentifier{
						{ImageTag: aws.String(ExampleMultiArchTag)},
						{ImageTag: aws.String("1.8.2")},
						{ImageTag: aws.String("1.8.1"), ImageDigest: aws.String(digest(ExampleRepository, "1.8.0"))},
					},
				})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, im := range out.Images {
					var idx struct {
						MediaType string
						Manifests []struct{ Platform Platform }
					}
					if err := json.Unmarshal([]byte(aws.ToString(im.ImageManifest)), &idx); err != nil {
						return nil, err
					}
					got = append(got, aws.ToString(im.ImageId.ImageTag)+" "+aws.ToString(im.ImageId.ImageDigest)+" "+idx.MediaType+" "+aws.ToString(im.ImageManifestMediaType))
					for _, m := range idx.Manifests {
						got = append(got, "platform "+m.Platform.OS+"/"+m.Platform.Architecture+"/"+m.Platform.Variant)
					}
				}
				for _, f := range out.Failures {
					got = append(got, "failure "+aws.ToString(f.ImageId.ImageTag)+" "+string(f.FailureCode))
				}
				return got, nil
			},
			want: []string{
				ExampleMultiArchTag + " " + digest(ExampleRepository, ExampleMultiArchTag) + " " + MediaTypeOCIIndex + " " + MediaTypeOCIIndex,
				"platform linux/amd64/", "platform linux/arm64/v8",
				"failure 1.8.2 ImageNotFound",
				"failure 1.8.1 ImageTagDoesNotMatchDigest",
			},
		},
		{
			name:  "ecr BatchGetImage KmsError when the key is disabled",
			setup: func(sc *Scenario) { sc.KMSKey(ExampleKMSKeyID).State = "Disabled" },
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String(ExampleKMSRepository), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("3.2.0")}}})
				if err != nil {
					return nil, err
				}
				return fmt.Sprintf("%d %s %s", len(out.Images), out.Failures[0].FailureCode, aws.ToString(out.Failures[0].FailureReason)), nil
			},
			want: "0 KmsError KMS key arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID + " is Disabled",
		},
		{
			name: "ecr GetLifecyclePolicy",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo})
				if err != nil {
					return nil, err
				}
				var lp struct {
					Rules []struct {
						Selection struct{ TagStatus, CountType string }
						Action    struct{ Type string }
					}
				}
				if err := json.Unmarshal([]byte(aws.ToString(out.LifecyclePolicyText)), &lp); err != nil {
					return nil, err
				}
				var got []string
				for _, r := range lp.Rules {
					got = append(got, r.Selection.TagStatus+" "+r.Selection.CountType+" "+r.Action.Type)
				}
				return got, nil
			},
			want: []string{"untagged sinceImagePushed expire", "tagged imageCountMoreThan expire", "any sinceImagePulled transition"},
		},
		{
			name: "ecr GetLifecyclePolicy none",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ecr.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(ExampleKMSRepository)})
			},
			wantErr: errAs[*ecrtypes.LifecyclePolicyNotFoundException](),
		},
		{
			name: "ecr GetRepositoryPolicy cross-account",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RegistryId: aws.String(ExampleRegistryAcct), RepositoryName: aws.String(ExampleCrossAcctRepo)})
				if err != nil {
					return nil, err
				}
				return strings.Contains(aws.ToString(out.PolicyText), "arn:aws:iam::777788889999:root"), nil
			},
			want: true,
		},
		{
			name: "ecr GetRepositoryPolicy none",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ecr.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RepositoryName: repo})
			},
			wantErr: errAs[*ecrtypes.RepositoryPolicyNotFoundException](),
		},
		{
			name: "ecr SetRepositoryPolicy then GetRepositoryPolicy",
			call: func(ctx context.Context, c clients) (any, error) {
				policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + nodeRoleArn + `"},"Action":"ecr:BatchGetImage"}]}`
				if _, err := c.ecr.SetRepositoryPolicy(ctx, &ecr.SetRepositoryPolicyInput{RegistryId: aws.String(ExampleRegistryAcct), RepositoryName: aws.String(ExampleCrossAcctRepo), PolicyText: aws.String(policy)}); err != nil {
					return nil, err
				}
				out, err := c.ecr.GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RegistryId: aws.String(ExampleRegistryAcct), RepositoryName: aws.String(ExampleCrossAcctRepo)})
				if err != nil {
					return nil, err
				}
				return aws.ToString(out.PolicyText) == policy, nil
			},
			want: true,
		},
		{
			name: "ecr DescribePullThroughCacheRules",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, r := range out.PullThroughCacheRules {
					got = append(got, aws.ToString(r.EcrRepositoryPrefix)+" "+aws.ToString(r.UpstreamRegistryUrl)+" "+aws.ToString(r.CredentialArn))
				}
				return got, nil
			},
			want: []string{
				"docker-hub registry-1.docker.io arn:aws:secretsmanager:us-west-2:111122223333:secret:ecr-pullthroughcache/docker-hub-AbCdEf",
				"ecr-public public.ecr.aws ",
			},
		},
		{
			name: "ecr DescribePullThroughCacheRules missing prefix",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ecr.DescribePullThroughCacheRules(ctx, &ecr.DescribePullThroughCacheRulesInput{EcrRepositoryPrefixes: []string{"quay"}})
			},
			wantErr: errAs[*ecrtypes.PullThroughCacheRuleNotFoundException](),
		},
		{
			name: "ecr GetAuthorizationToken",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
				if err != nil {
					return nil, err
				}
				d := out.AuthorizationData[0]
				tok, err := base64.StdEncoding.DecodeString(aws.ToString(d.AuthorizationToken))
				if err != nil {
					return nil, err
				}
				return []any{string(tok), aws.ToString(d.ProxyEndpoint), aws.ToTime(d.ExpiresAt)}, nil
			},
			want: []any{"AWS:" + ECRPassword, "https://111122223333.dkr.ecr.us-west-2.amazonaws.com", ExampleNow.Add(12 * time.Hour)},
		},
		{
			name: "ecr UpdateImageStorageClass restores an archived image",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.UpdateImageStorageClass(ctx, &ecr.UpdateImageStorageClassInput{
					RepositoryName: repo, ImageId: &ecrtypes.ImageIdentifier{ImageTag: aws.String(ExampleArchivedTag)}, TargetStorageClass: ecrtypes.TargetStorageClassStandard,
				})
				if err != nil {
					return nil, err
				}
				after, err := describeTag(ctx, c, ExampleArchivedTag)
				return []string{string(out.ImageStatus), after}, err
			},
			want: []string{"ACTIVE", digest(ExampleRepository, ExampleArchivedTag) + " ACTIVE"},
		},
		{
			name: "ecr PutImage re-tags an existing manifest",
			call: func(ctx context.Context, c clients) (any, error) {
				got, err := c.ecr.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: repo, ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1.8.1")}}})
				if err != nil {
					return nil, err
				}
				if _, err := c.ecr.PutImage(ctx, &ecr.PutImageInput{RepositoryName: repo, ImageTag: aws.String("1.8.2"), ImageManifest: got.Images[0].ImageManifest}); err != nil {
					return nil, err
				}
				return describeTag(ctx, c, "1.8.2")
			},
			want: digest(ExampleRepository, "1.8.1") + " ACTIVE",
		},
		{
			name: "ecr CreateRepository then a duplicate",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("payments/worker"), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable})
				if err != nil || out.Repository.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable {
					return nil, fmt.Errorf("first create: %v %+v", err, out)
				}
				return c.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("payments/worker")})
			},
			wantErr: errAs[*ecrtypes.RepositoryAlreadyExistsException](),
		},
		// ---- IAM ----
		{
			name: "iam GetInstanceProfile",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(ExampleProfileName)})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, r := range out.InstanceProfile.Roles {
					got = append(got, aws.ToString(r.RoleName)+" "+aws.ToString(r.Arn))
				}
				return append(got, aws.ToString(out.InstanceProfile.Arn)), nil
			},
			want: []string{ExampleNodeRole + " " + nodeRoleArn, "arn:aws:iam::111122223333:instance-profile/" + ExampleProfileName},
		},
		{
			name: "iam GetInstanceProfile missing",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("nope")})
			},
			wantErr: errAs[*iamtypes.NoSuchEntityException](),
		},
		{
			name: "iam GetRole",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ExampleFargateRole)})
				if err != nil {
					return nil, err
				}
				return []any{aws.ToString(out.Role.Arn), strings.Contains(aws.ToString(out.Role.AssumeRolePolicyDocument), "eks-fargate-pods.amazonaws.com")}, nil
			},
			want: []any{"arn:aws:iam::111122223333:role/" + ExampleFargateRole, true},
		},
		{
			name: "iam GetRole missing",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
			},
			wantErr: errAs[*iamtypes.NoSuchEntityException](),
		},
		{
			name: "iam ListAttachedRolePolicies",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(ExampleNodeRole)})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, p := range out.AttachedPolicies {
					got = append(got, aws.ToString(p.PolicyName))
				}
				return got, nil
			},
			want: []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly"},
		},
		{
			name: "iam SimulatePrincipalPolicy with the pull policy attached",
			call: func(ctx context.Context, c clients) (any, error) {
				return simulate(ctx, c, nil, "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:DescribeImages")
			},
			want: []string{"ecr:GetAuthorizationToken * allowed", "ecr:BatchGetImage * allowed", "ecr:DescribeImages * implicitDeny"},
		},
		{
			name: "iam AttachRolePolicy makes the pull actions allowed",
			setup: func(sc *Scenario) {
				r := sc.Role(ExampleNodeRole)
				r.AttachedPolicies = slices.DeleteFunc(r.AttachedPolicies, func(a string) bool { return a == PolicyPullOnly })
			},
			call: func(ctx context.Context, c clients) (any, error) {
				before, err := simulate(ctx, c, nil, pullActions...)
				if err != nil {
					return nil, err
				}
				if _, err := c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(ExampleNodeRole), PolicyArn: aws.String(PolicyPullOnly)}); err != nil {
					return nil, err
				}
				after, err := simulate(ctx, c, nil, pullActions...)
				return append(before, after...), err
			},
			want: []string{
				"ecr:GetAuthorizationToken * implicitDeny", "ecr:BatchGetImage * implicitDeny", "ecr:GetDownloadUrlForLayer * implicitDeny", "ecr:BatchImportUpstreamImage * implicitDeny",
				"ecr:GetAuthorizationToken * allowed", "ecr:BatchGetImage * allowed", "ecr:GetDownloadUrlForLayer * allowed", "ecr:BatchImportUpstreamImage * allowed",
			},
		},
		{
			name: "iam AttachRolePolicy of a policy that does not exist",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(ExampleNodeRole), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")})
			},
			wantErr: errAs[*iamtypes.NoSuchEntityException](),
		},
		{
			name: "iam PutRolePolicy scoped allow and explicit deny",
			call: func(ctx context.Context, c clients) (any, error) {
				doc := `{"Version":"2012-10-17","Statement":[` +
					`{"Effect":"Allow","Action":["ecr:DescribeImages"],"Resource":"arn:aws:ecr:us-west-2:111122223333:repository/payments/*"},` +
					`{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger"}]}`
				if _, err := c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(ExampleNodeRole), PolicyName: aws.String("scoped"), PolicyDocument: aws.String(doc)}); err != nil {
					return nil, err
				}
				got, err := c.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(ExampleNodeRole), PolicyName: aws.String("scoped")})
				if err != nil {
					return nil, err
				}
				if d, _ := policyUnescape(aws.ToString(got.PolicyDocument)); d != doc {
					return nil, fmt.Errorf("GetRolePolicy document = %q, want %q", d, doc)
				}
				return simulate(ctx, c, []string{"arn:aws:ecr:us-west-2:111122223333:repository/payments/api", "arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger"},
					"ecr:DescribeImages", "ecr:BatchGetImage")
			},
			want: []string{
				"ecr:DescribeImages arn:aws:ecr:us-west-2:111122223333:repository/payments/api allowed",
				"ecr:DescribeImages arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger allowed",
				"ecr:BatchGetImage arn:aws:ecr:us-west-2:111122223333:repository/payments/api allowed",
				"ecr:BatchGetImage arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger explicitDeny",
			},
		},
		{
			name: "iam PutRolePolicy malformed",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.iam.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(ExampleNodeRole), PolicyName: aws.String("bad"), PolicyDocument: aws.String("{")})
			},
			wantErr: errAs[*iamtypes.MalformedPolicyDocumentException](),
		},
		{
			name: "iam SimulatePrincipalPolicy of a missing role",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.iam.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::111122223333:role/nope"), ActionNames: []string{"ecr:BatchGetImage"}})
			},
			wantErr: errAs[*iamtypes.NoSuchEntityException](),
		},
		// ---- EC2 ----
		{
			name: "ec2 DescribeInstances",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ExampleInstanceID}})
				if err != nil {
					return nil, err
				}
				i := out.Reservations[0].Instances[0]
				return map[string]string{
					"profile": aws.ToString(i.IamInstanceProfile.Arn), "subnet": aws.ToString(i.SubnetId), "vpc": aws.ToString(i.VpcId),
					"az": aws.ToString(i.Placement.AvailabilityZone), "sg": aws.ToString(i.SecurityGroups[0].GroupId), "arch": string(i.Architecture),
					"imds": string(i.MetadataOptions.HttpEndpoint), "tokens": string(i.MetadataOptions.HttpTokens), "state": string(i.State.Name),
					"dns": aws.ToString(i.PrivateDnsName),
				}, nil
			},
			want: map[string]string{
				"profile": "arn:aws:iam::111122223333:instance-profile/eks-ng-general-profile", "subnet": ExampleSubnetID, "vpc": ExampleVpcID,
				"az": ExampleZone, "sg": ExampleNodeSG, "arch": "x86_64", "imds": "enabled", "tokens": "required", "state": "running",
				"dns": "ip-10-0-12-34.us-west-2.compute.internal",
			},
		},
		{
			name: "ec2 DescribeInstances missing",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0000000000000dead"}})
			},
			wantCode: "InvalidInstanceID.NotFound",
		},
		{
			name: "ec2 DescribeInstances by filter",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("private-dns-name"), Values: []string{"ip-10-0-12-34.*"}}}})
				if err != nil {
					return nil, err
				}
				return aws.ToString(out.Reservations[0].Instances[0].InstanceId), nil
			},
			want: ExampleInstanceID,
		},
		{
			name: "ec2 DescribeSubnets",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{ExampleSubnetID}})
				if err != nil {
					return nil, err
				}
				s := out.Subnets[0]
				return []string{aws.ToString(s.VpcId), aws.ToString(s.AvailabilityZone), aws.ToString(s.CidrBlock)}, nil
			},
			want: []string{ExampleVpcID, ExampleZone, "10.0.12.0/22"},
		},
		{
			name: "ec2 DescribeRouteTables by subnet association",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{ExampleSubnetID}}}})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, rt := range out.RouteTables {
					got = append(got, aws.ToString(rt.RouteTableId))
					for _, r := range rt.Routes {
						got = append(got, fmt.Sprintf("%s%s -> %s%s %s", aws.ToString(r.DestinationCidrBlock), aws.ToString(r.DestinationPrefixListId),
							aws.ToString(r.GatewayId), aws.ToString(r.NatGatewayId), r.State))
					}
					for _, a := range rt.Associations {
						got = append(got, fmt.Sprintf("assoc %s main=%v", aws.ToString(a.SubnetId), aws.ToBool(a.Main)))
					}
				}
				return got, nil
			},
			want: []string{
				ExampleRouteTableID,
				"10.0.0.0/16 -> local active",
				"0.0.0.0/0 -> " + ExampleNatGatewayID + " active",
				ExampleS3PrefixList + " -> " + ExampleS3Endpoint + " active",
				"assoc " + ExampleSubnetID + " main=false",
				"assoc " + ExampleSubnet2ID + " main=false",
			},
		},
		{
			name: "ec2 DescribeRouteTables main table of the VPC",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
					{Name: aws.String("vpc-id"), Values: []string{ExampleVpcID}}, {Name: aws.String("association.main"), Values: []string{"true"}},
				}})
				if err != nil {
					return nil, err
				}
				return aws.ToString(out.RouteTables[0].RouteTableId) + fmt.Sprint(len(out.RouteTables)), nil
			},
			want: ExampleMainRouteTable + "1",
		},
		{
			name: "ec2 DescribeRouteTables unknown filter",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("subnet-id"), Values: []string{ExampleSubnetID}}}})
			},
			wantCode: "InvalidParameterValue",
		},
		{
			name: "ec2 DescribeVpcEndpoints by VPC and service names",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: []ec2types.Filter{
					{Name: aws.String("vpc-id"), Values: []string{ExampleVpcID}},
					{Name: aws.String("service-name"), Values: []string{"com.amazonaws.us-west-2.ecr.dkr", "com.amazonaws.us-west-2.s3"}},
				}})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, e := range out.VpcEndpoints {
					var groups []string
					for _, g := range e.Groups {
						groups = append(groups, aws.ToString(g.GroupId))
					}
					got = append(got, fmt.Sprintf("%s %s %s %s dns=%v subnets=%v sgs=%v rtbs=%v policy=%v", aws.ToString(e.VpcEndpointId), aws.ToString(e.ServiceName),
						e.VpcEndpointType, e.State, aws.ToBool(e.PrivateDnsEnabled), e.SubnetIds, groups, e.RouteTableIds, json.Valid([]byte(aws.ToString(e.PolicyDocument)))))
				}
				return got, nil
			},
			want: []string{
				ExampleECRDKREndpoint + " com.amazonaws.us-west-2.ecr.dkr Interface available dns=true subnets=[" + ExampleSubnetID + " " + ExampleSubnet2ID + "] sgs=[" + ExampleEndpointSG + "] rtbs=[] policy=true",
				ExampleS3Endpoint + " com.amazonaws.us-west-2.s3 Gateway available dns=false subnets=[] sgs=[] rtbs=[" + ExampleRouteTableID + "] policy=true",
			},
		},
		{
			name: "ec2 DescribeSecurityGroups",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{ExampleNodeSG, ExampleEndpointSG}})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, g := range out.SecurityGroups {
					for dir, perms := range map[string][]ec2types.IpPermission{"in": g.IpPermissions, "out": g.IpPermissionsEgress} {
						for _, p := range perms {
							var src []string
							for _, pair := range p.UserIdGroupPairs {
								src = append(src, aws.ToString(pair.GroupId))
							}
							for _, r := range p.IpRanges {
								src = append(src, aws.ToString(r.CidrIp))
							}
							got = append(got, fmt.Sprintf("%s %s %s %d-%d %v", aws.ToString(g.GroupId), dir, aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), src))
						}
					}
				}
				slices.Sort(got)
				return got, nil
			},
			want: []string{
				ExampleEndpointSG + " in tcp 443-443 [10.0.0.0/16]",
				ExampleEndpointSG + " out -1 0-0 [0.0.0.0/0]",
				ExampleNodeSG + " in -1 0-0 [" + ExampleNodeSG + "]",
				ExampleNodeSG + " out -1 0-0 [0.0.0.0/0]",
			},
		},
		{
			name: "ec2 DescribeSecurityGroupRules",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{ExampleEndpointSG}}}})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, r := range out.SecurityGroupRules {
					got = append(got, fmt.Sprintf("egress=%v %s %d-%d %s", aws.ToBool(r.IsEgress), aws.ToString(r.IpProtocol), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), aws.ToString(r.CidrIpv4)))
				}
				return got, nil
			},
			want: []string{"egress=false tcp 443-443 10.0.0.0/16", "egress=true -1 -1--1 0.0.0.0/0"},
		},
		{
			name: "ec2 DescribeVpcAttribute",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(ExampleVpcID), Attribute: ec2types.VpcAttributeNameEnableDnsSupport})
				if err != nil {
					return nil, err
				}
				return aws.ToBool(out.EnableDnsSupport.Value), nil
			},
			want: true,
		},
		{
			// EC2 API reference: <DescribeVpcAttributeResponse><requestId/><vpcId/><enableDnsHostnames><value>false</value>…
			name:  "ec2 DescribeVpcAttribute enableDnsHostnames off",
			setup: func(sc *Scenario) { sc.VPC(ExampleVpcID).EnableDNSHostnames = false },
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(ExampleVpcID), Attribute: ec2types.VpcAttributeNameEnableDnsHostnames})
				if err != nil {
					return nil, err
				}
				return []any{aws.ToString(out.VpcId), aws.ToBool(out.EnableDnsHostnames.Value), out.EnableDnsSupport == nil}, nil
			},
			want: []any{ExampleVpcID, false, true},
		},
		{
			name: "ec2 DescribeVpcAttribute of a missing VPC",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String("vpc-0000000000000000f"), Attribute: ec2types.VpcAttributeNameEnableDnsSupport})
			},
			wantCode: "InvalidVpcID.NotFound",
		},
		{
			name: "ec2 ModifyVpcAttribute: DNS support, then DNS hostnames",
			setup: func(sc *Scenario) {
				v := sc.VPC(ExampleVpcID)
				v.EnableDNSSupport, v.EnableDNSHostnames = false, false
			},
			call: func(ctx context.Context, c clients) (any, error) {
				var got []bool
				for _, in := range []*ec2.ModifyVpcAttributeInput{
					{VpcId: aws.String(ExampleVpcID), EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
					{VpcId: aws.String(ExampleVpcID), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
				} {
					if _, err := c.ec2.ModifyVpcAttribute(ctx, in); err != nil {
						return nil, err
					}
				}
				for _, a := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames} {
					out, err := c.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(ExampleVpcID), Attribute: a})
					if err != nil {
						return nil, err
					}
					v := out.EnableDnsSupport
					if v == nil {
						v = out.EnableDnsHostnames
					}
					got = append(got, aws.ToBool(v.Value))
				}
				return got, nil
			},
			want: []bool{true, true},
		},
		{
			name:  "ec2 ModifyVpcAttribute: DNS hostnames need DNS support",
			setup: func(sc *Scenario) { sc.VPC(ExampleVpcID).EnableDNSSupport = false },
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(ExampleVpcID), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
			},
			wantCode: "InvalidParameterCombination",
		},
		{
			name: "ec2 ModifyVpcAttribute: one attribute per request",
			call: func(ctx context.Context, c clients) (any, error) {
				on := &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}
				return c.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(ExampleVpcID), EnableDnsSupport: on, EnableDnsHostnames: on})
			},
			wantCode: "InvalidParameterCombination",
		},
		{
			name: "ec2 ModifyVpcEndpoint: private DNS needs the VPC's DNS attributes",
			setup: func(sc *Scenario) {
				sc.VPC(ExampleVpcID).EnableDNSHostnames = false
				sc.VpcEndpoint(ExampleECRDKREndpoint).PrivateDNSEnabled = false
			},
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ec2.ModifyVpcEndpoint(ctx, &ec2.ModifyVpcEndpointInput{VpcEndpointId: aws.String(ExampleECRDKREndpoint), PrivateDnsEnabled: aws.Bool(true)})
			},
			wantCode: "InvalidParameter",
		},
		{
			name: "ec2 DescribePrefixLists",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.DescribePrefixLists(ctx, &ec2.DescribePrefixListsInput{Filters: []ec2types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{"com.amazonaws.us-west-2.s3"}}}})
				if err != nil {
					return nil, err
				}
				return []any{aws.ToString(out.PrefixLists[0].PrefixListId), len(out.PrefixLists[0].Cidrs) > 0}, nil
			},
			want: []any{ExampleS3PrefixList, true},
		},
		{
			name: "ec2 CreateVpcEndpoint gateway adds the prefix-list route",
			setup: func(sc *Scenario) {
				sc.VpcEndpoints = sc.VpcEndpoints[:2]                   // no S3 endpoint
				sc.RouteTables[0].Routes = sc.RouteTables[0].Routes[:2] // and no route to it
			},
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
					VpcId: aws.String(ExampleVpcID), VpcEndpointType: ec2types.VpcEndpointTypeGateway,
					ServiceName: aws.String("com.amazonaws.us-west-2.s3"), RouteTableIds: []string{ExampleRouteTableID},
				})
				if err != nil {
					return nil, err
				}
				id := aws.ToString(out.VpcEndpoint.VpcEndpointId)
				rt, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("route.gateway-id"), Values: []string{id}}}})
				if err != nil {
					return nil, err
				}
				routes := rt.RouteTables[0].Routes
				last := routes[len(routes)-1]
				return []string{
					string(out.VpcEndpoint.State),
					aws.ToString(rt.RouteTables[0].RouteTableId),
					aws.ToString(last.DestinationPrefixListId),
					fmt.Sprint(aws.ToString(last.GatewayId) == id),
				}, nil
			},
			want: []string{"available", ExampleRouteTableID, ExampleS3PrefixList, "true"},
		},
		{
			name: "ec2 CreateVpcEndpoint interface defaults to private DNS",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.ec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
					VpcId: aws.String(ExampleVpcID), VpcEndpointType: ec2types.VpcEndpointTypeInterface,
					ServiceName: aws.String("com.amazonaws.us-west-2.sts"), SubnetIds: []string{ExampleSubnetID}, SecurityGroupIds: []string{ExampleEndpointSG},
				})
				if err != nil {
					return nil, err
				}
				e := out.VpcEndpoint
				return fmt.Sprint(e.VpcEndpointType, " ", aws.ToBool(e.PrivateDnsEnabled), " ", e.SubnetIds, " ", len(e.DnsEntries)), nil
			},
			want: "Interface true [" + ExampleSubnetID + "] 1",
		},
		{
			name: "ec2 CreateVpcEndpoint in a missing VPC",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ec2.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{VpcId: aws.String("vpc-0000000000000dead"), ServiceName: aws.String("com.amazonaws.us-west-2.s3")})
			},
			wantCode: "InvalidVpcID.NotFound",
		},
		{
			name: "ec2 ModifyVpcEndpoint",
			setup: func(sc *Scenario) {
				sc.VpcEndpoint(ExampleECRDKREndpoint).PrivateDNSEnabled = false
				sc.VpcEndpoint(ExampleS3Endpoint).RouteTableIDs = nil
				sc.RouteTables[0].Routes = sc.RouteTables[0].Routes[:2]
			},
			call: func(ctx context.Context, c clients) (any, error) {
				policy := `{"Statement":[{"Sid":"EcrLayers","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"}]}`
				for _, in := range []*ec2.ModifyVpcEndpointInput{
					{VpcEndpointId: aws.String(ExampleECRDKREndpoint), PrivateDnsEnabled: aws.Bool(true)},
					{VpcEndpointId: aws.String(ExampleS3Endpoint), AddRouteTableIds: []string{ExampleRouteTableID}},
					{VpcEndpointId: aws.String(ExampleS3Endpoint), PolicyDocument: aws.String(policy)},
				} {
					out, err := c.ec2.ModifyVpcEndpoint(ctx, in)
					if err != nil {
						return nil, err
					}
					if !aws.ToBool(out.Return) {
						return nil, errors.New("ModifyVpcEndpoint returned false")
					}
				}
				out, err := c.ec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{ExampleECRDKREndpoint, ExampleS3Endpoint}})
				if err != nil {
					return nil, err
				}
				rt, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{ExampleRouteTableID}})
				if err != nil {
					return nil, err
				}
				return []any{
					aws.ToBool(out.VpcEndpoints[0].PrivateDnsEnabled),
					out.VpcEndpoints[1].RouteTableIds,
					aws.ToString(out.VpcEndpoints[1].PolicyDocument) == policy,
					len(rt.RouteTables[0].Routes),
				}, nil
			},
			want: []any{true, []string{ExampleRouteTableID}, true, 3},
		},
		{
			name: "ec2 AuthorizeSecurityGroupIngress then a duplicate",
			setup: func(sc *Scenario) {
				sc.SecurityGroup(ExampleEndpointSG).Ingress = nil
			},
			call: func(ctx context.Context, c clients) (any, error) {
				in := &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(ExampleEndpointSG), IpPermissions: []ec2types.IpPermission{{
					IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(ExampleNodeSG)}},
				}}}
				out, err := c.ec2.AuthorizeSecurityGroupIngress(ctx, in)
				if err != nil {
					return nil, err
				}
				r := out.SecurityGroupRules[0]
				if got := aws.ToString(r.ReferencedGroupInfo.GroupId); got != ExampleNodeSG || aws.ToInt32(r.FromPort) != 443 {
					return nil, fmt.Errorf("rule = %s %d", got, aws.ToInt32(r.FromPort))
				}
				return c.ec2.AuthorizeSecurityGroupIngress(ctx, in)
			},
			wantCode: "InvalidPermission.Duplicate",
		},
		{
			name:  "ec2 ModifyInstanceMetadataOptions",
			setup: func(sc *Scenario) { sc.Instance(ExampleInstanceID).MetadataHTTPEndpoint = "disabled" },
			call: func(ctx context.Context, c clients) (any, error) {
				if _, err := c.ec2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{
					InstanceId: aws.String(ExampleInstanceID), HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled,
					HttpTokens: ec2types.HttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(1),
				}); err != nil {
					return nil, err
				}
				out, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ExampleInstanceID}})
				if err != nil {
					return nil, err
				}
				m := out.Reservations[0].Instances[0].MetadataOptions
				return fmt.Sprint(m.HttpEndpoint, " ", m.HttpTokens, " ", aws.ToInt32(m.HttpPutResponseHopLimit)), nil
			},
			want: "enabled required 1",
		},
		// ---- EKS ----
		{
			name: "eks DescribeFargateProfile",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.eks.DescribeFargateProfile(ctx, &eks.DescribeFargateProfileInput{ClusterName: aws.String(ExampleCluster), FargateProfileName: aws.String(ExampleFargateProfile)})
				if err != nil {
					return nil, err
				}
				f := out.FargateProfile
				return fmt.Sprint(aws.ToString(f.PodExecutionRoleArn), " ", f.Subnets, " ", aws.ToString(f.Selectors[0].Namespace), " ", f.Selectors[0].Labels, " ", f.Status), nil
			},
			want: "arn:aws:iam::111122223333:role/AmazonEKSFargatePodExecutionRole [" + ExampleSubnetID + " " + ExampleSubnet2ID + "] payments map[compute:fargate] ACTIVE",
		},
		{
			name: "eks DescribeFargateProfile missing",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.eks.DescribeFargateProfile(ctx, &eks.DescribeFargateProfileInput{ClusterName: aws.String(ExampleCluster), FargateProfileName: aws.String("fp-nope")})
			},
			wantErr: func(err error) bool {
				var nf *ekstypes.ResourceNotFoundException
				return errors.As(err, &nf) && aws.ToString(nf.FargateProfileName) == "fp-nope" && aws.ToString(nf.ClusterName) == ExampleCluster
			},
		},
		{
			name: "eks DescribeCluster",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(ExampleCluster)})
				if err != nil {
					return nil, err
				}
				cl := out.Cluster
				return []string{aws.ToString(cl.Arn), aws.ToString(cl.ResourcesVpcConfig.VpcId), aws.ToString(cl.ResourcesVpcConfig.ClusterSecurityGroupId), aws.ToString(cl.Identity.Oidc.Issuer), string(cl.Status)}, nil
			},
			want: []string{"arn:aws:eks:us-west-2:111122223333:cluster/prod-eks", ExampleVpcID, ExampleNodeSG, "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE", "ACTIVE"},
		},
		{
			name: "eks DescribeCluster Auto Mode",
			setup: func(sc *Scenario) {
				sc.Cluster(ExampleCluster).AutoModeNodeRoleArn = "arn:aws:iam::111122223333:role/AmazonEKSAutoNodeRole"
			},
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(ExampleCluster)})
				if err != nil {
					return nil, err
				}
				return aws.ToString(out.Cluster.ComputeConfig.NodeRoleArn), nil
			},
			want: "arn:aws:iam::111122223333:role/AmazonEKSAutoNodeRole",
		},
		{
			name: "eks DescribeCluster missing",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("staging-eks")})
			},
			wantErr: errAs[*ekstypes.ResourceNotFoundException](),
		},
		{
			name: "eks ListFargateProfiles",
			setup: func(sc *Scenario) {
				c := sc.Cluster(ExampleCluster)
				c.FargateProfiles = append(c.FargateProfiles, &FargateProfile{Name: "fp-batch"}, &FargateProfile{Name: "fp-system"})
			},
			call: func(ctx context.Context, c clients) (any, error) {
				p := eks.NewListFargateProfilesPaginator(c.eks, &eks.ListFargateProfilesInput{ClusterName: aws.String(ExampleCluster), MaxResults: aws.Int32(2)})
				var got []string
				for p.HasMorePages() {
					out, err := p.NextPage(ctx)
					if err != nil {
						return nil, err
					}
					got = append(got, out.FargateProfileNames...)
				}
				return got, nil
			},
			want: []string{ExampleFargateProfile, "fp-batch", "fp-system"},
		},
		{
			name: "eks DescribeNodegroup",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(ExampleCluster), NodegroupName: aws.String(ExampleNodegroup)})
				if err != nil {
					return nil, err
				}
				return []any{aws.ToString(out.Nodegroup.NodeRole), out.Nodegroup.InstanceTypes, aws.ToInt32(out.Nodegroup.DiskSize)}, nil
			},
			want: []any{nodeRoleArn, []string{"m7i.large"}, int32(20)},
		},
		// ---- KMS ----
		{
			name: "kms DescribeKey by alias, ARN and ID",
			call: func(ctx context.Context, c clients) (any, error) {
				var got []string
				for _, ref := range []string{ExampleKMSAlias, "arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID, ExampleKMSKeyID} {
					out, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
					if err != nil {
						return nil, err
					}
					got = append(got, fmt.Sprint(aws.ToString(out.KeyMetadata.Arn), " ", out.KeyMetadata.KeyState, " ", out.KeyMetadata.Enabled))
				}
				return got, nil
			},
			want: slices.Repeat([]string{"arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID + " Enabled true"}, 3),
		},
		{
			name: "kms DescribeKey pending deletion",
			setup: func(sc *Scenario) {
				k := sc.KMSKey(ExampleKMSKeyID)
				k.State, k.DeletionDate = "PendingDeletion", ExampleNow.Add(7*24*time.Hour)
			},
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ExampleKMSAlias)})
				if err != nil {
					return nil, err
				}
				return []any{out.KeyMetadata.KeyState, aws.ToTime(out.KeyMetadata.DeletionDate)}, nil
			},
			want: []any{kmstypes.KeyStatePendingDeletion, ExampleNow.Add(7 * 24 * time.Hour)},
		},
		{
			name: "kms DescribeKey missing",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/nope")})
			},
			wantErr: errAs[*kmstypes.NotFoundException](),
		},
		{
			name: "kms EnableKey of a key pending deletion",
			setup: func(sc *Scenario) {
				sc.KMSKey(ExampleKMSKeyID).State = "PendingDeletion"
			},
			call: func(ctx context.Context, c clients) (any, error) {
				return c.kms.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(ExampleKMSKeyID)})
			},
			wantErr: errAs[*kmstypes.KMSInvalidStateException](),
		},
		{
			name: "kms ListGrants shows ECR's grant on the repository's key",
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String("arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID)})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, g := range out.Grants {
					got = append(got, fmt.Sprintf("%s %v %s", aws.ToString(g.GranteePrincipal), g.Operations, g.Constraints.EncryptionContextSubset["aws:ecr:arn"]))
				}
				return got, nil
			},
			want: []string{"ecr.us-west-2.amazonaws.com [Decrypt Encrypt GenerateDataKey RetireGrant DescribeKey] arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger"},
		},
		{
			name:  "kms ListGrants after ECR's grant was revoked",
			setup: func(sc *Scenario) { sc.KMSKey(ExampleKMSKeyID).Grants = nil },
			call: func(ctx context.Context, c clients) (any, error) {
				out, err := c.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(ExampleKMSKeyID)})
				if err != nil {
					return nil, err
				}
				return []any{len(out.Grants), out.Truncated}, nil
			},
			want: []any{0, false},
		},
		{
			// KMS API reference: Limit, Marker; the answer's NextMarker and Truncated.
			name: "kms ListGrants pages",
			setup: func(sc *Scenario) {
				k := sc.KMSKey(ExampleKMSKeyID)
				k.Grants = append(k.Grants, ECRGrant("1f00", ExampleRegion, "arn:aws:ecr:us-west-2:111122223333:repository/payments/archive", ExampleNow))
			},
			call: func(ctx context.Context, c clients) (any, error) {
				var got []any
				in := &kms.ListGrantsInput{KeyId: aws.String(ExampleKMSKeyID), Limit: aws.Int32(1)}
				for {
					out, err := c.kms.ListGrants(ctx, in)
					if err != nil {
						return nil, err
					}
					for _, g := range out.Grants {
						got = append(got, aws.ToString(g.KeyId), aws.ToString(g.GrantId), aws.ToString(g.IssuingAccount), out.Truncated)
					}
					if !out.Truncated {
						return got, nil
					}
					in.Marker = out.NextMarker
				}
			},
			want: []any{
				"arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID, ExampleKMSGrantID, "arn:aws:iam::111122223333:root", true,
				"arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID, "1f00", "arn:aws:iam::111122223333:root", false,
			},
		},
		{
			name: "kms ListGrants limit above 100",
			call: func(ctx context.Context, c clients) (any, error) {
				return c.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(ExampleKMSKeyID), Limit: aws.Int32(200)})
			},
			wantCode: "ValidationException",
		},
		{
			// ECR makes its grant on the key as it creates a KMS-encrypted repository.
			name: "ecr CreateRepository with a KMS key adds ECR's grant",
			call: func(ctx context.Context, c clients) (any, error) {
				_, err := c.ecr.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("payments/ledger-2"),
					EncryptionConfiguration: &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeKms, KmsKey: aws.String("arn:aws:kms:us-west-2:111122223333:key/" + ExampleKMSKeyID)}})
				if err != nil {
					return nil, err
				}
				out, err := c.kms.ListGrants(ctx, &kms.ListGrantsInput{KeyId: aws.String(ExampleKMSKeyID)})
				if err != nil {
					return nil, err
				}
				var got []string
				for _, g := range out.Grants {
					got = append(got, aws.ToString(g.GranteePrincipal)+" "+g.Constraints.EncryptionContextSubset["aws:ecr:arn"])
				}
				return got, nil
			},
			want: []string{"ecr.us-west-2.amazonaws.com arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger",
				"ecr.us-west-2.amazonaws.com arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger-2"},
		},
		{
			name: "kms CancelKeyDeletion then EnableKey",
			setup: func(sc *Scenario) {
				k := sc.KMSKey(ExampleKMSKeyID)
				k.State, k.DeletionDate = "PendingDeletion", ExampleNow.Add(7*24*time.Hour)
			},
			call: func(ctx context.Context, c clients) (any, error) {
				var got []string
				state := func() error {
					out, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ExampleKMSKeyID)})
					if err == nil {
						got = append(got, string(out.KeyMetadata.KeyState))
					}
					return err
				}
				if _, err := c.kms.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(ExampleKMSKeyID)}); err != nil {
					return nil, err
				}
				if err := state(); err != nil {
					return nil, err
				}
				if _, err := c.kms.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(ExampleKMSKeyID)}); err != nil {
					return nil, err
				}
				return got, state()
			},
			want: []string{"Disabled", "Enabled"},
		},
		// ---- the bot's own permissions ----
		{
			name:     "denied ecr",
			setup:    func(sc *Scenario) { sc.Denied["ecr:DescribeImages"] = true },
			call:     func(ctx context.Context, c clients) (any, error) { return describeTag(ctx, c, "1.8.1") },
			wantCode: "AccessDeniedException",
		},
		{
			name:  "denied iam",
			setup: func(sc *Scenario) { sc.Denied["iam:SimulatePrincipalPolicy"] = true },
			call: func(ctx context.Context, c clients) (any, error) {
				return simulate(ctx, c, nil, "ecr:BatchGetImage")
			},
			wantCode: "AccessDenied",
		},
		{
			name:  "denied sts",
			setup: func(sc *Scenario) { sc.Denied["sts:GetCallerIdentity"] = true },
			call: func(ctx context.Context, c clients) (any, error) {
				return c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			},
			wantCode: "AccessDenied",
		},
		{
			name:  "denied ec2",
			setup: func(sc *Scenario) { sc.Denied["ec2:DescribeVpcEndpoints"] = true },
			call: func(ctx context.Context, c clients) (any, error) {
				return c.ec2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{})
			},
			wantCode: "UnauthorizedOperation",
		},
		{
			name:  "denied eks",
			setup: func(sc *Scenario) { sc.Denied["eks:DescribeFargateProfile"] = true },
			call: func(ctx context.Context, c clients) (any, error) {
				return c.eks.DescribeFargateProfile(ctx, &eks.DescribeFargateProfileInput{ClusterName: aws.String(ExampleCluster), FargateProfileName: aws.String(ExampleFargateProfile)})
			},
			wantErr: errAs[*ekstypes.AccessDeniedException](),
		},
		{
			name:  "denied kms",
			setup: func(sc *Scenario) { sc.Denied["kms:DescribeKey"] = true },
			call: func(ctx context.Context, c clients) (any, error) {
				return c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ExampleKMSKeyID)})
			},
			wantCode: "AccessDeniedException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := start(t, tt.setup)
			got, err := tt.call(t.Context(), c)
			switch {
			case tt.wantErr != nil || tt.wantCode != "":
				if err == nil {
					t.Fatalf("got %v, nil error; want an error", got)
				}
				if tt.wantErr != nil && !tt.wantErr(err) {
					t.Errorf("got error %T %v, want the modeled error", err, err)
				}
				if tt.wantCode != "" && errorCode(err) != tt.wantCode {
					t.Errorf("got error code %q (%v), want %q", errorCode(err), err, tt.wantCode)
				}
			case err != nil:
				t.Fatalf("got error %v, want none", err)
			default:
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("output mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// policyUnescape undoes the URL encoding IAM applies to policy documents.
func policyUnescape(s string) (string, error) { return url.QueryUnescape(s) }

func TestRetriedFaults(t *testing.T) {
	tests := []struct {
		op   string
		call func(ctx context.Context, c clients) error
	}{
		{"ecr:DescribeImages", func(ctx context.Context, c clients) error {
			_, err := c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(ExampleRepository)})
			return err
		}},
		{"kms:DescribeKey", func(ctx context.Context, c clients) error {
			_, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ExampleKMSKeyID)})
			return err
		}},
		{"iam:GetInstanceProfile", func(ctx context.Context, c clients) error {
			_, err := c.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(ExampleProfileName)})
			return err
		}},
		{"sts:GetCallerIdentity", func(ctx context.Context, c clients) error {
			_, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
		{"ec2:DescribeInstances", func(ctx context.Context, c clients) error {
			_, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ExampleInstanceID}})
			return err
		}},
		{"eks:DescribeFargateProfile", func(ctx context.Context, c clients) error {
			_, err := c.eks.DescribeFargateProfile(ctx, &eks.DescribeFargateProfileInput{ClusterName: aws.String(ExampleCluster), FargateProfileName: aws.String(ExampleFargateProfile)})
			return err
		}},
	}
	wantCodes := map[string]string{"ecr": "ThrottlingException", "kms": "ThrottlingException", "iam": "Throttling", "sts": "Throttling", "ec2": "RequestLimitExceeded", "eks": "ThrottlingException"}
	for _, tt := range tests {
		for _, kind := range []Fault{Throttle, ServerError} {
			t.Run(tt.op+"/"+kind.String()+" twice is retried", func(t *testing.T) {
				s, c := start(t, nil)
				s.FailNext(tt.op, 1, kind)
				_, bare, _ := strings.Cut(tt.op, ":")
				s.FailNext(bare, 1, kind)
				if err := tt.call(t.Context(), c); err != nil {
					t.Fatalf("got error %v, want success on the third attempt", err)
				}
				if got := len(s.Calls()); got != 3 {
					t.Errorf("got %d calls, want 3", got)
				}
			})
		}
		t.Run(tt.op+"/Throttle three times exhausts the retryer", func(t *testing.T) {
			s, c := start(t, nil)
			s.FailNext(tt.op, 3, Throttle)
			err := tt.call(t.Context(), c)
			service, _, _ := strings.Cut(tt.op, ":")
			if got := errorCode(err); got != wantCodes[service] {
				t.Errorf("got error code %q (%v), want %q", got, err, wantCodes[service])
			}
			// The fault queue is used up: the next call succeeds at once.
			if err := tt.call(t.Context(), c); err != nil {
				t.Errorf("call after the faults: %v", err)
			}
			if got := len(s.Calls()); got != 4 {
				t.Errorf("got %d calls, want 4", got)
			}
		})
	}
}

func TestLatencyAndSlow(t *testing.T) {
	s, c := start(t, nil)
	call := func(ctx context.Context) error {
		_, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}

	s.SetLatency(60 * time.Millisecond)
	begin := time.Now()
	if err := call(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(begin); got < 60*time.Millisecond {
		t.Errorf("call took %v with 60ms latency, want at least 60ms", got)
	}
	s.SetLatency(0)

	// A Slow fault longer than the caller's deadline: the caller gives up, and the
	// server's wait ends with the request instead of running on.
	s.FailNext("sts:GetCallerIdentity", 1, Slow(time.Minute))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	begin = time.Now()
	err := call(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got error %v, want context.DeadlineExceeded", err)
	}
	if got := time.Since(begin); got > 10*time.Second {
		t.Errorf("slow call took %v, want it cut short by the 100ms deadline", got)
	}

	// A Slow fault shorter than the deadline delays and then answers normally.
	s.FailNext("sts:GetCallerIdentity", 1, Slow(50*time.Millisecond))
	begin = time.Now()
	if err := call(t.Context()); err != nil {
		t.Fatalf("got error %v, want success after the delay", err)
	}
	if got := time.Since(begin); got < 50*time.Millisecond {
		t.Errorf("call took %v, want at least 50ms", got)
	}
}

func TestCallLog(t *testing.T) {
	s, c := start(t, nil)
	ctx := t.Context()
	if _, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ExampleInstanceID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.iam.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(ExampleProfileName)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ecr.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(ExampleRepository)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{ExampleInstanceID}}); err != nil {
		t.Fatal(err)
	}
	// A client in another region: the scope's region is logged and used.
	east := s.SDKConfig(ctx)
	east.Region = "us-east-1"
	_, err := ecr.NewFromConfig(east).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{ExampleRepository}})
	if !errors.As(err, new(*ecrtypes.RepositoryNotFoundException)) {
		t.Errorf("payments/api in us-east-1: got %v, want RepositoryNotFoundException", err)
	}

	wantCalls := []Call{
		{"ec2", "DescribeInstances", "us-west-2", ExampleAccount, ""},
		{"iam", "GetInstanceProfile", "us-west-2", ExampleAccount, ""},
		{"ecr", "DescribeImages", "us-west-2", ExampleAccount, ""},
		{"ec2", "DescribeInstances", "us-west-2", ExampleAccount, ""},
		{"ecr", "DescribeRepositories", "us-east-1", ExampleAccount, ""},
	}
	if diff := cmp.Diff(wantCalls, s.Calls()); diff != "" {
		t.Errorf("Calls() mismatch (-want +got):\n%s", diff)
	}
	wantActions := []string{"ec2:DescribeInstances", "ecr:DescribeImages", "ecr:DescribeRepositories", "iam:GetInstanceProfile"}
	if diff := cmp.Diff(wantActions, s.Actions()); diff != "" {
		t.Errorf("Actions() mismatch (-want +got):\n%s", diff)
	}
	s.ResetCalls()
	if got := s.Calls(); len(got) != 0 {
		t.Errorf("after ResetCalls got %v, want none", got)
	}
}

func TestConcurrentCalls(t *testing.T) {
	s, c := start(t, nil)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch i % 4 {
			case 0:
				_, err = c.ecr.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String(ExampleRepository)})
			case 1:
				_, err = c.iam.AttachRolePolicy(t.Context(), &iam.AttachRolePolicyInput{RoleName: aws.String(ExampleNodeRole), PolicyArn: aws.String(PolicyReadOnly)})
			case 2:
				_, err = c.ec2.DescribeRouteTables(t.Context(), &ec2.DescribeRouteTablesInput{})
			case 3:
				s.Update(func(sc *Scenario) { sc.Repository(ExampleRepository).Images[0].LastPulledAt = ExampleNow })
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s.View(func(sc *Scenario) {
		if got := sc.Role(ExampleNodeRole).AttachedPolicies; slices.Index(got, PolicyReadOnly) != len(got)-1 || len(got) != 4 {
			t.Errorf("attached policies %v, want ReadOnly attached once", got)
		}
	})
	if got := len(s.Calls()); got != n/4*3 {
		t.Errorf("got %d calls, want %d", got, n/4*3)
	}
}

func TestRunCLI(t *testing.T) {
	if _, err := exec.LookPath(AWSCLI); err != nil {
		t.Fatalf("%s is missing: apt-get install -y awscli", AWSCLI)
	}
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(*Scenario)
		script string
		want   string
		check  func(t *testing.T, sc *Scenario)
	}{
		{
			name: "describe-images by tag",
			script: `aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api --image-ids imageTag=1.8.1 \
  --query 'imageDetails[0].[imageTags[0],imageStatus,imageSizeInBytes]' --output text`,
			want: "1.8.1\tACTIVE\t48113002\n",
		},
		{
			name:   "describe-images of a missing tag fails with ImageNotFoundException",
			script: `aws ecr describe-images --repository-name payments/api --image-ids imageTag=1.8.2 2>&1 || echo "exit=$?"`,
			want: "\nAn error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageDigest:'null', imageTag:'1.8.2'} " +
				"does not exist within the repository with name 'payments/api' in the registry with id '111122223333'\nexit=254\n",
		},
		{
			name: "describe-images sorted listing and JMESPath",
			script: `aws ecr describe-images --region us-west-2 --registry-id 111122223333 --repository-name payments/api \
  --filter imageStatus=ANY --query 'sort_by(imageDetails,&imagePushedAt)[:3].[imageTags[0],imageStatus]' --output text`,
			want: "1.7.0\tARCHIVED\n1.8.0\tACTIVE\n1.8.1\tACTIVE\n",
		},
		{
			name: "simulate-principal-policy",
			script: `aws iam simulate-principal-policy --policy-source-arn arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole \
  --action-names ecr:BatchGetImage ecr:GetDownloadUrlForLayer ecr:BatchCheckLayerAvailability \
  --resource-arns arn:aws:ecr:us-west-2:111122223333:repository/payments/api \
  --query 'EvaluationResults[].[EvalActionName,EvalDecision]' --output text`,
			want: "ecr:BatchGetImage\tallowed\necr:GetDownloadUrlForLayer\tallowed\necr:BatchCheckLayerAvailability\timplicitDeny\n",
		},
		{
			name: "attach-role-policy then simulate shows allowed",
			setup: func(sc *Scenario) {
				sc.Role(ExampleNodeRole).AttachedPolicies = []string{PolicyWorkerNode, PolicyCNI}
			},
			script: `q='EvaluationResults[].[EvalActionName,EvalDecision]'
arn=arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole
aws iam simulate-principal-policy --policy-source-arn $arn --action-names ecr:GetAuthorizationToken --query "$q" --output text
aws iam attach-role-policy --role-name eks-ng-general-NodeInstanceRole \
  --policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly
aws iam simulate-principal-policy --policy-source-arn $arn \
  --action-names ecr:GetAuthorizationToken ecr:BatchGetImage ecr:GetDownloadUrlForLayer ecr:BatchImportUpstreamImage --query "$q" --output text`,
			want: "ecr:GetAuthorizationToken\timplicitDeny\n" +
				"ecr:GetAuthorizationToken\tallowed\necr:BatchGetImage\tallowed\necr:GetDownloadUrlForLayer\tallowed\necr:BatchImportUpstreamImage\tallowed\n",
			check: func(t *testing.T, sc *Scenario) {
				if got := sc.Role(ExampleNodeRole).AttachedPolicies; !slices.Contains(got, PolicyPullOnly) {
					t.Errorf("attached policies %v, want %s", got, PolicyPullOnly)
				}
			},
		},
		{
			name: "describe-vpc-endpoints with several filters",
			script: `aws ec2 describe-vpc-endpoints --region us-west-2 --filters Name=vpc-id,Values=vpc-0a1b2c3d4e5f67890 \
  Name=service-name,Values=com.amazonaws.us-west-2.ecr.api,com.amazonaws.us-west-2.ecr.dkr \
  --query 'VpcEndpoints[].[VpcEndpointId,VpcEndpointType,State,PrivateDnsEnabled,Groups[0].GroupId]' --output text`,
			want: "vpce-0ecrapi1234567890\tInterface\tavailable\tTrue\tsg-0ecr1234567890abc\n" +
				"vpce-0ecrdkr1234567890\tInterface\tavailable\tTrue\tsg-0ecr1234567890abc\n",
		},
		{
			name: "describe-route-tables by subnet and for the main table",
			script: `aws ec2 describe-route-tables --region us-west-2 --filters Name=association.subnet-id,Values=subnet-0123abcd4567ef890 \
  --query 'RouteTables[].Routes[?DestinationCidrBlock==` + "`0.0.0.0/0`" + `][].[NatGatewayId,State]' --output text
aws ec2 describe-route-tables --region us-west-2 --filters Name=vpc-id,Values=vpc-0a1b2c3d4e5f67890 Name=association.main,Values=true \
  --query 'RouteTables[].RouteTableId' --output text`,
			want: "nat-0a1b2c3d4e5f67890\tactive\nrtb-0a0b0c0d0e0f01234\n",
		},
		{
			name: "profile and role from the instance, in one script",
			script: `PROFILE=$(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890 --query 'Reservations[0].Instances[0].IamInstanceProfile.Arn' --output text)
aws iam get-instance-profile --instance-profile-name "${PROFILE##*/}" --query 'InstanceProfile.Roles[].Arn' --output text`,
			want: "arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole\n",
		},
		{
			name: "update-image-storage-class restores an archived tag",
			script: `aws ecr update-image-storage-class --region us-west-2 --repository-name payments/api --image-id imageTag=1.7.0 --target-storage-class STANDARD --query imageStatus --output text
aws ecr describe-images --region us-west-2 --repository-name payments/api --image-ids imageTag=1.7.0 --query 'imageDetails[0].imageStatus' --output text`,
			want: "ACTIVE\nACTIVE\n",
			check: func(t *testing.T, sc *Scenario) {
				if got := sc.Repository(ExampleRepository).Image(ExampleArchivedTag).Status; got != "ACTIVE" {
					t.Errorf("status %q, want ACTIVE", got)
				}
			},
		},
		{
			name: "re-tag a digest with batch-get-image and put-image",
			script: `MANIFEST=$(aws ecr batch-get-image --region us-west-2 --repository-name payments/api --image-ids imageDigest=` + digest(ExampleRepository, "1.8.1") + ` --query 'images[0].imageManifest' --output text)
aws ecr put-image --region us-west-2 --repository-name payments/api --image-tag 1.8.2 --image-manifest "$MANIFEST" --query image.imageId.imageDigest --output text`,
			want: digest(ExampleRepository, "1.8.1") + "\n",
		},
		{
			name: "cross-account repository policy merged with jq",
			script: `aws ecr get-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/base \
  --query policyText --output text > current.json
jq '.Statement += [{"Sid":"AllowPullFromProdEksNodes","Effect":"Allow",
  "Principal":{"AWS":"arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole"},
  "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]' current.json > new.json
aws ecr set-repository-policy --region us-west-2 --registry-id 444455556666 --repository-name platform/base --policy-text file://new.json --query repositoryName --output text`,
			want: "platform/base\n",
			check: func(t *testing.T, sc *Scenario) {
				if p := sc.Repository(ExampleCrossAcctRepo).Policy; !strings.Contains(p, "AllowPullFromProdEksNodes") || !strings.Contains(p, "777788889999") {
					t.Errorf("policy %s, want both statements", p)
				}
			},
		},
		{
			name: "network fixes",
			setup: func(sc *Scenario) {
				sc.VpcEndpoints = sc.VpcEndpoints[2:]
				sc.SecurityGroup(ExampleEndpointSG).Ingress = nil
			},
			script: `aws ec2 create-vpc-endpoint --region us-west-2 --vpc-id vpc-0a1b2c3d4e5f67890 --vpc-endpoint-type Interface \
  --service-name com.amazonaws.us-west-2.ecr.dkr --subnet-ids subnet-0123abcd4567ef890 subnet-0456abcd7890ef123 \
  --security-group-ids sg-0ecr1234567890abc --private-dns-enabled --query 'VpcEndpoint.[State,PrivateDnsEnabled]' --output text
aws ec2 authorize-security-group-ingress --region us-west-2 --group-id sg-0ecr1234567890abc --protocol tcp --port 443 --source-group sg-0node234567890abcd --query Return --output text
aws ec2 modify-vpc-endpoint --region us-west-2 --vpc-endpoint-id vpce-0s3gw1234567890 --policy-document '{"Statement":[
  {"Sid":"EcrLayers","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*"}]}'
aws ec2 modify-instance-metadata-options --instance-id i-0abc1234def567890 --http-endpoint enabled --http-tokens required --http-put-response-hop-limit 1 --query InstanceMetadataOptions.HttpPutResponseHopLimit
aws ec2 describe-security-group-rules --region us-west-2 --filters Name=group-id,Values=sg-0ecr1234567890abc \
  --query 'SecurityGroupRules[?!IsEgress].[IpProtocol,FromPort,ReferencedGroupInfo.GroupId]' --output text`,
			want: "available\tTrue\nTrue\n{\n    \"Return\": true\n}\n1\ntcp\t443\tsg-0node234567890abcd\n",
			check: func(t *testing.T, sc *Scenario) {
				if got := sc.VpcEndpoint(ExampleS3Endpoint).PolicyDocument; !strings.Contains(got, "starport-layer-bucket") {
					t.Errorf("S3 endpoint policy %s, want the starport statement", got)
				}
				if got := len(sc.VpcEndpoints); got != 2 {
					t.Errorf("%d endpoints, want 2", got)
				}
			},
		},
		{
			name: "VPC DNS attribute fixes, one attribute per call",
			setup: func(sc *Scenario) {
				v := sc.VPC(ExampleVpcID)
				v.EnableDNSSupport, v.EnableDNSHostnames = false, false
			},
			script: `aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id vpc-0a1b2c3d4e5f67890 --attribute enableDnsHostnames --query EnableDnsHostnames.Value --output text
aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id vpc-0a1b2c3d4e5f67890 --enable-dns-support "{\"Value\":true}"
aws ec2 modify-vpc-attribute --region us-west-2 --vpc-id vpc-0a1b2c3d4e5f67890 --enable-dns-hostnames "{\"Value\":true}"
aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id vpc-0a1b2c3d4e5f67890 --attribute enableDnsSupport --query EnableDnsSupport.Value --output text && aws ec2 describe-vpc-attribute --region us-west-2 --vpc-id vpc-0a1b2c3d4e5f67890 --attribute enableDnsHostnames --query EnableDnsHostnames.Value --output text`,
			want: "False\nTrue\nTrue\n",
			check: func(t *testing.T, sc *Scenario) {
				if v := sc.VPC(ExampleVpcID); !v.EnableDNSSupport || !v.EnableDNSHostnames {
					t.Errorf("VPC %+v, want DNS support and hostnames on", v)
				}
			},
		},
		{
			name: "kms fixes",
			setup: func(sc *Scenario) {
				k := sc.KMSKey(ExampleKMSKeyID)
				k.State, k.DeletionDate = "PendingDeletion", ExampleNow.Add(5*24*time.Hour)
			},
			script: `aws kms describe-key --key-id alias/ecr-payments --query 'KeyMetadata.[KeyState,DeletionDate]' --output text
aws kms cancel-key-deletion --key-id arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --output text
aws kms enable-key --key-id arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
aws kms describe-key --key-id alias/ecr-payments --query 'KeyMetadata.KeyState' --output text
aws kms get-key-policy --region us-west-2 --key-id arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --policy-name default --query Policy --output text | jq -r '.Statement[0].Principal.AWS'`,
			want: "PendingDeletion\t2026-08-27T10:00:00+00:00\narn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\nEnabled\narn:aws:iam::111122223333:root\n",
		},
		{
			name:  "kms grants: a new repository with the key gets ECR's grant",
			setup: func(sc *Scenario) { sc.KMSKey(ExampleKMSKeyID).Grants = nil },
			script: `aws kms list-grants --region us-west-2 --key-id arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --query 'length(Grants)'
aws ecr create-repository --region us-west-2 --registry-id 111122223333 --repository-name payments/ledger-2 --encryption-configuration encryptionType=KMS,kmsKey=arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --query repository.encryptionConfiguration.encryptionType --output text
aws kms list-grants --region us-west-2 --key-id arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab --query 'Grants[].Constraints.EncryptionContextSubset' --output text`,
			want: "0\nKMS\narn:aws:ecr:us-west-2:111122223333:repository/payments/ledger-2\n",
		},
		{
			name: "eks, sts and a missing repository",
			script: `aws eks describe-nodegroup --cluster-name prod-eks --nodegroup-name ng-general --query nodegroup.nodeRole --output text
aws eks describe-fargate-profile --cluster-name prod-eks --fargate-profile-name fp-payments --query 'fargateProfile.[podExecutionRoleArn,selectors[0].namespace]' --output text
aws sts get-caller-identity --query Account --output text
aws ecr describe-repositories --region us-east-1 --repository-names payments/api 2>&1 | grep -o RepositoryNotFoundException || true
aws ecr create-repository --region us-west-2 --repository-name payments/worker --image-tag-mutability IMMUTABLE --query repository.repositoryUri --output text`,
			want: "arn:aws:iam::111122223333:role/eks-ng-general-NodeInstanceRole\n" +
				"arn:aws:iam::111122223333:role/AmazonEKSFargatePodExecutionRole\tpayments\n" +
				"111122223333\nRepositoryNotFoundException\n" +
				"111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/worker\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(tt.script, "jq ") {
				if _, err := exec.LookPath("jq"); err != nil {
					t.Skip("jq is not installed (apt-get install -y jq)")
				}
			}
			s, _ := start(t, tt.setup)
			got, err := s.RunCLI(t, tt.script)
			if err != nil {
				t.Fatalf("RunCLI: %v\nstdout:\n%s", err, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if tt.check != nil {
				s.View(func(sc *Scenario) { tt.check(t, sc) })
			}
		})
	}
}

func TestRunCLIFailureCarriesStderr(t *testing.T) {
	s, _ := start(t, nil)
	_, err := s.RunCLI(t, `aws iam get-role --role-name nope`)
	if err == nil || !strings.Contains(err.Error(), "NoSuchEntity") {
		t.Errorf("got %v, want an error naming NoSuchEntity", err)
	}
	calls := s.Calls()
	if len(calls) != 1 || calls[0].Action() != "iam:GetRole" {
		t.Errorf("got calls %v, want one iam:GetRole", calls)
	}
}

func TestWorkedExampleDigests(t *testing.T) {
	for _, r := range WorkedExample().Repositories {
		for _, im := range r.Images {
			if got := digestOf(im.Manifest); got != im.Digest {
				t.Errorf("%s %v: digest %s, want sha256 of the manifest %s", r.Name, im.Tags, im.Digest, got)
			}
		}
	}
}
