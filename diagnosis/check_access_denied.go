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
	// ECR's evidence may show there is no repository policy: get-repository-policy then fails
	// with RepositoryPolicyNotFoundException, so there is nothing to read.
	if ev := f.ECR(c); ev == nil || ev.Policy == nil || ev.Policy.Exists {
		v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Read the repository policy in account %s (an Allow for the node role is needed across accounts; a Deny wins everywhere)", c.Image.Account), Commands: []string{
			fmt.Sprintf("aws ecr get-repository-policy --region %s --registry-id %s --repository-name %s --query policyText --output text", c.Image.Region, c.Image.Account, c.Image.Path)}})
	}
	if settled := accessEvidence(f, c, x, v); settled != nil {
		return settled
	}
	return v
}

// accessEvidence weighs IAM's simulation, the repository policy and the ecr.dkr endpoint
// policy for a 403 on an ECR manifest. It returns a different verdict when the endpoint
// policy is the reason, or refines v in place and returns nil.
func accessEvidence(f *Facts, c *Container, x cmdContext, v *Verdict) *Verdict {
	// Only an endpoint that carries the node's traffic (available, private DNS on, in the
	// image's region) applies its policy.
	if ep := servicePath(f, c.Image.Region, "ecr.dkr").endpoint; ep != nil && ep.PolicyDenies != "" {
		return &Verdict{Cause: CauseEndpointPolicyDenied, Confidence: Confirmed,
			Summary:      fmt.Sprintf("The policy of VPC endpoint %s (ecr.dkr) does not allow %s for %s: the registry answers 403 through it.", ep.ID, ep.PolicyDenies, principal(f)),
			Evidence:     append(v.Evidence, fmt.Sprintf("endpoint %s's policy refuses %s on %s", ep.ID, ep.PolicyDenies, c.Image.RepositoryARN())),
			Fixes:        []Fix{endpointPolicyFix(f, ep)},
			Notes:        []string{noteIRSA(f)},
			RestartHelps: v.RestartHelps,
		}
	}
	p := f.Principal()
	ev := f.ECR(c)
	if ev != nil && ev.Policy != nil && ev.Policy.DenyStatement != "" {
		st := statementLabel(ev.Policy.DenyStatement)
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The repository policy of %s explicitly denies %s (%s): a Deny wins over every Allow.", c.Image.Path, principal(f), st)
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:GetRepositoryPolicy (account %s): %s denies ecr:BatchGetImage to %s", c.Image.Account, st, roleARNOr(p)))
		v.Alternatives = nil
		// The role's own permissions are not the problem: drop the fix that attaches a policy.
		v.Fixes = append([]Fix{{Title: fmt.Sprintf("Remove or narrow %s of the repository policy (set-repository-policy replaces the whole policy)", st), Commands: []string{
			fmt.Sprintf("aws ecr get-repository-policy --region %s --registry-id %s --repository-name %s --query policyText --output text > current.json", c.Image.Region, c.Image.Account, c.Image.Path),
			fmt.Sprintf(`jq '%s' current.json > new.json`, delStatement(ev.Policy.DenyStatement)),
			fmt.Sprintf("aws ecr set-repository-policy --region %s --registry-id %s --repository-name %s --policy-text file://new.json", c.Image.Region, c.Image.Account, c.Image.Path),
		}}}, dropNodeRoleDiscovery(v.Fixes)...)
		return nil
	}
	if p == nil || p.RoleARN == "" {
		return nil
	}
	if denied := deniedActions(f, "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"); len(denied) > 0 {
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The role %s that pulls for %s may not call %s on %s.", p.RoleName, x.nodeLabel(), strings.Join(denied, " or "), c.Image.Path)
		v.Evidence = append(v.Evidence, fmt.Sprintf("iam:SimulatePrincipalPolicy for %s on %s: %s; attached policies: %s", p.RoleARN, c.Image.RepositoryARN(), decisionsText(p, denied), orNone(strings.Join(p.AttachedPolicies, ", "))))
		v.Alternatives = nil
		v.Fixes = append([]Fix{attachPullPolicy(f, x)}, dropNodeRoleDiscovery(v.Fixes)...)
		v.Verify = simulateCommand(f, c)
		return nil
	}
	roleAccount := accountOfARN(p.RoleARN)
	if ev != nil && ev.Policy != nil && roleAccount != "" && roleAccount != c.Image.Account && ev.Policy.Allows == No {
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("%s is in account %s, the pulling role %s in account %s: a cross-account pull needs an Allow in the repository policy, and there is none for this role.", c.Image.Path, c.Image.Account, p.RoleName, roleAccount)
		what := "has no statement allowing it"
		if !ev.Policy.Exists {
			what = "does not exist"
		}
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:GetRepositoryPolicy (account %s): the policy %s for %s", c.Image.Account, what, p.RoleARN))
		v.Alternatives = nil
		start := fmt.Sprintf("aws ecr get-repository-policy --region %s --registry-id %s --repository-name %s --query policyText --output text > current.json", c.Image.Region, c.Image.Account, c.Image.Path)
		if !ev.Policy.Exists {
			start = `echo '{"Version":"2012-10-17","Statement":[]}' > current.json`
		}
		v.Fixes = append([]Fix{{Title: fmt.Sprintf("In account %s, allow %s to pull from %s (merged into the existing policy)", c.Image.Account, p.RoleName, c.Image.Path), Commands: []string{
			start,
			fmt.Sprintf(`jq '.Statement += [{"Sid":"AllowPullFrom%s","Effect":"Allow","Principal":{"AWS":"%s"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"]}]' current.json > new.json`, sidSafe(roleAccount+p.RoleName), p.RoleARN),
			fmt.Sprintf("aws ecr set-repository-policy --region %s --registry-id %s --repository-name %s --policy-text file://new.json", c.Image.Region, c.Image.Account, c.Image.Path),
		}}}, dropNodeRoleDiscovery(v.Fixes)...)
		return nil
	}
	if allowedActions(f, "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer") {
		v.Evidence = append(v.Evidence, fmt.Sprintf("iam:SimulatePrincipalPolicy allows %s ecr:BatchGetImage on %s: the refusal comes from elsewhere (repository policy conditions, an SCP, a permissions boundary, or an endpoint policy)", p.RoleName, c.Image.RepositoryARN()))
		v.Fixes = dropNodeRoleDiscovery(v.Fixes) // attaching a pull policy changes nothing IAM does not already allow
		if ev != nil && ev.Policy != nil && len(ev.Policy.Conditions) > 0 {
			v.Evidence = append(v.Evidence, "the repository policy's statements carry conditions: "+strings.Join(ev.Policy.Conditions, ", "))
		}
	}
	return nil
}

func decisionsText(p *PrincipalEvidence, actions []string) string {
	var parts []string
	for _, a := range actions {
		parts = append(parts, a+" "+p.Decisions[a])
	}
	return strings.Join(parts, ", ")
}

// statementLabel names a policy statement for prose: the evaluator reports a Sid, or
// "statement N" (1-based) for a statement without one.
func statementLabel(st string) string {
	if _, ok := statementIndex(st); ok {
		return st
	}
	return "statement " + st
}

// statementIndex returns the 0-based index of a "statement N" name.
func statementIndex(st string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(st, "statement %d", &n); err != nil || n < 1 || fmt.Sprintf("statement %d", n) != st {
		return 0, false
	}
	return n - 1, true
}

// delStatement is the jq filter that removes a statement from a policy: by Sid, or by
// position for a statement without one.
func delStatement(st string) string {
	if i, ok := statementIndex(st); ok {
		return fmt.Sprintf("del(.Statement[%d])", i)
	}
	return fmt.Sprintf(`del(.Statement[] | select(.Sid == "%s"))`, st)
}

// orNone is s, or "none" for an empty list or value in evidence (orDash says "a failure").
func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func roleARNOr(p *PrincipalEvidence) string {
	if p == nil || p.RoleARN == "" {
		return "the pulling role"
	}
	return p.RoleARN
}

func accountOfARN(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) > 4 {
		return parts[4]
	}
	return ""
}

// sidSafe keeps the characters a policy statement ID allows.
func sidSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
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
