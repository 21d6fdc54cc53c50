package kube

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

func TestParseProviderID(t *testing.T) {
	tests := []struct {
		id, instance, zone string
	}{
		{"aws:///us-west-2a/i-0abc123def4567890", "i-0abc123def4567890", "us-west-2a"},
		{"aws:///us-west-2b/0123abcd/fargate-ip-10-0-1-2.us-west-2.compute.internal", "", "us-west-2b"},
		{"aws:///i-0abc", "i-0abc", ""},
		{"gce://project/us-central1-a/node-1", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		instance, zone := parseProviderID(tt.id)
		if instance != tt.instance || zone != tt.zone {
			t.Errorf("parseProviderID(%q) = %q, %q; want %q, %q", tt.id, instance, zone, tt.instance, tt.zone)
		}
	}
}

func TestRegionOfZone(t *testing.T) {
	tests := map[string]string{
		"us-west-2a":              "us-west-2",
		"us-gov-west-1b":          "us-gov-west-1",
		"cn-north-1a":             "cn-north-1",
		"us-west-2-lax-1a":        "us-west-2",
		"us-east-1-wl1-bos-wlz-1": "us-east-1",
		"ap-southeast-4c":         "ap-southeast-4",
		"":                        "",
	}
	for zone, want := range tests {
		if got := regionOfZone(zone); got != want {
			t.Errorf("regionOfZone(%q) = %q, want %q", zone, got, want)
		}
	}
}

func TestNodeFactsFallbacks(t *testing.T) {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "fargate-ip-10-0-1-2.ec2.internal", Labels: map[string]string{
			"beta.kubernetes.io/instance-type": "t3.large",
			"topology.kubernetes.io/zone":      "us-east-1c",
			"karpenter.sh/nodepool":            "default",
		}},
		Status: corev1.NodeStatus{
			NodeInfo:   corev1.NodeSystemInfo{Architecture: "amd64", OperatingSystem: "linux"},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeDiskPressure, Status: corev1.ConditionUnknown, Message: "Kubelet stopped posting node status."}},
		},
	}
	want := &diagnosis.NodeFacts{
		Name:            "fargate-ip-10-0-1-2.ec2.internal",
		Arch:            "amd64",
		OS:              "linux",
		Zone:            "us-east-1c",
		Region:          "us-east-1",
		InstanceType:    "t3.large",
		Fargate:         true,
		KarpenterPool:   "default",
		DiskPressureMsg: "Kubelet stopped posting node status.",
	}
	if diff := cmp.Diff(want, nodeFacts(n)); diff != "" {
		t.Errorf("nodeFacts() (-want +got):\n%s", diff)
	}
}

func TestReadSecret(t *testing.T) {
	tests := []struct {
		name   string
		secret *corev1.Secret
		want   secretInfo
	}{
		{"dockerconfigjson", &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{
			".dockerconfigjson": []byte(`{"auths":{"b.example.com":{"auth":"eDp5"},"a.example.com:5000":{"auth":"eDp5"}}}`),
		}}, secretInfo{status: diagnosis.SecretFound, typ: corev1.SecretTypeDockerConfigJson, hosts: []string{"a.example.com:5000", "b.example.com"}}},
		{"no auths", &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{
			".dockerconfigjson": []byte(`{"credHelpers":{"x":"ecr-login"}}`),
		}}, secretInfo{status: diagnosis.SecretFound, typ: corev1.SecretTypeDockerConfigJson, detail: ".dockerconfigjson has no auths entries"}},
		{"missing key", &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{"config.json": []byte(`{}`)}},
			secretInfo{status: diagnosis.SecretFound, typ: corev1.SecretTypeDockerConfigJson, detail: "has no .dockerconfigjson key"}},
		{"broken", &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{"h":{"password":"hunter2`)}},
			secretInfo{status: diagnosis.SecretFound, typ: corev1.SecretTypeDockerConfigJson, detail: ".dockerconfigjson is not valid JSON (at byte 34)"}},
		{"dockercfg", &corev1.Secret{Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{".dockercfg": []byte(`{"https://index.docker.io/v1/":{"auth":"eDp5"}}`)}},
			secretInfo{status: diagnosis.SecretFound, typ: corev1.SecretTypeDockercfg, hosts: []string{"https://index.docker.io/v1/"}}},
		{"opaque", &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"token": []byte("hunter2")}},
			secretInfo{status: diagnosis.SecretFound, typ: corev1.SecretTypeOpaque, detail: "type Opaque is not a docker config; the kubelet ignores it for pulls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.secret.Data
			var values [][]byte
			for _, v := range data {
				values = append(values, v)
			}
			got := readSecret(tt.secret)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(secretInfo{})); diff != "" {
				t.Errorf("readSecret() (-want +got):\n%s", diff)
			}
			// The secret's bytes are zeroed once read.
			for _, v := range values {
				for _, b := range v {
					if b != 0 {
						t.Fatalf("secret data %q left in memory after readSecret", v)
					}
				}
			}
		})
	}
}

func TestConvertEvent(t *testing.T) {
	t0 := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   corev1.Event
		want diagnosis.Event
	}{
		{"core/v1", corev1.Event{
			InvolvedObject: corev1.ObjectReference{FieldPath: "spec.containers{app}"},
			Type:           "Warning", Reason: "Failed", Message: "m", Count: 4,
			FirstTimestamp: metav1.NewTime(t0), LastTimestamp: metav1.NewTime(t0.Add(time.Minute)),
		}, diagnosis.Event{Type: "Warning", Reason: "Failed", Message: "m", FieldPath: "spec.containers{app}", Count: 4, FirstSeen: t0, LastSeen: t0.Add(time.Minute), API: "v1"}},
		{"events.k8s.io/v1 with a series", corev1.Event{
			Type: "Normal", Reason: "BackOff", Message: "m",
			EventTime: metav1.NewMicroTime(t0),
			Series:    &corev1.EventSeries{Count: 7, LastObservedTime: metav1.NewMicroTime(t0.Add(time.Hour))},
		}, diagnosis.Event{Type: "Normal", Reason: "BackOff", Message: "m", Count: 7, FirstSeen: t0, LastSeen: t0.Add(time.Hour), API: "v1"}},
		{"events.k8s.io/v1 once", corev1.Event{Type: "Normal", Reason: "Pulling", EventTime: metav1.NewMicroTime(t0)},
			diagnosis.Event{Type: "Normal", Reason: "Pulling", Count: 1, FirstSeen: t0, LastSeen: t0, API: "v1"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, convertEvent(&tt.in)); diff != "" {
			t.Errorf("%s: convertEvent() (-want +got):\n%s", tt.name, diff)
		}
	}
}

func failingPod(uid, namespace, node string, images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Namespace: namespace, Name: uid}, Spec: corev1.PodSpec{NodeName: node}}
	for i, img := range images {
		name := string(rune('a' + i))
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: name, Image: img})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: diagnosis.ReasonImagePullBackOff}},
		})
	}
	return p
}

// TestRelatedIndex: spellings of one image count as one; an unparseable image has no registry.
func TestRelatedIndex(t *testing.T) {
	self := failingPod("self", "a", "n1", "nginx", "Bad:Image")
	idx := newRelatedIndex()
	for _, p := range []*corev1.Pod{
		self,
		self, // recorded once
		failingPod("p1", "a", "n1", "docker.io/library/nginx:latest"),
		failingPod("p2", "b", "n2", "index.docker.io/library/nginx"),
		failingPod("p3", "c", "", "redis", "Bad:Image"),
		failingPod("p4", "c", "n3", "ghcr.io/x/y:1"),
	} {
		idx.add(p)
	}
	want := map[string]diagnosis.Related{
		"nginx":     {Scope: "cluster", SameImagePods: 2, SameRegistryPods: 3, SameRegistryNS: []string{"a", "b", "c"}, Nodes: 2},
		"Bad:Image": {Scope: "cluster", SameImagePods: 1, Nodes: 1},
	}
	if diff := cmp.Diff(want, idx.related(self, "cluster")); diff != "" {
		t.Errorf("related() (-want +got):\n%s", diff)
	}
}
