package kube

import (
	"context"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"golang.org/x/sync/errgroup"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Skip check names, in the order a Facts value lists them.
const (
	checkEvents         = "events"
	checkNode           = "node"
	checkServiceAccount = "service-account"
	checkPullSecrets    = "pull-secrets"
	checkWorkload       = "workload"
	checkRelated        = "related"
)

// memo runs fetch once per key for the lifetime of one Collect or CollectFailing call;
// concurrent callers of the same key wait for the first one.
type memo[V any] struct {
	mu sync.Mutex
	m  map[string]*memoEntry[V]
}

type memoEntry[V any] struct {
	done chan struct{}
	v    V
	err  error
}

func (m *memo[V]) get(ctx context.Context, key string, fetch func(context.Context) (V, error)) (V, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = make(map[string]*memoEntry[V])
	}
	e, ok := m.m[key]
	if !ok {
		e = &memoEntry[V]{done: make(chan struct{})}
		m.m[key] = e
		m.mu.Unlock()
		e.v, e.err = fetch(ctx)
		close(e.done)
		return e.v, e.err
	}
	m.mu.Unlock()
	select {
	case <-e.done:
		return e.v, e.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// controller is the controller owner reference of a ReplicaSet or a Job, if any.
type controller struct {
	kind, name string
}

// run holds the caches and the concurrency limit of one collection. The values it
// caches are already reduced to facts: no object (and no secret) is kept whole.
type run struct {
	c        *Collector
	sem      chan struct{}
	nodes    memo[*diagnosis.NodeFacts]
	accounts memo[*diagnosis.ServiceAccountFacts]
	secrets  memo[diagnosis.PullSecret] // Name and From are set by the caller
	owners   memo[*controller]
}

func (c *Collector) newRun() *run {
	return &run{c: c, sem: make(chan struct{}, c.opts.Concurrency)}
}

// call runs one API request under the concurrency limit.
func (r *run) call(ctx context.Context, fn func() error) error {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	return fn()
}

func (r *run) node(ctx context.Context, name string) (*diagnosis.NodeFacts, error) {
	return r.nodes.get(ctx, name, func(ctx context.Context) (*diagnosis.NodeFacts, error) {
		var n *corev1.Node
		err := r.call(ctx, func() (err error) {
			n, err = r.c.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			return err
		})
		if err != nil {
			return nil, err
		}
		return diagnosis.NodeFactsFrom(n), nil
	})
}

// serviceAccount returns the account's facts; a missing account is a fact (Found false), not an error.
func (r *run) serviceAccount(ctx context.Context, namespace, name string) (*diagnosis.ServiceAccountFacts, error) {
	return r.accounts.get(ctx, namespace+"/"+name, func(ctx context.Context) (*diagnosis.ServiceAccountFacts, error) {
		var sa *corev1.ServiceAccount
		err := r.call(ctx, func() (err error) {
			sa, err = r.c.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
			return err
		})
		switch {
		case apierrors.IsNotFound(err):
			return &diagnosis.ServiceAccountFacts{Name: name}, nil
		case err != nil:
			return nil, err
		}
		return diagnosis.ServiceAccountFactsFrom(sa), nil
	})
}

// secret reads a pull secret's type and host keys; every outcome is a status, never an
// error. The caller sets the Name and From of the result.
func (r *run) secret(ctx context.Context, namespace, name string) diagnosis.PullSecret {
	a := access{verb: "get", resource: "secrets", namespace: namespace}
	if !r.c.opts.ReadSecrets {
		return diagnosis.PullSecret{
			Status: diagnosis.SecretUnchecked,
			Detail: "reading pull secrets is off; turn on ReadSecrets (--read-secrets) and grant " + a.needs(),
		}
	}
	info, _ := r.secrets.get(ctx, namespace+"/"+name, func(ctx context.Context) (diagnosis.PullSecret, error) {
		var s *corev1.Secret
		err := r.call(ctx, func() (err error) {
			s, err = r.c.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
			return err
		})
		switch {
		case err == nil:
			return readSecret(s), nil
		case apierrors.IsNotFound(err):
			return diagnosis.PullSecret{Status: diagnosis.SecretMissing, Detail: "not found in namespace " + namespace}, nil
		case apierrors.IsForbidden(err):
			return diagnosis.PullSecret{Status: diagnosis.SecretForbidden, Detail: "cannot read it: needs " + a.needs()}, nil
		default:
			return diagnosis.PullSecret{Status: diagnosis.SecretError, Detail: "cannot read it: " + errorText(err)}, nil
		}
	})
	return info
}

// ownerKind says whether a controller kind has an owner worth reading (ReplicaSet ->
// Deployment, Job -> CronJob) and which resource a read of it needs.
func ownerKind(ref *metav1.OwnerReference) (access, bool) {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	switch {
	case ref.Kind == "ReplicaSet" && (gv.Group == "apps" || gv.Group == "extensions"):
		return access{verb: "get", resource: "replicasets.apps"}, true
	case ref.Kind == "Job" && gv.Group == "batch":
		return access{verb: "get", resource: "jobs.batch"}, true
	}
	return access{}, false
}

// owner returns the controller of a ReplicaSet or a Job, or nil when it has none.
func (r *run) owner(ctx context.Context, namespace, kind, name string) (*controller, error) {
	return r.owners.get(ctx, namespace+"/"+kind+"/"+name, func(ctx context.Context) (*controller, error) {
		var meta *metav1.ObjectMeta
		err := r.call(ctx, func() error {
			switch kind {
			case "ReplicaSet":
				rs, err := r.c.client.AppsV1().ReplicaSets(namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				meta = &rs.ObjectMeta
			default:
				job, err := r.c.client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				meta = &job.ObjectMeta
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if ref := metav1.GetControllerOfNoCopy(meta); ref != nil {
			return &controller{kind: ref.Kind, name: ref.Name}, nil
		}
		return nil, nil
	})
}

// prefetch starts, on g, every read podFacts will make for pod, so that a single-pod
// collection waits for one round trip instead of a sequence of them.
func (r *run) prefetch(ctx context.Context, g *errgroup.Group, pod *corev1.Pod) {
	ns := pod.Namespace
	if pod.Spec.NodeName != "" {
		g.Go(func() error { _, _ = r.node(ctx, pod.Spec.NodeName); return nil })
	}
	g.Go(func() error {
		sa, err := r.serviceAccount(ctx, ns, diagnosis.ServiceAccountName(pod))
		if err == nil {
			for _, s := range sa.ImagePullSecrets {
				r.secret(ctx, ns, s)
			}
		}
		return nil
	})
	for _, s := range pod.Spec.ImagePullSecrets {
		g.Go(func() error { r.secret(ctx, ns, s.Name); return nil })
	}
	if ref := diagnosis.ControllerRef(pod); ref != nil {
		if _, ok := ownerKind(ref); ok {
			g.Go(func() error { _, _ = r.owner(ctx, ns, ref.Kind, ref.Name); return nil })
		}
	}
}

// podFacts fills the node, service account, pull secrets and workload of f, and appends
// a Skip for each of them that could not be read.
func (r *run) podFacts(ctx context.Context, pod *corev1.Pod, f *diagnosis.Facts) {
	ns := pod.Namespace

	if name := pod.Spec.NodeName; name != "" {
		n, err := r.node(ctx, name)
		if err != nil {
			n = diagnosis.NodeFactsFromPod(pod)
			f.Skipped = append(f.Skipped, skip(checkNode, "node "+name, access{verb: "get", resource: "nodes"}, err))
		} else {
			n = new(*n)
		}
		f.Node = n
	}

	saName := diagnosis.ServiceAccountName(pod)
	sa, err := r.serviceAccount(ctx, ns, saName)
	if err != nil {
		f.Skipped = append(f.Skipped, skip(checkServiceAccount, "serviceaccount "+saName,
			access{verb: "get", resource: "serviceaccounts", namespace: ns}, err))
	} else {
		sa = new(*sa)
		sa.ImagePullSecrets = slices.Clone(sa.ImagePullSecrets)
		f.ServiceAccount = sa
	}

	f.PullSecrets, f.Skipped = r.pullSecrets(ctx, pod, f.ServiceAccount, f.Skipped)
	f.Workload, f.Skipped = r.workload(ctx, pod, f.Skipped)
}

// pullSecrets reports the pod's imagePullSecrets (From "pod"), then those of its service
// account that the pod does not list (From "serviceaccount"): the ServiceAccount admission
// plugin copies the account's secrets into the pod only when the pod lists none, and the
// kubelet uses only the pod's list.
func (r *run) pullSecrets(ctx context.Context, pod *corev1.Pod, sa *diagnosis.ServiceAccountFacts, skips []diagnosis.Skip) ([]diagnosis.PullSecret, []diagnosis.Skip) {
	type ref struct{ name, from string }
	var refs []ref
	seen := map[string]bool{}
	for _, s := range pod.Spec.ImagePullSecrets {
		if s.Name != "" && !seen[s.Name] {
			seen[s.Name] = true
			refs = append(refs, ref{s.Name, "pod"})
		}
	}
	if sa != nil {
		for _, s := range sa.ImagePullSecrets {
			if !seen[s] {
				seen[s] = true
				refs = append(refs, ref{s, "serviceaccount"})
			}
		}
	}
	if len(refs) == 0 {
		return nil, skips
	}
	out := make([]diagnosis.PullSecret, 0, len(refs))
	var forbidden, failed, unchecked []string
	for _, s := range refs {
		ps := r.secret(ctx, pod.Namespace, s.name)
		ps.Name, ps.From, ps.Hosts = s.name, s.from, slices.Clone(ps.Hosts) // the cached value is shared
		out = append(out, ps)
		switch ps.Status {
		case diagnosis.SecretForbidden:
			forbidden = append(forbidden, s.name)
		case diagnosis.SecretError:
			failed = append(failed, s.name)
		case diagnosis.SecretUnchecked:
			unchecked = append(unchecked, s.name)
		}
	}
	needs := access{verb: "get", resource: "secrets", namespace: pod.Namespace}.needs()
	if len(unchecked) > 0 {
		skips = append(skips, diagnosis.Skip{Check: checkPullSecrets,
			Reason: "reading pull secrets is off (" + strings.Join(unchecked, ", ") + " not checked)", Needs: needs})
	}
	if len(forbidden) > 0 {
		skips = append(skips, diagnosis.Skip{Check: checkPullSecrets,
			Reason: "cannot get secret " + strings.Join(forbidden, ", ") + ": forbidden", Needs: needs})
	}
	if len(failed) > 0 {
		skips = append(skips, diagnosis.Skip{Check: checkPullSecrets,
			Reason: "cannot get secret " + strings.Join(failed, ", ") + ": API error", Needs: needs})
	}
	return out, skips
}

// workload follows the pod's controller reference to the top of its owner chain. Unlike
// diagnosis.WorkloadFrom it does not guess a Deployment from a ReplicaSet's name: it
// reports what it read, and the controller itself when the owner cannot be read.
func (r *run) workload(ctx context.Context, pod *corev1.Pod, skips []diagnosis.Skip) (*diagnosis.Workload, []diagnosis.Skip) {
	ref := diagnosis.ControllerRef(pod)
	if ref == nil {
		return diagnosis.WorkloadFrom(pod), skips // the pod itself
	}
	a, ok := ownerKind(ref)
	if !ok {
		return &diagnosis.Workload{Kind: ref.Kind, Name: ref.Name}, skips
	}
	top, err := r.owner(ctx, pod.Namespace, ref.Kind, ref.Name)
	if err != nil {
		a.namespace = pod.Namespace
		what := strings.ToLower(ref.Kind) + " " + ref.Name
		return &diagnosis.Workload{Kind: ref.Kind, Name: ref.Name}, append(skips, skip(checkWorkload, what, a, err))
	}
	if top == nil {
		return &diagnosis.Workload{Kind: ref.Kind, Name: ref.Name}, skips
	}
	return &diagnosis.Workload{Kind: top.kind, Name: top.name}, skips
}

// podEvent is an event with the identity of the pod it is about.
type podEvent struct {
	uid   types.UID
	name  string
	event diagnosis.Event
}

// events lists the core/v1 events about pods in namespace (about the one pod name when
// name is set), page by page. events.k8s.io/v1 is another view of the same stored objects,
// so one API returns them all.
func (r *run) events(ctx context.Context, namespace, name string) ([]podEvent, error) {
	selector := "involvedObject.kind=Pod"
	if name != "" {
		selector += ",involvedObject.name=" + name
	}
	opts := metav1.ListOptions{FieldSelector: selector, Limit: r.c.opts.PageSize}
	var out []podEvent
	for {
		var list *corev1.EventList
		err := r.call(ctx, func() (err error) {
			list, err = r.c.client.CoreV1().Events(namespace).List(ctx, opts)
			return err
		})
		if err != nil {
			return nil, err
		}
		for i := range list.Items {
			e := &list.Items[i]
			out = append(out, podEvent{uid: e.InvolvedObject.UID, name: e.InvolvedObject.Name, event: diagnosis.EventFromCore(e)})
		}
		if list.Continue == "" {
			return out, nil
		}
		opts.Continue = list.Continue
	}
}

// listPods lists pods page by page and hands each one to each; the page is dropped
// before the next one is read.
func (c *Collector) listPods(ctx context.Context, namespace, fieldSelector string, each func(*corev1.Pod)) error {
	opts := metav1.ListOptions{FieldSelector: fieldSelector, Limit: c.opts.PageSize}
	for {
		list, err := c.client.CoreV1().Pods(namespace).List(ctx, opts)
		if err != nil {
			return err
		}
		for i := range list.Items {
			each(&list.Items[i])
		}
		if list.Continue == "" {
			return nil
		}
		opts.Continue = list.Continue
	}
}
