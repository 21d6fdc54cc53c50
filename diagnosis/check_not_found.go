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
