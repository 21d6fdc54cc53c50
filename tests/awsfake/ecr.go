package awsfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

var ecrHandlers = map[string]handler{
	"DescribeRepositories":          (*Server).ecrDescribeRepositories,
	"DescribeImages":                (*Server).ecrDescribeImages,
	"ListImages":                    (*Server).ecrListImages,
	"BatchGetImage":                 (*Server).ecrBatchGetImage,
	"GetLifecyclePolicy":            (*Server).ecrGetLifecyclePolicy,
	"GetRepositoryPolicy":           (*Server).ecrGetRepositoryPolicy,
	"DescribePullThroughCacheRules": (*Server).ecrDescribePullThroughCacheRules,
	"GetAuthorizationToken":         (*Server).ecrGetAuthorizationToken,
	"UpdateImageStorageClass":       (*Server).ecrUpdateImageStorageClass,
	"SetRepositoryPolicy":           (*Server).ecrSetRepositoryPolicy,
	"PutImage":                      (*Server).ecrPutImage,
	"CreateRepository":              (*Server).ecrCreateRepository,
}

type ecrImageID struct {
	ImageDigest string `json:"imageDigest,omitempty"`
	ImageTag    string `json:"imageTag,omitempty"`
}

func (id ecrImageID) String() string {
	q := func(s string) string {
		if s == "" {
			return "null"
		}
		return s
	}
	return fmt.Sprintf("{imageDigest:'%s', imageTag:'%s'}", q(id.ImageDigest), q(id.ImageTag))
}

type ecrRepoRef struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
}

func (s *Server) ecrRepo(req *request, ref ecrRepoRef) (*Repository, error) {
	registry, err := s.ecrRegistry(req, ref.RegistryID, ref.RepositoryName)
	if err != nil {
		return nil, err
	}
	for _, r := range s.sc.Repositories {
		if r.RegistryID == registry && r.Region == req.region && r.Name == ref.RepositoryName {
			return r, nil
		}
	}
	return nil, errorf(400, "RepositoryNotFoundException",
		"The repository with name '%s' does not exist in the registry with id '%s'", ref.RepositoryName, registry)
}

func ecrRepoJSON(r *Repository) map[string]any {
	enc := map[string]any{"encryptionType": r.EncryptionType}
	if r.KMSKey != "" {
		enc["kmsKey"] = r.KMSKey
	}
	return map[string]any{
		"repositoryArn":              r.ARN(),
		"registryId":                 r.RegistryID,
		"repositoryName":             r.Name,
		"repositoryUri":              fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", r.RegistryID, r.Region, r.Name),
		"createdAt":                  epoch(r.CreatedAt),
		"imageTagMutability":         r.ImageTagMutability,
		"imageScanningConfiguration": map[string]any{"scanOnPush": false},
		"encryptionConfiguration":    enc,
	}
}

func ecrImageDetail(r *Repository, im *Image) map[string]any {
	d := map[string]any{
		"registryId":     r.RegistryID,
		"repositoryName": r.Name,
		"imageDigest":    im.Digest,
		"imageStatus":    im.Status,
	}
	if len(im.Tags) > 0 {
		d["imageTags"] = im.Tags
	}
	if im.SizeInBytes > 0 {
		d["imageSizeInBytes"] = im.SizeInBytes
	}
	if !im.PushedAt.IsZero() {
		d["imagePushedAt"] = epoch(im.PushedAt)
	}
	if !im.LastPulledAt.IsZero() {
		d["lastRecordedPullTime"] = epoch(im.LastPulledAt)
	}
	if im.ManifestMediaType != "" {
		d["imageManifestMediaType"] = im.ManifestMediaType
	}
	if im.ArtifactMediaType != "" {
		d["artifactMediaType"] = im.ArtifactMediaType
	}
	return d
}

// ecrFind finds the image an ImageIdentifier names; a tag and a digest must agree.
func ecrFind(r *Repository, id ecrImageID) (im *Image, tagMismatch bool) {
	if id.ImageDigest != "" {
		for _, c := range r.Images {
			if c.Digest == id.ImageDigest {
				if id.ImageTag != "" && !slices.Contains(c.Tags, id.ImageTag) {
					return nil, true
				}
				return c, false
			}
		}
		return nil, false
	}
	if id.ImageTag == "" {
		return nil, false
	}
	for _, c := range r.Images {
		if slices.Contains(c.Tags, id.ImageTag) {
			return c, false
		}
	}
	return nil, false
}

func imageNotFound(r *Repository, id ecrImageID) error {
	return errorf(400, "ImageNotFoundException",
		"The image with imageId %s does not exist within the repository with name '%s' in the registry with id '%s'", id, r.Name, r.RegistryID)
}

func (s *Server) ecrDescribeRepositories(req *request) (any, error) {
	var in struct {
		RegistryID      string   `json:"registryId"`
		RepositoryNames []string `json:"repositoryNames"`
		NextToken       string   `json:"nextToken"`
		MaxResults      int      `json:"maxResults"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	var repos []map[string]any
	if len(in.RepositoryNames) > 0 {
		for _, name := range in.RepositoryNames {
			r, err := s.ecrRepo(req, ecrRepoRef{in.RegistryID, name})
			if err != nil {
				return nil, err
			}
			repos = append(repos, ecrRepoJSON(r))
		}
		return map[string]any{"repositories": repos}, nil
	}
	registry, err := s.ecrRegistry(req, in.RegistryID, "")
	if err != nil {
		return nil, err
	}
	for _, r := range s.sc.Repositories {
		if r.RegistryID == registry && r.Region == req.region {
			repos = append(repos, ecrRepoJSON(r))
		}
	}
	start, end, next, err := pageOf(len(repos), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, errorf(400, "InvalidParameterException", "%v", err)
	}
	out := map[string]any{"repositories": nonNil(repos[start:end])}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Server) ecrDescribeImages(req *request) (any, error) {
	var in struct {
		ecrRepoRef
		ImageIDs   []ecrImageID `json:"imageIds"`
		NextToken  string       `json:"nextToken"`
		MaxResults int          `json:"maxResults"`
		Filter     struct {
			TagStatus   string `json:"tagStatus"`
			ImageStatus string `json:"imageStatus"`
		} `json:"filter"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in.ecrRepoRef)
	if err != nil {
		return nil, err
	}
	var details []map[string]any
	if len(in.ImageIDs) > 0 {
		// Named images are described whatever their status (an ARCHIVED tag shows as
		// ARCHIVED); a missing one fails the whole call.
		seen := map[string]bool{}
		for _, id := range in.ImageIDs {
			im, _ := ecrFind(r, id)
			if im == nil {
				return nil, imageNotFound(r, id)
			}
			if !seen[im.Digest] {
				seen[im.Digest] = true
				details = append(details, ecrImageDetail(r, im))
			}
		}
		return map[string]any{"imageDetails": details}, nil
	}
	status := in.Filter.ImageStatus
	if status == "" {
		status = "ACTIVE"
	}
	for _, im := range r.Images {
		if !tagStatusMatches(in.Filter.TagStatus, im) || (status != "ANY" && im.Status != status) {
			continue
		}
		details = append(details, ecrImageDetail(r, im))
	}
	start, end, next, err := pageOf(len(details), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, errorf(400, "InvalidParameterException", "%v", err)
	}
	out := map[string]any{"imageDetails": nonNil(details[start:end])}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func tagStatusMatches(want string, im *Image) bool {
	switch want {
	case "TAGGED":
		return len(im.Tags) > 0
	case "UNTAGGED":
		return len(im.Tags) == 0
	}
	return true
}

func (s *Server) ecrListImages(req *request) (any, error) {
	var in struct {
		ecrRepoRef
		NextToken  string `json:"nextToken"`
		MaxResults int    `json:"maxResults"`
		Filter     struct {
			TagStatus   string `json:"tagStatus"`
			ImageStatus string `json:"imageStatus"`
		} `json:"filter"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in.ecrRepoRef)
	if err != nil {
		return nil, err
	}
	status := in.Filter.ImageStatus
	if status == "" {
		status = "ACTIVE"
	}
	var ids []ecrImageID
	for _, im := range r.Images {
		if !tagStatusMatches(in.Filter.TagStatus, im) || (status != "ANY" && im.Status != status) {
			continue
		}
		if len(im.Tags) == 0 {
			ids = append(ids, ecrImageID{ImageDigest: im.Digest})
		}
		for _, t := range im.Tags {
			ids = append(ids, ecrImageID{ImageDigest: im.Digest, ImageTag: t})
		}
	}
	start, end, next, err := pageOf(len(ids), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, errorf(400, "InvalidParameterException", "%v", err)
	}
	out := map[string]any{"imageIds": nonNil(ids[start:end])}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

func (s *Server) ecrBatchGetImage(req *request) (any, error) {
	var in struct {
		ecrRepoRef
		ImageIDs           []ecrImageID `json:"imageIds"`
		AcceptedMediaTypes []string     `json:"acceptedMediaTypes"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in.ecrRepoRef)
	if err != nil {
		return nil, err
	}
	images := []map[string]any{}
	failures := []map[string]any{}
	fail := func(id ecrImageID, code, reason string) {
		failures = append(failures, map[string]any{"imageId": id, "failureCode": code, "failureReason": reason})
	}
	kmsProblem := s.ecrKMSProblem(r)
	for _, id := range in.ImageIDs {
		if id.ImageDigest == "" && id.ImageTag == "" {
			fail(id, "MissingDigestAndTag", "Missing image digest and tag")
			continue
		}
		im, mismatch := ecrFind(r, id)
		switch {
		case mismatch:
			fail(id, "ImageTagDoesNotMatchDigest", "Invalid image tag for image digest")
		case im == nil, im.Status != "ACTIVE":
			// Archived images cannot be pulled; ECR answers as for a missing image.
			fail(id, "ImageNotFound", "Requested image not found")
		case im.FailureCode != "":
			fail(id, im.FailureCode, "Failure injected by the scenario")
		case kmsProblem != "":
			fail(id, "KmsError", kmsProblem)
		default:
			images = append(images, map[string]any{
				"registryId":             r.RegistryID,
				"repositoryName":         r.Name,
				"imageId":                ecrImageID{ImageDigest: im.Digest, ImageTag: id.ImageTag},
				"imageManifest":          im.Manifest,
				"imageManifestMediaType": im.ManifestMediaType,
			})
		}
	}
	return map[string]any{"images": images, "failures": failures}, nil
}

// ecrKMSProblem describes why a KMS-encrypted repository's key cannot decrypt, or "".
func (s *Server) ecrKMSProblem(r *Repository) string {
	if r.EncryptionType != "KMS" {
		return ""
	}
	k := s.sc.KMSKey(r.KMSKey)
	switch {
	case k == nil:
		return fmt.Sprintf("KMS key %s does not exist", r.KMSKey)
	case k.State == "Enabled":
		return ""
	case k.State == "PendingDeletion":
		return fmt.Sprintf("KMS key %s is pending deletion", r.KMSKey)
	default:
		return fmt.Sprintf("KMS key %s is %s", r.KMSKey, k.State)
	}
}

func (s *Server) ecrGetLifecyclePolicy(req *request) (any, error) {
	var in ecrRepoRef
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in)
	if err != nil {
		return nil, err
	}
	if r.LifecyclePolicy == "" {
		return nil, errorf(400, "LifecyclePolicyNotFoundException",
			"Lifecycle policy does not exist for the repository with name '%s' in the registry with id '%s'", r.Name, r.RegistryID)
	}
	return map[string]any{
		"registryId":          r.RegistryID,
		"repositoryName":      r.Name,
		"lifecyclePolicyText": r.LifecyclePolicy,
		"lastEvaluatedAt":     epoch(s.now().Add(-6 * time.Hour)),
	}, nil
}

func (s *Server) ecrGetRepositoryPolicy(req *request) (any, error) {
	var in ecrRepoRef
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in)
	if err != nil {
		return nil, err
	}
	if r.Policy == "" {
		return nil, errorf(400, "RepositoryPolicyNotFoundException",
			"Repository policy does not exist for the repository with name '%s' in the registry with id '%s'", r.Name, r.RegistryID)
	}
	return map[string]any{"registryId": r.RegistryID, "repositoryName": r.Name, "policyText": r.Policy}, nil
}

func (s *Server) ecrSetRepositoryPolicy(req *request) (any, error) {
	var in struct {
		ecrRepoRef
		PolicyText string `json:"policyText"`
		Force      bool   `json:"force"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in.ecrRepoRef)
	if err != nil {
		return nil, err
	}
	if !json.Valid([]byte(in.PolicyText)) {
		return nil, errorf(400, "InvalidParameterException", "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'")
	}
	r.Policy = in.PolicyText
	return map[string]any{"registryId": r.RegistryID, "repositoryName": r.Name, "policyText": r.Policy}, nil
}

func (s *Server) ecrDescribePullThroughCacheRules(req *request) (any, error) {
	var in struct {
		RegistryID string   `json:"registryId"`
		Prefixes   []string `json:"ecrRepositoryPrefixes"`
		NextToken  string   `json:"nextToken"`
		MaxResults int      `json:"maxResults"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	registry, err := s.ecrRegistry(req, in.RegistryID, "")
	if err != nil {
		return nil, err
	}
	var rules []map[string]any
	ruleJSON := func(p *PullThroughCacheRule) map[string]any {
		m := map[string]any{
			"ecrRepositoryPrefix": p.EcrRepositoryPrefix,
			"upstreamRegistryUrl": p.UpstreamRegistryURL,
			"registryId":          p.RegistryID,
			"createdAt":           epoch(p.CreatedAt),
			"updatedAt":           epoch(p.CreatedAt),
		}
		if p.UpstreamRegistry != "" {
			m["upstreamRegistry"] = p.UpstreamRegistry
		}
		if p.CredentialArn != "" {
			m["credentialArn"] = p.CredentialArn
		}
		return m
	}
	for _, p := range s.sc.PullThroughCacheRules {
		if p.RegistryID != registry || p.Region != req.region {
			continue
		}
		if len(in.Prefixes) > 0 && !slices.Contains(in.Prefixes, p.EcrRepositoryPrefix) {
			continue
		}
		rules = append(rules, ruleJSON(p))
	}
	for _, want := range in.Prefixes {
		if !slices.ContainsFunc(rules, func(m map[string]any) bool { return m["ecrRepositoryPrefix"] == want }) {
			return nil, errorf(400, "PullThroughCacheRuleNotFoundException",
				"The pull through cache rule with prefix '%s' does not exist in the registry with id '%s'", want, registry)
		}
	}
	start, end, next, err := pageOf(len(rules), in.MaxResults, in.NextToken)
	if err != nil {
		return nil, errorf(400, "InvalidParameterException", "%v", err)
	}
	out := map[string]any{"pullThroughCacheRules": nonNil(rules[start:end])}
	if next != "" {
		out["nextToken"] = next
	}
	return out, nil
}

// ECRPassword is the registry password inside every authorization token the fake issues.
const ECRPassword = "awsfake-ecr-password"

func (s *Server) ecrGetAuthorizationToken(req *request) (any, error) {
	var in struct {
		RegistryIDs []string `json:"registryIds"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	registries := in.RegistryIDs
	if len(registries) == 0 {
		registries = []string{req.account}
	}
	var data []map[string]any
	for _, id := range registries {
		data = append(data, map[string]any{
			"authorizationToken": base64.StdEncoding.EncodeToString([]byte("AWS:" + ECRPassword)),
			"expiresAt":          epoch(s.now().Add(12 * time.Hour)),
			"proxyEndpoint":      fmt.Sprintf("https://%s.dkr.ecr.%s.amazonaws.com", id, req.region),
		})
	}
	return map[string]any{"authorizationData": data}, nil
}

func (s *Server) ecrUpdateImageStorageClass(req *request) (any, error) {
	var in struct {
		ecrRepoRef
		ImageID            ecrImageID `json:"imageId"`
		TargetStorageClass string     `json:"targetStorageClass"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in.ecrRepoRef)
	if err != nil {
		return nil, err
	}
	im, _ := ecrFind(r, in.ImageID)
	if im == nil {
		return nil, imageNotFound(r, in.ImageID)
	}
	switch in.TargetStorageClass {
	case "STANDARD":
		// AWS passes through ACTIVATING while it restores; the fake restores at once.
		if im.Status != "ACTIVE" {
			im.Status = "ACTIVE"
		}
	case "ARCHIVE":
		im.Status = "ARCHIVED"
	default:
		return nil, errorf(400, "InvalidParameterException", "Invalid parameter at 'targetStorageClass' failed to satisfy constraint: 'Member must satisfy enum value set: [STANDARD, ARCHIVE]'")
	}
	return map[string]any{
		"registryId":     r.RegistryID,
		"repositoryName": r.Name,
		"imageId":        ecrImageID{ImageDigest: im.Digest, ImageTag: in.ImageID.ImageTag},
		"imageStatus":    im.Status,
	}, nil
}

func (s *Server) ecrPutImage(req *request) (any, error) {
	var in struct {
		ecrRepoRef
		ImageManifest          string `json:"imageManifest"`
		ImageManifestMediaType string `json:"imageManifestMediaType"`
		ImageTag               string `json:"imageTag"`
		ImageDigest            string `json:"imageDigest"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	r, err := s.ecrRepo(req, in.ecrRepoRef)
	if err != nil {
		return nil, err
	}
	digest := digestOf(in.ImageManifest)
	if in.ImageDigest != "" && in.ImageDigest != digest {
		return nil, errorf(400, "ImageDigestDoesNotMatchException",
			"The specified image digest %s does not match the digest %s of the manifest", in.ImageDigest, digest)
	}
	var manifest struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(in.ImageManifest), &manifest); err != nil {
		return nil, errorf(400, "InvalidParameterException", "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'")
	}
	mediaType := in.ImageManifestMediaType
	if mediaType == "" {
		mediaType = manifest.MediaType
	}
	im := r.Image(digest)
	if im != nil && in.ImageTag != "" && slices.Contains(im.Tags, in.ImageTag) {
		return nil, errorf(400, "ImageAlreadyExistsException",
			"Image with digest '%s' and tag '%s' already exists in the repository with name '%s' in registry with id '%s'", digest, in.ImageTag, r.Name, r.RegistryID)
	}
	if in.ImageTag != "" {
		if other := r.Image(in.ImageTag); other != nil {
			if r.ImageTagMutability == "IMMUTABLE" {
				return nil, errorf(400, "ImageTagAlreadyExistsException",
					"The image tag '%s' already exists in the '%s' repository and cannot be overwritten because the repository is immutable.", in.ImageTag, r.Name)
			}
			other.Tags = slices.DeleteFunc(other.Tags, func(t string) bool { return t == in.ImageTag })
		}
	}
	if im == nil {
		im = &Image{
			Digest:            digest,
			PushedAt:          s.now(),
			SizeInBytes:       int64(len(in.ImageManifest)),
			ManifestMediaType: mediaType,
			ArtifactMediaType: manifest.Config.MediaType,
			Manifest:          in.ImageManifest,
		}
		r.Images = append(r.Images, im)
	}
	if in.ImageTag != "" {
		im.Tags = append(im.Tags, in.ImageTag)
	}
	return map[string]any{"image": map[string]any{
		"registryId":             r.RegistryID,
		"repositoryName":         r.Name,
		"imageId":                ecrImageID{ImageDigest: digest, ImageTag: in.ImageTag},
		"imageManifest":          im.Manifest,
		"imageManifestMediaType": im.ManifestMediaType,
	}}, nil
}

func (s *Server) ecrCreateRepository(req *request) (any, error) {
	var in struct {
		RegistryID              string `json:"registryId"`
		RepositoryName          string `json:"repositoryName"`
		ImageTagMutability      string `json:"imageTagMutability"`
		EncryptionConfiguration struct {
			EncryptionType string `json:"encryptionType"`
			KMSKey         string `json:"kmsKey"`
		} `json:"encryptionConfiguration"`
	}
	if err := decodeJSON(req, &in); err != nil {
		return nil, err
	}
	registry := in.RegistryID
	if registry == "" {
		registry = req.account
	}
	if _, err := s.ecrRepo(req, ecrRepoRef{registry, in.RepositoryName}); err == nil {
		return nil, errorf(400, "RepositoryAlreadyExistsException",
			"The repository with name '%s' already exists in the registry with id '%s'", in.RepositoryName, registry)
	}
	r := &Repository{
		RegistryID:         registry,
		Region:             req.region,
		Name:               in.RepositoryName,
		CreatedAt:          s.now(),
		ImageTagMutability: in.ImageTagMutability,
		EncryptionType:     in.EncryptionConfiguration.EncryptionType,
		KMSKey:             in.EncryptionConfiguration.KMSKey,
	}
	s.sc.Repositories = append(s.sc.Repositories, r)
	s.normalize()
	// ECR makes its grant on the key of a KMS-encrypted repository as it creates it.
	if k := s.sc.KMSKey(r.KMSKey); r.EncryptionType == "KMS" && k != nil {
		k.Grants = append(k.Grants, ECRGrant(s.newID("grant"), r.Region, r.ARN(), s.now()))
	}
	return map[string]any{"repository": ecrRepoJSON(r)}, nil
}

// nonNil keeps empty lists as [] rather than null on the wire.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
