package cloud

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// ECRToken returns registry credentials for the image's ECR registry
// (ecr:GetAuthorizationToken), issued to the registry role of the image's account when one
// is configured (Options.RegistryRoles), else to the bot's own role. A manifest read with
// them proves that an image exists, not that a node may pull it.
//
// A failure that a permission would fix is a *PermissionError, which names it: sts:AssumeRole
// and the trust policy when the role cannot be assumed, ecr:GetAuthorizationToken for the
// role when the role may not ask for a token.
func (g *Gatherer) ECRToken(ctx context.Context, img diagnosis.ImageRef) (user, password string, err error) {
	if !img.IsECR() {
		return "", "", errors.New("not an ECR image")
	}
	client := g.clients(img.Region).ecr
	r := g.role(img.Account, img.Region)
	if r != nil {
		if err := g.assumeRole(ctx, r, img.Account); err != nil {
			return "", "", &PermissionError{Needs: assumeSkip(r, img.Account, img.Region, err).Needs, Err: fmt.Errorf("assume %s: %w", r.arn, err)}
		}
		client = g.ecrFor(img)
	}
	// The key is per account, and an account is read either through its role or with the
	// bot's own credentials (the roles are fixed when the Gatherer is built): a token of
	// one kind is never handed out for the other.
	tok, err := g.tokens.get(ctx, registryKey{img.Account, img.Region}, func(ctx context.Context) (string, error) {
		var out *ecr.GetAuthorizationTokenOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
			return err
		})
		if err != nil {
			return "", err
		}
		if len(out.AuthorizationData) == 0 {
			return "", errors.New("GetAuthorizationToken returned no token")
		}
		d := out.AuthorizationData[0]
		if exp := aws.ToTime(d.ExpiresAt); !exp.IsZero() && g.opts.Now().Add(g.opts.TTL+time.Minute).After(exp) {
			return "", errors.New("the ECR token expires too soon to cache")
		}
		return aws.ToString(d.AuthorizationToken), nil
	})
	if err != nil && r != nil {
		return "", "", &PermissionError{Needs: "ecr:GetAuthorizationToken for the registry role " + r.arn,
			Err: fmt.Errorf("get an ECR token as %s: %w", r.arn, err)}
	}
	if err != nil {
		return "", "", err
	}
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		return "", "", errors.New("GetAuthorizationToken returned a token that is not base64")
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("GetAuthorizationToken returned a token without a user name")
	}
	return user, password, nil
}

// PermissionError is an ECRToken failure that names the permission it needed (the registry
// probe reports it in its skip).
type PermissionError struct {
	Needs string // e.g. "ecr:GetAuthorizationToken for the registry role arn:aws:iam::…"
	Err   error
}

func (e *PermissionError) Error() string { return e.Err.Error() }

// Permission is the permission the call needed.
func (e *PermissionError) Permission() string { return e.Needs }

func (e *PermissionError) Unwrap() error { return e.Err }
