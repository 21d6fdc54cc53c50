package diagnosis

import "fmt"

// checkRuntimeError: the container runtime could not inspect the image (ImageInspectError), a
// node-local fault (runtime down, corrupted image store).
func checkRuntimeError(f *Facts, c *Container) *Verdict {
	if c.Reason != ReasonImageInspectError && c.Signal.Kind != SigInspectFailed {
		return nil
	}
	x := cmdContext{f, c}
	node := x.nodeName()
	v := &Verdict{
		Cause:      CauseRuntimeError,
		Confidence: Likely,
		Summary:    fmt.Sprintf("The container runtime on node %s failed to inspect %s: a node-local fault, not a registry problem.", node, c.Image.Raw),
		RestartHelps: RestartAdvice{Helps: true,
			Reason: "once the node is cordoned, a new pod is scheduled on a healthy node"},
	}
	if node != "" {
		v.Fixes = append(v.Fixes, Fix{Title: "Keep new pods off the node and move this workload", Commands: []string{
			"kubectl cordon " + shellQuote(node), x.restart()}})
		v.Fixes = append(v.Fixes, Fix{Title: "Look at the node's runtime", Commands: []string{
			"kubectl get node " + shellQuote(node) + " -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}{\"\\n\"}{range .status.conditions[*]}{.type}={.status} {end}{\"\\n\"}'"}})
	}
	return v
}
