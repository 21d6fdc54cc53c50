package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// TestReadSecretZeroesData: readSecret keeps what diagnosis.PullSecretFrom reads (its cases
// are in diagnosis/kubeobjects_test.go) and zeroes the secret's bytes once read.
func TestReadSecretZeroesData(t *testing.T) {
	tests := []struct {
		name   string
		secret *corev1.Secret
		want   diagnosis.PullSecret
	}{
		{"dockerconfigjson", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{
			".dockerconfigjson": []byte(`{"auths":{"b.example.com":{"auth":"eDp5"},"a.example.com:5000":{"auth":"eDp5"}}}`),
			"extra":             []byte("hunter2"),
		}}, diagnosis.PullSecret{Name: "regcred", Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockerConfigJson, Hosts: []string{"a.example.com:5000", "b.example.com"}}},
		{"broken", &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte(`{"auths":{"h":{"password":"hunter2`)}},
			diagnosis.PullSecret{Status: diagnosis.SecretFound, Type: corev1.SecretTypeDockerConfigJson, Detail: ".dockerconfigjson is not valid JSON (at byte 34)"}},
		{"opaque", &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"token": []byte("hunter2")}},
			diagnosis.PullSecret{Status: diagnosis.SecretFound, Type: corev1.SecretTypeOpaque, Detail: "type Opaque is not a docker config; the kubelet ignores it for pulls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var values [][]byte
			for _, v := range tt.secret.Data {
				values = append(values, v)
			}
			got := readSecret(tt.secret)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("readSecret() (-want +got):\n%s", diff)
			}
			for _, v := range values {
				for _, b := range v {
					if b != 0 {
						t.Fatalf("secret data %q left in memory after readSecret", v)
					}
				}
			}
			if len(tt.secret.Data) != 0 {
				t.Errorf("secret data map has %d entries after readSecret, want none", len(tt.secret.Data))
			}
		})
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
