package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// PodWatch reports pods entering and leaving an image-pull failure as it happens, from a
// client-go informer on pods. Build it with NewPodWatch and run it once with Run.
type PodWatch struct {
	client      kubernetes.Interface
	namespaces  []string // empty: all namespaces
	onFailing   func(context.Context, diagnosis.PodRef)
	onRecovered func(context.Context, diagnosis.PodRef)
	log         *slog.Logger

	mu  sync.Mutex
	ran bool
}

// NewPodWatch returns a watch on the pods of namespaces (none: all namespaces).
//
// onFailing is called when a pod has a container waiting with an image-pull failure
// (diagnosis.HasPullFailure) and did not before: when it enters the failure, and for
// every pod already failing when the watch starts. onRecovered is called when a pod
// reported failing stops failing or is deleted (and for a deletion whose last state the
// watch missed). Healthy pods coming and going call nothing. A pod that fails, recovers
// and fails again calls onFailing again.
//
// Callbacks get Run's context. With several namespaces they may be called concurrently
// (one informer per namespace); for one namespace they are called in order. They run on
// the informer's notification goroutine, so they should return quickly (hand the ref to
// the incident pipeline, not diagnose in place). A nil log discards.
func NewPodWatch(client kubernetes.Interface, namespaces []string, onFailing, onRecovered func(ctx context.Context, ref diagnosis.PodRef), log *slog.Logger) (*PodWatch, error) {
	if client == nil {
		return nil, errors.New("detect: pod watch: no Kubernetes client")
	}
	if onFailing == nil || onRecovered == nil {
		return nil, errors.New("detect: pod watch: onFailing and onRecovered are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns := slices.Clone(namespaces)
	slices.Sort(ns)
	ns = slices.Compact(ns)
	if slices.Contains(ns, metav1.NamespaceAll) {
		return nil, fmt.Errorf("detect: pod watch: empty namespace name in %q; give no namespaces to watch them all", namespaces)
	}
	return &PodWatch{client: client, namespaces: ns, onFailing: onFailing, onRecovered: onRecovered, log: log}, nil
}

// Run starts the informers and blocks until ctx ends; then it stops them and returns
// once their goroutines have. Run may be called once.
func (w *PodWatch) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.ran {
		w.mu.Unlock()
		return errors.New("detect: pod watch already ran")
	}
	w.ran = true
	w.mu.Unlock()

	namespaces := w.namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	factories := make([]informers.SharedInformerFactory, 0, len(namespaces))
	stop := make(chan struct{}) // closed on every return, also an early one
	defer func() {
		close(stop)
		for _, f := range factories {
			f.Shutdown() // waits for the informer goroutines
		}
	}()
	for _, ns := range namespaces {
		f := informers.NewSharedInformerFactoryWithOptions(w.client, 0,
			informers.WithNamespace(ns), informers.WithTransform(slimPod))
		factories = append(factories, f)
		inf := f.Core().V1().Pods().Informer()
		if _, err := inf.AddEventHandler(w.handler(ctx)); err != nil {
			return fmt.Errorf("detect: pod watch: add handler: %w", err)
		}
		if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			w.log.Warn("pod watch: list/watch failed; retrying", "namespace", ns, "err", err)
		}); err != nil {
			return fmt.Errorf("detect: pod watch: set error handler: %w", err)
		}
		f.Start(stop)
	}
	<-ctx.Done()
	return nil
}

func (w *PodWatch) handler(ctx context.Context) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*corev1.Pod); ok && diagnosis.HasPullFailure(pod) {
				w.onFailing(ctx, refOf(pod))
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			oldPod, ok1 := oldObj.(*corev1.Pod)
			newPod, ok2 := newObj.(*corev1.Pod)
			if !ok1 || !ok2 {
				return
			}
			was, is := diagnosis.HasPullFailure(oldPod), diagnosis.HasPullFailure(newPod)
			switch {
			case !was && is:
				w.onFailing(ctx, refOf(newPod))
			case was && !is:
				w.onRecovered(ctx, refOf(newPod))
			}
		},
		DeleteFunc: func(obj any) {
			switch o := obj.(type) {
			case *corev1.Pod:
				if diagnosis.HasPullFailure(o) {
					w.onRecovered(ctx, refOf(o))
				}
			case cache.DeletedFinalStateUnknown:
				// The watch missed the last changes: the pod may have been failing.
				if pod, ok := o.Obj.(*corev1.Pod); ok {
					w.onRecovered(ctx, refOf(pod))
				} else if ns, name, err := cache.SplitMetaNamespaceKey(o.Key); err == nil {
					w.onRecovered(ctx, diagnosis.PodRef{Namespace: ns, Name: name})
				}
			}
		},
	}
}

func refOf(pod *corev1.Pod) diagnosis.PodRef {
	return diagnosis.PodRef{Namespace: pod.Namespace, Name: pod.Name}
}

// slimPod is the informer's transform: it keeps the pod's identity, owners, labels,
// node, service account, pull secrets, containers' names, images and pull policies, and
// the status fields the pull-failure checks read; it drops managed fields, annotations
// and everything else (environment, volumes, probes, resources, conditions…), which is
// most of a pod's size. It is idempotent and leaves other objects alone.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		TypeMeta: pod.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			UID:               pod.UID,
			ResourceVersion:   pod.ResourceVersion,
			Generation:        pod.Generation,
			CreationTimestamp: pod.CreationTimestamp,
			DeletionTimestamp: pod.DeletionTimestamp,
			Labels:            pod.Labels,
			OwnerReferences:   pod.OwnerReferences,
		},
		Spec: corev1.PodSpec{
			NodeName:           pod.Spec.NodeName,
			ServiceAccountName: pod.Spec.ServiceAccountName,
			ImagePullSecrets:   pod.Spec.ImagePullSecrets,
			InitContainers:     slimContainers(pod.Spec.InitContainers),
			Containers:         slimContainers(pod.Spec.Containers),
		},
		Status: corev1.PodStatus{
			Phase:                      pod.Status.Phase,
			StartTime:                  pod.Status.StartTime,
			InitContainerStatuses:      slimStatuses(pod.Status.InitContainerStatuses),
			ContainerStatuses:          slimStatuses(pod.Status.ContainerStatuses),
			EphemeralContainerStatuses: slimStatuses(pod.Status.EphemeralContainerStatuses),
		},
	}
	if n := len(pod.Spec.EphemeralContainers); n > 0 {
		out.Spec.EphemeralContainers = make([]corev1.EphemeralContainer, n)
		for i, ec := range pod.Spec.EphemeralContainers {
			out.Spec.EphemeralContainers[i].Name = ec.Name
			out.Spec.EphemeralContainers[i].Image = ec.Image
			out.Spec.EphemeralContainers[i].ImagePullPolicy = ec.ImagePullPolicy
		}
	}
	return out, nil
}

func slimContainers(in []corev1.Container) []corev1.Container {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.Container, len(in))
	for i, c := range in {
		out[i] = corev1.Container{Name: c.Name, Image: c.Image, ImagePullPolicy: c.ImagePullPolicy}
	}
	return out
}

func slimStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i, s := range in {
		out[i] = corev1.ContainerStatus{
			Name: s.Name, Image: s.Image, ImageID: s.ImageID, State: s.State,
			LastTerminationState: s.LastTerminationState, Ready: s.Ready,
			RestartCount: s.RestartCount, Started: s.Started,
		}
	}
	return out
}
