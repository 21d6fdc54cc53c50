package diagnosis

import (
	"path/filepath"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// RegistryKind names the registry family of an image host.
type RegistryKind string

const (
	RegistryECR       RegistryKind = "ecr"        // private ECR: ACCOUNT.dkr.ecr.REGION.amazonaws.com
	RegistryECRPublic RegistryKind = "ecr-public" // public.ecr.aws
	RegistryDockerHub RegistryKind = "docker-hub"
	RegistryGHCR      RegistryKind = "ghcr"
	RegistryGCR       RegistryKind = "gcr"               // gcr.io and *.gcr.io
	RegistryArtifact  RegistryKind = "artifact-registry" // *-docker.pkg.dev
	RegistryACR       RegistryKind = "acr"               // *.azurecr.io
	RegistryQuay      RegistryKind = "quay"
	RegistryOther     RegistryKind = "other"
)

// ImageRef is an image reference parsed and normalised the way the kubelet and containerd
// do it (github.com/distribution/reference, the parser the kubelet itself uses).
type ImageRef struct {
	Raw string // as written in the pod spec
	// Err is set when the reference does not parse; the other fields are then empty.
	Err error

	Full        string // normalised, e.g. docker.io/library/nginx:latest
	Domain      string // registry host[:port], e.g. docker.io, registry.example.com:5000
	Path        string // repository path, e.g. library/nginx
	Tag         string // tag used for resolution ("latest" when none is written and no digest)
	Digest      string // sha256:...
	ImplicitTag bool   // no tag and no digest written: the kubelet adds :latest
	ShortName   bool   // no registry host written: the kubelet resolves it on Docker Hub

	Registry RegistryKind
	// ECR private details (Registry == RegistryECR).
	Account   string
	Region    string
	Partition string // aws, aws-cn, aws-us-gov, aws-eusc, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f
	FIPS      bool
	DualStack bool
}

// ecrPrivateHost is the ECR host pattern of the ecr-credential-provider
// (kubernetes/cloud-provider-aws cmd/ecr-credential-provider/main.go, ecrPrivateHostPattern).
var ecrPrivateHost = regexp.MustCompile(`^(\d{12})\.dkr[\.\-]ecr(\-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.(amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$`)

// ParseImage parses an image reference. It never panics; a bad reference yields Err.
func ParseImage(raw string) ImageRef {
	ref := ImageRef{Raw: raw}
	named, err := reference.ParseNormalizedNamed(raw)
	if err != nil {
		ref.Err = err
		return ref
	}
	ref.Domain = reference.Domain(named)
	ref.Path = reference.Path(named)
	// The first path element is a host only if it has a dot or a colon, is localhost, or has
	// upper-case letters (splitDockerDomain in distribution/reference normalize.go).
	first, _, found := strings.Cut(raw, "/")
	ref.ShortName = !found || !(strings.ContainsAny(first, ".:") || first == "localhost" || strings.ToLower(first) != first)
	if t, ok := named.(reference.Tagged); ok {
		ref.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		ref.Digest = d.Digest().String()
	}
	if ref.Tag == "" && ref.Digest == "" {
		ref.Tag = "latest"
		ref.ImplicitTag = true
	}
	ref.Full = reference.TagNameOnly(named).String()
	ref.classifyRegistry()
	return ref
}

// Repository is host/path without tag or digest.
func (r ImageRef) Repository() string {
	if r.Domain == "" {
		return ""
	}
	return r.Domain + "/" + r.Path
}

// Reference is the tag or digest part as containerd resolves it: the digest when present.
func (r ImageRef) Reference() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// IsECR reports whether the image is in a private ECR registry.
func (r ImageRef) IsECR() bool { return r.Registry == RegistryECR }

// RegistryHost is the host the runtime contacts (Docker Hub's API host for docker.io).
func (r ImageRef) RegistryHost() string {
	if r.Domain == "docker.io" {
		return "registry-1.docker.io"
	}
	return r.Domain
}

func (r *ImageRef) classifyRegistry() {
	host := strings.ToLower(r.Domain)
	switch {
	case host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io":
		r.Registry = RegistryDockerHub
	case host == "public.ecr.aws" || host == "ecr-public.aws.com":
		r.Registry = RegistryECRPublic
	case host == "ghcr.io":
		r.Registry = RegistryGHCR
	case host == "gcr.io" || strings.HasSuffix(host, ".gcr.io"):
		r.Registry = RegistryGCR
	case strings.HasSuffix(host, "-docker.pkg.dev"):
		r.Registry = RegistryArtifact
	case strings.HasSuffix(host, ".azurecr.io") || strings.HasSuffix(host, ".azurecr.cn") || strings.HasSuffix(host, ".azurecr.us"):
		r.Registry = RegistryACR
	case host == "quay.io":
		r.Registry = RegistryQuay
	default:
		r.Registry = RegistryOther
		m := ecrPrivateHost.FindStringSubmatch(host)
		if m == nil {
			return
		}
		r.Registry = RegistryECR
		r.Account, r.FIPS, r.Region = m[1], m[2] != "", m[3]
		r.DualStack = strings.Contains(host, ".dkr-ecr")
		r.Partition = partitionOf(m[4], r.Region)
	}
}

func partitionOf(suffix, region string) string {
	switch suffix {
	case "amazonaws.com.cn", "on.amazonwebservices.com.cn":
		return "aws-cn"
	case "amazonaws.eu":
		return "aws-eusc"
	case "c2s.ic.gov":
		return "aws-iso"
	case "sc2s.sgov.gov":
		return "aws-iso-b"
	case "cloud.adc-e.uk":
		return "aws-iso-e"
	case "csp.hci.ic.gov":
		return "aws-iso-f"
	}
	if strings.HasPrefix(region, "us-gov-") {
		return "aws-us-gov"
	}
	return "aws"
}

// RepositoryARN is the ECR repository ARN, or "" for non-ECR images.
func (r ImageRef) RepositoryARN() string {
	if !r.IsECR() {
		return ""
	}
	return "arn:" + r.Partition + ":ecr:" + r.Region + ":" + r.Account + ":repository/" + r.Path
}

// HostMatches reports whether a dockerconfig auths key covers this image the way the
// kubelet's keyring matches it: the host (with port) must be equal, and a path in the key
// must be a prefix of the repository path. Docker Hub's legacy keys are accepted for docker.io.
func (r ImageRef) HostMatches(key string) bool {
	k := strings.TrimSpace(strings.ToLower(key))
	k = strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
	k = strings.TrimSuffix(k, "/")
	host, path, _ := strings.Cut(k, "/")
	// The keyring treats a leading /v1/ or /v2/ as the registry root (credentialprovider keyring.go).
	path = strings.TrimPrefix(strings.TrimPrefix(path, "v1/"), "v2/")
	if r.Registry == RegistryDockerHub {
		switch host {
		case "index.docker.io", "docker.io", "registry-1.docker.io", "registry.hub.docker.com":
			return path == "" || path == "v1" || path == "v2" || strings.HasPrefix(r.Path, path)
		}
		return false
	}
	if host != strings.ToLower(r.Domain) && !(strings.Contains(host, "*") && hostGlobMatches(host, strings.ToLower(r.Domain))) {
		return false
	}
	return path == "" || path == "v1" || path == "v2" || strings.HasPrefix(r.Path, path)
}

// hostGlobMatches matches a glob host key such as *.example.com the way the kubelet's keyring
// does (credentialprovider URLsMatch): the ports are equal, and each DNS label matches its
// glob label, so * stands for exactly one label.
func hostGlobMatches(glob, host string) bool {
	gh, gp := splitHostPort(glob)
	th, tp := splitHostPort(host)
	if gp != tp {
		return false
	}
	gl, tl := strings.Split(gh, "."), strings.Split(th, ".")
	if len(gl) != len(tl) {
		return false
	}
	for i := range gl {
		if ok, err := filepath.Match(gl[i], tl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitHostPort(h string) (host, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i], h[i+1:]
	}
	return h, ""
}
