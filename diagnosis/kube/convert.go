package kube

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Node labels read into diagnosis.NodeFacts.
const (
	labelArch           = "kubernetes.io/arch"
	labelOS             = "kubernetes.io/os"
	labelInstanceType   = "node.kubernetes.io/instance-type"
	labelInstanceTypeV0 = "beta.kubernetes.io/instance-type"
	labelZone           = "topology.kubernetes.io/zone"
	labelRegion         = "topology.kubernetes.io/region"
	labelComputeType    = "eks.amazonaws.com/compute-type"
	labelFargateProfile = "eks.amazonaws.com/fargate-profile"
	labelNodeGroup      = "eks.amazonaws.com/nodegroup"
	labelKarpenterPool  = "karpenter.sh/nodepool"
)

// Service account annotations read into diagnosis.ServiceAccountFacts.
const (
	annotationRoleARN    = "eks.amazonaws.com/role-arn"
	annotationECRRoleARN = "eks.amazonaws.com/ecr-role-arn"
)

// convertEvent normalises a core/v1 event, whichever API wrote it: events written through
// events.k8s.io/v1 have eventTime and series instead of firstTimestamp, lastTimestamp and count.
func convertEvent(e *corev1.Event) diagnosis.Event {
	out := diagnosis.Event{
		Type:      e.Type,
		Reason:    e.Reason,
		Message:   e.Message,
		FieldPath: e.InvolvedObject.FieldPath,
		Count:     e.Count,
		FirstSeen: e.FirstTimestamp.Time,
		LastSeen:  e.LastTimestamp.Time,
		API:       "v1",
	}
	if out.FirstSeen.IsZero() {
		out.FirstSeen = e.EventTime.Time
	}
	if e.Series != nil {
		if out.Count < e.Series.Count {
			out.Count = e.Series.Count
		}
		if !e.Series.LastObservedTime.IsZero() {
			out.LastSeen = e.Series.LastObservedTime.Time
		}
	}
	if out.LastSeen.IsZero() {
		out.LastSeen = out.FirstSeen
	}
	if out.Count == 0 {
		out.Count = 1
	}
	return out
}

// sortEvents orders events oldest first, so that the newest of a kind is the last one.
func sortEvents(events []diagnosis.Event) {
	sort.SliceStable(events, func(i, j int) bool {
		a, b := events[i], events[j]
		if !a.LastSeen.Equal(b.LastSeen) {
			return a.LastSeen.Before(b.LastSeen)
		}
		return a.FirstSeen.Before(b.FirstSeen)
	})
}

// zoneRegion takes the region prefix of an AWS zone name: us-west-2a, us-west-2-lax-1a
// (Local Zone) and us-west-2-wl1-sea-wlz-1 (Wavelength) are all in us-west-2.
var zoneRegion = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-\d+`)

func regionOfZone(zone string) string {
	if m := zoneRegion.FindString(zone); m != "" {
		return m
	}
	if n := len(zone); n > 1 && zone[n-1] >= 'a' && zone[n-1] <= 'z' {
		return zone[:n-1]
	}
	return ""
}

// parseProviderID splits an AWS provider ID, aws:///us-west-2a/i-0abc (EC2) or
// aws:///us-west-2a/<id>/fargate-ip-... (Fargate), into the instance ID and the zone.
func parseProviderID(id string) (instance, zone string) {
	rest, ok := strings.CutPrefix(id, "aws://")
	if !ok {
		return "", ""
	}
	parts := strings.FieldsFunc(rest, func(r rune) bool { return r == '/' })
	if len(parts) == 0 {
		return "", ""
	}
	if strings.HasPrefix(parts[len(parts)-1], "i-") {
		instance = parts[len(parts)-1]
	}
	if len(parts) > 1 && zoneRegion.MatchString(parts[0]) {
		zone = parts[0]
	}
	return instance, zone
}

// nodeFacts reads what the checks need from a node: labels, provider ID, node info and
// the DiskPressure condition.
func nodeFacts(n *corev1.Node) *diagnosis.NodeFacts {
	l := n.Labels
	f := &diagnosis.NodeFacts{
		Name:             n.Name,
		Arch:             first(l[labelArch], n.Status.NodeInfo.Architecture),
		OS:               first(l[labelOS], n.Status.NodeInfo.OperatingSystem),
		ProviderID:       n.Spec.ProviderID,
		InstanceType:     first(l[labelInstanceType], l[labelInstanceTypeV0]),
		FargateProfile:   l[labelFargateProfile],
		NodeGroup:        l[labelNodeGroup],
		KarpenterPool:    l[labelKarpenterPool],
		ContainerRuntime: n.Status.NodeInfo.ContainerRuntimeVersion,
		KubeletVersion:   n.Status.NodeInfo.KubeletVersion,
	}
	var zone string
	f.InstanceID, zone = parseProviderID(n.Spec.ProviderID)
	f.Zone = first(zone, l[labelZone])
	f.Region = first(l[labelRegion], regionOfZone(f.Zone))
	f.Fargate = l[labelComputeType] == "fargate" || isFargateName(n.Name)
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeDiskPressure {
			continue
		}
		switch c.Status {
		case corev1.ConditionTrue:
			f.DiskPressure = new(true)
		case corev1.ConditionFalse:
			f.DiskPressure = new(false)
		}
		f.DiskPressureMsg = c.Message
	}
	return f
}

func isFargateName(node string) bool { return strings.HasPrefix(node, "fargate-") }

// unreadNode is what is known about a node that could not be read: its name.
func unreadNode(name string) *diagnosis.NodeFacts {
	return &diagnosis.NodeFacts{Name: name, Fargate: isFargateName(name)}
}

func serviceAccountFacts(sa *corev1.ServiceAccount) *diagnosis.ServiceAccountFacts {
	f := &diagnosis.ServiceAccountFacts{
		Name:        sa.Name,
		Found:       true,
		IRSARoleARN: sa.Annotations[annotationRoleARN],
		ECRRoleARN:  sa.Annotations[annotationECRRoleARN],
	}
	for _, s := range sa.ImagePullSecrets {
		if s.Name != "" {
			f.ImagePullSecrets = append(f.ImagePullSecrets, s.Name)
		}
	}
	return f
}

// secretInfo is everything kept from a pull secret: never any credential.
type secretInfo struct {
	status diagnosis.SecretStatus
	typ    corev1.SecretType
	hosts  []string
	detail string
}

// ignored decodes any JSON value into nothing, so that parsing a docker config never
// copies a credential out of the secret.
type ignored struct{}

func (*ignored) UnmarshalJSON([]byte) error { return nil }

// readSecret keeps the type and the registry host keys of a pull secret, then zeroes the
// secret's data so that no credential outlives this call in memory we own.
func readSecret(s *corev1.Secret) secretInfo {
	info := secretInfo{status: diagnosis.SecretFound, typ: s.Type}
	defer func() {
		for _, v := range s.Data {
			clear(v)
		}
		clear(s.Data)
		clear(s.StringData)
	}()
	switch s.Type {
	case corev1.SecretTypeDockerConfigJson:
		raw, ok := s.Data[corev1.DockerConfigJsonKey]
		if !ok {
			info.detail = "has no " + corev1.DockerConfigJsonKey + " key"
			return info
		}
		var cfg struct {
			Auths map[string]ignored `json:"auths"`
		}
		if err := json.Unmarshal(raw, &cfg); err != nil {
			info.detail = jsonProblem(corev1.DockerConfigJsonKey, err)
			return info
		}
		info.hosts = keys(cfg.Auths)
		if len(info.hosts) == 0 {
			info.detail = corev1.DockerConfigJsonKey + " has no auths entries"
		}
	case corev1.SecretTypeDockercfg:
		raw, ok := s.Data[corev1.DockerConfigKey]
		if !ok {
			info.detail = "has no " + corev1.DockerConfigKey + " key"
			return info
		}
		var cfg map[string]ignored
		if err := json.Unmarshal(raw, &cfg); err != nil {
			info.detail = jsonProblem(corev1.DockerConfigKey, err)
			return info
		}
		info.hosts = keys(cfg)
		if len(info.hosts) == 0 {
			info.detail = corev1.DockerConfigKey + " has no entries"
		}
	default:
		info.detail = "type " + string(s.Type) + " is not a docker config; the kubelet ignores it for pulls"
	}
	return info
}

// jsonProblem says why a docker config does not parse without quoting any of it (a
// json.SyntaxError's text can contain a character of the credential).
func jsonProblem(key string, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("%s is not valid JSON (at byte %d)", key, syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		where := "the top level"
		if typ.Field != "" {
			where = typ.Field
		}
		return fmt.Sprintf("%s is not a docker config (%s is a JSON %s)", key, where, typ.Value)
	}
	return key + " is not a docker config"
}

func keys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func first(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// failingImages returns the spec images of the containers (init, regular, ephemeral) that
// wait with an image-pull failure, each once, in spec order.
func failingImages(pod *corev1.Pod) []string {
	var out []string
	add := func(statuses []corev1.ContainerStatus, image func(name string) string) {
		for i := range statuses {
			s := &statuses[i]
			if s.State.Waiting == nil || !diagnosis.IsPullFailureReason(s.State.Waiting.Reason) {
				continue
			}
			img := first(image(s.Name), s.Image)
			if img != "" && !slices.Contains(out, img) {
				out = append(out, img)
			}
		}
	}
	add(pod.Status.InitContainerStatuses, func(name string) string { return specImage(pod.Spec.InitContainers, name) })
	add(pod.Status.ContainerStatuses, func(name string) string { return specImage(pod.Spec.Containers, name) })
	add(pod.Status.EphemeralContainerStatuses, func(name string) string {
		for i := range pod.Spec.EphemeralContainers {
			if c := &pod.Spec.EphemeralContainers[i]; c.Name == name {
				return c.Image
			}
		}
		return ""
	})
	return out
}

func specImage(containers []corev1.Container, name string) string {
	for i := range containers {
		if containers[i].Name == name {
			return containers[i].Image
		}
	}
	return ""
}
