package diagnosis

import "fmt"

// checkSignature: CRI-O refused the image by its signature policy (SignatureValidationFailed).
func checkSignature(f *Facts, c *Container) *Verdict {
	if c.Reason != ReasonSignatureValidationFailed && c.Signal.Kind != SigSignature {
		return nil
	}
	x := cmdContext{f, c}
	v := &Verdict{
		Cause:        CauseSignatureInvalid,
		Confidence:   Confirmed,
		Summary:      fmt.Sprintf("The runtime on %s rejected %s because its signature does not satisfy the node's signature policy.", x.nodeLabel(), c.Image.Raw),
		RestartHelps: RestartAdvice{Helps: true, Reason: "once a signed image is published under the same reference, a new pod pulls it"},
	}
	if node := x.nodeName(); node != "" {
		v.Fixes = []Fix{{Title: "Sign the image with a key the policy trusts, or use a signed tag; check which runtime enforces it", Commands: []string{
			"kubectl get node " + shellQuote(node) + " -o jsonpath='{.status.nodeInfo.containerRuntimeVersion}{\"\\n\"}'"}}}
	}
	return v
}
