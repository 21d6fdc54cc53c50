package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"golang.org/x/sync/errgroup"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Defaults for Options.
const (
	DefaultPageSize    = 500
	DefaultConcurrency = 8
)

// Options configure a Collector.
type Options struct {
	// Context is the kubeconfig context name; it becomes Facts.Source and appears in errors.
	Context string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ReadSecrets allows reading the referenced pull secrets (only their type and the
	// registry host keys). When false they are reported as SecretUnchecked.
	ReadSecrets bool
	// PageSize is the Limit of each LIST request (DefaultPageSize when <= 0).
	PageSize int64
	// Concurrency bounds the auxiliary requests in flight (DefaultConcurrency when <= 0).
	Concurrency int
}

// Collector reads diagnosis.Facts from a cluster.
type Collector struct {
	client kubernetes.Interface
	opts   Options
}

var (
	_ diagnosis.Collector        = (*Collector)(nil)
	_ diagnosis.FailingCollector = (*Collector)(nil)
)

// NewCollector returns a Collector that reads through client.
func NewCollector(client kubernetes.Interface, opts Options) *Collector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return &Collector{client: client, opts: opts}
}

// Collect gathers the facts about one pod. Only the read of the pod itself can fail it:
// diagnosis.ErrPodNotFound, diagnosis.ErrNamespaceNotFound, or a *diagnosis.ForbiddenError.
// Every other read that fails is recorded in Facts.Skipped.
func (c *Collector) Collect(ctx context.Context, ref diagnosis.PodRef) (*diagnosis.Facts, error) {
	now := c.opts.Now()
	pod, err := c.client.CoreV1().Pods(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, c.podError(ctx, ref, err)
	}
	pod.ManagedFields = nil

	r := c.newRun()
	var (
		events     []podEvent
		eventsErr  error
		related    map[string]diagnosis.Related
		relatedSkp *diagnosis.Skip
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		events, eventsErr = r.events(gctx, pod.Namespace, pod.Name)
		return nil
	})
	g.Go(func() error {
		related, relatedSkp = c.related(gctx, pod)
		return nil
	})
	r.prefetch(gctx, g, pod)
	_ = g.Wait() // the functions never fail: a failed read is a Skip
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("collect pod %s in context %q: %w", ref, c.opts.Context, err)
	}

	f := &diagnosis.Facts{Pod: pod, Now: now, Source: c.opts.Context}
	if eventsErr != nil {
		f.Skipped = append(f.Skipped, skip(checkEvents, "events of pod "+pod.Name,
			access{verb: "list", resource: "events", namespace: pod.Namespace}, eventsErr))
	}
	for _, e := range events {
		if e.uid == "" || e.uid == pod.UID {
			f.Events = append(f.Events, e.event)
		}
	}
	diagnosis.SortEvents(f.Events)
	r.podFacts(ctx, pod, f) // every read it makes was prefetched
	f.Related = related
	if relatedSkp != nil {
		f.Skipped = append(f.Skipped, *relatedSkp)
	}
	return f, nil
}

// podError translates the failure of the pod read.
func (c *Collector) podError(ctx context.Context, ref diagnosis.PodRef, err error) error {
	where := fmt.Sprintf("get pod %s in context %q", ref, c.opts.Context)
	switch {
	case apierrors.IsNotFound(err):
		// Only now is it worth a request to tell a typo in the namespace from a missing pod;
		// if the namespace cannot be read, the pod is reported as not found.
		_, nsErr := c.client.CoreV1().Namespaces().Get(ctx, ref.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(nsErr) {
			return fmt.Errorf("%s: namespace %q does not exist: %w", where, ref.Namespace, diagnosis.ErrNamespaceNotFound)
		}
		return fmt.Errorf("%s: %w", where, diagnosis.ErrPodNotFound)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: %w", where, access{verb: "get", resource: "pods", namespace: ref.Namespace}.forbidden(err))
	}
	return fmt.Errorf("%s: %w", where, err)
}

// related counts the other pods failing on the pod's images: cluster-wide, or in the
// pod's namespace when listing pods across the cluster is forbidden. Only pending pods
// are listed; a pod with no failing image needs no list at all.
func (c *Collector) related(ctx context.Context, pod *corev1.Pod) (map[string]diagnosis.Related, *diagnosis.Skip) {
	if len(failingImages(pod)) == 0 {
		return nil, nil
	}
	list := func(namespace string) (*relatedIndex, error) {
		idx := newRelatedIndex()
		idx.add(pod)
		err := c.listPods(ctx, namespace, "status.phase=Pending", func(p *corev1.Pod) {
			if diagnosis.HasPullFailure(p) {
				idx.add(p)
			}
		})
		return idx, err
	}
	namespace := ""
	idx, err := list(namespace)
	if apierrors.IsForbidden(err) {
		namespace = pod.Namespace
		idx, err = list(namespace)
	}
	if err != nil {
		s := skip(checkRelated, "pods", access{verb: "list", resource: "pods"}, err)
		return nil, &s
	}
	return idx.related(pod, scopeOf(namespace)), nil
}
