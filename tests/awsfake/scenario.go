package awsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Scenario is the whole state of the fake AWS: plain data that a test builds (or takes
// from WorkedExample), changes, and hands to New. After New, change it only through
// Server.Update.
//
// Empty Region fields mean Scenario.Region; empty account fields mean Scenario.Account.
type Scenario struct {
	// Account is the account of the bot's credentials and of every resource that
	// names no other account.
	Account string
	// Region is the region of every resource that names no other region.
	Region string
	// Now is the clock of the fake (token expiry, creation times of new resources). Zero
	// means time.Now.
	Now time.Time
	// Caller is what sts:GetCallerIdentity returns.
	Caller Caller
	// Denied lists the calls the bot's own credentials may not make, as IAM action names
	// ("ecr:DescribeImages"); such calls fail with the protocol's access-denied error.
	Denied map[string]bool
	// SeparateAccounts makes ECR and KMS answer a call only about the account it acts as
	// (Call.Account): with the bot's own credentials, another account's repositories,
	// pull-through cache rules and keys are refused with AccessDeniedException, as AWS does
	// when their resource policy does not allow the bot (awsfake does not evaluate it); with
	// credentials from sts:AssumeRole of a role in that account, they are answered. Off, the
	// bot's credentials read every account (and so does the AWS CLI of RunCLI, which plays
	// an operator with access everywhere).
	SeparateAccounts bool

	Repositories          []*Repository
	PullThroughCacheRules []*PullThroughCacheRule

	// ManagedPolicies are the IAM managed policies that exist, by ARN.
	ManagedPolicies  map[string]*ManagedPolicy
	Roles            []*Role
	InstanceProfiles []*InstanceProfile

	Instances      []*Instance
	VPCs           []*VPC
	Subnets        []*Subnet
	RouteTables    []*RouteTable
	VpcEndpoints   []*VpcEndpoint
	SecurityGroups []*SecurityGroup
	PrefixLists    []*PrefixList

	Clusters []*Cluster
	KMSKeys  []*KMSKey
}

// Caller is the identity of the bot's credentials.
type Caller struct {
	Arn    string
	UserID string
}

// Repository is an ECR private repository.
type Repository struct {
	RegistryID string // account; empty = Scenario.Account
	Region     string
	Name       string
	CreatedAt  time.Time
	// ImageTagMutability is MUTABLE (default) or IMMUTABLE.
	ImageTagMutability string
	// EncryptionType is AES256 (default) or KMS; KMSKey is the key ARN for KMS.
	EncryptionType string
	KMSKey         string
	Images         []*Image
	// LifecyclePolicy is the lifecycle policy JSON; empty means none
	// (LifecyclePolicyNotFoundException).
	LifecyclePolicy string
	// Policy is the repository policy JSON; empty means none
	// (RepositoryPolicyNotFoundException).
	Policy string
}

// Image is one manifest in a repository.
type Image struct {
	// Digest is "sha256:<hex>" of Manifest; filled in from Manifest when empty.
	Digest string
	Tags   []string
	// Status is ACTIVE (default), ARCHIVED or ACTIVATING.
	Status       string
	PushedAt     time.Time
	LastPulledAt time.Time
	SizeInBytes  int64
	// ManifestMediaType is the mediaType of Manifest; ArtifactMediaType the config's.
	ManifestMediaType string
	ArtifactMediaType string
	// Manifest is the manifest or index JSON that BatchGetImage returns.
	Manifest string
	// Platform is the platform of a single-platform image (used when it is a child of
	// an index built by IndexImage).
	Platform Platform
	// FailureCode, when set, makes BatchGetImage report this image as a failure with this
	// code (UpstreamAccessDenied, ImageInaccessible, …).
	FailureCode string
}

// Platform is an OCI platform.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// PullThroughCacheRule is an ECR pull-through cache rule.
type PullThroughCacheRule struct {
	RegistryID          string
	Region              string
	EcrRepositoryPrefix string
	UpstreamRegistryURL string
	UpstreamRegistry    string
	CredentialArn       string
	CreatedAt           time.Time
}

// ManagedPolicy is an IAM managed policy (AWS managed or customer managed).
type ManagedPolicy struct {
	Name string
	// Document is the default version's policy document (JSON).
	Document string
}

// Role is an IAM role.
type Role struct {
	Name             string
	Path             string // default "/"
	ID               string
	CreatedAt        time.Time
	AssumeRolePolicy string
	// AttachedPolicies are the ARNs of attached managed policies (keys of
	// Scenario.ManagedPolicies).
	AttachedPolicies []string
	// InlinePolicies are the role's inline policies, name to JSON document.
	InlinePolicies map[string]string
	// AllowedActions is a shortcut for an extra policy that allows these actions
	// (wildcards allowed) on every resource.
	AllowedActions []string
}

// InstanceProfile is an IAM instance profile.
type InstanceProfile struct {
	Name      string
	Path      string // default "/"
	ID        string
	CreatedAt time.Time
	Roles     []string // role names
}

// Instance is an EC2 instance.
type Instance struct {
	ID                 string
	Region             string
	InstanceType       string
	Architecture       string // x86_64, arm64
	State              string // running (default)
	SubnetID           string
	VpcID              string
	AvailabilityZone   string
	PrivateIP          string
	PrivateDNSName     string
	InstanceProfileArn string
	SecurityGroupIDs   []string
	LaunchTime         time.Time
	// MetadataHTTPEndpoint is enabled (default) or disabled; MetadataHTTPTokens is
	// required (default) or optional; MetadataHopLimit defaults to 2.
	MetadataHTTPEndpoint string
	MetadataHTTPTokens   string
	MetadataHopLimit     int
}

// VPC is an EC2 VPC.
type VPC struct {
	ID                 string
	Region             string
	CIDR               string
	EnableDNSSupport   bool
	EnableDNSHostnames bool
}

// Subnet is an EC2 subnet.
type Subnet struct {
	ID                  string
	Region              string
	VpcID               string
	AvailabilityZone    string
	CIDR                string
	MapPublicIPOnLaunch bool
}

// RouteTable is an EC2 route table. Main marks the VPC's main table; SubnetIDs are
// its explicit subnet associations.
type RouteTable struct {
	ID        string
	Region    string
	VpcID     string
	Main      bool
	SubnetIDs []string
	Routes    []Route
}

// Route is one route of a route table: a destination (CIDR or prefix list) and a target
// (gateway, which is also "local" or a gateway VPC endpoint, or NAT gateway).
type Route struct {
	DestinationCIDR         string
	DestinationPrefixListID string
	GatewayID               string
	NatGatewayID            string
	State                   string // active (default), blackhole
}

// VpcEndpoint is an EC2 VPC endpoint.
type VpcEndpoint struct {
	ID                string
	Region            string
	VpcID             string
	ServiceName       string
	Type              string // Interface, Gateway
	State             string // available (default), pending, …
	PrivateDNSEnabled bool
	SubnetIDs         []string
	SecurityGroupIDs  []string
	RouteTableIDs     []string
	// PolicyDocument defaults to the full-access policy.
	PolicyDocument string
	CreatedAt      time.Time
}

// SecurityGroup is an EC2 security group.
type SecurityGroup struct {
	ID          string
	Region      string
	Name        string
	Description string
	VpcID       string
	OwnerID     string
	Ingress     []Permission
	Egress      []Permission
}

// Permission is one IP permission of a security group. Protocol "-1" means all
// traffic (ports are then ignored).
type Permission struct {
	Protocol      string
	FromPort      int
	ToPort        int
	CIDRs         []string
	GroupIDs      []string
	PrefixListIDs []string
}

// PrefixList is an AWS-managed prefix list (com.amazonaws.<region>.s3, …).
type PrefixList struct {
	ID     string
	Region string
	Name   string
	CIDRs  []string
}

// Cluster is an EKS cluster with its node groups and Fargate profiles.
type Cluster struct {
	Name                   string
	Region                 string
	Version                string
	Status                 string // ACTIVE (default)
	RoleArn                string
	VpcID                  string
	SubnetIDs              []string
	SecurityGroupIDs       []string
	ClusterSecurityGroupID string
	OIDCIssuer             string
	// AutoModeNodeRoleArn, when set, turns on Auto Mode (computeConfig).
	AutoModeNodeRoleArn string
	CreatedAt           time.Time
	Nodegroups          []*Nodegroup
	FargateProfiles     []*FargateProfile
}

// Nodegroup is an EKS managed node group.
type Nodegroup struct {
	Name          string
	NodeRole      string
	Subnets       []string
	InstanceTypes []string
	AMIType       string
	DiskSize      int
	Labels        map[string]string
	CreatedAt     time.Time
}

// FargateProfile is an EKS Fargate profile.
type FargateProfile struct {
	Name                string
	PodExecutionRoleArn string
	Subnets             []string
	Selectors           []FargateSelector
	Status              string // ACTIVE (default)
	CreatedAt           time.Time
}

// FargateSelector selects pods for a Fargate profile.
type FargateSelector struct {
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// KMSKey is a KMS key.
type KMSKey struct {
	ID          string
	Account     string // empty = Scenario.Account
	Region      string
	Description string
	// State is Enabled (default), Disabled, PendingDeletion, PendingImport, Unavailable.
	State        string
	DeletionDate time.Time
	Aliases      []string // "alias/…"
	CreatedAt    time.Time
	// Policy is the key policy JSON; empty means KMS's default key policy.
	Policy string
	// Grants are the key's grants: a KMS-encrypted ECR repository decrypts through the
	// grant ECR creates for it (revoking it breaks pulls while the key stays Enabled).
	Grants []KMSGrant
}

// KMSGrant is a grant on a KMS key.
type KMSGrant struct {
	ID                string
	Name              string
	GranteePrincipal  string // "ecr.us-west-2.amazonaws.com" for ECR's grant
	RetiringPrincipal string
	Operations        []string
	// EncryptionContext is the grant's EncryptionContextSubset constraint (ECR's names the
	// repository, under aws:ecr:arn as far as we know: see ECRGrant).
	EncryptionContext map[string]string
	CreatedAt         time.Time
}

// Repository returns the first repository with this name in any account and region, or nil.
func (sc *Scenario) Repository(name string) *Repository {
	for _, r := range sc.Repositories {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Role returns the role with this name, or nil.
func (sc *Scenario) Role(name string) *Role {
	for _, r := range sc.Roles {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// InstanceProfile returns the instance profile with this name, or nil.
func (sc *Scenario) InstanceProfile(name string) *InstanceProfile {
	for _, p := range sc.InstanceProfiles {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Instance returns the instance with this ID, or nil.
func (sc *Scenario) Instance(id string) *Instance {
	for _, i := range sc.Instances {
		if i.ID == id {
			return i
		}
	}
	return nil
}

// VPC returns the VPC with this ID, or nil.
func (sc *Scenario) VPC(id string) *VPC {
	for _, v := range sc.VPCs {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// Subnet returns the subnet with this ID, or nil.
func (sc *Scenario) Subnet(id string) *Subnet {
	for _, s := range sc.Subnets {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// RouteTable returns the route table with this ID, or nil.
func (sc *Scenario) RouteTable(id string) *RouteTable {
	for _, t := range sc.RouteTables {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// VpcEndpoint returns the VPC endpoint with this ID, or nil.
func (sc *Scenario) VpcEndpoint(id string) *VpcEndpoint {
	for _, e := range sc.VpcEndpoints {
		if e.ID == id {
			return e
		}
	}
	return nil
}

// SecurityGroup returns the security group with this ID, or nil.
func (sc *Scenario) SecurityGroup(id string) *SecurityGroup {
	for _, g := range sc.SecurityGroups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// Cluster returns the EKS cluster with this name, or nil.
func (sc *Scenario) Cluster(name string) *Cluster {
	for _, c := range sc.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// KMSKey returns the KMS key with this key ID, key ARN or alias, or nil.
func (sc *Scenario) KMSKey(ref string) *KMSKey {
	for _, k := range sc.KMSKeys {
		if k.ID == ref || strings.HasSuffix(ref, ":key/"+k.ID) {
			return k
		}
		for _, a := range k.Aliases {
			if a == ref || strings.HasSuffix(ref, ":"+a) {
				return k
			}
		}
	}
	return nil
}

// ARN is the repository's ARN (its Region and RegistryID filled in by the server).
func (r *Repository) ARN() string {
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", r.Region, r.RegistryID, r.Name)
}

// Image returns the image with this tag or digest, or nil.
func (r *Repository) Image(tagOrDigest string) *Image {
	for _, im := range r.Images {
		if im.Digest == tagOrDigest {
			return im
		}
		for _, t := range im.Tags {
			if t == tagOrDigest {
				return im
			}
		}
	}
	return nil
}

// Media types of the manifests the helpers build.
const (
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIConfig      = "application/vnd.oci.image.config.v1+json"
	MediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
)

// SingleArchImage returns an image with an OCI image manifest for linux/arch whose
// config and layer digests derive from seed, so different seeds give different digests.
func SingleArchImage(seed, arch string, size int64, pushedAt time.Time, tags ...string) *Image {
	layerSize := size - 1500
	if layerSize < 1 {
		layerSize = 1
	}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIManifest,
		"config": map[string]any{
			"mediaType": MediaTypeOCIConfig,
			"digest":    digestOf("config:" + seed + ":" + arch),
			"size":      1500,
		},
		"layers": []any{map[string]any{
			"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
			"digest":    digestOf("layer:" + seed + ":" + arch),
			"size":      layerSize,
		}},
	}
	manifest := mustJSON(m)
	return &Image{
		Digest:            digestOf(manifest),
		Tags:              tags,
		PushedAt:          pushedAt,
		SizeInBytes:       size,
		ManifestMediaType: MediaTypeOCIManifest,
		ArtifactMediaType: MediaTypeOCIConfig,
		Manifest:          manifest,
		Platform:          Platform{OS: "linux", Architecture: arch},
	}
}

// IndexImage returns an OCI image index over children (single-platform images, which
// the caller also puts in the repository, usually untagged).
func IndexImage(pushedAt time.Time, children []*Image, tags ...string) *Image {
	var ms []any
	var size int64
	for _, c := range children {
		ms = append(ms, map[string]any{
			"mediaType": c.ManifestMediaType,
			"digest":    c.Digest,
			"size":      len(c.Manifest),
			"platform":  c.Platform,
		})
		size = max(size, c.SizeInBytes)
	}
	manifest := mustJSON(map[string]any{
		"schemaVersion": 2,
		"mediaType":     MediaTypeOCIIndex,
		"manifests":     ms,
	})
	return &Image{
		Digest:            digestOf(manifest),
		Tags:              tags,
		PushedAt:          pushedAt,
		SizeInBytes:       size,
		ManifestMediaType: MediaTypeOCIIndex,
		Manifest:          manifest,
	}
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
