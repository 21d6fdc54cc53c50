package cloud

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// podWork is the evidence being gathered for one pod.
type podWork struct {
	f         *diagnosis.Facts
	images    []*imageWork
	instance  *instance
	principal *diagnosis.PrincipalEvidence
	network   *diagnosis.NetworkEvidence
	decisions map[string]map[string]string // repository ARN -> action -> decision
	// endpointPolicies are the policy documents of the VPC endpoints, by suffix.
	endpointPolicies map[string]string
	caller           string

	mu    sync.Mutex
	skips []diagnosis.Skip
}

type imageWork struct {
	ref     diagnosis.ImageRef
	base    *ecrImage
	ev      *diagnosis.ECRImageEvidence
	ptc     *diagnosis.PullThroughCacheRule
	ptcSkip *diagnosis.Skip
	policy  *repoPolicy
}

// plan decides what to look up for a pod: its failing ECR images, and the node's role and
// network when the node is an AWS node. Pods with nothing AWS-related get nothing.
func (g *Gatherer) plan(f *diagnosis.Facts) *podWork {
	w := &podWork{f: f}
	seen := map[string]bool{}
	for _, c := range diagnosis.FailingContainers(f) {
		if seen[c.Image.Raw] || !c.Image.IsECR() {
			continue
		}
		seen[c.Image.Raw] = true
		w.images = append(w.images, &imageWork{ref: c.Image})
	}
	awsNode := f.Node != nil && (f.Node.InstanceID != "" || f.Node.Fargate)
	if len(w.images) == 0 && !(awsNode && len(diagnosis.FailingContainers(f)) > 0) {
		return nil
	}
	return w
}

// region is where the pod's AWS lookups start: the first ECR image's region, else the node's.
func (w *podWork) region() string {
	for _, img := range w.images {
		if img.ref.Region != "" {
			return img.ref.Region
		}
	}
	if w.f.Node != nil && w.f.Node.Region != "" {
		return w.f.Node.Region
	}
	return "us-east-1"
}

func (w *podWork) skip(s diagnosis.Skip) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, old := range w.skips {
		if old == s {
			return
		}
	}
	w.skips = append(w.skips, s)
}

const credentialsTimeout = 3 * time.Second

// haveCredentials checks once that the default chain yields credentials; without them (a
// non-EKS cluster) every cloud check is reported as skipped instead of failing one by one.
func (g *Gatherer) haveCredentials(ctx context.Context, region string) (bool, diagnosis.Skip) {
	ok, _ := g.credentials.get(ctx, "", func(ctx context.Context) (bool, error) {
		if g.cfg.Credentials == nil {
			return false, nil
		}
		// Bounded tightly: off AWS, the chain's last resort (instance metadata) can hang.
		ctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
		defer cancel()
		_, err := g.cfg.Credentials.Retrieve(ctx)
		return err == nil, nil
	})
	return ok, diagnosis.Skip{Check: "aws", Reason: "no AWS credentials were found (default credential chain), so ECR, IAM and VPC evidence was not gathered",
		Needs: "AWS credentials for the bot: an IRSA or EKS Pod Identity role, or AWS_* environment variables, with deploy/aws/iam-policy.json"}
}

func (g *Gatherer) callerAccount(ctx context.Context, w *podWork) {
	acct, err := g.caller.get(ctx, "", func(ctx context.Context) (string, error) {
		var out *sts.GetCallerIdentityOutput
		err := g.call(ctx, func(ctx context.Context) (err error) {
			out, err = g.clients(w.region()).sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		})
		if err != nil {
			return "", err
		}
		return *out.Account, nil
	})
	if err != nil {
		w.skip(skipFor("caller-identity", "sts:GetCallerIdentity", "", "sts."+w.region()+".amazonaws.com", err))
	}
	w.caller = acct
}

// gatherImages reads the ECR evidence of the pod's images, the caller's account, and, ahead of
// need, each repository's policy (evaluated once the pulling role is known).
func (g *Gatherer) gatherImages(ctx context.Context, w *podWork) {
	var wg sync.WaitGroup
	wg.Go(func() { g.callerAccount(ctx, w) })
	for _, img := range w.images {
		wg.Go(func() { img.policy = g.repositoryPolicy(ctx, img.ref) })
		wg.Go(func() {
			rule, skip := g.pullThroughCacheRule(ctx, img.ref)
			img.ptc, img.ptcSkip = rule, skip
		})
		wg.Go(func() {
			base, err := g.ecrImage(ctx, img.ref)
			if err != nil {
				w.skip(skipFor("ecr-image", "ecr:DescribeImages", img.ref.RepositoryARN(), "api.ecr."+img.ref.Region+".amazonaws.com", err))
				return
			}
			img.base = base
			for _, s := range base.skips {
				w.skip(s)
			}
		})
	}
	wg.Wait()
	for _, img := range w.images {
		// A pull-through cache rule only matters for an image that is not there.
		if img.base == nil || img.base.ev.ImageExists != diagnosis.Yes || img.base.ev.RepositoryExists == diagnosis.No {
			if img.ptcSkip != nil {
				w.skip(*img.ptcSkip)
			}
		} else {
			img.ptc = nil
		}
	}
}

// evaluatePolicies evaluates repository policies for the pod's principal (cross-account pulls
// need an Allow there; a Deny wins everywhere).
func (g *Gatherer) evaluatePolicies(w *podWork) {
	if w.network != nil && w.f.Node != nil {
		for suffix, ep := range w.network.Endpoints {
			ep.PolicyDenies = endpointPolicyDenies(w.endpointPolicies[suffix], suffix, w.f.Node.Region, w)
		}
	}
	for _, img := range w.images {
		if img.base == nil {
			continue
		}
		ev := img.base.ev // a copy: the cached value is shared between pods
		ev.PullThroughCache = img.ptc
		if ev.RepositoryExists != diagnosis.No && w.principal != nil && w.principal.RoleARN != "" {
			p := img.policy
			for _, s := range p.skips {
				w.skip(s)
			}
			if len(p.skips) == 0 {
				ev.Policy = repositoryPolicyEvidence(p.text, w.principal.RoleARN, accountOf(w.principal.RoleARN), img.ref.RepositoryARN())
			}
		}
		img.ev = &ev
	}
}

// finish writes the evidence into the pod's facts.
func (w *podWork) finish() {
	ev := &diagnosis.CloudEvidence{Images: map[string]*diagnosis.ImageEvidence{}, Principal: w.principal, Network: w.network, CallerAccount: w.caller}
	if w.principal != nil && w.decisions != nil {
		p := *w.principal
		p.Decisions = map[string]string{}
		for _, img := range w.images {
			for action, d := range w.decisions[img.ref.RepositoryARN()] {
				// The most restrictive decision over the pod's repositories.
				if old, ok := p.Decisions[action]; !ok || rank(d) > rank(old) {
					p.Decisions[action] = d
				}
			}
		}
		ev.Principal = &p
	}
	for _, img := range w.images {
		if img.ev != nil {
			ev.Images[img.ref.Raw] = &diagnosis.ImageEvidence{ECR: img.ev}
		}
	}
	if w.f.Cloud != nil { // another adapter (the registry probe) may have written first
		for k, v := range w.f.Cloud.Images {
			if cur, ok := ev.Images[k]; ok {
				cur.Probe = v.Probe
			} else {
				ev.Images[k] = v
			}
		}
	}
	w.f.Cloud = ev
	w.f.Skipped = append(w.f.Skipped, w.skips...)
}

func rank(decision string) int {
	switch decision {
	case "explicitDeny":
		return 2
	case "implicitDeny":
		return 1
	}
	return 0
}

func accountOf(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 4 {
		return parts[4]
	}
	return ""
}

func sortStrings(s []string) { sort.Strings(s) }
