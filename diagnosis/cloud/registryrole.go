package cloud

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// roleSessionName names the bot's sessions in the registry accounts (their CloudTrail shows it).
const roleSessionName = "pullcheck"

// registryRole is the role the bot assumes to read one registry account (Options.RegistryRoles).
type registryRole struct {
	arn   string
	creds aws.CredentialsProvider // cached AssumeRole credentials, refreshed before they expire
}

// role returns the registry role of account, built once per account, or nil when none is
// configured (the bot's own credentials read that account). region is the STS region when
// the base configuration has none.
func (g *Gatherer) role(account, region string) *registryRole {
	arn := g.opts.RegistryRoles[account]
	if arn == "" {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.roles[account]; ok {
		return r
	}
	cfg := g.cfg.Copy()
	if cfg.Region == "" {
		cfg.Region = region
	}
	r := &registryRole{arn: arn, creds: aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), arn,
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = roleSessionName }))}
	g.roles[account] = r
	return r
}

// registryClients returns the ECR and KMS clients for reading account's registry in region:
// with the account's registry role when one is configured, else the bot's own.
func (g *Gatherer) registryClients(account, region string) *regionClients {
	r := g.role(account, region)
	if r == nil {
		return g.clients(region)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	key := registryKey{account, region}
	if c, ok := g.roleClients[key]; ok {
		return c
	}
	cfg := g.cfg.Copy()
	cfg.Region = region
	cfg.Credentials = r.creds
	c := &regionClients{ecr: ecr.NewFromConfig(cfg), kms: kms.NewFromConfig(cfg)}
	g.roleClients[key] = c
	return c
}

// ecrFor is the ECR client for the image's registry.
func (g *Gatherer) ecrFor(img diagnosis.ImageRef) *ecr.Client {
	return g.registryClients(img.Account, img.Region).ecr
}

// kmsFor is the KMS client for a repository's key: the registry's when the key is in the
// registry account (a key in another account is read with the bot's own credentials).
func (g *Gatherer) kmsFor(registry, region, key string) *kms.Client {
	if accountOfARN(key) == registry {
		return g.registryClients(registry, region).kms
	}
	return g.clients(region).kms
}

// accountOfARN returns the account field of an ARN ("" for anything else).
func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// assume checks that the registry role of account (if any) can be assumed, once per account
// and TTL (a failure once per scan). A failure is the Skip of every read in that account:
// it names sts:AssumeRole on the role and its trust policy, not the ECR actions.
func (g *Gatherer) assume(ctx context.Context, account, region string) *diagnosis.Skip {
	r := g.role(account, region)
	if r == nil {
		return nil
	}
	err := g.assumeRole(ctx, r, account)
	if err == nil {
		return nil
	}
	s := assumeSkip(r, account, region, err)
	return &s
}

// assumeRole gets r's credentials (cached per account and TTL, as for assume).
func (g *Gatherer) assumeRole(ctx context.Context, r *registryRole, account string) error {
	_, err := g.assumed.get(ctx, account, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, g.call(ctx, func(ctx context.Context) error {
			_, err := r.creds.Retrieve(ctx)
			return err
		})
	})
	return err
}

// assumeSkip says why r could not be assumed and what that needs.
func assumeSkip(r *registryRole, account, region string, err error) diagnosis.Skip {
	s := skipFor("ecr-registry-role", "sts:AssumeRole", r.arn, "sts."+region+".amazonaws.com", err)
	if isAccessDenied(err) {
		s.Reason = fmt.Sprintf("the bot could not assume %s to read registry account %s", r.arn, account)
		s.Needs = "sts:AssumeRole on " + r.arn + " for the bot's role, and a trust policy on that role that names the bot's role"
	}
	return s
}
