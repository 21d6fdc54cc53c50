package diagnosis

import (
	"fmt"
	"strings"
)

// ptcPrefixes are the default ECR pull-through cache repository prefixes.
var ptcPrefixes = []string{"docker-hub/", "ecr-public/", "quay/", "k8s/", "github/", "gitlab/", "azure/", "chainguard/"}

// checkNotFound: the registry has no such repository, tag or digest. containerd's HEAD gives a
// bare `not found` for all of them; registry bodies (CRI-O, Docker, GET paths) tell them apart.
func checkNotFound(f *Facts, c *Container) *Verdict {
	x := cmdContext{f, c}
	v := &Verdict{RestartHelps: RestartAdvice{Helps: true,
		Reason: "once the image exists under this reference (pushed, restored or re-tagged), a new pod pulls it; until then a restart fails the same way"}}
	ref := c.Image.Reference()
	switch c.Signal.Kind {
	case SigNameUnknown:
		v.Cause, v.Confidence = CauseRepositoryNotFound, Confirmed
		v.Summary = fmt.Sprintf("The repository %s does not exist in %s.", c.Image.Path, c.Image.Domain)
	case SigManifestUnknown:
		v.Cause, v.Confidence = CauseTagNotFound, Confirmed
		v.Summary = fmt.Sprintf("The repository %s exists, but has no image %s.", c.Image.Repository(), ref)
	case SigBlobNotFound:
		v.Cause, v.Confidence = CauseTagNotFound, Possible
		v.Summary = fmt.Sprintf("The manifest of %s names a layer the registry no longer has: the image is broken (partly deleted or garbage-collected); push it again.", c.Image.Raw)
	case SigInsufficientScope:
		if !missingOfficialImage(c) {
			return nil // a private repository, or one that does not exist: pull-secret
		}
		v.Cause, v.Confidence = CauseRepositoryNotFound, Likely
		v.RestartHelps = RestartAdvice{Helps: false, Reason: "the reference is written in the pod spec, so a new pod asks for the same missing image; changing the image rolls out new pods by itself"}
		v.Summary = fmt.Sprintf("%s is not a Docker Hub official image: Docker Hub's library/ namespace holds only public official images, so insufficient_scope there means the repository does not exist.", c.Image.Full)
		if c.Image.ShortName {
			v.Summary = fmt.Sprintf("The image %q has no registry host, so the kubelet asks Docker Hub for the official image %s, which does not exist. If the image lives in ECR or another registry, the reference must include the registry host.", c.Image.Raw, c.Image.Full)
		}
		v.Fixes = append(v.Fixes, Fix{Title: "Show the image the workload asks for, then write its full reference, registry host included", Commands: []string{specImageCommand(x)}})
	case SigNotFound:
		v.Cause, v.Confidence = CauseTagNotFound, Possible
		v.Alternatives = []Cause{CauseRepositoryNotFound}
		v.Summary = fmt.Sprintf("The registry answered `not found` for %s: the tag (or digest) %s or the repository %s does not exist.", c.Image.Full, ref, c.Image.Repository())
		v.Notes = append(v.Notes, noteNotFoundAmbiguous)
		if c.Image.Registry == RegistryDockerHub {
			// Docker Hub answers a missing or private repository with insufficient_scope, so a
			// plain 404 means the repository is there and the tag is not.
			v.Confidence, v.Alternatives, v.Notes = Likely, nil, nil
			v.Summary = fmt.Sprintf("Docker Hub has the repository %s but no tag %s.", c.Image.Path, ref)
		}
	default:
		return nil
	}
	if c.Image.Digest != "" {
		v.Notes = append(v.Notes, "The image is pinned by digest: if its tag moved, the old digest became untagged and a lifecycle rule for untagged images may have deleted it.")
	}
	if c.PreviousImage != "" {
		if cmd := x.setImage(c.PreviousImage); cmd != "" {
			v.Fixes = append(v.Fixes, Fix{Title: "Go back to the image the container last ran", Commands: []string{cmd}})
		}
	}
	if c.Image.IsECR() {
		ecrNotFound(f, c, x, v)
	}
	if x.workload().Kind == "Deployment" && c.Kind != KindEphemeral { // a debug container is in no revision
		// rollout undo fails when there is no earlier revision, so show the revisions and
		// their images first; the user picks one for kubectl set image or rollout undo.
		if sel := x.selector(); sel != "" {
			v.Fixes = append(v.Fixes, Fix{Title: "Find the image of an earlier revision that worked", Commands: []string{
				x.kubectl("get", "replicasets", "-l", sel, "-o", `custom-columns=REPLICASET:.metadata.name,REVISION:.metadata.annotations.deployment\.kubernetes\.io/revision,IMAGES:.spec.template.spec.`+x.containerListField()+`[*].image`)}})
		}
	}
	return v
}

// missingOfficialImage: Docker Hub answers insufficient_scope for a private or missing
// repository, but library/ holds only Docker's official images, which are all public, so there
// it means the repository does not exist (DOMAIN C06, §8 "check docker.io/library prefix").
func missingOfficialImage(c *Container) bool {
	return c.Signal.Kind == SigInsufficientScope && c.Image.Registry == RegistryDockerHub && strings.HasPrefix(c.Image.Path, "library/")
}

// ecrNotFound adds the ECR API commands that tell a missing repository, a missing, expired
// or archived tag apart, and ECR-specific hints.
func ecrNotFound(f *Facts, c *Container, x cmdContext, v *Verdict) {
	img := c.Image
	idArg := "imageTag=" + img.Tag
	if img.Digest != "" {
		idArg = "imageDigest=" + img.Digest
	}
	base := fmt.Sprintf("--region %s --registry-id %s --repository-name %s", img.Region, img.Account, img.Path)
	ev := f.ECR(c)
	if c.Signal.Kind == SigBlobNotFound {
		ev = nil // the manifest exists and names a missing layer: whether the image exists says nothing
	}
	if ev != nil && (ev.RepositoryExists == No || ev.ImageExists != Unknown || ev.ImageStatus != "") {
		ecrEvidenceNotFound(f, c, x, v, ev, base)
		return
	}
	if ev != nil && ev.RepositoryExists == Yes && c.Signal.Kind == SigNotFound {
		// The image lookup did not answer, but the repository is there: the tag is the problem,
		// and the commands below tell a missing tag from an archived one.
		v.Cause, v.Confidence = CauseTagNotFound, Likely
		v.Summary = fmt.Sprintf("The ECR repository %s exists, but the registry answered `not found` for %s: the tag (or digest) %s is missing, expired or archived.", img.Path, img.Full, img.Reference())
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:DescribeRepositories (account %s, region %s): the repository %s exists", img.Account, img.Region, img.Path))
		v.Alternatives = nil
		v.Notes = removeString(v.Notes, noteNotFoundAmbiguous)
	}
	v.Fixes = append([]Fix{{Title: "Ask ECR which part is missing (RepositoryNotFoundException, ImageNotFoundException, or imageStatus ARCHIVED)", Commands: []string{
		fmt.Sprintf("aws ecr describe-images %s --image-ids %s", base, idArg),
		fmt.Sprintf("aws ecr describe-images %s --query 'sort_by(imageDetails,&imagePushedAt)[-10:].[imageTags[0],imageDigest,imagePushedAt]' --output text", base),
		fmt.Sprintf("aws ecr get-lifecycle-policy %s --query lifecyclePolicyText --output text", base),
	}}}, v.Fixes...)
	if img.Tag != "" && img.Digest == "" {
		v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("If describe-images shows %s as ARCHIVED, restore it", img.Tag), Commands: []string{
			fmt.Sprintf("aws ecr update-image-storage-class %s --image-id imageTag=%s --target-storage-class STANDARD", base, img.Tag)}})
	}
	for _, p := range ptcPrefixes {
		if strings.HasPrefix(img.Path, p) {
			v.Alternatives = append(v.Alternatives, CausePullThroughCache)
			v.Notes = append(v.Notes, fmt.Sprintf("%s looks like a pull-through cache repository (prefix %s): the first pull needs ecr:BatchImportUpstreamImage (and ecr:CreateRepository) for the node role; Docker Hub official images need the library/ path.", img.Path, strings.TrimSuffix(p, "/")))
			break
		}
	}
	if f.Node != nil && f.Node.Region != "" && f.Node.Region != img.Region {
		v.Evidence = append(v.Evidence, fmt.Sprintf("the image is in region %s, the node in %s: check the repository exists in %s (VPC endpoints do not serve other regions)", img.Region, f.Node.Region, img.Region))
	}
}

// ecrEvidenceNotFound settles a `not found` with what the ECR API said: which part is missing,
// whether the tag is archived, which lifecycle rule expires such tags, and what tags exist.
func ecrEvidenceNotFound(f *Facts, c *Container, x cmdContext, v *Verdict, ev *ECRImageEvidence, base string) {
	img := c.Image
	where := fmt.Sprintf("account %s, region %s", img.Account, img.Region)
	v.Alternatives = nil
	v.Notes = removeString(v.Notes, noteNotFoundAmbiguous)
	switch {
	case ev.RepositoryExists == No && ev.PullThroughCache != nil:
		rule := ev.PullThroughCache
		v.Cause, v.Confidence = CausePullThroughCache, Likely
		v.Summary = fmt.Sprintf("%s is a pull-through cache repository (rule %s -> %s) that was never created: the first pull could not import %s from the upstream registry.", img.Path, rule.Prefix, rule.UpstreamURL, strings.TrimPrefix(img.Path, rule.Prefix+"/"))
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:DescribeRepositories (%s): no repository %s; pull-through cache rule %s -> %s", where, img.Path, rule.Prefix, rule.UpstreamURL))
		denied := deniedActions(f, "ecr:CreateRepository", "ecr:BatchImportUpstreamImage")
		if len(denied) > 0 {
			v.Confidence = Confirmed
			v.Summary += fmt.Sprintf(" The pulling role may not call %s.", strings.Join(denied, " or "))
			v.Evidence = append(v.Evidence, fmt.Sprintf("iam:SimulatePrincipalPolicy for %s: %s denied on %s", roleName(f), strings.Join(denied, ", "), img.RepositoryARN()))
			if role := roleName(f); role != "" {
				v.Fixes = append([]Fix{{Title: fmt.Sprintf("Let %s create and fill pull-through cache repositories under %s/", role, rule.Prefix), Commands: []string{
					fmt.Sprintf(`aws iam put-role-policy --role-name %s --policy-name ecr-pull-through-cache-%s --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchImportUpstreamImage","ecr:CreateRepository"],"Resource":"arn:%s:ecr:%s:%s:repository/%s/*"}]}'`, role, rule.Prefix, img.Partition, img.Region, img.Account, rule.Prefix)}}}, v.Fixes...)
			}
		} else if strings.HasPrefix(rule.UpstreamURL, "registry-1.docker.io") && !strings.Contains(img.Path, "/library/") && strings.Count(strings.TrimPrefix(img.Path, rule.Prefix+"/"), "/") == 0 {
			v.Evidence = append(v.Evidence, "Docker Hub official images need the library/ path in a pull-through cache reference")
		}
	case ev.RepositoryExists == No:
		v.Cause, v.Confidence = CauseRepositoryNotFound, Confirmed
		v.Summary = fmt.Sprintf("ECR (%s) has no repository %s.", where, img.Path)
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:DescribeRepositories (%s): RepositoryNotFoundException for %s", where, img.Path))
		v.Fixes = append([]Fix{{Title: "If the reference is right, create the repository and push the image", Commands: []string{
			fmt.Sprintf("aws ecr create-repository --region %s --registry-id %s --repository-name %s --image-tag-mutability IMMUTABLE", img.Region, img.Account, img.Path),
			fmt.Sprintf("aws ecr get-login-password --region %s | docker login --username AWS --password-stdin %s", img.Region, img.Domain),
			fmt.Sprintf("docker push %s", img.Full),
		}}}, v.Fixes...)
	case ev.ImageStatus == "ACTIVATING":
		// Being restored from the archive: restoring again does not help, waiting does.
		v.Cause, v.Confidence = CauseTagNotFound, Confirmed
		v.Summary = fmt.Sprintf("%s is being restored from ECR's archive (imageStatus ACTIVATING): it cannot be pulled until it is ACTIVE again.", img.Full)
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:DescribeImages (%s): %s has imageStatus ACTIVATING", where, img.Reference()))
		v.Fixes = append([]Fix{{Title: "Wait until the restore finishes (imageStatus ACTIVE)", Commands: []string{
			fmt.Sprintf("aws ecr describe-images %s --image-ids %s --query 'imageDetails[0].imageStatus' --output text", base, imageIDArg(img)),
		}}}, v.Fixes...)
		v.RestartHelps = RestartAdvice{Helps: true, Reason: "once the image is ACTIVE, a new pod pulls it at once instead of waiting out the back-off"}
	case ev.ImageStatus == "ARCHIVED":
		v.Cause, v.Confidence = CauseTagNotFound, Confirmed
		v.Summary = fmt.Sprintf("%s is archived in ECR: archived images stay listed but cannot be pulled (ECR answers 404) until restored.", img.Full)
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:DescribeImages (%s): %s has imageStatus ARCHIVED", where, img.Reference()))
		v.Fixes = append([]Fix{{Title: "Restore the image to the standard storage class (it becomes pullable once ACTIVE)", Commands: []string{
			fmt.Sprintf("aws ecr update-image-storage-class %s --image-id %s --target-storage-class STANDARD", base, imageIDArg(img)),
			fmt.Sprintf("aws ecr describe-images %s --image-ids %s --query 'imageDetails[0].imageStatus' --output text", base, imageIDArg(img)),
		}}}, v.Fixes...)
	case ev.ImageExists == No:
		v.Cause, v.Confidence = CauseTagNotFound, Confirmed
		v.Summary = fmt.Sprintf("The ECR repository %s exists, but has no image %s.", img.Path, img.Reference())
		v.Evidence = append(v.Evidence, fmt.Sprintf("ecr:DescribeImages (%s): ImageNotFoundException for %s in %s", where, img.Reference(), img.Path))
		if len(ev.RecentTags) > 0 {
			v.Evidence = append(v.Evidence, fmt.Sprintf("tags that do exist in %s: %s", img.Path, strings.Join(ev.RecentTags, ", ")))
			if cmd := x.setImage(img.Repository() + ":" + ev.RecentTags[0]); cmd != "" {
				v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Or deploy a tag that exists (%s is the highest)", ev.RecentTags[0]), Commands: []string{cmd}})
			}
		}
		if r := ev.ExpiringRule; r != nil && r.Action == "expire" {
			v.Evidence = append(v.Evidence, fmt.Sprintf("lifecycle rule %d (%q) expires %s images%s by %s %d%s: an image like this one may have been deleted by it",
				r.Priority, r.Description, r.TagStatus, prefixesText(r.TagPrefixes), r.CountType, r.CountNumber, unitText(r.CountUnit)))
			v.Notes = append(v.Notes, "To keep tags that are deployed, give release tags a higher-priority rule that keeps them, or count by sinceImagePulled; preview a change with aws ecr start-lifecycle-policy-preview before applying it.")
		}
		if ev.PullThroughCache != nil {
			v.Alternatives = append(v.Alternatives, CausePullThroughCache)
		}
		if img.Digest != "" {
			v.Summary = fmt.Sprintf("The ECR repository %s exists, but no longer has the image %s that the pod is pinned to.", img.Path, img.Digest)
		}
	case ev.ImageExists == Yes:
		// Conflict: the kubelet saw `not found`, the API finds the image now.
		v.Cause, v.Confidence = CauseTagNotFound, Possible
		v.Summary = fmt.Sprintf("ECR has %s now, but the node got `not found`: the image was most likely pushed after the last pull attempt (replication or CI lag). A new pull should succeed.", img.Full)
		var details []string
		if ev.ImageStatus != "" {
			details = append(details, "status "+ev.ImageStatus)
		}
		if !ev.PushedAt.IsZero() {
			details = append(details, "pushed "+ev.PushedAt.UTC().Format("2006-01-02T15:04:05Z"))
		}
		found := img.Reference()
		if len(details) > 0 {
			found += " (" + strings.Join(details, ", ") + ")"
		}
		v.Evidence = append(v.Evidence, fmt.Sprintf("conflict: ecr:DescribeImages (%s) finds %s while the kubelet reports not found", where, found))
		v.RestartHelps = RestartAdvice{Helps: true, Reason: "the image exists now, so a new pod pulls it at once instead of waiting out the back-off"}
	}
}

func imageIDArg(img ImageRef) string {
	if img.Digest != "" {
		return "imageDigest=" + img.Digest
	}
	return "imageTag=" + img.Tag
}

func prefixesText(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return " matching " + strings.Join(p, ", ")
}

func unitText(u string) string {
	if u == "" {
		return ""
	}
	return " " + u
}

func removeString(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
