package diagnosis

import (
	"context"
	"sync"
)

// Enricher adds evidence to facts gathered by a collector: cloud APIs, registry probes. It
// never fails: a lookup that cannot be made becomes a Skip in the facts.
type Enricher interface {
	EnrichAll(ctx context.Context, all []*Facts)
}

// Enriched wraps a collector so that every pod's facts pass through the enrichers, in order
// (each runs its own lookups concurrently and shares them between pods).
type Enriched struct {
	Collector interface {
		Collector
		FailingCollector
	}
	Enrichers []Enricher
}

// Collect gathers one pod's facts and enriches them.
func (e Enriched) Collect(ctx context.Context, ref PodRef) (*Facts, error) {
	f, err := e.Collector.Collect(ctx, ref)
	if err != nil {
		return nil, err
	}
	e.enrich(ctx, []*Facts{f})
	return f, nil
}

// CollectFailing gathers the facts of possibly failing pods and enriches them together, so
// that lookups are shared across the scan.
func (e Enriched) CollectFailing(ctx context.Context, namespace string) ([]*Facts, error) {
	all, err := e.Collector.CollectFailing(ctx, namespace)
	if err != nil {
		return nil, err
	}
	var failing []*Facts
	for _, f := range all {
		if len(FailingContainers(f)) > 0 {
			failing = append(failing, f)
		}
	}
	e.enrich(ctx, failing)
	return all, nil
}

// enrich runs the enrichers concurrently, each on its own shallow copy of every pod's facts
// (the collected facts are only read), then merges what each found into the originals.
func (e Enriched) enrich(ctx context.Context, all []*Facts) {
	if len(all) == 0 || len(e.Enrichers) == 0 {
		return
	}
	shadows := make([][]*Facts, len(e.Enrichers))
	var wg sync.WaitGroup
	for i, en := range e.Enrichers {
		shadows[i] = make([]*Facts, len(all))
		for j, f := range all {
			c := *f
			c.Cloud, c.Skipped = nil, nil
			shadows[i][j] = &c
		}
		wg.Go(func() { en.EnrichAll(ctx, shadows[i]) })
	}
	wg.Wait()
	for _, list := range shadows {
		for j, s := range list {
			mergeEvidence(all[j], s)
		}
	}
}

// mergeEvidence adds what one enricher found (in s) to f.
func mergeEvidence(f, s *Facts) {
	f.Skipped = append(f.Skipped, s.Skipped...)
	if s.Cloud == nil {
		return
	}
	if f.Cloud == nil {
		f.Cloud = &CloudEvidence{}
	}
	if s.Cloud.Principal != nil {
		f.Cloud.Principal = s.Cloud.Principal
	}
	if s.Cloud.Network != nil {
		f.Cloud.Network = s.Cloud.Network
	}
	if s.Cloud.CallerAccount != "" {
		f.Cloud.CallerAccount = s.Cloud.CallerAccount
	}
	for k, v := range s.Cloud.Images {
		if f.Cloud.Images == nil {
			f.Cloud.Images = map[string]*ImageEvidence{}
		}
		cur := f.Cloud.Images[k]
		if cur == nil {
			cur = &ImageEvidence{}
			f.Cloud.Images[k] = cur
		}
		if v.ECR != nil {
			cur.ECR = v.ECR
		}
		if v.Probe != nil {
			cur.Probe = v.Probe
		}
	}
}

// ECR returns the ECR evidence for the container's image, or nil.
func (f *Facts) ECR(c *Container) *ECRImageEvidence {
	if f.Cloud == nil || f.Cloud.Images[c.Image.Raw] == nil {
		return nil
	}
	return f.Cloud.Images[c.Image.Raw].ECR
}

// Probe returns the registry probe for the container's image, or nil.
func (f *Facts) Probe(c *Container) *RegistryProbe {
	if f.Cloud == nil || f.Cloud.Images[c.Image.Raw] == nil {
		return nil
	}
	return f.Cloud.Images[c.Image.Raw].Probe
}

// Principal returns who pulls, or nil when unknown.
func (f *Facts) Principal() *PrincipalEvidence {
	if f.Cloud == nil {
		return nil
	}
	return f.Cloud.Principal
}

// Network returns the node's network evidence, or nil when unknown.
func (f *Facts) Network() *NetworkEvidence {
	if f.Cloud == nil {
		return nil
	}
	return f.Cloud.Network
}
