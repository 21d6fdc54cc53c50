package diagnosis

import (
	"fmt"
	"strings"
)

// checkRateLimited: the registry answered 429 (Docker Hub pull limits, ECR Public quotas, ECR
// throttling).
func checkRateLimited(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigRateLimited {
		return nil
	}
	x := cmdContext{f, c}
	v := &Verdict{Cause: CauseRateLimited, Confidence: Confirmed,
		RestartHelps: RestartAdvice{Helps: true,
			Reason: "once pulls are authenticated or mirrored, a new pod pulls at once; service-account pull secrets are copied into pods only when they are created"}}
	authed := secretCovering(f, c.Image) != ""
	switch c.Image.Registry {
	case RegistryDockerHub:
		who := "anonymously"
		if authed {
			who = "with the pull secret " + secretCovering(f, c.Image)
		}
		v.Summary = fmt.Sprintf("Docker Hub refused %s with 429 Too Many Requests: the pull rate limit of the nodes' public IP was reached (pulling %s).", c.Image.Full, who)
		v.Notes = append(v.Notes, "Docker Hub counts pulls per public IP: nodes in private subnets share their NAT gateway's address, so the whole cluster shares one budget.")
		sa := saName(f)
		v.Fixes = append(v.Fixes, Fix{Title: "Authenticate pulls from Docker Hub for this namespace (raises the limit)", Commands: []string{
			x.kubectl("create", "secret", "docker-registry", "dockerhub-creds", "--docker-server=https://index.docker.io/v1/",
				"--docker-username=$DOCKERHUB_USER", "--docker-password=$DOCKERHUB_TOKEN"),
			saPullSecretPatch(f, x, sa, "dockerhub-creds"),
			x.restart(),
		}})
		if r := x.region(); r != "" {
			v.Fixes = append(v.Fixes, Fix{Title: "Or cache Docker Hub in ECR with a pull-through cache rule (its upstream credentials go in the Secrets Manager secret ecr-pullthroughcache/docker-hub)", Commands: []string{
				fmt.Sprintf("aws ecr describe-pull-through-cache-rules --region %s --query 'pullThroughCacheRules[].[ecrRepositoryPrefix,upstreamRegistryUrl]' --output text", r)}})
		}
	case RegistryECRPublic:
		v.Summary = fmt.Sprintf("ECR Public refused %s with 429: anonymous pulls are limited. Pull it through an ECR pull-through cache rule instead.", c.Image.Full)
		if r := x.region(); r != "" {
			v.Fixes = append(v.Fixes, Fix{Title: "List the pull-through cache rules of the cluster's registry", Commands: []string{
				fmt.Sprintf("aws ecr describe-pull-through-cache-rules --region %s --query 'pullThroughCacheRules[].[ecrRepositoryPrefix,upstreamRegistryUrl]' --output text", r)}})
		}
	default:
		v.Summary = fmt.Sprintf("%s refused %s with 429 Too Many Requests: the registry is throttling pulls.", c.Image.Domain, c.Image.Full)
	}
	if strings.Contains(strings.ToLower(c.Signal.Text), "upstreamtoomanyrequests") {
		v.Summary = fmt.Sprintf("The ECR pull-through cache's upstream registry throttled the import of %s.", c.Image.Full)
	}
	if rel, ok := f.Related[c.Image.Raw]; ok && rel.SameRegistryPods+rel.SameImagePods > 0 {
		v.Evidence = append(v.Evidence, fmt.Sprintf("a cluster-wide pattern: %d other pod(s) are failing on %s too", rel.SameRegistryPods+rel.SameImagePods, c.Image.Domain))
	}
	return v
}

// secretCovering returns the name of a readable pull secret with credentials for the image's
// host, among the secrets the kubelet presents (the pod's own).
func secretCovering(f *Facts, img ImageRef) string {
	for _, s := range f.PullSecrets {
		if s.Status != SecretFound || !presented(s) {
			continue
		}
		for _, h := range s.Hosts {
			if img.HostMatches(h) {
				return s.Name
			}
		}
	}
	return ""
}

// saPullSecretPatch adds a pull secret to the service account. A strategic merge patch would
// replace the account's imagePullSecrets list (the field has no merge key), so an existing
// list is appended to with a JSON patch.
func saPullSecretPatch(f *Facts, x cmdContext, sa, secret string) string {
	if f.ServiceAccount != nil && len(f.ServiceAccount.ImagePullSecrets) > 0 {
		return x.kubectl("patch", "serviceaccount", sa, "--type", "json", "-p", fmt.Sprintf(`[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"%s"}}]`, secret))
	}
	return x.kubectl("patch", "serviceaccount", sa, "-p", fmt.Sprintf(`{"imagePullSecrets":[{"name":"%s"}]}`, secret))
}

// presented reports whether the kubelet presents the secret: only the pod's own imagePullSecrets
// are used. A service account's secrets are copied into a pod at creation, and only into pods
// that list none; collectors report the ones the pod does not carry with From "serviceaccount".
func presented(s PullSecret) bool { return s.From != "serviceaccount" }

func saName(f *Facts) string {
	if f.Pod.Spec.ServiceAccountName != "" {
		return f.Pod.Spec.ServiceAccountName
	}
	return "default"
}
