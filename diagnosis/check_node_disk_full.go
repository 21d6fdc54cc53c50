package diagnosis

import "fmt"

// checkDiskFull: the node ran out of disk while pulling or unpacking.
func checkDiskFull(f *Facts, c *Container) *Verdict {
	pressure := f.Node != nil && f.Node.DiskPressure != nil && *f.Node.DiskPressure
	if c.Signal.Kind != SigDiskFull && !(pressure && (c.Signal.Kind == SigUnknown || c.Signal.Kind == SigCanceled || c.Signal.Kind == SigBackOffOnly)) {
		return nil
	}
	x := cmdContext{f, c}
	node := x.nodeName()
	v := &Verdict{Cause: CauseNodeDiskFull, Confidence: Likely,
		RestartHelps: RestartAdvice{Helps: true,
			Reason: "a node under disk pressure is tainted node.kubernetes.io/disk-pressure, so a new pod is scheduled on another node"}}
	switch {
	case c.Signal.Kind == SigDiskFull && pressure:
		v.Confidence = Confirmed
	case c.Signal.Kind != SigDiskFull:
		v.Confidence = Possible
	}
	v.Summary = fmt.Sprintf("Node %s has no disk space left for %s.", node, c.Image.Raw)
	if pressure {
		v.Evidence = append(v.Evidence, fmt.Sprintf("node %s condition DiskPressure=True: %s", node, f.Node.DiskPressureMsg))
	}
	if f.Node != nil && f.Node.Fargate {
		v.Summary = fmt.Sprintf("The Fargate pod's ephemeral storage (20 GiB by default) is too small for %s.", c.Image.Raw)
		// set resources merges into the container's requests (a JSON patch add fails when
		// the template has no requests map); the Job template is immutable.
		if _, ok := x.templatePath(); ok && c.Kind != KindSandbox {
			v.Fixes = append(v.Fixes, Fix{Title: "Request more ephemeral storage (Fargate allows up to 175 GiB)", Commands: []string{
				x.kubectl("set", "resources", x.workloadArg(), "-c", c.Name, "--requests=ephemeral-storage=40Gi")}})
		}
		return v
	}
	if node != "" {
		v.Fixes = append(v.Fixes,
			Fix{Title: "Move the pod off the full node", Commands: []string{"kubectl cordon " + shellQuote(node), x.restart()}},
			Fix{Title: "Free the node (evicts its pods) and give the node group a bigger root volume", Commands: []string{
				"kubectl drain " + shellQuote(node) + " --ignore-daemonsets --delete-emptydir-data"}})
	}
	return v
}
