package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/handlers"
)

// Annotations pullcheck writes on a workload it restarts.
const (
	// RestartedAtAnnotation is the pod-template annotation `kubectl rollout restart` sets.
	RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
	// OfferAnnotation records the approved offer a restart answered, so that any number of
	// clicks, in any number of bot replicas, restart once.
	OfferAnnotation = "pullcheck.io/restart-offer"
	// ApprovedByAnnotation records who approved the restart.
	ApprovedByAnnotation = "pullcheck.io/restart-approved-by"
)

// ErrNotRestartable: the workload kind has no rollout (only Deployments, StatefulSets and
// DaemonSets have).
var ErrNotRestartable = errors.New("only Deployments, StatefulSets and DaemonSets can be restarted")

// ErrPaused: a paused Deployment does not roll out (kubectl refuses too).
var ErrPaused = errors.New("the Deployment is paused: resume it first (kubectl rollout resume)")

// Restarter restarts and follows workloads through the Kubernetes API.
type Restarter struct {
	client kubernetes.Interface
	now    func() time.Time
}

// New returns a Restarter. now is the clock (time.Now when nil).
func New(client kubernetes.Interface, now func() time.Time) *Restarter {
	if now == nil {
		now = time.Now
	}
	return &Restarter{client: client, now: now}
}

var _ handlers.Restarter = (*Restarter)(nil)

// workload is the part of a Deployment, StatefulSet or DaemonSet a restart touches.
type workload struct {
	meta     *metav1.ObjectMeta
	template *metav1.ObjectMeta
	paused   bool
	update   func(ctx context.Context) error
}

func (r *Restarter) get(ctx context.Context, t handlers.RestartTarget) (*workload, error) {
	apps := r.client.AppsV1()
	opts := metav1.UpdateOptions{FieldManager: "pullcheck"}
	switch t.Kind {
	case "Deployment":
		d, err := apps.Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return &workload{meta: &d.ObjectMeta, template: &d.Spec.Template.ObjectMeta, paused: d.Spec.Paused, update: func(ctx context.Context) error {
			_, err := apps.Deployments(t.Namespace).Update(ctx, d, opts)
			return err
		}}, nil
	case "StatefulSet":
		s, err := apps.StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return &workload{meta: &s.ObjectMeta, template: &s.Spec.Template.ObjectMeta, update: func(ctx context.Context) error {
			_, err := apps.StatefulSets(t.Namespace).Update(ctx, s, opts)
			return err
		}}, nil
	case "DaemonSet":
		ds, err := apps.DaemonSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return &workload{meta: &ds.ObjectMeta, template: &ds.Spec.Template.ObjectMeta, update: func(ctx context.Context) error {
			_, err := apps.DaemonSets(t.Namespace).Update(ctx, ds, opts)
			return err
		}}, nil
	}
	return nil, fmt.Errorf("%s/%s: %w", t.Kind, t.Name, ErrNotRestartable)
}

// Restart stamps the pod template with kubectl.kubernetes.io/restartedAt, as `kubectl rollout
// restart` does, unless this offer was already carried out. The update is conditional on the
// resource version read, so concurrent clicks (in this or another replica) race on the API
// server and exactly one wins; the others see the offer recorded and report Already.
func (r *Restarter) Restart(ctx context.Context, t handlers.RestartTarget) (handlers.RestartResult, error) {
	for attempt := 0; ; attempt++ {
		w, err := r.get(ctx, t)
		if err != nil {
			return handlers.RestartResult{}, explain(t, "get", err)
		}
		if w.meta.Annotations[OfferAnnotation] == t.OfferID && t.OfferID != "" {
			at, _ := time.Parse(time.RFC3339, w.template.Annotations[RestartedAtAnnotation])
			return handlers.RestartResult{Already: true, RestartedAt: at}, nil
		}
		if w.paused {
			return handlers.RestartResult{}, explain(t, "update", ErrPaused)
		}
		now := r.now().UTC()
		if w.template.Annotations == nil {
			w.template.Annotations = map[string]string{}
		}
		w.template.Annotations[RestartedAtAnnotation] = now.Format(time.RFC3339)
		if w.meta.Annotations == nil {
			w.meta.Annotations = map[string]string{}
		}
		w.meta.Annotations[OfferAnnotation] = t.OfferID
		if t.ApprovedBy != "" {
			w.meta.Annotations[ApprovedByAnnotation] = t.ApprovedBy
		}
		err = w.update(ctx)
		switch {
		case err == nil:
			return handlers.RestartResult{RestartedAt: now}, nil
		case apierrors.IsConflict(err) && attempt < 10:
			continue // someone else changed it: read again, maybe it was this offer
		default:
			return handlers.RestartResult{}, explain(t, "update", err)
		}
	}
}

// deploymentDone mirrors kubectl rollout status for a Deployment.
func deploymentDone(d *appsv1.Deployment) (bool, string) {
	if d.Generation > d.Status.ObservedGeneration {
		return false, "waiting for the rollout to start"
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, "the rollout exceeded its progress deadline"
		}
	}
	switch {
	case d.Status.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d new replicas updated", d.Status.UpdatedReplicas, want)
	case d.Status.Replicas > d.Status.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas pending termination", d.Status.Replicas-d.Status.UpdatedReplicas)
	case d.Status.AvailableReplicas < d.Status.UpdatedReplicas:
		return false, fmt.Sprintf("%d of %d updated replicas available", d.Status.AvailableReplicas, d.Status.UpdatedReplicas)
	}
	return true, "successfully rolled out"
}

// explain turns a failed read or update into what the approver should see: the missing RBAC
// permission, or why this workload cannot be restarted; other errors stay internal.
func explain(t handlers.RestartTarget, verb string, err error) error {
	what := t.Kind + "/" + t.Name
	resource := strings.ToLower(t.Kind) + "s.apps"
	switch {
	case apierrors.IsForbidden(err):
		return &diagnosis.ForbiddenError{Verb: verb, Resource: resource, Namespace: t.Namespace, Err: err}
	case apierrors.IsNotFound(err):
		return handlers.UserError{Public: fmt.Sprintf("%s no longer exists in namespace %s: nothing was restarted.", what, t.Namespace), Err: err}
	case errors.Is(err, ErrPaused):
		return handlers.UserError{Public: fmt.Sprintf("%s in namespace %s is paused, so a restart would not roll out: resume it first (kubectl -n %s rollout resume deployment/%s).", what, t.Namespace, t.Namespace, t.Name), Err: err}
	case errors.Is(err, ErrNotRestartable):
		return handlers.UserError{Public: fmt.Sprintf("%s cannot be restarted from Slack: only Deployments, StatefulSets and DaemonSets roll out.", what), Err: err}
	}
	return fmt.Errorf("%s %s %s/%s: %w", verb, t.Kind, t.Namespace, t.Name, err)
}
