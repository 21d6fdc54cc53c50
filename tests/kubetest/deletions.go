package kubetest

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// completeDeletions does the kubelet's part of deleting a pod. The API server deletes a
// pod that is bound to a node gracefully: it only sets deletionTimestamp and waits for the
// node's kubelet to stop the containers and delete the pod with a grace period of 0.
// Without kubelets (envtest) such a pod would stay Terminating forever, and a
// `kubectl delete pod` or `kubectl replace --force` would hang. It runs until ctx ends.
//
// It watches pods without caching them, so that it costs a test no memory per pod.
func (c *Cluster) completeDeletions(ctx context.Context) {
	pods := c.Client.CoreV1().Pods(metav1.NamespaceAll)
	rv := ""
	for ctx.Err() == nil {
		if rv == "" {
			var err error
			if rv, err = c.sweep(ctx); err != nil {
				pause(ctx)
				continue
			}
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, FieldSelector: "spec.nodeName!=", AllowWatchBookmarks: true})
		if err != nil {
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				rv = ""
			}
			pause(ctx)
			continue
		}
		for ev := range w.ResultChan() {
			switch ev.Type {
			case watch.Error:
				if apierrors.IsResourceExpired(apierrors.FromObject(ev.Object)) || apierrors.IsGone(apierrors.FromObject(ev.Object)) {
					rv = "" // too old to resume from: sweep again
				}
			case watch.Added, watch.Modified, watch.Bookmark:
				pod, ok := ev.Object.(*corev1.Pod)
				if !ok {
					continue
				}
				rv = pod.ResourceVersion
				if pod.DeletionTimestamp != nil {
					c.forceDelete(ctx, pod)
				}
			}
		}
		w.Stop()
	}
}

// sweep completes the deletions already pending and returns the resource version to
// watch from.
func (c *Cluster) sweep(ctx context.Context) (string, error) {
	opts := metav1.ListOptions{FieldSelector: "spec.nodeName!=", Limit: 500}
	for {
		list, err := c.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return "", err
		}
		for i := range list.Items {
			if list.Items[i].DeletionTimestamp != nil {
				c.forceDelete(ctx, &list.Items[i])
			}
		}
		if list.Continue == "" {
			return list.ResourceVersion, nil
		}
		opts.Continue = list.Continue
	}
}

func (c *Cluster) forceDelete(ctx context.Context, pod *corev1.Pod) {
	uid := pod.UID
	// A pod already gone or replaced under the same name is not an error.
	_ = c.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64(0)),
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
}

// pause waits a little before a retry after an API error, or until ctx ends.
func pause(ctx context.Context) {
	t := time.NewTimer(100 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
