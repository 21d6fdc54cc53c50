package cloud

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Options configure a Gatherer.
type Options struct {
	// Cluster is the EKS cluster name, needed to read Fargate profiles.
	Cluster string
	// CheckTimeout bounds each lookup (default 8s).
	CheckTimeout time.Duration
	// TTL is how long a lookup is reused (default 5 minutes).
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Concurrency bounds the pods enriched at once in EnrichAll (default 8).
	Concurrency int
	Logger      *slog.Logger
	// RegistryRoles maps a registry account ID to the ARN of a role in it that the bot
	// assumes (sts:AssumeRole, session "pullcheck") to read that account's ECR repositories
	// and their KMS keys. Accounts without a role are read with the bot's own credentials.
	RegistryRoles map[string]string
}

// Gatherer reads AWS evidence for diagnoses.
type Gatherer struct {
	cfg  aws.Config
	opts Options

	mu      sync.Mutex
	regions map[string]*regionClients
	// roles and roleClients are the registry roles (by account) and their clients.
	roles       map[string]*registryRole
	roleClients map[registryKey]*regionClients
	assumed     *cache[string, struct{}]

	credentials *cache[string, bool]
	caller      *cache[string, string]
	images      *cache[imageKey, *ecrImage]
	policies    *cache[imageKey, *repoPolicy]
	ptcRules    *cache[registryKey, []diagnosis.PullThroughCacheRule]
	kmsKeys     *cache[string, string]
	grants      *cache[string, []kmsGrant]
	instances   *cache[string, *instance]
	profiles    *cache[string, string]
	fargate     *cache[string, string]
	simulations *cache[simKey, map[string]string]
	attached    *cache[string, []string]
	routes      *cache[string, *routeInfo]
	vpcs        *cache[string, *vpcInfo]
	tokens      *cache[registryKey, string]
}

type regionClients struct {
	ecr *ecr.Client
	ec2 *ec2.Client
	kms *kms.Client
	eks *eks.Client
	iam *iam.Client
	sts *sts.Client
}

// New returns a Gatherer that calls AWS with cfg (aws-sdk-go-v2's default chain in production).
func New(cfg aws.Config, opts Options) *Gatherer {
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 8 * time.Second
	}
	if opts.TTL <= 0 {
		opts.TTL = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ttl, now := opts.TTL, opts.Now
	g := &Gatherer{
		cfg: cfg, opts: opts, regions: map[string]*regionClients{},
		roles: map[string]*registryRole{}, roleClients: map[registryKey]*regionClients{},
		assumed:     newCache[string, struct{}](ttl, now),
		credentials: newCache[string, bool](ttl, now),
		caller:      newCache[string, string](ttl, now),
		images:      newCache[imageKey, *ecrImage](ttl, now),
		policies:    newCache[imageKey, *repoPolicy](ttl, now),
		ptcRules:    newCache[registryKey, []diagnosis.PullThroughCacheRule](ttl, now),
		kmsKeys:     newCache[string, string](ttl, now),
		grants:      newCache[string, []kmsGrant](ttl, now),
		instances:   newCache[string, *instance](ttl, now),
		profiles:    newCache[string, string](ttl, now),
		fargate:     newCache[string, string](ttl, now),
		simulations: newCache[simKey, map[string]string](ttl, now),
		attached:    newCache[string, []string](ttl, now),
		routes:      newCache[string, *routeInfo](ttl, now),
		vpcs:        newCache[string, *vpcInfo](ttl, now),
		tokens:      newCache[registryKey, string](ttl, now),
	}
	g.images.keep = func(v *ecrImage) bool { return len(v.skips) == 0 }
	g.policies.keep = func(v *repoPolicy) bool { return len(v.skips) == 0 }
	g.vpcs.keep = func(v *vpcInfo) bool { return len(v.skips) == 0 }
	return g
}

func (g *Gatherer) clients(region string) *regionClients {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.regions[region]; ok {
		return c
	}
	cfg := g.cfg.Copy()
	cfg.Region = region
	c := &regionClients{
		ecr: ecr.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg), kms: kms.NewFromConfig(cfg),
		eks: eks.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg),
	}
	g.regions[region] = c
	return c
}

// call runs one lookup under its own deadline.
func (g *Gatherer) call(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, g.opts.CheckTimeout)
	defer cancel()
	return fn(ctx)
}

// Enrich adds cloud evidence to one pod's facts.
func (g *Gatherer) Enrich(ctx context.Context, f *diagnosis.Facts) {
	g.EnrichAll(ctx, []*diagnosis.Facts{f})
}

// EnrichAll adds cloud evidence to many pods' facts. Lookups are shared: one per repository
// and tag, one role resolution per node, one IAM simulation per role (covering every
// repository its pods pull), one network read per subnet and VPC. Independent lookups run
// concurrently; only the IAM simulation waits, for the roles.
func (g *Gatherer) EnrichAll(ctx context.Context, all []*diagnosis.Facts) {
	ctx = withScan(ctx)
	var work []*podWork
	for _, f := range all {
		if w := g.plan(f); w != nil {
			work = append(work, w)
		}
	}
	if len(work) == 0 {
		return
	}
	if ok, skip := g.haveCredentials(ctx, work[0].region()); !ok {
		for _, w := range work {
			w.skip(skip)
			w.finish()
		}
		return
	}

	// Image lookups do not depend on who pulls: start them at once.
	sem := make(chan struct{}, 4*g.opts.Concurrency)
	var background sync.WaitGroup
	for _, w := range work {
		background.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			g.gatherImages(ctx, w)
		})
	}

	// Who pulls, for every pod; the network read starts as soon as the node's instance is known.
	var principals sync.WaitGroup
	for _, w := range work {
		principals.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			g.principal(ctx, w, &background)
		})
	}
	principals.Wait()

	// One IAM simulation per role, over every repository its pods pull.
	repos := map[string]map[string]bool{} // role ARN -> repository ARNs
	for _, w := range work {
		if p := w.principal; p != nil && p.RoleARN != "" {
			if repos[p.RoleARN] == nil {
				repos[p.RoleARN] = map[string]bool{}
			}
			for _, img := range w.images {
				repos[p.RoleARN][img.ref.RepositoryARN()] = true
			}
		}
	}
	decisions := map[string]map[string]map[string]string{}
	var dmu sync.Mutex
	var sims sync.WaitGroup
	for role, set := range repos {
		if len(set) == 0 {
			continue
		}
		sims.Go(func() {
			d, err := g.simulate(ctx, work, role, set)
			dmu.Lock()
			defer dmu.Unlock()
			if err != nil {
				for _, w := range work {
					if w.principal != nil && w.principal.RoleARN == role {
						w.skip(skipFor("iam-simulation", "iam:SimulatePrincipalPolicy", role, "iam.amazonaws.com", err))
					}
				}
				return
			}
			decisions[role] = d
		})
	}
	sims.Wait()
	background.Wait()
	for _, w := range work {
		if p := w.principal; p != nil {
			w.decisions = decisions[p.RoleARN]
		}
		g.evaluatePolicies(w)
		w.finish()
	}
}
