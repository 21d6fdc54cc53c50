package diagnosis

import (
	"fmt"
	"slices"
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
	other, otherOS := "amd64", os
	if arch == "amd64" {
		other = "arm64"
	}
	offersNode := false
	if len(platforms) > 0 {
		// The evidence says which platforms the image does have.
		offersNode = slices.Contains(platforms, os+"/"+arch) || slices.ContainsFunc(platforms, func(p string) bool { return strings.HasPrefix(p, os+"/"+arch+"/") })
		otherOS, other = platformOffered(platforms, os, arch)
	}
	if offersNode {
		v.Evidence = append(v.Evidence, fmt.Sprintf("conflict: the image index offers %s/%s now: it was probably pushed again after the node's last attempt", os, arch))
		v.RestartHelps = RestartAdvice{Helps: true, Reason: "the image now has the node's platform, so a new pod pulls it at once instead of waiting out the back-off"}
	}
	if f.Node != nil && f.Node.Fargate {
		v.Notes = append(v.Notes, "EKS Fargate runs only amd64 (x86_64) pods: the image must provide linux/amd64.")
	} else if arch != "unknown" && other != "" && !offersNode {
		selector := fmt.Sprintf(`{"nodeSelector":{"kubernetes.io/arch":"%s"}}`, other)
		what := other
		if otherOS != os {
			selector = fmt.Sprintf(`{"nodeSelector":{"kubernetes.io/os":"%s","kubernetes.io/arch":"%s"}}`, otherOS, other)
			what = otherOS + "/" + other
		}
		if p := x.mergePatch(selector); p != "" {
			title := fmt.Sprintf("Or, if the image is %s-only, schedule the workload on %s nodes", what, what)
			if len(platforms) > 0 {
				title = fmt.Sprintf("Or schedule the workload on %s nodes, which the image supports", what)
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

// platformOffered returns an EKS platform (linux or windows, amd64 or arm64) the image offers
// other than the node's own, preferring the node's OS, then amd64; "" when there is none.
func platformOffered(platforms []string, nodeOS, nodeArch string) (os, arch string) {
	offered := map[string]bool{}
	for _, p := range platforms {
		parts := strings.Split(p, "/")
		if len(parts) >= 2 {
			offered[parts[0]+"/"+parts[1]] = true
		}
	}
	for _, o := range []string{nodeOS, "linux", "windows"} {
		for _, a := range []string{"amd64", "arm64"} {
			if offered[o+"/"+a] && !(o == nodeOS && a == nodeArch) {
				return o, a
			}
		}
	}
	return nodeOS, ""
}
