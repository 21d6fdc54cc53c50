package diagnosis

import "fmt"

// checkPlatform: the image index has no entry for the node's OS/architecture.
func checkPlatform(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigPlatform {
		return nil
	}
	x := cmdContext{f, c}
	arch, os := "unknown", "linux"
	if n := f.Node; n != nil {
		if n.Arch != "" {
			arch = n.Arch
		}
		if n.OS != "" {
			os = n.OS
		}
	}
	v := &Verdict{
		Cause:      CausePlatformMismatch,
		Confidence: Confirmed,
		Summary:    fmt.Sprintf("%s has no image for the node's platform %s/%s: the runtime found no matching entry in the image index.", c.Image.Raw, os, arch),
		RestartHelps: RestartAdvice{Helps: false,
			Reason: "a new pod on the same kind of node fails the same way until the image gains this platform or the pod is pinned to nodes the image supports"},
		Notes: []string{"Only multi-platform images fail at pull time; a single-platform image of the wrong architecture pulls fine and then crashes with `exec format error`."},
	}
	if f.Node != nil {
		v.Evidence = append(v.Evidence, fmt.Sprintf("node %s: kubernetes.io/os=%s, kubernetes.io/arch=%s%s", f.Node.Name, os, arch, instanceTypeNote(f.Node)))
	}
	v.Fixes = append(v.Fixes, Fix{Title: "Publish the image for both architectures", Commands: []string{
		fmt.Sprintf("docker buildx build --platform linux/amd64,linux/arm64 -t %s --push .", c.Image.Full)}})
	other := "amd64"
	if arch == "amd64" {
		other = "arm64"
	}
	if f.Node != nil && f.Node.Fargate {
		v.Notes = append(v.Notes, "EKS Fargate runs only amd64 (x86_64) pods: the image must provide linux/amd64.")
	} else if arch != "unknown" {
		if p := x.mergePatch(fmt.Sprintf(`{"nodeSelector":{"kubernetes.io/arch":"%s"}}`, other)); p != "" {
			v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Or, if the image is %s-only, schedule the workload on %s nodes", other, other), Commands: []string{p}})
		}
	}
	return v
}

func instanceTypeNote(n *NodeFacts) string {
	if n.InstanceType == "" {
		return ""
	}
	return ", instance type " + n.InstanceType
}
