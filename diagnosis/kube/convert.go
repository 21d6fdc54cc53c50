package kube

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// readSecret describes a pull secret found in the cluster (diagnosis.PullSecretFrom: its
// type and registry host keys, never a credential), then zeroes the secret's data so that
// no credential outlives this call in memory we own.
func readSecret(s *corev1.Secret) diagnosis.PullSecret {
	defer func() {
		for _, v := range s.Data {
			clear(v)
		}
		clear(s.Data)
		clear(s.StringData)
	}()
	return diagnosis.PullSecretFrom(s, "")
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
