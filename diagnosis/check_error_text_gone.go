package diagnosis

import "fmt"

// checkErrorTextGone: only a bare "Back-off pulling image" remains. The events that held the
// error expired (one hour by default) and kubelets before 1.32 keep no error in the status.
func checkErrorTextGone(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigBackOffOnly {
		return nil
	}
	x := cmdContext{f, c}
	return &Verdict{Cause: CauseUnknown, Confidence: Possible,
		Summary: fmt.Sprintf("The kubelet is backing off pulling %s, but the error text is gone: the events that held it expired, and this kubelet does not keep the last error in the pod status.", c.Image.Raw),
		Fixes: []Fix{{Title: "Make the kubelet pull again now and read the fresh error", Commands: []string{
			x.restart(),
			x.kubectl("get", "events", "--field-selector", "reason=Failed", "--sort-by", ".lastTimestamp"),
		}}},
		RestartHelps: RestartAdvice{Helps: false, Reason: "the cause is not known; a restart only makes the error visible again"},
	}
}
