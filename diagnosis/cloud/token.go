package cloud

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// ECRToken returns registry credentials for the image's ECR registry, issued to the bot's
// own role (ecr:GetAuthorizationToken). A manifest read with them proves that an image
// exists, not that a node may pull it.
func (g *Gatherer) ECRToken(ctx context.Context, img diagnosis.ImageRef) (user, password string, err error) {
	if !img.IsECR() {
		return "", "", errors.New("not an ECR image")
	}
	tok, err := g.tokens.get(ctx, registryKey{img.Account, img.Region}, func(ctx context.Context) (string, error) {
		var out *ecr.GetAuthorizationTokenOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = g.clients(img.Region).ecr.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
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
