package diagnosis

import (
	"fmt"
	"strings"
)

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
	platforms := imagePlatforms(f, c)
	if len(platforms) > 0 {
		v.Evidence = append(v.Evidence, fmt.Sprintf("the image index of %s offers %s", c.Image.Full, strings.Join(platforms, ", ")))
	}
	v.Fixes = append(v.Fixes, Fix{Title: "Publish the image for both architectures", Commands: []string{
		fmt.Sprintf("docker buildx build --platform linux/amd64,linux/arm64 -t %s --push .", c.Image.Full)}})
	other := "amd64"
	if arch == "amd64" {
		other = "arm64"
	}
	if a := archOffered(platforms, os); a != "" {
		other = a // the evidence says which architecture the image does have
	}
	if f.Node != nil && f.Node.Fargate {
		v.Notes = append(v.Notes, "EKS Fargate runs only amd64 (x86_64) pods: the image must provide linux/amd64.")
	} else if arch != "unknown" {
		if p := x.mergePatch(fmt.Sprintf(`{"nodeSelector":{"kubernetes.io/arch":"%s"}}`, other)); p != "" {
			title := fmt.Sprintf("Or, if the image is %s-only, schedule the workload on %s nodes", other, other)
			if len(platforms) > 0 {
				title = fmt.Sprintf("Or schedule the workload on %s nodes, which the image supports", other)
			}
			v.Fixes = append(v.Fixes, Fix{Title: title, Commands: []string{p}})
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

// imagePlatforms are the platforms the image index offers, from ECR or the registry probe.
func imagePlatforms(f *Facts, c *Container) []string {
	if ev := f.ECR(c); ev != nil && len(ev.Platforms) > 0 {
		return ev.Platforms
	}
	if p := f.Probe(c); p != nil {
		return p.Platforms
	}
	return nil
}

// archOffered returns an architecture the image offers for os, preferring amd64 then arm64.
func archOffered(platforms []string, os string) string {
	offered := map[string]bool{}
	for _, p := range platforms {
		parts := strings.Split(p, "/")
		if len(parts) >= 2 && parts[0] == os {
			offered[parts[1]] = true
		}
	}
	for _, a := range []string{"amd64", "arm64"} {
		if offered[a] {
			return a
		}
	}
	return ""
}
