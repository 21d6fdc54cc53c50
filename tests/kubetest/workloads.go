package kubetest

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
)

// envtest runs no controller-manager: these helpers create what the controllers would,
// with the controller references (controller: true) the owner chain is read through.

// CreateDeployment creates a Deployment named name running spec and the ReplicaSet the
// deployment controller would create for it (<name>-<pod-template-hash>, owned by the
// Deployment). Create the pods with PodFor(rs, ...).
func (c *Cluster) CreateDeployment(ctx context.Context, namespace, name string, spec corev1.PodSpec) (*appsv1.Deployment, *appsv1.ReplicaSet, error) {
	labels := map[string]string{"app": name}
	d, err := c.Client.AppsV1().Deployments(namespace).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("kubetest: create deployment %s/%s: %w", namespace, name, err)
	}
	hash := templateHash(namespace + "/" + name)
	rsLabels := maps.Clone(labels)
	rsLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	rs, err := c.Client.AppsV1().ReplicaSets(namespace).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name + "-" + hash,
			Namespace:       namespace,
			Labels:          rsLabels,
			OwnerReferences: []metav1.OwnerReference{controllerRef("apps/v1", "Deployment", d.Name, d.UID)},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: rsLabels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: rsLabels}, Spec: spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("kubetest: create replicaset for deployment %s/%s: %w", namespace, name, err)
	}
	return d, rs, nil
}

// templateHash is a pod-template-hash-like value: rand.SafeEncodeString of a 32-bit hash,
// as the deployment controller computes it (here of the name, to be stable).
func templateHash(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// CreateJob creates a Job running spec (restartPolicy Never unless OnFailure is set).
// The API server generates its selector and pod labels. Create pods with PodFor(job, ...).
func (c *Cluster) CreateJob(ctx context.Context, namespace, name string, spec corev1.PodSpec) (*batchv1.Job, error) {
	return c.createJob(ctx, namespace, name, spec, nil)
}

func (c *Cluster) createJob(ctx context.Context, namespace, name string, spec corev1.PodSpec, owner *metav1.OwnerReference) (*batchv1.Job, error) {
	if spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		spec.RestartPolicy = corev1.RestartPolicyNever
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
	}
	if owner != nil {
		job.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	out, err := c.Client.BatchV1().Jobs(namespace).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: create job %s/%s: %w", namespace, name, err)
	}
	return out, nil
}

// CreateCronJob creates a CronJob running spec every hour and the Job the cronjob
// controller would start for it (<name>-<scheduled minute>, owned by the CronJob).
func (c *Cluster) CreateCronJob(ctx context.Context, namespace, name string, spec corev1.PodSpec) (*batchv1.CronJob, *batchv1.Job, error) {
	if spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		spec.RestartPolicy = corev1.RestartPolicyNever
	}
	cj, err := c.Client.BatchV1().CronJobs(namespace).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: batchv1.CronJobSpec{
			Schedule:    "0 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("kubetest: create cronjob %s/%s: %w", namespace, name, err)
	}
	// The controller names a job after the scheduled time in minutes since the epoch.
	minute := cj.CreationTimestamp.Unix() / 60
	ref := controllerRef("batch/v1", "CronJob", cj.Name, cj.UID)
	job, err := c.createJob(ctx, namespace, fmt.Sprintf("%s-%d", name, minute), spec, &ref)
	if err != nil {
		return nil, nil, err
	}
	return cj, job, nil
}

// CreateStatefulSet creates a StatefulSet running spec. Create pods with PodFor(sts, ...).
func (c *Cluster) CreateStatefulSet(ctx context.Context, namespace, name string, spec corev1.PodSpec) (*appsv1.StatefulSet, error) {
	labels := map[string]string{"app": name}
	sts, err := c.Client.AppsV1().StatefulSets(namespace).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.StatefulSetSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: create statefulset %s/%s: %w", namespace, name, err)
	}
	return sts, nil
}

// CreateDaemonSet creates a DaemonSet running spec. Create pods with PodFor(ds, ...).
func (c *Cluster) CreateDaemonSet(ctx context.Context, namespace, name string, spec corev1.PodSpec) (*appsv1.DaemonSet, error) {
	labels := map[string]string{"app": name}
	ds, err := c.Client.AppsV1().DaemonSets(namespace).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: create daemonset %s/%s: %w", namespace, name, err)
	}
	return ds, nil
}

func controllerRef(apiVersion, kind, name string, uid types.UID) metav1.OwnerReference {
	return metav1.OwnerReference{
		APIVersion:         apiVersion,
		Kind:               kind,
		Name:               name,
		UID:                uid,
		Controller:         new(true),
		BlockOwnerDeletion: new(true),
	}
}

// PodFor returns a pod (to pass to CreatePod) named name running spec. With an owner
// (*appsv1.ReplicaSet, *appsv1.StatefulSet, *appsv1.DaemonSet, *batchv1.Job) the pod is
// in the owner's namespace, carries its pod template labels and a controller reference to
// it; with a nil owner it is a bare pod in namespace.
func PodFor(namespace, name string, spec corev1.PodSpec, owner metav1.Object) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Spec: spec}
	var apiVersion, kind string
	var template *corev1.PodTemplateSpec
	switch o := owner.(type) {
	case nil:
		return pod
	case *appsv1.ReplicaSet:
		apiVersion, kind, template = "apps/v1", "ReplicaSet", &o.Spec.Template
	case *appsv1.StatefulSet:
		apiVersion, kind, template = "apps/v1", "StatefulSet", &o.Spec.Template
	case *appsv1.DaemonSet:
		apiVersion, kind, template = "apps/v1", "DaemonSet", &o.Spec.Template
	case *batchv1.Job:
		apiVersion, kind, template = "batch/v1", "Job", &o.Spec.Template
	default:
		panic(fmt.Sprintf("kubetest.PodFor: unsupported owner %T", owner))
	}
	pod.Namespace = owner.GetNamespace()
	pod.Labels = maps.Clone(template.Labels)
	pod.OwnerReferences = []metav1.OwnerReference{controllerRef(apiVersion, kind, owner.GetName(), owner.GetUID())}
	return pod
}
