package rollout

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers"
)

// rolloutState is one reading of a workload's rollout.
type rolloutState struct {
	done                    bool
	message                 string
	desired, updated, ready int32
	selector                *metav1.LabelSelector
	// restartedAt is the pod template's kubectl.kubernetes.io/restartedAt value; the pods of
	// the restarted revision carry it too (controllers copy the template's annotations).
	restartedAt string
}

func (r *Restarter) state(ctx context.Context, t handlers.RestartTarget) (rolloutState, string, error) {
	apps := r.client.AppsV1()
	var s rolloutState
	switch t.Kind {
	case "Deployment":
		d, err := apps.Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return s, "", err
		}
		s.done, s.message = deploymentDone(d)
		s.desired, s.updated, s.ready = replicas(d.Spec.Replicas), d.Status.UpdatedReplicas, d.Status.AvailableReplicas
		s.selector, s.restartedAt = d.Spec.Selector, restartedAt(d.Spec.Template.ObjectMeta)
		return s, d.ResourceVersion, nil
	case "StatefulSet":
		st, err := apps.StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return s, "", err
		}
		s.desired, s.updated, s.ready = replicas(st.Spec.Replicas), st.Status.UpdatedReplicas, st.Status.ReadyReplicas
		s.done = st.Status.ObservedGeneration >= st.Generation && s.updated >= s.desired && s.ready >= s.desired &&
			(st.Status.UpdateRevision == "" || st.Status.CurrentRevision == st.Status.UpdateRevision)
		s.message = fmt.Sprintf("%d of %d pods updated, %d ready", s.updated, s.desired, s.ready)
		s.selector, s.restartedAt = st.Spec.Selector, restartedAt(st.Spec.Template.ObjectMeta)
		return s, st.ResourceVersion, nil
	case "DaemonSet":
		ds, err := apps.DaemonSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return s, "", err
		}
		s.desired, s.updated, s.ready = ds.Status.DesiredNumberScheduled, ds.Status.UpdatedNumberScheduled, ds.Status.NumberAvailable
		s.done = ds.Status.ObservedGeneration >= ds.Generation && s.updated >= s.desired && s.ready >= s.desired
		s.message = fmt.Sprintf("%d of %d nodes updated, %d available", s.updated, s.desired, s.ready)
		s.selector, s.restartedAt = ds.Spec.Selector, restartedAt(ds.Spec.Template.ObjectMeta)
		return s, ds.ResourceVersion, nil
	}
	return s, "", fmt.Errorf("%s/%s: %w", t.Kind, t.Name, ErrNotRestartable)
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func restartedAt(m metav1.ObjectMeta) string {
	return m.Annotations[RestartedAtAnnotation]
}

// Follow watches the workload and its pods until the rollout completes, a new pod fails to
// pull its image, or ctx ends (the caller sets the rollout timeout). progress is called on
// every change of the reading.
func (r *Restarter) Follow(ctx context.Context, t handlers.RestartTarget, progress func(handlers.RolloutUpdate)) (handlers.RolloutUpdate, error) {
	var last handlers.RolloutUpdate
	for {
		s, rv, err := r.state(ctx, t)
		if err != nil {
			if ctx.Err() != nil {
				last.TimedOut = true
				return last, nil
			}
			return last, fmt.Errorf("follow %s %s/%s: %w", t.Kind, t.Namespace, t.Name, err)
		}
		u := handlers.RolloutUpdate{Done: s.done, Message: s.message, Desired: s.desired, Updated: s.updated, Ready: s.ready}
		failing, err := r.failingNewPods(ctx, t.Namespace, s)
		if err != nil && ctx.Err() == nil {
			return last, fmt.Errorf("follow %s %s/%s: list pods: %w", t.Kind, t.Namespace, t.Name, err)
		}
		u.FailingPods = failing
		if u.Message != last.Message || u.Updated != last.Updated || u.Ready != last.Ready || len(u.FailingPods) != len(last.FailingPods) {
			if progress != nil {
				progress(u)
			}
		}
		last = u
		if u.Done || len(u.FailingPods) > 0 {
			return u, nil
		}
		if err := r.waitForChange(ctx, t, rv, s); err != nil {
			last.TimedOut = true
			return last, nil
		}
	}
}

// waitForChange blocks until the workload or one of its pods changes, or ctx ends.
func (r *Restarter) waitForChange(ctx context.Context, t handlers.RestartTarget, rv string, s rolloutState) error {
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", t.Name).String(), ResourceVersion: rv, AllowWatchBookmarks: false}
	var wl watch.Interface
	var err error
	apps := r.client.AppsV1()
	switch t.Kind {
	case "Deployment":
		wl, err = apps.Deployments(t.Namespace).Watch(ctx, opts)
	case "StatefulSet":
		wl, err = apps.StatefulSets(t.Namespace).Watch(ctx, opts)
	default:
		wl, err = apps.DaemonSets(t.Namespace).Watch(ctx, opts)
	}
	if err != nil {
		return err
	}
	defer wl.Stop()
	podOpts := metav1.ListOptions{}
	if s.selector != nil {
		podOpts.LabelSelector = metav1.FormatLabelSelector(s.selector)
	}
	pw, err := r.client.CoreV1().Pods(t.Namespace).Watch(ctx, podOpts)
	if err != nil {
		return err
	}
	defer pw.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wl.ResultChan():
	case <-pw.ResultChan():
	}
	return nil
}

// failingNewPods lists the workload's pods created by this restart that fail to pull an image.
func (r *Restarter) failingNewPods(ctx context.Context, namespace string, s rolloutState) ([]diagnosis.PodRef, error) {
	if s.selector == nil || s.restartedAt == "" {
		return nil, nil
	}
	pods, err := r.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(s.selector)})
	if err != nil {
		return nil, err
	}
	var out []diagnosis.PodRef
	for i := range pods.Items {
		p := &pods.Items[i]
		// A pod is of the restarted revision when it carries the template's stamp. Creation
		// times would compare the API server's clock with pullcheck's, at second precision:
		// old pods created just before the restart would count, or new ones be missed.
		if p.Annotations[RestartedAtAnnotation] != s.restartedAt || !failing(p) {
			continue
		}
		out = append(out, diagnosis.PodRef{Namespace: p.Namespace, Name: p.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func failing(p *corev1.Pod) bool { return diagnosis.HasPullFailure(p) }
