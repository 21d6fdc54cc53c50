package awsfake

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// TestAssumeRole: with SeparateAccounts the bot's own credentials cannot read another
// account's repository or key; credentials from sts:AssumeRole of a role in that account
// (the SDK's stscreds provider, over the query protocol) can, and the calls are attributed
// to that account and role.
func TestAssumeRole(t *testing.T) {
	const roleARN = "arn:aws:iam::" + ExampleRegistryAcct + ":role/pullcheck-registry-read"
	sc := WorkedExample()
	sc.SeparateAccounts = true
	sc.KMSKeys = append(sc.KMSKeys, &KMSKey{ID: "5678abcd-12ab-34cd-56ef-1234567890ab", Account: ExampleRegistryAcct})
	s := New(sc)
	t.Cleanup(s.Close)
	ctx := t.Context()
	own := s.SDKConfig(ctx)
	in := &ecr.GetRepositoryPolicyInput{RegistryId: aws.String(ExampleRegistryAcct), RepositoryName: aws.String(ExampleCrossAcctRepo)}
	keyARN := "arn:aws:kms:us-west-2:" + ExampleRegistryAcct + ":key/5678abcd-12ab-34cd-56ef-1234567890ab"

	var ae smithy.APIError
	if _, err := ecr.NewFromConfig(own).GetRepositoryPolicy(ctx, in); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("own credentials, another account's repository: got %v, want AccessDeniedException", err)
	}
	if _, err := kms.NewFromConfig(own).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyARN)}); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("own credentials, another account's key: got %v, want AccessDeniedException", err)
	}

	assumed := own.Copy()
	assumed.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(own), roleARN, func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = "pullcheck" }))
	out, err := ecr.NewFromConfig(assumed).GetRepositoryPolicy(ctx, in)
	if err != nil {
		t.Fatalf("assumed role: %v", err)
	}
	if !strings.Contains(aws.ToString(out.PolicyText), "AllowPullFromCiAccount") {
		t.Errorf("policy %s, want the registry account's", aws.ToString(out.PolicyText))
	}
	key, err := kms.NewFromConfig(assumed).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyARN)})
	if err != nil || aws.ToString(key.KeyMetadata.AWSAccountId) != ExampleRegistryAcct {
		t.Errorf("assumed role, the registry account's key: %+v, %v", key, err)
	}
	id, err := sts.NewFromConfig(assumed).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::"+ExampleRegistryAcct+":assumed-role/pullcheck-registry-read/pullcheck" || aws.ToString(id.Account) != ExampleRegistryAcct {
		t.Errorf("GetCallerIdentity as the role: %+v, %v", id, err)
	}
	// The bot's own repositories stay the bot's own.
	if _, err := ecr.NewFromConfig(own).DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{ExampleRepository}}); err != nil {
		t.Errorf("own credentials, own repository: %v", err)
	}
	want := []Call{
		{"ecr", "GetRepositoryPolicy", "us-west-2", ExampleAccount, ""},
		{"kms", "DescribeKey", "us-west-2", ExampleAccount, ""},
		{"sts", "AssumeRole", "us-west-2", ExampleAccount, ""},
		{"ecr", "GetRepositoryPolicy", "us-west-2", ExampleRegistryAcct, roleARN},
		{"kms", "DescribeKey", "us-west-2", ExampleRegistryAcct, roleARN},
		{"sts", "GetCallerIdentity", "us-west-2", ExampleRegistryAcct, roleARN},
		{"ecr", "DescribeRepositories", "us-west-2", ExampleAccount, ""},
	}
	if diff := cmp.Diff(want, s.Calls()); diff != "" {
		t.Errorf("Calls() mismatch (-want +got):\n%s", diff)
	}

	// A malformed role ARN is a ValidationError.
	bad := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(own), "arn:aws:iam::1234:role/x"))
	if _, err := bad.Retrieve(ctx); !errors.As(err, &ae) || ae.ErrorCode() != "ValidationError" {
		t.Errorf("malformed role ARN: got %v, want ValidationError", err)
	}
	s.ResetCalls()

	// Denied like any call of the bot's own credentials.
	s.Update(func(sc *Scenario) { sc.Denied["sts:AssumeRole"] = true })
	denied := own.Copy()
	denied.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(own), roleARN))
	_, err = ecr.NewFromConfig(denied).GetRepositoryPolicy(ctx, in)
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" || !strings.Contains(err.Error(), "sts:AssumeRole") {
		t.Errorf("AssumeRole denied: got %v, want AccessDenied from STS", err)
	}
}
