package podfile

import (
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Labels and annotations read from nodes, pods and service accounts.
const (
	labelArch           = "kubernetes.io/arch"
	labelArchBeta       = "beta.kubernetes.io/arch"
	labelOS             = "kubernetes.io/os"
	labelOSBeta         = "beta.kubernetes.io/os"
	labelInstanceType   = "node.kubernetes.io/instance-type"
	labelInstanceBeta   = "beta.kubernetes.io/instance-type"
	labelZone           = "topology.kubernetes.io/zone"
	labelZoneBeta       = "failure-domain.beta.kubernetes.io/zone"
	labelRegion         = "topology.kubernetes.io/region"
	labelRegionBeta     = "failure-domain.beta.kubernetes.io/region"
	labelComputeType    = "eks.amazonaws.com/compute-type"
	labelFargateProfile = "eks.amazonaws.com/fargate-profile"
	labelNodeGroup      = "eks.amazonaws.com/nodegroup"
	labelKarpenterPool  = "karpenter.sh/nodepool"
	labelTemplateHash   = "pod-template-hash"

	annotationRoleARN    = "eks.amazonaws.com/role-arn"
	annotationECRRoleARN = "eks.amazonaws.com/ecr-role-arn"

	fargateScheduler = "fargate-scheduler"
)

// facts assembles the loaded objects into Facts. Exactly one pod has been read.
func (l *loader) facts(now time.Time) *diagnosis.Facts {
	pod := l.pods[0].pod
	events := l.podEvents(pod)
	if now.IsZero() {
		now = snapshotTime(pod, events)
	}
	f := &diagnosis.Facts{
		Pod:      pod,
		Events:   events,
		Now:      now,
		Source:   "file " + l.name,
		Workload: workloadOf(pod),
	}

	var missing []string
	if node := l.node(pod); node != nil {
		f.Node = nodeFacts(node)
	} else if pod.Spec.NodeName != "" {
		f.Node = podNodeFacts(pod)
		missing = append(missing, "node "+pod.Spec.NodeName)
	}

	saName := serviceAccountName(pod)
	sa := l.serviceAccount(pod, saName)
	if sa != nil {
		f.ServiceAccount = serviceAccountFacts(sa)
	} else {
		missing = append(missing, "service account "+saName)
	}

	f.PullSecrets = l.pullSecrets(pod, f.ServiceAccount)
	var unchecked []string
	for _, s := range f.PullSecrets {
		if s.Status == diagnosis.SecretUnchecked {
			unchecked = append(unchecked, s.Name)
		}
	}
	switch len(unchecked) {
	case 0:
	case 1:
		missing = append(missing, "pull secret "+unchecked[0])
	default:
		missing = append(missing, "pull secrets "+strings.Join(unchecked, ", "))
	}

	needs := "a cluster connection"
	if len(missing) > 0 {
		needs += ", or the missing objects as items of the file"
	}
	missing = append(missing, "other pods")
	f.Skipped = append(f.Skipped, diagnosis.Skip{
		Check:  "cluster",
		Reason: "facts read from a file: " + joinAnd(missing) + " were not checked",
		Needs:  needs,
	})
	return f
}

// joinAnd joins items as "a, b and c".
func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// sameNamespace compares namespaces, treating an unset one as matching: a saved object
// may have lost its namespace.
func sameNamespace(a, b string) bool { return a == "" || b == "" || a == b }

// --- workload ---

// workloadOf derives the workload from the pod's controller: a ReplicaSet named
// <deployment>-<pod-template-hash> stands for its Deployment. A controller reference
// without a kind or a name (which the API server would not accept) is ignored.
func workloadOf(pod *corev1.Pod) *diagnosis.Workload {
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller || o.Kind == "" || o.Name == "" {
			continue
		}
		if o.Kind == "ReplicaSet" {
			if hash := pod.Labels[labelTemplateHash]; hash != "" {
				if name, ok := strings.CutSuffix(o.Name, "-"+hash); ok && name != "" {
					return &diagnosis.Workload{Kind: "Deployment", Name: name}
				}
			}
		}
		return &diagnosis.Workload{Kind: o.Kind, Name: o.Name}
	}
	return &diagnosis.Workload{Kind: "Pod", Name: pod.Name}
}

// --- node ---

// node returns the pod's node from the file, if it is there.
func (l *loader) node(pod *corev1.Pod) *corev1.Node {
	if pod.Spec.NodeName == "" {
		return nil
	}
	for _, n := range l.nodes {
		if n.Name == pod.Spec.NodeName {
			return n
		}
	}
	return nil
}

// regionPrefix finds the region at the start of a zone name: us-west-2a, and Local and
// Wavelength Zones such as us-west-2-lax-1a, are all in us-west-2.
var regionPrefix = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-\d+`)

// nodeFacts reads what the engine needs from a node, as a live collector does.
func nodeFacts(node *corev1.Node) *diagnosis.NodeFacts {
	labels := node.Labels
	info := node.Status.NodeInfo
	n := &diagnosis.NodeFacts{
		Name:             node.Name,
		Arch:             firstOf(labels[labelArch], labels[labelArchBeta], info.Architecture),
		OS:               firstOf(labels[labelOS], labels[labelOSBeta], info.OperatingSystem),
		ProviderID:       node.Spec.ProviderID,
		InstanceType:     firstOf(labels[labelInstanceType], labels[labelInstanceBeta]),
		FargateProfile:   labels[labelFargateProfile],
		NodeGroup:        labels[labelNodeGroup],
		KarpenterPool:    labels[labelKarpenterPool],
		ContainerRuntime: info.ContainerRuntimeVersion,
		KubeletVersion:   info.KubeletVersion,
	}
	n.Fargate = labels[labelComputeType] == "fargate" || strings.HasPrefix(node.Name, "fargate-") || n.FargateProfile != ""
	zone, instance := parseProviderID(node.Spec.ProviderID)
	n.InstanceID = instance
	n.Zone = firstOf(zone, labels[labelZone], labels[labelZoneBeta])
	n.Region = firstOf(labels[labelRegion], labels[labelRegionBeta], regionPrefix.FindString(n.Zone))
	for _, c := range node.Status.Conditions {
		if c.Type != corev1.NodeDiskPressure {
			continue
		}
		switch c.Status {
		case corev1.ConditionTrue:
			n.DiskPressure = new(true)
		case corev1.ConditionFalse:
			n.DiskPressure = new(false)
		}
		n.DiskPressureMsg = c.Message
	}
	return n
}

// podNodeFacts is what the pod alone says about its node, when the node is not in the file.
func podNodeFacts(pod *corev1.Pod) *diagnosis.NodeFacts {
	n := &diagnosis.NodeFacts{Name: pod.Spec.NodeName, FargateProfile: pod.Labels[labelFargateProfile]}
	n.Fargate = strings.HasPrefix(n.Name, "fargate-") || n.FargateProfile != "" || pod.Spec.SchedulerName == fargateScheduler
	return n
}

// parseProviderID reads an AWS provider ID, aws:///us-west-2a/i-0abc1234def567890: the
// zone, and the EC2 instance ID when the node is an instance.
func parseProviderID(id string) (zone, instance string) {
	rest, ok := strings.CutPrefix(id, "aws://")
	if !ok {
		return "", ""
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if last := parts[len(parts)-1]; strings.HasPrefix(last, "i-") {
		instance = last
	}
	if len(parts) >= 2 && regionPrefix.MatchString(parts[0]) {
		zone = parts[0]
	}
	return zone, instance
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// --- service account and pull secrets ---

func serviceAccountName(pod *corev1.Pod) string {
	return firstOf(pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount, "default")
}

func (l *loader) serviceAccount(pod *corev1.Pod, name string) *corev1.ServiceAccount {
	for _, sa := range l.accounts {
		if sa.Name == name && sameNamespace(sa.Namespace, pod.Namespace) {
			return sa
		}
	}
	return nil
}

func serviceAccountFacts(sa *corev1.ServiceAccount) *diagnosis.ServiceAccountFacts {
	f := &diagnosis.ServiceAccountFacts{
		Name:        sa.Name,
		Found:       true,
		IRSARoleARN: sa.Annotations[annotationRoleARN],
		ECRRoleARN:  sa.Annotations[annotationECRRoleARN],
	}
	for _, r := range sa.ImagePullSecrets {
		if r.Name != "" {
			f.ImagePullSecrets = append(f.ImagePullSecrets, r.Name)
		}
	}
	return f
}

// pullSecrets lists the pod's imagePullSecrets, then those of its service account that the
// pod does not list. Secrets in the file are described by type and registry keys; the
// others cannot be checked.
func (l *loader) pullSecrets(pod *corev1.Pod, sa *diagnosis.ServiceAccountFacts) []diagnosis.PullSecret {
	var out []diagnosis.PullSecret
	seen := map[string]bool{}
	add := func(name, from string) {
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		ps := diagnosis.PullSecret{Name: name, From: from, Status: diagnosis.SecretUnchecked, Detail: "not in the file"}
		for _, s := range l.secrets {
			if s.Name == name && sameNamespace(s.Namespace, pod.Namespace) {
				ps.Status, ps.Type, ps.Hosts, ps.Detail = diagnosis.SecretFound, s.Type, s.Hosts, s.Detail
				break
			}
		}
		out = append(out, ps)
	}
	for _, r := range pod.Spec.ImagePullSecrets {
		add(r.Name, "pod")
	}
	if sa != nil {
		for _, name := range sa.ImagePullSecrets {
			add(name, "serviceaccount")
		}
	}
	return out
}

// --- events ---

// podEvents returns the events about the pod, from both APIs, each event once, oldest
// first (by LastSeen, then FirstSeen) like the live collector.
func (l *loader) podEvents(pod *corev1.Pod) []diagnosis.Event {
	var out []diagnosis.Event
	seen := map[string]bool{}
	// The same event read through both APIs has the same uid (and name).
	once := func(uid types.UID, namespace, name string) bool {
		key := string(uid)
		if key == "" {
			key = namespace + "/" + name
		}
		if seen[key] {
			return false
		}
		seen[key] = true
		return true
	}
	for _, e := range l.coreEvents {
		if aboutPod(pod, e.InvolvedObject, e.Namespace) && once(e.UID, e.Namespace, e.Name) {
			out = append(out, fromCoreEvent(e))
		}
	}
	for _, e := range l.newEvents {
		if aboutPod(pod, e.Regarding, e.Namespace) && once(e.UID, e.Namespace, e.Name) {
			out = append(out, fromEventsEvent(e))
		}
	}
	slices.SortStableFunc(out, func(a, b diagnosis.Event) int {
		if c := a.LastSeen.Compare(b.LastSeen); c != 0 {
			return c
		}
		return a.FirstSeen.Compare(b.FirstSeen)
	})
	return out
}

// aboutPod reports whether an event's object is the pod: by uid when both have one, else
// by name and namespace.
func aboutPod(pod *corev1.Pod, ref corev1.ObjectReference, eventNamespace string) bool {
	if ref.Kind != "" && ref.Kind != kindPod {
		return false
	}
	if ref.UID != "" && pod.UID != "" {
		return ref.UID == pod.UID
	}
	return ref.Name == pod.Name && sameNamespace(firstOf(ref.Namespace, eventNamespace), pod.Namespace)
}

func fromCoreEvent(e *corev1.Event) diagnosis.Event {
	ev := diagnosis.Event{
		Type:      e.Type,
		Reason:    e.Reason,
		Message:   e.Message,
		FieldPath: e.InvolvedObject.FieldPath,
		Count:     e.Count,
		FirstSeen: firstTime(e.FirstTimestamp.Time, e.EventTime.Time),
		LastSeen:  latest(e.LastTimestamp.Time, e.EventTime.Time),
		API:       apiCore,
	}
	if s := e.Series; s != nil {
		ev.Count = max(ev.Count, s.Count)
		ev.LastSeen = latest(ev.LastSeen, s.LastObservedTime.Time)
	}
	if ev.LastSeen.IsZero() {
		ev.LastSeen = ev.FirstSeen
	}
	ev.Count = max(ev.Count, 1)
	return ev
}

func fromEventsEvent(e *eventsv1.Event) diagnosis.Event {
	ev := diagnosis.Event{
		Type:      e.Type,
		Reason:    e.Reason,
		Message:   e.Note,
		FieldPath: e.Regarding.FieldPath,
		Count:     e.DeprecatedCount,
		FirstSeen: firstTime(e.DeprecatedFirstTimestamp.Time, e.EventTime.Time),
		LastSeen:  latest(e.DeprecatedLastTimestamp.Time, e.EventTime.Time),
		API:       apiEvents,
	}
	if s := e.Series; s != nil {
		ev.Count = max(ev.Count, s.Count)
		ev.LastSeen = latest(ev.LastSeen, s.LastObservedTime.Time)
	}
	if ev.LastSeen.IsZero() {
		ev.LastSeen = ev.FirstSeen
	}
	ev.Count = max(ev.Count, 1)
	return ev
}

// firstTime returns the first of ts that is set.
func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// latest returns the latest of ts (zero when none is set).
func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// snapshotTime is when a saved file was taken, as far as its content tells: the newest
// event or status timestamp. A file is a snapshot, so "how long has this pull been running"
// must be measured to the moment it was saved, not to the time it is read.
func snapshotTime(pod *corev1.Pod, events []diagnosis.Event) time.Time {
	var t time.Time
	later := func(c time.Time) {
		if c.After(t) {
			t = c
		}
	}
	later(pod.CreationTimestamp.Time)
	if pod.Status.StartTime != nil {
		later(pod.Status.StartTime.Time)
	}
	for _, c := range pod.Status.Conditions {
		later(c.LastTransitionTime.Time)
		later(c.LastProbeTime.Time)
	}
	for _, e := range events {
		later(e.FirstSeen)
		later(e.LastSeen)
	}
	return t
}
