package diagnosis

import (
	"fmt"
)

// Evaluate turns facts into a report. It is pure: the same facts give the same report.
func (e *Engine) Evaluate(f *Facts) Report {
	r := Report{Pod: f.Ref(), Status: StatusHealthy, Cause: CauseNone, Findings: []Finding{}, Source: f.Source}
	if f.Pod == nil {
		return r
	}
	if f.Workload != nil {
		w := *f.Workload
		r.Workload = &w
	}
	r.Node = f.Pod.Spec.NodeName
	r.PodUID = string(f.Pod.UID)
	r.Skipped = append(r.Skipped, f.Skipped...)
	for _, c := range FailingContainers(f) {
		r.Findings = append(r.Findings, e.evaluateContainer(f, c))
	}
	if len(r.Findings) > 0 {
		r.Status = StatusFailing
		r.Cause = primaryCause(r.Findings)
	}
	return r
}

// primaryCause is the cause of the first finding that blocks the pod: the sandbox and init
// containers come first in FailingContainers; an ephemeral container only when nothing else fails.
func primaryCause(findings []Finding) Cause {
	for _, f := range findings {
		if f.ContainerKind != KindEphemeral {
			return f.Cause
		}
	}
	return findings[0].Cause
}

func (e *Engine) evaluateContainer(f *Facts, c *Container) Finding {
	var best *Verdict
	bestID := ""
	for _, ch := range e.checks {
		v := ch.Run(f, c)
		if v == nil {
			continue
		}
		if best == nil || v.Confidence.rank() > best.Confidence.rank() {
			best, bestID = v, ch.ID
		}
	}
	if best == nil {
		best, bestID = unknownVerdict(f, c), "unknown"
	}
	probeEvidence(f, c, best)
	fd := Finding{
		Container:     c.Name,
		ContainerKind: c.Kind,
		Image:         c.Image.Raw,
		Cause:         best.Cause,
		Confidence:    best.Confidence,
		Summary:       best.Summary,
		Evidence:      append(baseEvidence(f, c), best.Evidence...),
		Fixes:         best.Fixes,
		Verify:        best.Verify,
		RestartHelps:  best.RestartHelps,
		Notes:         best.Notes,
		Alternatives:  best.Alternatives,
		Check:         bestID,
	}
	if fd.Fixes == nil {
		fd.Fixes = []Fix{}
	}
	x := cmdContext{f, c}
	if fd.Verify == "" {
		fd.Verify = x.verifyPods()
	}
	if c.Kind == KindEphemeral {
		fd.RestartHelps = RestartAdvice{Helps: false, Reason: "an ephemeral (debug) container is not part of the workload: a restart removes it; run kubectl debug again with a pullable image"}
		fd.Notes = append(fd.Notes, "Only the debug container fails; the pod's own containers are not affected.")
		// The workload is fine (DOMAIN §10.5): drop the fixes that restart, roll back or patch it.
		fd.Fixes = x.withoutWorkloadChanges(fd.Fixes)
	} else if fd.RestartHelps.Helps {
		switch kind := x.workload().Kind; {
		case kind == "Pod":
			fd.RestartHelps.Reason += "; the pod has no controller, so re-create it from its own spec"
		case !x.restartable():
			fd.RestartHelps.Reason += fmt.Sprintf("; the pod is owned by a %s, so delete the pod to get a new one", kind)
		}
		if !hasCommand(fd.Fixes, x.restart()) {
			fd.Fixes = append(fd.Fixes, Fix{Title: "Once fixed, start a new pod instead of waiting out the back-off (up to 5 minutes)", Commands: []string{x.restart()}})
		}
	}
	return fd
}

// baseEvidence quotes what the kubelet reported for the container and where.
func baseEvidence(f *Facts, c *Container) []string {
	var ev []string
	if c.Reason != "" {
		ev = append(ev, fmt.Sprintf("%s.state.waiting.reason: %s", c.statusPath(), c.Reason))
	}
	if c.ErrorText != "" {
		ev = append(ev, fmt.Sprintf("%s: %s", c.ErrorFrom, quote(c.ErrorText)))
	}
	if c.Signal.Code != "" {
		ev = append(ev, "the runtime's gRPC status code is "+c.Signal.Code)
	}
	if c.Image.ShortName && c.Image.Err == nil {
		ev = append(ev, fmt.Sprintf("image %q has no registry host, so the kubelet pulls %s (Docker Hub)", c.Image.Raw, c.Image.Full))
	}
	if c.PreviousImage != "" {
		ev = append(ev, fmt.Sprintf("the container last ran image %s; the spec now asks for %s", c.PreviousImage, c.Image.Raw))
	}
	if rel, ok := f.Related[c.Image.Raw]; ok && (rel.SameImagePods > 0 || rel.SameRegistryPods > 0) {
		ev = append(ev, fmt.Sprintf("%d other pod(s) fail on the same image and %d on other images of %s (%s)", rel.SameImagePods, rel.SameRegistryPods, c.Image.Domain, rel.Scope))
	}
	return ev
}

// unknownVerdict is the fallback when no check recognises the message.
func unknownVerdict(f *Facts, c *Container) *Verdict {
	x := cmdContext{f, c}
	summary := fmt.Sprintf("The kubelet reports %s for %s, but the error text has no shape pullcheck knows.", orDash(c.Reason), c.Image.Raw)
	return &Verdict{
		Cause:        CauseUnknown,
		Confidence:   Possible,
		Summary:      summary,
		Fixes:        []Fix{{Title: "Read the full error from the pod's events", Commands: []string{x.events(), x.describe()}}},
		RestartHelps: RestartAdvice{Helps: false, Reason: "the cause is not known, so a restart is not known to help"},
	}
}

func orDash(s string) string {
	if s == "" {
		return "a failure"
	}
	return s
}

func hasCommand(fixes []Fix, cmd string) bool {
	for _, f := range fixes {
		for _, c := range f.Commands {
			if c == cmd {
				return true
			}
		}
	}
	return false
}
