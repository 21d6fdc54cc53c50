package diagnosis

import "fmt"

// checkNeverPullPolicy: imagePullPolicy Never and the image is not on the node (ErrImageNeverPull).
func checkNeverPullPolicy(f *Facts, c *Container) *Verdict {
	if c.Reason != ReasonErrImageNeverPull && c.Signal.Kind != SigNeverPull {
		return nil
	}
	x := cmdContext{f, c}
	v := &Verdict{
		Cause:      CauseNeverPullPolicy,
		Confidence: Confirmed,
		Summary: fmt.Sprintf("%s has imagePullPolicy Never and %s is not on %s, so the kubelet will not pull it.",
			c.Path(), c.Image.Raw, x.nodeLabel()),
		Evidence: []string{fmt.Sprintf("%s.imagePullPolicy: %s", c.Path(), orDash(string(c.PullPolicy)))},
		RestartHelps: RestartAdvice{Helps: false,
			Reason: "the pull policy is in the pod spec; a new pod on a node without the image fails the same way"},
		Notes: []string{"Never only works where the image was preloaded on every node (kind load, a pre-pull DaemonSet, a custom AMI). With the KubeletEnsureSecretPulledImages feature, a cached image pulled with another pod's credentials also counts as not present."},
	}
	if p := x.jsonPatch(fmt.Sprintf(`{"op":"replace","path":"{{spec}}/%s/%d/imagePullPolicy","value":"IfNotPresent"}`, x.containerListField(), c.Index)); p != "" {
		v.Fixes = append(v.Fixes, Fix{Title: "Let the kubelet pull the image when the node lacks it", Commands: []string{p}})
	}
	return v
}
