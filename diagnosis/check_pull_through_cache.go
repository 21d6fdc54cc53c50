package diagnosis

import "fmt"

// checkPullThroughCache: an ECR pull-through cache rule could not fetch from its upstream
// registry (bad upstream credentials in Secrets Manager).
func checkPullThroughCache(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigUpstreamAuth {
		return nil
	}
	x := cmdContext{f, c}
	v := &Verdict{Cause: CausePullThroughCache, Confidence: Confirmed,
		Summary:      fmt.Sprintf("ECR's pull-through cache could not sign in to the upstream registry for %s: the credentials in the rule's Secrets Manager secret are wrong or expired.", c.Image.Raw),
		RestartHelps: RestartAdvice{Helps: true, Reason: "once the rule's upstream credentials work, a new pod's pull imports the image"}}
	if c.Image.IsECR() {
		v.Fixes = append(v.Fixes, Fix{Title: "Find the rule and its credential secret, then update the secret (its name starts with ecr-pullthroughcache/)", Commands: []string{
			fmt.Sprintf("aws ecr describe-pull-through-cache-rules --region %s --registry-id %s --query 'pullThroughCacheRules[].[ecrRepositoryPrefix,upstreamRegistryUrl,credentialArn]' --output text", c.Image.Region, c.Image.Account)}})
	}
	_ = x
	return v
}
