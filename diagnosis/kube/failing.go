package kube

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"golang.org/x/sync/errgroup"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// notFinished selects the pods a scan looks at: a pod that succeeded or failed has no
// container left to pull for.
const notFinished = "status.phase!=Succeeded,status.phase!=Failed"

// namespaceEvents is the result of the one events list of a namespace.
type namespaceEvents struct {
	events []podEvent
	err    error
}

// CollectFailing gathers the facts of every pod in namespace ("" for all namespaces) for
// which diagnosis.NeedsEvents is true, ordered by namespace and name.
//
// It lists pods page by page and drops the others at once, so memory follows the number
// of candidates, not of pods; it never reads a pod twice. While the list goes on, it
// lists the events of each namespace with a candidate once, and resolves nodes, service
// accounts, pull secrets and owners through caches (one request per distinct object) with
// at most Options.Concurrency requests in flight. Related counts come from the candidates.
// Only the pod list can fail it (a refusal is a *diagnosis.ForbiddenError); other failed
// reads are recorded in each pod's Facts.Skipped.
func (c *Collector) CollectFailing(ctx context.Context, namespace string) ([]*diagnosis.Facts, error) {
	now := c.opts.Now()
	r := c.newRun()

	var (
		all    []*diagnosis.Facts
		listed int
		byNS   = map[string]*namespaceEvents{}
		work   = make(chan *diagnosis.Facts, c.opts.PageSize)
	)
	g, gctx := errgroup.WithContext(ctx)
	for range c.opts.Concurrency {
		g.Go(func() error {
			for f := range work {
				r.podFacts(gctx, f.Pod, f)
			}
			return nil
		})
	}
	listErr := c.listPods(gctx, namespace, notFinished, func(p *corev1.Pod) {
		listed++
		if !diagnosis.NeedsEvents(p, now) {
			return
		}
		// Copy the pod out of the page, so that the page can be freed.
		pod := new(*p)
		pod.ManagedFields = nil
		f := &diagnosis.Facts{Pod: pod, Now: now, Source: c.opts.Context}
		all = append(all, f)
		if byNS[pod.Namespace] == nil {
			ne := &namespaceEvents{}
			byNS[pod.Namespace] = ne
			g.Go(func() error {
				ne.events, ne.err = r.events(gctx, pod.Namespace, "")
				return nil
			})
		}
		select {
		case work <- f:
		case <-gctx.Done():
		}
	})
	close(work)
	_ = g.Wait() // the functions never fail: a failed read is a Skip
	if listErr != nil {
		return nil, c.listError(namespace, listErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan %s in context %q: %w", scopeOf(namespace), c.opts.Context, err)
	}
	if listed == 0 && namespace != "" {
		if _, err := c.client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("list pods in namespace %s in context %q: %w", namespace, c.opts.Context, diagnosis.ErrNamespaceNotFound)
		}
	}

	distributeEvents(all, byNS)

	idx := newRelatedIndex()
	for _, f := range all {
		idx.add(f.Pod)
	}
	scope := scopeOf(namespace)
	for _, f := range all {
		f.Related = idx.related(f.Pod, scope)
	}
	slices.SortFunc(all, func(a, b *diagnosis.Facts) int {
		return cmp.Or(cmp.Compare(a.Pod.Namespace, b.Pod.Namespace), cmp.Compare(a.Pod.Name, b.Pod.Name))
	})
	return all, nil
}

// distributeEvents hands each namespace's events to the candidates they are about: by
// UID when the event records one (a pod recreated under the same name is another pod),
// by name otherwise. A namespace whose events could not be listed gets a Skip on each pod.
func distributeEvents(all []*diagnosis.Facts, byNS map[string]*namespaceEvents) {
	type podsIn struct {
		byUID  map[string]*diagnosis.Facts
		byName map[string]*diagnosis.Facts
	}
	pods := map[string]*podsIn{}
	for _, f := range all {
		p := pods[f.Pod.Namespace]
		if p == nil {
			p = &podsIn{byUID: map[string]*diagnosis.Facts{}, byName: map[string]*diagnosis.Facts{}}
			pods[f.Pod.Namespace] = p
		}
		p.byUID[string(f.Pod.UID)] = f
		p.byName[f.Pod.Name] = f
	}
	for ns, ne := range byNS {
		p := pods[ns]
		if ne.err != nil {
			for _, f := range p.byUID {
				s := skip(checkEvents, "events in namespace "+ns, access{verb: "list", resource: "events", namespace: ns}, ne.err)
				f.Skipped = append([]diagnosis.Skip{s}, f.Skipped...)
			}
			continue
		}
		for _, e := range ne.events {
			var f *diagnosis.Facts
			if e.uid != "" {
				f = p.byUID[string(e.uid)]
			} else {
				f = p.byName[e.name]
			}
			if f != nil {
				f.Events = append(f.Events, e.event)
			}
		}
		ne.events = nil
	}
	for _, f := range all {
		diagnosis.SortEvents(f.Events)
	}
}

// listError translates the failure of the pod list.
func (c *Collector) listError(namespace string, err error) error {
	where := fmt.Sprintf("list pods in %s in context %q", scopeOf(namespace), c.opts.Context)
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("%s: %w", where, access{verb: "list", resource: "pods", namespace: namespace}.forbidden(err))
	}
	return fmt.Errorf("%s: %w", where, err)
}
