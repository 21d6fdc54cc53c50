package diagnosis

import (
	"fmt"
	"strings"
)

// checkAccessDenied: a credential was presented and the principal is not allowed (403 on the
// manifest, "not authorized to perform: ecr:BatchGetImage", a repository policy deny).
func checkAccessDenied(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigForbidden || c.Signal.LayerBucket || c.Signal.Stage == StageFetch && c.Image.IsECR() {
		return nil
	}
	if !c.Image.IsECR() && secretCovering(f, c.Image) == "" {
		return nil // no credential presented: pull-secret
	}
	x := cmdContext{f, c}
	v := &Verdict{Cause: CauseAccessDenied, Confidence: Likely,
		RestartHelps: RestartAdvice{Helps: true, Reason: "permission changes apply to the next pull; a new pod retries at once instead of waiting out the back-off"}}
	if !c.Image.IsECR() {
		s := secretCovering(f, c.Image)
		v.Summary = fmt.Sprintf("%s accepted the credentials in pull secret %s but denies them access to %s (403).", c.Image.Domain, s, c.Image.Path)
		v.Evidence = append(v.Evidence, fmt.Sprintf("pull secret %s has credentials for %s", s, c.Image.Domain))
		return v
	}
	who := principal(f)
	text := c.Signal.Text
	v.Alternatives = []Cause{CauseEndpointPolicyDenied}
	v.Notes = []string{noteIRSA(f)}
	if strings.Contains(text, "is not authorized to perform") {
		v.Confidence = Confirmed
		v.Evidence = append(v.Evidence, "ECR's own answer names the denied action: "+quote(excerptAround(text, "is not authorized to perform", 200)))
	}
	v.Summary = fmt.Sprintf("ECR denied %s access to %s (403): the role lacks ecr:BatchGetImage on the repository, or the repository policy does not allow it (cross-account) or explicitly denies it.", who, c.Image.Path)
	if strings.Contains(strings.ToLower(text), "explicit deny") {
		v.Summary = fmt.Sprintf("An explicit Deny refuses %s access to %s: look at the repository policy (or an SCP or permissions boundary).", who, c.Image.Path)
	}
	if f.Node != nil && f.Node.Fargate {
		// On Fargate the pod execution role pulls, not a node role (DOMAIN §4.2, C16).
		if fix, ok := fargateRoleFix(f, x); ok {
			v.Fixes = append(v.Fixes, fix)
		}
	} else if disc := x.nodeRoleDiscovery(); disc != nil {
		v.Fixes = append(v.Fixes, Fix{Title: "Give the node role ECR pull permissions (AmazonEC2ContainerRegistryPullOnly)", Commands: append(disc,
			fmt.Sprintf(`aws iam attach-role-policy --role-name "$NODE_ROLE" --policy-arn %s`, x.policyARN("AmazonEC2ContainerRegistryPullOnly")))})
	}
	v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Read the repository policy in account %s (an Allow for the node role is needed across accounts; a Deny wins everywhere)", c.Image.Account), Commands: []string{
		fmt.Sprintf("aws ecr get-repository-policy --region %s --registry-id %s --repository-name %s --query policyText --output text", c.Image.Region, c.Image.Account, c.Image.Path)}})
	return v
}

// excerptAround returns up to n bytes of text starting a little before the phrase.
func excerptAround(text, phrase string, n int) string {
	i := strings.Index(text, phrase)
	if i < 0 {
		return text
	}
	start := strings.LastIndex(text[:i], "User: ")
	if start < 0 {
		start = max(0, i-80)
	}
	end := min(len(text), i+n)
	return text[start:end]
}
