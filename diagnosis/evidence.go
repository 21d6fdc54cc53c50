package diagnosis

import "time"

// Tri is a yes/no answer that may also be unknown (the check did not run or could not tell).
type Tri int8

const (
	Unknown Tri = iota
	Yes
	No
)

func (t Tri) String() string {
	switch t {
	case Yes:
		return "yes"
	case No:
		return "no"
	}
	return "unknown"
}

// CloudEvidence is what the cloud and registry adapters learned about the pod's images, the
// principal that pulls them and the node's network path. Every field may be missing: a check
// that could not run leaves it empty and records a Skip in Facts.Skipped.
type CloudEvidence struct {
	// Images is keyed by the image string as written in the spec (Container.Image.Raw).
	Images map[string]*ImageEvidence
	// Principal is who pulls: the node's IAM role, or the Fargate pod execution role.
	Principal *PrincipalEvidence
	// Network is the node's path to ECR and S3.
	Network *NetworkEvidence
	// CallerAccount is the account of the bot's own AWS credentials (sts:GetCallerIdentity),
	// which tells cross-account images apart.
	CallerAccount string
}

// ImageEvidence is the registry's view of one image.
type ImageEvidence struct {
	ECR   *ECRImageEvidence
	Probe *RegistryProbe
}

// ECRImageEvidence comes from the ECR API in the image's account and region.
type ECRImageEvidence struct {
	RepositoryExists Tri
	// EncryptionType is AES256 or KMS; KMSKey is the key ARN for KMS.
	EncryptionType string
	KMSKey         string
	KMSKeyState    string // Enabled, Disabled, PendingDeletion, PendingImport, Unavailable
	// KMSGrant says whether the key has a grant that lets ECR decrypt for this repository
	// (kms:ListGrants): No when ECR's grant was revoked. Unknown when the grants were not
	// read (they are read only for an Enabled key). KMSGrantID is the grant that matched, and
	// KMSGrants the number of grants the key has.
	KMSGrant     Tri
	KMSGrantID   string
	KMSGrants    int
	ImageExists  Tri
	ImageStatus  string // ACTIVE, ARCHIVED, ACTIVATING (empty when ECR does not say)
	ImageDigest  string
	ImageTags    []string
	PushedAt     time.Time
	LastPulledAt time.Time
	SizeBytes    int64
	MediaType    string // the manifest's media type (an index or a single manifest)
	// Platforms are the os/arch[/variant] entries of the image index (empty for a single manifest).
	Platforms []string
	// RecentTags are the newest tags in the repository (most recent first), to spot typos.
	RecentTags []string
	// ExpiringRule is the lifecycle rule that would expire this image (or did), if any.
	ExpiringRule *LifecycleRule
	// Policy is the repository policy's verdict for the pulling principal.
	Policy *RepositoryPolicyEvidence
	// PullThroughCache is the rule whose prefix the repository path starts with, if any.
	PullThroughCache *PullThroughCacheRule
}

// LifecycleRule is one rule of a repository's lifecycle policy.
type LifecycleRule struct {
	Priority    int
	Description string
	TagStatus   string // tagged, untagged, any
	TagPrefixes []string
	CountType   string // imageCountMoreThan, sinceImagePushed, sinceImagePulled
	CountNumber int
	CountUnit   string
	Action      string // expire, transition
}

// RepositoryPolicyEvidence is pullcheck's own evaluation of a repository policy for the
// principal (IAM's policy simulator cannot evaluate resource policies for roles).
type RepositoryPolicyEvidence struct {
	Exists bool
	// Allows says whether a statement allows the principal ecr:BatchGetImage.
	Allows Tri
	// DenyStatement is the Sid (or index) of a statement that explicitly denies the principal.
	DenyStatement string
	// Conditions lists condition keys on the matching statements (aws:SourceVpce, ...).
	Conditions []string
}

// PullThroughCacheRule is an ECR pull-through cache rule.
type PullThroughCacheRule struct {
	Prefix        string
	UpstreamURL   string
	CredentialARN string
}

// RegistryProbe is the result of resolving the manifest over the registry's own HTTP API.
type RegistryProbe struct {
	// Auth is how the probe authenticated: anonymous, ecr-token (the bot's own: it proves the
	// image exists, not that the node may pull it) or pull-secret.
	Auth string
	// Status is the HTTP status of the manifest request (0 when no answer came).
	Status int
	// ErrorCode is the registry's error code (NAME_UNKNOWN, MANIFEST_UNKNOWN, DENIED, ...).
	ErrorCode string
	Exists    Tri
	Digest    string
	MediaType string
	Platforms []string
	// RateLimit and RateRemaining are Docker Hub's ratelimit-limit / ratelimit-remaining headers.
	RateLimit     string
	RateRemaining string
	RetryAfter    string
	// TLSError, DNSError and ConnError describe a failure to reach the registry.
	TLSError  string
	DNSError  string
	ConnError string
}

// PrincipalEvidence is the IAM role that pulls for the pod, and what IAM says it may do.
type PrincipalEvidence struct {
	Kind               string // node-role, fargate-execution-role
	RoleARN            string
	RoleName           string
	InstanceProfileARN string
	// Decisions maps an ECR action to IAM's simulated decision on the image's repository
	// (allowed, implicitDeny, explicitDeny).
	Decisions map[string]string
	// AttachedPolicies are the managed policies attached to the role (names).
	AttachedPolicies []string
	// IMDSEnabled is No when the instance's metadata endpoint is off: the credential
	// provider then finds no credentials.
	IMDSEnabled Tri
}

// NetworkEvidence is the node's path to ECR and S3.
type NetworkEvidence struct {
	VPC, Subnet, AZ, RouteTable string
	SecurityGroups              []string
	// DefaultRoute is what 0.0.0.0/0 goes to in the subnet's route table: a nat-… or igw-…
	// ID, or "" when there is none.
	DefaultRoute string
	// Endpoints are keyed by service suffix: ecr.api, ecr.dkr, s3.
	Endpoints map[string]*VPCEndpoint
	// DNSSupport and DNSHostnames are the VPC's enableDnsSupport and enableDnsHostnames
	// attributes: an interface endpoint's private DNS name resolves to it only when both are
	// on. Unknown when they were not read (they are read only for a VPC whose ECR interface
	// endpoints have private DNS on).
	DNSSupport, DNSHostnames Tri
}

// VPCEndpoint is one VPC endpoint and whether it serves the node.
type VPCEndpoint struct {
	ID, Type, State string
	PrivateDNS      bool
	// InNodeAZ: an interface endpoint has a subnet in the node's availability zone.
	InNodeAZ Tri
	// AllowsNode443: an interface endpoint's security groups admit HTTPS from the node.
	AllowsNode443 Tri
	// OnNodeRouteTable: a gateway endpoint is associated with the node subnet's route table.
	OnNodeRouteTable Tri
	// PolicyDenies names what the endpoint policy refuses (an ECR action, the layer bucket).
	PolicyDenies string
}

// deniedActions returns the actions among want that IAM's simulation denies the pulling role.
func deniedActions(f *Facts, want ...string) []string {
	p := f.Principal()
	if p == nil {
		return nil
	}
	var out []string
	for _, a := range want {
		if d := p.Decisions[a]; d == "implicitDeny" || d == "explicitDeny" {
			out = append(out, a)
		}
	}
	return out
}

// allowedActions reports whether the simulation allowed every one of want (false when unknown).
func allowedActions(f *Facts, want ...string) bool {
	p := f.Principal()
	if p == nil || len(p.Decisions) == 0 {
		return false
	}
	for _, a := range want {
		if p.Decisions[a] != "allowed" {
			return false
		}
	}
	return true
}

// roleName is the pulling role's name, or "".
func roleName(f *Facts) string {
	if p := f.Principal(); p != nil {
		return p.RoleName
	}
	return ""
}
