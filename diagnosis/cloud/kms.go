package cloud

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// kmsGrant is what pullcheck keeps of one grant on a KMS key.
type kmsGrant struct {
	id         string
	grantees   []string // GranteePrincipal and GranteeServicePrincipal
	operations []string
	// constrained is false for a grant without encryption context or source constraints;
	// names are the values of its EncryptionContextSubset / EncryptionContextEquals pairs and
	// its SourceArn.
	constrained bool
	names       []string
}

// kmsGrants lists a key's grants (kms:ListGrants, every page), cached per key.
func (g *Gatherer) kmsGrants(ctx context.Context, registry, region, key string) ([]kmsGrant, error) {
	return g.grants.get(ctx, key, func(ctx context.Context) ([]kmsGrant, error) {
		var out []kmsGrant
		pg := kms.NewListGrantsPaginator(g.kmsFor(registry, region, key), &kms.ListGrantsInput{KeyId: aws.String(key), Limit: aws.Int32(100)})
		for pg.HasMorePages() {
			var page *kms.ListGrantsOutput
			err := g.call(ctx, func(ctx context.Context) (err error) {
				page, err = pg.NextPage(ctx)
				return err
			})
			if err != nil {
				return nil, fmt.Errorf("list grants of %s: %w", key, err)
			}
			for _, gr := range page.Grants {
				out = append(out, grantOf(gr))
			}
		}
		return out, nil
	})
}

func grantOf(gr kmstypes.GrantListEntry) kmsGrant {
	k := kmsGrant{id: aws.ToString(gr.GrantId)}
	for _, p := range []*string{gr.GranteePrincipal, gr.GranteeServicePrincipal} {
		if s := aws.ToString(p); s != "" {
			k.grantees = append(k.grantees, s)
		}
	}
	for _, op := range gr.Operations {
		k.operations = append(k.operations, string(op))
	}
	if c := gr.Constraints; c != nil {
		for _, m := range []map[string]string{c.EncryptionContextSubset, c.EncryptionContextEquals} {
			for _, v := range m {
				k.names = append(k.names, v)
			}
		}
		if arn := aws.ToString(c.SourceArn); arn != "" {
			k.names = append(k.names, arn)
		}
		k.constrained = len(k.names) > 0
	}
	return k
}

// ecrGrantFor returns the grant that lets ECR decrypt for the repository, or "".
//
// ECR creates the grant when it creates a KMS-encrypted repository. Its shape here is
// inferred from the ECR guide (encryption-at-rest: the grant is ECR's, "Decrypt" is what a
// pull needs) and its CloudTrail examples as remembered, not from a captured ListGrants
// answer: the grantee is ECR's regional service principal (ecr.<region>.amazonaws.com) and
// an EncryptionContextSubset names the repository ARN (under the key aws:ecr:arn). So the
// match does not depend on the exact principal or context key: any ECR service principal,
// and any constraint value equal to the repository ARN (or no constraint at all).
func ecrGrantFor(grants []kmsGrant, repoARN string) string {
	for _, gr := range grants {
		if !slices.ContainsFunc(gr.grantees, isECRPrincipal) || !slices.Contains(gr.operations, string(kmstypes.GrantOperationDecrypt)) {
			continue
		}
		if !gr.constrained || slices.Contains(gr.names, repoARN) {
			return gr.id
		}
	}
	return ""
}

// isECRPrincipal reports whether p is ECR's service principal (ecr.us-west-2.amazonaws.com,
// ecr.amazonaws.com; .amazonaws.com.cn in China [inferred]).
func isECRPrincipal(p string) bool {
	return strings.HasPrefix(p, "ecr.") && (strings.HasSuffix(p, ".amazonaws.com") || strings.HasSuffix(p, ".amazonaws.com.cn"))
}
