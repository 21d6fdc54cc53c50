package kubetest

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Kubelet constants, as pkg/kubelet writes them.
const (
	kubeletComponent = "kubelet"
	containerCreate  = "ContainerCreating"
	podInitializing  = "PodInitializing"
)

// CreateNamespace creates a namespace.
func (c *Cluster) CreateNamespace(ctx context.Context, name string) (*corev1.Namespace, error) {
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: create namespace %s: %w", name, err)
	}
	return ns, nil
}

// CreatePod creates pod bound to node ("" leaves it unscheduled) and, when it is bound,
// writes the first status a kubelet writes through the status subresource: phase
// Pending, the pod conditions, and every container waiting in ContainerCreating (or
// PodInitializing when the pod has init containers). Set the pod's namespace; the
// returned pod is the stored one.
func (c *Cluster) CreatePod(ctx context.Context, pod *corev1.Pod, node string) (*corev1.Pod, error) {
	pod = pod.DeepCopy()
	pod.Spec.NodeName = node
	created, err := c.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	if node == "" {
		return created, nil
	}
	start := created.CreationTimestamp
	st := &created.Status
	st.Phase = corev1.PodPending
	st.StartTime = &start
	initialized := corev1.ConditionTrue
	if len(created.Spec.InitContainers) > 0 {
		initialized = corev1.ConditionFalse
	}
	st.Conditions = []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: start},
		{Type: corev1.PodInitialized, Status: initialized, LastTransitionTime: start},
		{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", LastTransitionTime: start},
		{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", LastTransitionTime: start},
	}
	waiting := containerCreate
	if len(created.Spec.InitContainers) > 0 {
		waiting = podInitializing
	}
	st.InitContainerStatuses = initialStatuses(created.Spec.InitContainers, waiting)
	st.ContainerStatuses = initialStatuses(created.Spec.Containers, waiting)
	out, err := c.Client.CoreV1().Pods(created.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: write status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return out, nil
}

func initialStatuses(containers []corev1.Container, reason string) []corev1.ContainerStatus {
	if len(containers) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(containers))
	for i, ctr := range containers {
		out[i] = corev1.ContainerStatus{
			Name:    ctr.Name,
			Image:   ctr.Image,
			State:   corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}},
			Started: new(false),
		}
	}
	return out
}

// SetContainerWaiting writes, through the status subresource, that the named container
// (init, regular or ephemeral) is waiting with reason and message, e.g. ImagePullBackOff
// and `Back-off pulling image "x": ErrImagePull: ...`. It re-reads the pod and retries
// on conflicts, and returns the stored pod.
func (c *Cluster) SetContainerWaiting(ctx context.Context, pod *corev1.Pod, container, reason, message string) (*corev1.Pod, error) {
	pods := c.Client.CoreV1().Pods(pod.Namespace)
	var out *corev1.Pod
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		list, image, err := statusListFor(cur, container)
		if err != nil {
			return err
		}
		i := 0
		for i < len(*list) && (*list)[i].Name != container {
			i++
		}
		if i == len(*list) {
			*list = append(*list, corev1.ContainerStatus{Name: container, Image: image, Started: new(false)})
		}
		s := &(*list)[i]
		s.Image = image
		s.Ready = false
		s.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
		if cur.Status.Phase == "" {
			cur.Status.Phase = corev1.PodPending
		}
		out, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kubetest: set container %s of pod %s/%s waiting: %w", container, pod.Namespace, pod.Name, err)
	}
	return out, nil
}

// statusListFor returns the status list the named container belongs in, and its image.
func statusListFor(pod *corev1.Pod, container string) (*[]corev1.ContainerStatus, string, error) {
	for _, ctr := range pod.Spec.InitContainers {
		if ctr.Name == container {
			return &pod.Status.InitContainerStatuses, ctr.Image, nil
		}
	}
	for _, ctr := range pod.Spec.Containers {
		if ctr.Name == container {
			return &pod.Status.ContainerStatuses, ctr.Image, nil
		}
	}
	for _, ctr := range pod.Spec.EphemeralContainers {
		if ctr.Name == container {
			return &pod.Status.EphemeralContainerStatuses, ctr.Image, nil
		}
	}
	return nil, "", fmt.Errorf("pod %s/%s has no container %s", pod.Namespace, pod.Name, container)
}

// AddEphemeralContainer adds a debug container through the ephemeralcontainers
// subresource, as kubectl debug does, and returns the stored pod.
func (c *Cluster) AddEphemeralContainer(ctx context.Context, pod *corev1.Pod, ec corev1.EphemeralContainer) (*corev1.Pod, error) {
	pods := c.Client.CoreV1().Pods(pod.Namespace)
	var out *corev1.Pod
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Spec.EphemeralContainers = append(cur.Spec.EphemeralContainers, ec)
		out, err = pods.UpdateEphemeralContainers(ctx, cur.Name, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kubetest: add ephemeral container %s to pod %s/%s: %w", ec.Name, pod.Namespace, pod.Name, err)
	}
	return out, nil
}

// FieldPath is the involvedObject.fieldPath the kubelet writes for a container's events:
// spec.containers{name}, spec.initContainers{name} or spec.ephemeralContainers{name}.
// It is "" when container is "" (an event about the whole pod).
func FieldPath(pod *corev1.Pod, container string) string {
	if container == "" {
		return ""
	}
	for _, ctr := range pod.Spec.InitContainers {
		if ctr.Name == container {
			return "spec.initContainers{" + container + "}"
		}
	}
	for _, ctr := range pod.Spec.EphemeralContainers {
		if ctr.Name == container {
			return "spec.ephemeralContainers{" + container + "}"
		}
	}
	return "spec.containers{" + container + "}"
}

// Event is what a kubelet records about a pod.
type Event struct {
	// Container is the container the event is about ("" for the pod).
	Container string
	Type      string // corev1.EventTypeNormal (default) or corev1.EventTypeWarning
	Reason    string // Failed, BackOff, Pulling, ...
	Message   string
	// Count is how many times the event happened (default 1). Repeats are aggregated
	// into one object, as the kubelet's event correlator does.
	Count int32
	// First and Last are when it first and last happened (Last defaults to First).
	First, Last time.Time
	// Action is events.k8s.io/v1's action (default: the reason).
	Action string
}

func (e Event) defaults() Event {
	if e.Type == "" {
		e.Type = corev1.EventTypeNormal
	}
	if e.Count == 0 {
		e.Count = 1
	}
	if e.Last.IsZero() {
		e.Last = e.First
	}
	if e.Action == "" {
		e.Action = e.Reason
	}
	return e
}

// reference is the involvedObject / regarding a kubelet writes: the pod's identity and
// resourceVersion, and the container's field path.
func reference(pod *corev1.Pod, container string) corev1.ObjectReference {
	return corev1.ObjectReference{
		Kind:            "Pod",
		APIVersion:      "v1",
		Namespace:       pod.Namespace,
		Name:            pod.Name,
		UID:             pod.UID,
		ResourceVersion: pod.ResourceVersion,
		FieldPath:       FieldPath(pod, container),
	}
}

// eventName is the name client-go's recorder gives an event: <object>.<UnixNano in hex>,
// made unique across the calls of one cluster.
func (c *Cluster) eventName(pod *corev1.Pod, t time.Time) string {
	return fmt.Sprintf("%s.%x", pod.Name, t.UnixNano()+int64(c.seq.Add(1)))
}

// RecordEvent creates a core/v1 event as the kubelet's recorder does (client-go
// tools/record): source kubelet on the pod's node, reportingComponent kubelet,
// reportingInstance the node, first and last timestamps and a count.
func (c *Cluster) RecordEvent(ctx context.Context, pod *corev1.Pod, e Event) (*corev1.Event, error) {
	e = e.defaults()
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: c.eventName(pod, e.First), Namespace: pod.Namespace},
		InvolvedObject:      reference(pod, e.Container),
		Reason:              e.Reason,
		Message:             e.Message,
		Source:              corev1.EventSource{Component: kubeletComponent, Host: pod.Spec.NodeName},
		FirstTimestamp:      metav1.NewTime(e.First),
		LastTimestamp:       metav1.NewTime(e.Last),
		Count:               e.Count,
		Type:                e.Type,
		ReportingController: kubeletComponent,
		ReportingInstance:   pod.Spec.NodeName,
	}
	out, err := c.Client.CoreV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: record event %s for pod %s/%s: %w", e.Reason, pod.Namespace, pod.Name, err)
	}
	return out, nil
}

// RecordEventV1 creates the same event through events.k8s.io/v1, as the new events
// recorder (k8s.io/client-go/tools/events) writes it: eventTime in microseconds,
// reportingController kubelet, reportingInstance the node, note, action, and a series
// when the event repeated.
func (c *Cluster) RecordEventV1(ctx context.Context, pod *corev1.Pod, e Event) (*eventsv1.Event, error) {
	e = e.defaults()
	instance := pod.Spec.NodeName
	if instance == "" {
		instance = kubeletComponent
	}
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: c.eventName(pod, e.First), Namespace: pod.Namespace},
		EventTime:           metav1.NewMicroTime(e.First),
		ReportingController: kubeletComponent,
		ReportingInstance:   instance,
		Action:              e.Action,
		Reason:              e.Reason,
		Regarding:           reference(pod, e.Container),
		Note:                e.Message,
		Type:                e.Type,
	}
	if e.Count > 1 {
		ev.Series = &eventsv1.EventSeries{Count: e.Count, LastObservedTime: metav1.NewMicroTime(e.Last)}
	}
	out, err := c.Client.EventsV1().Events(pod.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: record events.k8s.io/v1 event %s for pod %s/%s: %w", e.Reason, pod.Namespace, pod.Name, err)
	}
	return out, nil
}

// CreateNode creates node and writes node.Status through the status subresource, as a
// kubelet registers itself. Without conditions it reports Ready and no disk pressure.
func (c *Cluster) CreateNode(ctx context.Context, node *corev1.Node) (*corev1.Node, error) {
	node = node.DeepCopy()
	status := node.Status
	node.Status = corev1.NodeStatus{}
	created, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: create node %s: %w", node.Name, err)
	}
	now := created.CreationTimestamp
	if len(status.Conditions) == 0 {
		status.Conditions = []corev1.NodeCondition{
			{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status"},
			{Type: corev1.NodeDiskPressure, Status: corev1.ConditionFalse, Reason: "KubeletHasNoDiskPressure", Message: "kubelet has no disk pressure"},
		}
	}
	for i := range status.Conditions {
		if status.Conditions[i].LastHeartbeatTime.IsZero() {
			status.Conditions[i].LastHeartbeatTime = now
		}
		if status.Conditions[i].LastTransitionTime.IsZero() {
			status.Conditions[i].LastTransitionTime = now
		}
	}
	created.Status = status
	out, err := c.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kubetest: write status of node %s: %w", node.Name, err)
	}
	return out, nil
}
