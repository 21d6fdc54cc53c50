package diagnosis

import (
	"fmt"
	"time"
)

// checkPullTimeout: the pull was cancelled for making no progress, hit the kubelet's pull QPS
// limit, or has been running far longer than a pull should.
func checkPullTimeout(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigCanceled && c.Signal.Kind != SigQPS && c.PullingSince.IsZero() {
		return nil
	}
	x := cmdContext{f, c}
	v := &Verdict{Cause: CausePullTimeout, Confidence: Likely,
		RestartHelps: RestartAdvice{Helps: false, Reason: "the kubelet retries on its own and containerd keeps the layers already downloaded; a restart only starts the same slow pull again"}}
	switch {
	case c.Signal.Kind == SigQPS:
		v.Summary = fmt.Sprintf("The kubelet on %s refused to start the pull of %s: its registryPullQPS limit was exceeded by many pulls at once.", x.nodeLabel(), c.Image.Raw)
	case !c.PullingSince.IsZero():
		d := f.Now.Sub(c.PullingSince).Round(time.Second)
		v.Summary = fmt.Sprintf("%s has been pulling %s for %s with no result: the image is large or the node's bandwidth is saturated.", capitalize(x.nodeLabel()), c.Image.Raw, d)
		v.Evidence = append(v.Evidence, fmt.Sprintf("Pulling event at %s and no Pulled or Failed event since", c.PullingSince.UTC().Format(time.RFC3339)))
		v.Confidence = Possible
	default:
		v.Summary = fmt.Sprintf("The pull of %s on %s was cancelled: containerd gives up when a pull makes no progress for image_pull_progress_timeout (5 minutes by default).", c.Image.Raw, x.nodeLabel())
	}
	if node := x.nodeName(); node != "" {
		v.Fixes = append(v.Fixes, Fix{Title: "Compare the image size with what the node already caches", Commands: []string{
			"kubectl get node " + shellQuote(node) + ` -o jsonpath='{range .status.images[*]}{.sizeBytes}{"\t"}{.names[0]}{"\n"}{end}'`}})
	}
	v.Notes = append(v.Notes, "Remedies: a smaller image, pre-pulling it with a DaemonSet, SOCI lazy loading, or raising containerd's image_pull_progress_timeout in the node configuration.")
	return v
}
