package diagnosis

import "context"

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

func (e Enriched) enrich(ctx context.Context, all []*Facts) {
	for _, en := range e.Enrichers {
		en.EnrichAll(ctx, all)
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
