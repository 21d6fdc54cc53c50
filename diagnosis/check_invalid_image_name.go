package diagnosis

import (
	"fmt"
	"strings"
)

// checkInvalidImageName: the kubelet cannot parse the reference (InvalidImageName). Confirmed by
// the kubelet's own reason; the spec must change, so a restart alone cannot help.
func checkInvalidImageName(f *Facts, c *Container) *Verdict {
	if c.Reason != ReasonInvalidImageName && c.Signal.Kind != SigInvalidReference && c.Image.Err == nil {
		return nil
	}
	x := cmdContext{f, c}
	v := &Verdict{
		Cause:      CauseInvalidImageName,
		Confidence: Confirmed,
		RestartHelps: RestartAdvice{Helps: false,
			Reason: "the reference is written in the pod spec, so a new pod fails the same way; changing the image rolls out new pods by itself"},
	}
	problem := "it is not a valid image reference"
	if c.Image.Err != nil {
		problem = c.Image.Err.Error()
		v.Evidence = append(v.Evidence, fmt.Sprintf("parsing %q as the kubelet does gives: %s", c.Image.Raw, c.Image.Err))
	}
	v.Summary = fmt.Sprintf("The image reference %q in %s cannot be parsed (%s), so the kubelet never contacts a registry.", c.Image.Raw, c.Path(), problem)
	if s := suggestReference(c.Image.Raw); s != "" {
		if cmd := x.setImage(s); cmd != "" {
			v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Use the valid reference %s", s), Commands: []string{cmd}})
		}
	}
	if strings.Contains(c.Image.Raw, "${") || strings.Contains(c.Image.Raw, "{{") || strings.Contains(c.Image.Raw, "$(") {
		v.Notes = append(v.Notes, "The reference still holds a template placeholder: the deploy pipeline did not substitute it.")
	}
	v.Fixes = append(v.Fixes, Fix{Title: "Show the image the workload asks for, then correct it in its manifest", Commands: []string{specImageCommand(x)}})
	v.Verify = x.verifyPods()
	return v
}

// suggestReference proposes a parseable variant of a bad reference: trimmed, lower-case
// repository, scheme removed. It returns "" when none parses.
func suggestReference(raw string) string {
	cand := strings.TrimSpace(raw)
	cand = strings.TrimPrefix(strings.TrimPrefix(cand, "https://"), "http://")
	cand = strings.TrimPrefix(cand, "docker://")
	if cand != raw && ParseImage(cand).Err == nil {
		return cand
	}
	// Lower-case the repository part only: tags may contain capitals.
	name, tag := cand, ""
	if i := strings.LastIndex(cand, ":"); i > strings.LastIndex(cand, "/") {
		name, tag = cand[:i], cand[i:]
	}
	if lc := strings.ToLower(name) + tag; lc != raw && ParseImage(lc).Err == nil {
		return lc
	}
	return ""
}

// specImageCommand prints the container's image as written in the workload's template.
func specImageCommand(x cmdContext) string {
	w := x.workload()
	path := "{.spec.template.spec." + x.containerListField() + "[?(@.name==\"" + x.c.Name + "\")].image}"
	switch w.Kind {
	case "Pod":
		path = "{.spec." + x.containerListField() + "[?(@.name==\"" + x.c.Name + "\")].image}"
	case "CronJob":
		path = "{.spec.jobTemplate.spec.template.spec." + x.containerListField() + "[?(@.name==\"" + x.c.Name + "\")].image}"
	}
	return x.kubectl("get", x.workloadArg(), "-o", "jsonpath="+path)
}
