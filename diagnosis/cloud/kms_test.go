package cloud

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Which grant on a repository's key lets ECR decrypt for it (DOMAIN C11). The shapes are
// ListGrants entries as the SDK decodes them.
func TestECRGrantFor(t *testing.T) {
	const (
		repo  = "arn:aws:ecr:us-west-2:111122223333:repository/payments/ledger"
		other = "arn:aws:ecr:us-west-2:111122223333:repository/payments/archive"
		ecr   = "ecr.us-west-2.amazonaws.com"
	)
	ops := []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationGenerateDataKey}
	subset := func(id, grantee, arn string) kmstypes.GrantListEntry {
		return kmstypes.GrantListEntry{GrantId: aws.String(id), GranteePrincipal: aws.String(grantee), Operations: ops,
			Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: map[string]string{"aws:ecr:arn": arn}}}
	}
	tests := []struct {
		name   string
		grants []kmstypes.GrantListEntry
		want   string
	}{
		{name: "ECR's grant for the repository", grants: []kmstypes.GrantListEntry{subset("g1", ecr, repo)}, want: "g1"},
		{name: "no grants", want: ""},
		{name: "another repository's grant", grants: []kmstypes.GrantListEntry{subset("g1", ecr, other)}, want: ""},
		{name: "the repository's grant among others", grants: []kmstypes.GrantListEntry{subset("g1", ecr, other), subset("g2", ecr, repo)}, want: "g2"},
		{
			// The context key is not relied on: the value names the repository.
			name:   "another context key naming the repository",
			grants: []kmstypes.GrantListEntry{{GrantId: aws.String("g1"), GranteePrincipal: aws.String(ecr), Operations: ops, Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: map[string]string{"aws:ecr:repositoryArn": repo}}}},
			want:   "g1",
		},
		{
			name:   "EncryptionContextEquals",
			grants: []kmstypes.GrantListEntry{{GrantId: aws.String("g1"), GranteePrincipal: aws.String(ecr), Operations: ops, Constraints: &kmstypes.GrantConstraints{EncryptionContextEquals: map[string]string{"aws:ecr:arn": repo}}}},
			want:   "g1",
		},
		{
			name:   "SourceArn constraint",
			grants: []kmstypes.GrantListEntry{{GrantId: aws.String("g1"), GranteeServicePrincipal: aws.String(ecr), Operations: ops, Constraints: &kmstypes.GrantConstraints{SourceArn: aws.String(repo)}}},
			want:   "g1",
		},
		{
			// Without a constraint the grant lets ECR decrypt for every repository.
			name:   "unconstrained grant to ECR",
			grants: []kmstypes.GrantListEntry{{GrantId: aws.String("g1"), GranteePrincipal: aws.String("ecr.amazonaws.com"), Operations: ops}},
			want:   "g1",
		},
		{name: "China principal", grants: []kmstypes.GrantListEntry{subset("g1", "ecr.cn-north-1.amazonaws.com.cn", repo)}, want: "g1"},
		{name: "grant to a role", grants: []kmstypes.GrantListEntry{subset("g1", "arn:aws:iam::111122223333:role/ci-builder", repo)}, want: ""},
		{name: "grant to another service", grants: []kmstypes.GrantListEntry{subset("g1", "ecs.us-west-2.amazonaws.com", repo)}, want: ""},
		{
			name:   "no Decrypt",
			grants: []kmstypes.GrantListEntry{{GrantId: aws.String("g1"), GranteePrincipal: aws.String(ecr), Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt}, Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: map[string]string{"aws:ecr:arn": repo}}}},
			want:   "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var grants []kmsGrant
			for _, g := range tc.grants {
				grants = append(grants, grantOf(g))
			}
			if got := ecrGrantFor(grants, repo); got != tc.want {
				t.Errorf("ecrGrantFor = %q, want %q", got, tc.want)
			}
		})
	}
}
