package diagnosis

// Conversions from Kubernetes API objects to facts, shared by every collector (the live
// one in diagnosis/kube and the saved-file one in diagnosis/podfile). They are pure: they
// read their argument, never change it, and keep nothing of it but the facts they return.

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Labels and annotations read from nodes, pods and service accounts. The beta and
// failure-domain labels are the legacy spellings older nodes (and saved files) still carry.
const (
	nodeLabelArch           = "kubernetes.io/arch"
	nodeLabelArchBeta       = "beta.kubernetes.io/arch"
	nodeLabelOS             = "kubernetes.io/os"
	nodeLabelOSBeta         = "beta.kubernetes.io/os"
	nodeLabelInstanceType   = "node.kubernetes.io/instance-type"
	nodeLabelInstanceBeta   = "beta.kubernetes.io/instance-type"
	nodeLabelZone           = "topology.kubernetes.io/zone"
	nodeLabelZoneBeta       = "failure-domain.beta.kubernetes.io/zone"
	nodeLabelRegion         = "topology.kubernetes.io/region"
	nodeLabelRegionBeta     = "failure-domain.beta.kubernetes.io/region"
	nodeLabelComputeType    = "eks.amazonaws.com/compute-type"
	nodeLabelFargateProfile = "eks.amazonaws.com/fargate-profile" // on Fargate nodes and on their pods
	nodeLabelNodeGroup      = "eks.amazonaws.com/nodegroup"
	nodeLabelKarpenterPool  = "karpenter.sh/nodepool"
	podLabelTemplateHash    = "pod-template-hash"

	saAnnotationRoleARN    = "eks.amazonaws.com/role-arn"
	saAnnotationECRRoleARN = "eks.amazonaws.com/ecr-role-arn"

	fargateNodePrefix = "fargate-"
	fargateScheduler  = "fargate-scheduler"
)

// Values of Event.API.
const (
	eventAPICore   = "v1"
	eventAPIEvents = "events.k8s.io/v1"
)

// --- nodes ---

// NodeFactsFrom reads what the checks need from a node: labels (current and legacy), the
// provider ID, node info and the DiskPressure condition. It returns nil for a nil node.
func NodeFactsFrom(node *corev1.Node) *NodeFacts {
	if node == nil {
		return nil
	}
	l := node.Labels
	info := node.Status.NodeInfo
	n := &NodeFacts{
		Name:             node.Name,
		Arch:             firstSet(l[nodeLabelArch], l[nodeLabelArchBeta], info.Architecture),
		OS:               firstSet(l[nodeLabelOS], l[nodeLabelOSBeta], info.OperatingSystem),
		ProviderID:       node.Spec.ProviderID,
		InstanceType:     firstSet(l[nodeLabelInstanceType], l[nodeLabelInstanceBeta]),
		FargateProfile:   l[nodeLabelFargateProfile],
		NodeGroup:        l[nodeLabelNodeGroup],
		KarpenterPool:    l[nodeLabelKarpenterPool],
		ContainerRuntime: info.ContainerRuntimeVersion,
		KubeletVersion:   info.KubeletVersion,
	}
	var zone string
	n.InstanceID, zone = ParseProviderID(node.Spec.ProviderID)
	n.Zone = firstSet(zone, l[nodeLabelZone], l[nodeLabelZoneBeta])
	n.Region = firstSet(l[nodeLabelRegion], l[nodeLabelRegionBeta], RegionOfZone(n.Zone))
	n.Fargate = l[nodeLabelComputeType] == "fargate" || isFargateNodeName(node.Name) || n.FargateProfile != ""
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

// NodeFactsFromPod is what the pod alone tells about its node, for when the node cannot be
// read: its name, and whether it is Fargate (a fargate- node name, the fargate-profile
// label the Fargate admission webhook puts on the pod, or the Fargate scheduler). It
// returns nil for a pod that is not scheduled.
func NodeFactsFromPod(pod *corev1.Pod) *NodeFacts {
	if pod == nil || pod.Spec.NodeName == "" {
		return nil
	}
	n := &NodeFacts{Name: pod.Spec.NodeName, FargateProfile: pod.Labels[nodeLabelFargateProfile]}
	n.Fargate = isFargateNodeName(n.Name) || n.FargateProfile != "" || pod.Spec.SchedulerName == fargateScheduler
	return n
}

func isFargateNodeName(name string) bool { return strings.HasPrefix(name, fargateNodePrefix) }

// awsZoneRegion matches the region at the start of an AWS zone name: us-west-2a, and
// Local and Wavelength Zones such as us-west-2-lax-1a and us-west-2-wl1-sea-wlz-1, are
// all in us-west-2.
var awsZoneRegion = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-\d+`)

// RegionOfZone returns the region of an AWS zone name: the zone minus its letter
// (us-west-2a is in us-west-2), or the region prefix of a Local or Wavelength Zone. A name
// whose form it does not know gives the name minus its final letter only when what is left
// ends in a digit, as an AWS region does (eusc-de-east-1a); otherwise "".
func RegionOfZone(zone string) string {
	if m := awsZoneRegion.FindString(zone); m != "" {
		return m
	}
	if n := len(zone); n > 2 && zone[n-1] >= 'a' && zone[n-1] <= 'z' && zone[n-2] >= '0' && zone[n-2] <= '9' {
		return zone[:n-1]
	}
	return ""
}

// ParseProviderID splits an AWS provider ID, aws:///us-west-2a/i-0abc (EC2) or
// aws:///us-west-2a/<id>/fargate-ip-... (Fargate), into the EC2 instance ID ("" when the
// node is not an instance) and the zone ("" when the first part is not a zone). Any other
// provider gives "", "".
func ParseProviderID(id string) (instanceID, zone string) {
	rest, ok := strings.CutPrefix(id, "aws://")
	if !ok {
		return "", ""
	}
	parts := strings.FieldsFunc(rest, func(r rune) bool { return r == '/' })
	if len(parts) == 0 {
		return "", ""
	}
	if last := parts[len(parts)-1]; strings.HasPrefix(last, "i-") {
		instanceID = last
	}
	if len(parts) > 1 && RegionOfZone(parts[0]) != "" {
		zone = parts[0]
	}
	return instanceID, zone
}

// --- service accounts and pull secrets ---

// ServiceAccountName is the name of the pod's service account: spec.serviceAccountName,
// else the deprecated spec.serviceAccount, else "default".
func ServiceAccountName(pod *corev1.Pod) string {
	return firstSet(pod.Spec.ServiceAccountName, pod.Spec.DeprecatedServiceAccount, "default")
}

// ServiceAccountFactsFrom reads a service account's pull secrets and its IRSA and ECR role
// annotations. It returns nil for a nil account.
func ServiceAccountFactsFrom(sa *corev1.ServiceAccount) *ServiceAccountFacts {
	if sa == nil {
		return nil
	}
	f := &ServiceAccountFacts{
		Name:        sa.Name,
		Found:       true,
		IRSARoleARN: sa.Annotations[saAnnotationRoleARN],
		ECRRoleARN:  sa.Annotations[saAnnotationECRRoleARN],
	}
	for _, r := range sa.ImagePullSecrets {
		if r.Name != "" {
			f.ImagePullSecrets = append(f.ImagePullSecrets, r.Name)
		}
	}
	return f
}

// PullSecretDataKey returns the data key that holds the docker config of a pull secret of
// type t (.dockerconfigjson or .dockercfg), or "" for a type the kubelet does not use for
// pulls.
func PullSecretDataKey(t corev1.SecretType) string {
	switch t {
	case corev1.SecretTypeDockerConfigJson:
		return corev1.DockerConfigJsonKey
	case corev1.SecretTypeDockercfg:
		return corev1.DockerConfigKey
	}
	return ""
}

// PullSecretFrom describes a pull secret that was found, referenced from from ("pod" or
// "serviceaccount"): its type and the registry host keys of its docker config, sorted,
// or in Detail why they could not be read. Nothing else is read: no credential is copied
// out of s, and Detail never quotes its data. stringData, when s has it (a manifest not yet
// written through the API server), wins over data as the API server would merge them.
func PullSecretFrom(s *corev1.Secret, from string) PullSecret {
	ps := PullSecret{Name: s.Name, From: from, Status: SecretFound, Type: s.Type}
	key := PullSecretDataKey(s.Type)
	if key == "" {
		ps.Detail = "type " + string(s.Type) + " is not a docker config; the kubelet ignores it for pulls"
		return ps
	}
	raw, ok := s.Data[key]
	if str, inString := s.StringData[key]; inString {
		raw, ok = []byte(str), true
		defer clear(raw) // our own copy of the credentials
	}
	if !ok {
		ps.Detail = "has no " + key + " key"
		return ps
	}
	// ignoredJSON decodes each value into nothing, so only the keys are ever copied.
	var auths map[string]ignoredJSON
	var err error
	if key == corev1.DockerConfigJsonKey {
		var cfg struct {
			Auths map[string]ignoredJSON `json:"auths"`
		}
		err = json.Unmarshal(raw, &cfg)
		auths = cfg.Auths
	} else {
		err = json.Unmarshal(raw, &auths) // .dockercfg is the auths map itself
	}
	if err != nil {
		ps.Detail = dockerConfigProblem(key, err)
		return ps
	}
	for host := range auths {
		ps.Hosts = append(ps.Hosts, host)
	}
	slices.Sort(ps.Hosts)
	if len(ps.Hosts) == 0 {
		if key == corev1.DockerConfigJsonKey {
			ps.Detail = key + " has no auths entries"
		} else {
			ps.Detail = key + " has no entries"
		}
	}
	return ps
}

// ignoredJSON decodes any JSON value into nothing.
type ignoredJSON struct{}

func (*ignoredJSON) UnmarshalJSON([]byte) error { return nil }

// dockerConfigProblem says why a docker config does not parse without quoting any of it:
// a json.SyntaxError's text can contain a character of the credential, so only its offset
// is kept, and of a type error only the kind of JSON value and our own field name.
func dockerConfigProblem(key string, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s is not valid JSON (at byte %d)", key, syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		where := "the top level"
		if typ.Field == "auths" {
			where = "auths"
		}
		kind, _, _ := strings.Cut(typ.Value, " ") // "number 12" names the number: keep "number"
		return fmt.Sprintf("%s is not a docker config (%s is a JSON %s)", key, where, kind)
	}
	return key + " is not a docker config"
}

// --- events ---

// EventFromCore normalises a core/v1 event, whichever API wrote it: events written through
// events.k8s.io/v1 have eventTime and series instead of firstTimestamp, lastTimestamp and
// count. FirstSeen is the first timestamp set, LastSeen the latest one (FirstSeen when
// there is none), and Count at least 1.
func EventFromCore(e *corev1.Event) Event {
	ev := Event{
		Type:      e.Type,
		Reason:    e.Reason,
		Message:   e.Message,
		FieldPath: e.InvolvedObject.FieldPath,
		Count:     e.Count,
		FirstSeen: firstTimeSet(e.FirstTimestamp.Time, e.EventTime.Time),
		LastSeen:  latestTime(e.LastTimestamp.Time, e.EventTime.Time),
		API:       eventAPICore,
	}
	if s := e.Series; s != nil {
		ev.Count = max(ev.Count, s.Count)
		ev.LastSeen = latestTime(ev.LastSeen, s.LastObservedTime.Time)
	}
	if ev.LastSeen.IsZero() {
		ev.LastSeen = ev.FirstSeen
	}
	ev.Count = max(ev.Count, 1)
	return ev
}

// EventFromEventsV1 normalises an events.k8s.io/v1 event as EventFromCore does a core/v1
// one: it is the same stored object seen through the other API, with other field names.
func EventFromEventsV1(e *eventsv1.Event) Event {
	core := corev1.Event{
		InvolvedObject: corev1.ObjectReference{FieldPath: e.Regarding.FieldPath},
		Reason:         e.Reason,
		Message:        e.Note,
		FirstTimestamp: e.DeprecatedFirstTimestamp,
		LastTimestamp:  e.DeprecatedLastTimestamp,
		Count:          e.DeprecatedCount,
		Type:           e.Type,
		EventTime:      e.EventTime,
	}
	if s := e.Series; s != nil {
		core.Series = &corev1.EventSeries{Count: s.Count, LastObservedTime: s.LastObservedTime}
	}
	ev := EventFromCore(&core)
	ev.API = eventAPIEvents
	return ev
}

// SortEvents orders events oldest first (by LastSeen, then FirstSeen), so that the newest
// of a kind is the last one. Events seen at the same times keep their order.
func SortEvents(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int {
		if c := a.LastSeen.Compare(b.LastSeen); c != 0 {
			return c
		}
		return a.FirstSeen.Compare(b.FirstSeen)
	})
}

// firstTimeSet returns the first of ts that is set.
func firstTimeSet(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// latestTime returns the latest of ts (zero when none is set).
func latestTime(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// --- workload ---

// ControllerRef returns the pod's controller reference, or nil when it has none. A
// controller reference without a kind or a name (which the API server would not accept,
// but a file may hold) is ignored.
func ControllerRef(pod *corev1.Pod) *metav1.OwnerReference {
	for i := range pod.OwnerReferences {
		o := &pod.OwnerReferences[i]
		if o.Controller != nil && *o.Controller && o.Kind != "" && o.Name != "" {
			return o
		}
	}
	return nil
}

// WorkloadFrom is the pod's workload as far as the pod alone tells: its controller, where
// an apps ReplicaSet named <deployment>-<pod-template-hash> stands for its Deployment, or
// the pod itself when it has no controller. A collector that can read the owners should
// follow them instead.
func WorkloadFrom(pod *corev1.Pod) *Workload {
	o := ControllerRef(pod)
	if o == nil {
		return &Workload{Kind: "Pod", Name: pod.Name}
	}
	if o.Kind == "ReplicaSet" && isAppsGroup(o.APIVersion) {
		if hash := pod.Labels[podLabelTemplateHash]; hash != "" {
			if name, ok := strings.CutSuffix(o.Name, "-"+hash); ok && name != "" {
				return &Workload{Kind: "Deployment", Name: name}
			}
		}
	}
	return &Workload{Kind: o.Kind, Name: o.Name}
}

// isAppsGroup reports whether apiVersion is of the group ReplicaSets of Deployments live
// in (apps, formerly extensions); an unset one, as a hand-written file may have, counts.
func isAppsGroup(apiVersion string) bool {
	gv, err := schema.ParseGroupVersion(apiVersion)
	return err == nil && (gv.Group == "apps" || gv.Group == "extensions" || apiVersion == "")
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
