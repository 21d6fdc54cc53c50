package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// imageKey names one image (or, with an empty ref, one repository) in one registry.
type imageKey struct{ account, region, repo, ref string }

type registryKey struct{ account, region string }

func keyOf(img diagnosis.ImageRef) imageKey {
	return imageKey{img.Account, img.Region, img.Path, img.Reference()}
}

// ecrImage is what the ECR API says about one image; shared between pods through the cache.
type ecrImage struct {
	ev    diagnosis.ECRImageEvidence // without Policy, which depends on who pulls
	skips []diagnosis.Skip
}

// repoPolicy is a repository's policy text (empty when it has none).
type repoPolicy struct {
	text  string
	skips []diagnosis.Skip
}

var indexMediaTypes = []string{
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

// ecrImage reads the repository, the image, the lifecycle rule that could expire it, its
// platforms, and its KMS key with ECR's grant on it.
func (g *Gatherer) ecrImage(ctx context.Context, img diagnosis.ImageRef) (*ecrImage, error) {
	return g.images.get(ctx, keyOf(img), func(ctx context.Context) (*ecrImage, error) {
		if skip := g.assume(ctx, img.Account, img.Region); skip != nil {
			return &ecrImage{skips: []diagnosis.Skip{*skip}}, nil
		}
		c := g.ecrFor(img)
		out := &ecrImage{}
		ev := &out.ev
		repoARN := img.RepositoryARN()
		host := "api.ecr." + img.Region + ".amazonaws.com"

		// The repository and the image are read at once: a missing repository makes
		// DescribeImages fail with RepositoryNotFoundException too.
		id := ecrtypes.ImageIdentifier{ImageTag: aws.String(img.Tag)}
		if img.Digest != "" {
			id = ecrtypes.ImageIdentifier{ImageDigest: aws.String(img.Digest)}
		}
		var (
			repo            *ecr.DescribeRepositoriesOutput
			images          *ecr.DescribeImagesOutput
			repoErr, imgErr error
			wg              sync.WaitGroup
		)
		wg.Go(func() {
			repoErr = g.call(ctx, func(ctx context.Context) (err error) {
				repo, err = c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RegistryId: aws.String(img.Account), RepositoryNames: []string{img.Path}})
				return err
			})
		})
		wg.Go(func() {
			imgErr = g.call(ctx, func(ctx context.Context) (err error) {
				images, err = c.DescribeImages(ctx, &ecr.DescribeImagesInput{RegistryId: aws.String(img.Account), RepositoryName: aws.String(img.Path), ImageIds: []ecrtypes.ImageIdentifier{id}})
				return err
			})
		})
		wg.Wait()
		var rnf *ecrtypes.RepositoryNotFoundException
		var inf *ecrtypes.ImageNotFoundException
		if errors.As(repoErr, &rnf) || errors.As(imgErr, &rnf) {
			ev.RepositoryExists, ev.ImageExists = diagnosis.No, diagnosis.No
			return out, nil // nothing else to read about a repository that does not exist
		}
		switch {
		case repoErr != nil:
			out.skips = append(out.skips, skipFor("ecr-repository", "ecr:DescribeRepositories", repoARN, host, repoErr))
		case len(repo.Repositories) == 1:
			ev.RepositoryExists = diagnosis.Yes
			if enc := repo.Repositories[0].EncryptionConfiguration; enc != nil {
				ev.EncryptionType = string(enc.EncryptionType)
				ev.KMSKey = aws.ToString(enc.KmsKey)
			}
		}
		switch {
		case errors.As(imgErr, &inf):
			ev.ImageExists = diagnosis.No
			ev.RepositoryExists = diagnosis.Yes // ECR says RepositoryNotFoundException otherwise
		case imgErr != nil:
			out.skips = append(out.skips, skipFor("ecr-image", "ecr:DescribeImages", repoARN, host, imgErr))
		case len(images.ImageDetails) > 0:
			d := images.ImageDetails[0]
			ev.ImageExists = diagnosis.Yes
			ev.RepositoryExists = diagnosis.Yes
			ev.ImageStatus = string(d.ImageStatus)
			ev.ImageDigest = aws.ToString(d.ImageDigest)
			ev.ImageTags = d.ImageTags
			ev.PushedAt = aws.ToTime(d.ImagePushedAt)
			ev.LastPulledAt = aws.ToTime(d.LastRecordedPullTime)
			ev.SizeBytes = aws.ToInt64(d.ImageSizeInBytes)
			ev.MediaType = aws.ToString(d.ImageManifestMediaType)
		}

		// The follow-up reads are independent of each other; each writes its own fields.
		var mu sync.Mutex
		addSkips := func(o *ecrImage) {
			mu.Lock()
			defer mu.Unlock()
			out.skips = append(out.skips, o.skips...)
		}
		if ev.ImageExists == diagnosis.No {
			wg.Go(func() { o := &ecrImage{}; g.recentTags(ctx, img, o); ev.RecentTags = o.ev.RecentTags; addSkips(o) })
			wg.Go(func() { o := &ecrImage{}; g.lifecycle(ctx, img, o); ev.ExpiringRule = o.ev.ExpiringRule; addSkips(o) })
		}
		if ev.ImageExists == diagnosis.Yes && slices.Contains(indexMediaTypes, ev.MediaType) {
			wg.Go(func() { o := &ecrImage{}; g.platforms(ctx, img, o); ev.Platforms = o.ev.Platforms; addSkips(o) })
		}
		if ev.EncryptionType == "KMS" && ev.KMSKey != "" {
			wg.Go(func() {
				kmsHost := "kms." + img.Region + ".amazonaws.com"
				state, err := g.kmsKeyState(ctx, img.Account, img.Region, ev.KMSKey)
				if err != nil {
					addSkips(&ecrImage{skips: []diagnosis.Skip{skipFor("kms-key", "kms:DescribeKey", ev.KMSKey, kmsHost, err)}})
				}
				ev.KMSKeyState = state
				if state != "Enabled" {
					return // a key that is not usable is the cause whatever its grants
				}
				// An enabled key still fails ECR when the grant ECR made for the repository is gone.
				grants, err := g.kmsGrants(ctx, img.Account, img.Region, ev.KMSKey)
				if err != nil {
					addSkips(&ecrImage{skips: []diagnosis.Skip{skipFor("kms-grants", "kms:ListGrants", ev.KMSKey, kmsHost, err)}})
					return
				}
				ev.KMSGrants = len(grants)
				ev.KMSGrantID = ecrGrantFor(grants, repoARN)
				ev.KMSGrant = triOf(ev.KMSGrantID != "")
			})
		}
		wg.Wait()
		return out, nil
	})
}

// recentTags lists the repository's other tags, to spot a typo or an old reference.
func (g *Gatherer) recentTags(ctx context.Context, img diagnosis.ImageRef, out *ecrImage) {
	var list *ecr.ListImagesOutput
	err := g.call(ctx, func(ctx context.Context) (err error) {
		list, err = g.ecrFor(img).ListImages(ctx, &ecr.ListImagesInput{RegistryId: aws.String(img.Account), RepositoryName: aws.String(img.Path),
			Filter: &ecrtypes.ListImagesFilter{TagStatus: ecrtypes.TagStatusTagged}, MaxResults: aws.Int32(1000)})
		return err
	})
	if err != nil {
		out.skips = append(out.skips, skipFor("ecr-tags", "ecr:ListImages", img.RepositoryARN(), "api.ecr."+img.Region+".amazonaws.com", err))
		return
	}
	var tags []string
	for _, id := range list.ImageIds {
		if t := aws.ToString(id.ImageTag); t != "" {
			tags = append(tags, t)
		}
	}
	slices.SortFunc(tags, func(a, b string) int { return naturalCompare(b, a) })
	if len(tags) > 8 {
		tags = tags[:8]
	}
	out.ev.RecentTags = tags
}

// lifecycle finds the rule of the repository's lifecycle policy that would expire the image.
func (g *Gatherer) lifecycle(ctx context.Context, img diagnosis.ImageRef, out *ecrImage) {
	var lp *ecr.GetLifecyclePolicyOutput
	err := g.call(ctx, func(ctx context.Context) (err error) {
		lp, err = g.ecrFor(img).GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RegistryId: aws.String(img.Account), RepositoryName: aws.String(img.Path)})
		return err
	})
	var none *ecrtypes.LifecyclePolicyNotFoundException
	switch {
	case errors.As(err, &none):
		return
	case err != nil:
		out.skips = append(out.skips, skipFor("ecr-lifecycle", "ecr:GetLifecyclePolicy", img.RepositoryARN(), "api.ecr."+img.Region+".amazonaws.com", err))
		return
	}
	out.ev.ExpiringRule = matchLifecycleRule(aws.ToString(lp.LifecyclePolicyText), img)
}

// platforms reads the image index and lists its platforms.
func (g *Gatherer) platforms(ctx context.Context, img diagnosis.ImageRef, out *ecrImage) {
	id := ecrtypes.ImageIdentifier{ImageTag: aws.String(img.Tag)}
	if img.Digest != "" {
		id = ecrtypes.ImageIdentifier{ImageDigest: aws.String(img.Digest)}
	}
	var res *ecr.BatchGetImageOutput
	err := g.call(ctx, func(ctx context.Context) (err error) {
		res, err = g.ecrFor(img).BatchGetImage(ctx, &ecr.BatchGetImageInput{RegistryId: aws.String(img.Account), RepositoryName: aws.String(img.Path),
			ImageIds: []ecrtypes.ImageIdentifier{id}, AcceptedMediaTypes: indexMediaTypes})
		return err
	})
	if err != nil {
		out.skips = append(out.skips, skipFor("ecr-platforms", "ecr:BatchGetImage", img.RepositoryARN(), "api.ecr."+img.Region+".amazonaws.com", err))
		return
	}
	if len(res.Images) == 0 {
		return
	}
	var index struct {
		Manifests []struct {
			Platform struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
				Variant      string `json:"variant"`
			} `json:"platform"`
		} `json:"manifests"`
	}
	if json.Unmarshal([]byte(aws.ToString(res.Images[0].ImageManifest)), &index) != nil {
		return
	}
	for _, m := range index.Manifests {
		p := m.Platform
		if p.OS == "" || p.OS == "unknown" {
			continue // attestation manifests
		}
		s := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			s += "/" + p.Variant
		}
		out.ev.Platforms = append(out.ev.Platforms, s)
	}
}

func (g *Gatherer) kmsKeyState(ctx context.Context, registry, region, key string) (string, error) {
	return g.kmsKeys.get(ctx, key, func(ctx context.Context) (string, error) {
		var out *kms.DescribeKeyOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = g.kmsFor(registry, region, key).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
			return err
		})
		if err != nil {
			return "", err
		}
		return string(out.KeyMetadata.KeyState), nil
	})
}

// repositoryPolicy reads a repository's policy text (cached per repository).
func (g *Gatherer) repositoryPolicy(ctx context.Context, img diagnosis.ImageRef) *repoPolicy {
	p, err := g.policies.get(ctx, imageKey{img.Account, img.Region, img.Path, ""}, func(ctx context.Context) (*repoPolicy, error) {
		if skip := g.assume(ctx, img.Account, img.Region); skip != nil {
			return &repoPolicy{skips: []diagnosis.Skip{*skip}}, nil
		}
		var out *ecr.GetRepositoryPolicyOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = g.ecrFor(img).GetRepositoryPolicy(ctx, &ecr.GetRepositoryPolicyInput{RegistryId: aws.String(img.Account), RepositoryName: aws.String(img.Path)})
			return err
		})
		var none *ecrtypes.RepositoryPolicyNotFoundException
		var rnf *ecrtypes.RepositoryNotFoundException
		switch {
		case errors.As(err, &none), errors.As(err, &rnf):
			return &repoPolicy{}, nil
		case err != nil:
			return &repoPolicy{skips: []diagnosis.Skip{skipFor("ecr-repository-policy", "ecr:GetRepositoryPolicy", img.RepositoryARN(), "api.ecr."+img.Region+".amazonaws.com", err)}}, nil
		}
		return &repoPolicy{text: aws.ToString(out.PolicyText)}, nil
	})
	if err != nil { // the context ended while another pod's read was in flight
		return &repoPolicy{skips: []diagnosis.Skip{skipFor("ecr-repository-policy", "ecr:GetRepositoryPolicy", img.RepositoryARN(), "api.ecr."+img.Region+".amazonaws.com", err)}}
	}
	return p
}

// pullThroughCacheRule returns the rule whose prefix the repository path starts with.
func (g *Gatherer) pullThroughCacheRule(ctx context.Context, img diagnosis.ImageRef) (*diagnosis.PullThroughCacheRule, *diagnosis.Skip) {
	if skip := g.assume(ctx, img.Account, img.Region); skip != nil {
		return nil, skip
	}
	rules, err := g.ptcRules.get(ctx, registryKey{img.Account, img.Region}, func(ctx context.Context) ([]diagnosis.PullThroughCacheRule, error) {
		var rules []diagnosis.PullThroughCacheRule
		p := ecr.NewDescribePullThroughCacheRulesPaginator(g.ecrFor(img), &ecr.DescribePullThroughCacheRulesInput{RegistryId: aws.String(img.Account)})
		for p.HasMorePages() {
			var page *ecr.DescribePullThroughCacheRulesOutput
			err := g.call(ctx, func(ctx context.Context) (err error) {
				page, err = p.NextPage(ctx)
				return err
			})
			if err != nil {
				return nil, err
			}
			for _, r := range page.PullThroughCacheRules {
				rules = append(rules, diagnosis.PullThroughCacheRule{Prefix: aws.ToString(r.EcrRepositoryPrefix), UpstreamURL: aws.ToString(r.UpstreamRegistryUrl), CredentialARN: aws.ToString(r.CredentialArn)})
			}
		}
		return rules, nil
	})
	if err != nil {
		s := skipFor("ecr-pull-through-cache", "ecr:DescribePullThroughCacheRules", "arn:"+img.Partition+":ecr:"+img.Region+":"+img.Account+":*", "api.ecr."+img.Region+".amazonaws.com", err)
		return nil, &s
	}
	for _, r := range rules {
		if strings.HasPrefix(img.Path, r.Prefix+"/") {
			return &r, nil
		}
	}
	return nil, nil
}

// naturalCompare orders version-like tags: numeric runs compare as numbers.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
