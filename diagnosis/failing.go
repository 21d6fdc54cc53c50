package diagnosis

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Waiting reasons that mean the kubelet could not get the image (DOMAIN §2.1).
const (
	ReasonErrImagePull              = "ErrImagePull"
	ReasonImagePullBackOff          = "ImagePullBackOff"
	ReasonInvalidImageName          = "InvalidImageName"
	ReasonErrImageNeverPull         = "ErrImageNeverPull"
	ReasonImageInspectError         = "ImageInspectError"
	ReasonRegistryUnavailable       = "RegistryUnavailable"
	ReasonSignatureValidationFailed = "SignatureValidationFailed"
)

// IsPullFailureReason reports whether a container waiting reason is an image-pull failure.
func IsPullFailureReason(reason string) bool {
	switch reason {
	case ReasonErrImagePull, ReasonImagePullBackOff, ReasonInvalidImageName, ReasonErrImageNeverPull,
		ReasonImageInspectError, ReasonRegistryUnavailable, ReasonSignatureValidationFailed:
		return true
	}
	return false
}

// StuckCreatingAfter is how long a pod may sit in ContainerCreating / PodInitializing
// before a scan looks at its events for a sandbox-image failure or a pull that makes
// no progress.
const StuckCreatingAfter = 5 * time.Minute

// HasPullFailure reports whether any container of the pod (init, regular or ephemeral)
// is waiting with an image-pull failure reason. It reads only the pod's status.
func HasPullFailure(pod *corev1.Pod) bool {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for i := range list {
			if w := list[i].State.Waiting; w != nil && IsPullFailureReason(w.Reason) {
				return true
			}
		}
	}
	return false
}

// NeedsEvents reports whether a scan should read the events of the pod's namespace to
// diagnose it: it has a pull failure, or it has been stuck creating for a while (the
// sandbox image may be failing, or a pull may be making no progress), which only events show.
func NeedsEvents(pod *corev1.Pod, now time.Time) bool {
	if HasPullFailure(pod) {
		return true
	}
	if pod.Status.Phase != corev1.PodPending || pod.DeletionTimestamp != nil {
		return false
	}
	// The kubelet's start time is when it took the pod on; creation can be much earlier
	// when the pod waited to be scheduled.
	started := pod.CreationTimestamp.Time
	if pod.Status.StartTime != nil {
		started = pod.Status.StartTime.Time
	}
	if now.Sub(started) < StuckCreatingAfter {
		return false
	}
	if len(pod.Status.ContainerStatuses) == 0 && len(pod.Status.InitContainerStatuses) == 0 {
		return pod.Spec.NodeName != "" // scheduled, but not one container created yet
	}
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			if w := list[i].State.Waiting; w != nil && (w.Reason == "ContainerCreating" || w.Reason == "PodInitializing") {
				return true
			}
		}
	}
	return false
}
