package registryprobe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// ECRTokener supplies ECR credentials for an image's registry: the bot's own, or a registry
// role's where one is configured for the image's account.
type ECRTokener interface {
	ECRToken(ctx context.Context, img diagnosis.ImageRef) (user, password string, err error)
}

// permissionError is an ECRToken error that names the permission the token needed (a
// registry role's sts:AssumeRole or its ecr:GetAuthorizationToken, cloud.PermissionError).
type permissionError interface {
	error
	Permission() string
}

// SecretCredentials reads the credentials for img's host from a pod's pull secret. Only
// namespaces the operator opted in are served; others return (nil, nil).
type SecretCredentials interface {
	PullSecretCredentials(ctx context.Context, namespace, secret string, img diagnosis.ImageRef) (*Credentials, error)
}

// EnricherOptions configure an Enricher.
type EnricherOptions struct {
	// ECR supplies the bot's ECR token; without it ECR images are not probed.
	ECR ECRTokener
	// Secrets supplies pull-secret credentials for opted-in namespaces; without it
	// non-ECR images are probed anonymously.
	Secrets SecretCredentials
	// Concurrency bounds the probes in flight (default 8).
	Concurrency int
	// TTL is how long a probe's answer is reused (default 1 minute): a diagnosis repeated
	// right after a fix or a scan's many pods on one image ask the registry once.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Enricher probes the failing images of pods and records what the registries answered.
type Enricher struct {
	prober *Prober
	opts   EnricherOptions

	mu     sync.Mutex
	cached map[probeKey]cachedProbe
}

type cachedProbe struct {
	res     diagnosis.RegistryProbe
	expires time.Time
}

// NewEnricher returns an Enricher that probes with p.
func NewEnricher(p *Prober, opts EnricherOptions) *Enricher {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Enricher{prober: p, opts: opts, cached: map[probeKey]cachedProbe{}}
}

// probeKey is one probe: an image as one principal sees it.
type probeKey struct{ image, auth, namespace, secret string }

// EnrichAll probes each distinct failing image once (per credential) and records the result in
// every pod that pulls it.
func (e *Enricher) EnrichAll(ctx context.Context, all []*diagnosis.Facts) {
	type target struct {
		f   *diagnosis.Facts
		img diagnosis.ImageRef
		key probeKey
	}
	var targets []target
	for _, f := range all {
		seen := map[string]bool{}
		for _, c := range diagnosis.FailingContainers(f) {
			img := c.Image
			if img.Err != nil || seen[img.Raw] {
				continue
			}
			seen[img.Raw] = true
			key := probeKey{image: img.Full, auth: AuthAnonymous}
			switch {
			case img.IsECR():
				if e.opts.ECR == nil {
					continue
				}
				key.auth = "ecr-token"
			case e.opts.Secrets != nil:
				if s := presentedSecretFor(f, img); s != "" {
					key = probeKey{image: img.Full, auth: "pull-secret", namespace: f.Pod.Namespace, secret: s}
				}
			}
			targets = append(targets, target{f, img, key})
		}
	}
	results := map[probeKey]diagnosis.RegistryProbe{}
	skips := map[probeKey]*diagnosis.Skip{}
	var mu sync.Mutex
	sem := make(chan struct{}, e.opts.Concurrency)
	var wg sync.WaitGroup
	started := map[probeKey]bool{}
	for _, t := range targets {
		if started[t.key] {
			continue
		}
		started[t.key] = true
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			res, skip := e.cachedProbe(ctx, t.img, t.key)
			mu.Lock()
			defer mu.Unlock()
			results[t.key] = res
			skips[t.key] = skip
		})
	}
	wg.Wait()
	for _, t := range targets {
		res, ok := results[t.key]
		if !ok {
			continue
		}
		if s := skips[t.key]; s != nil {
			t.f.Skipped = append(t.f.Skipped, *s)
			continue
		}
		if t.f.Cloud == nil {
			t.f.Cloud = &diagnosis.CloudEvidence{}
		}
		if t.f.Cloud.Images == nil {
			t.f.Cloud.Images = map[string]*diagnosis.ImageEvidence{}
		}
		ie := t.f.Cloud.Images[t.img.Raw]
		if ie == nil {
			ie = &diagnosis.ImageEvidence{}
			t.f.Cloud.Images[t.img.Raw] = ie
		}
		r := res
		ie.Probe = &r
	}
}

// cachedProbe returns a recent answer for key, or probes and remembers a successful answer.
func (e *Enricher) cachedProbe(ctx context.Context, img diagnosis.ImageRef, key probeKey) (diagnosis.RegistryProbe, *diagnosis.Skip) {
	now := e.opts.Now()
	e.mu.Lock()
	c, ok := e.cached[key]
	e.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.res, nil
	}
	res, skip := e.probe(ctx, img, key)
	if skip == nil && ctx.Err() == nil {
		e.mu.Lock()
		if len(e.cached) > 4096 { // a long-running bot: drop what has expired
			for k, c := range e.cached {
				if !now.Before(c.expires) {
					delete(e.cached, k)
				}
			}
		}
		e.cached[key] = cachedProbe{res: res, expires: now.Add(e.opts.TTL)}
		e.mu.Unlock()
	}
	return res, skip
}

func (e *Enricher) probe(ctx context.Context, img diagnosis.ImageRef, key probeKey) (diagnosis.RegistryProbe, *diagnosis.Skip) {
	var creds *Credentials
	switch key.auth {
	case "ecr-token":
		user, pass, err := e.opts.ECR.ECRToken(ctx, img)
		if err != nil {
			needs := "ecr:GetAuthorizationToken for the bot's AWS role"
			var perm permissionError
			if errors.As(err, &perm) {
				needs = perm.Permission()
			}
			return diagnosis.RegistryProbe{}, &diagnosis.Skip{Check: "registry-probe", Reason: fmt.Sprintf("no ECR token for the bot to read %s's manifest", img.Full),
				Needs: needs}
		}
		creds = &Credentials{Username: user, Password: pass, Source: "ecr-token"}
	case "pull-secret":
		c, err := e.opts.Secrets.PullSecretCredentials(ctx, key.namespace, key.secret, img)
		if err != nil {
			return diagnosis.RegistryProbe{}, &diagnosis.Skip{Check: "registry-probe", Reason: fmt.Sprintf("pull secret %s could not be read for the probe", key.secret),
				Needs: "get secrets in namespace " + key.namespace}
		}
		if c != nil {
			c.Source = "pull-secret"
		}
		creds = c
	}
	return e.prober.Probe(ctx, img, creds), nil
}

// presentedSecretFor names the pull secret the kubelet presents for img: one listed on the
// pod whose registry keys cover the image's host.
func presentedSecretFor(f *diagnosis.Facts, img diagnosis.ImageRef) string {
	for _, s := range f.PullSecrets {
		if s.Status != diagnosis.SecretFound || s.From != "pod" {
			continue
		}
		for _, h := range s.Hosts {
			if img.HostMatches(h) {
				return s.Name
			}
		}
	}
	return ""
}
