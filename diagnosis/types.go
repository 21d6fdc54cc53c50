package diagnosis

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PodRef names one pod.
type PodRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (r PodRef) String() string { return r.Namespace + "/" + r.Name }

// Cause is a stable, kebab-case identifier of why an image cannot be pulled.
// The IDs are part of the JSON contract; add new ones, never rename.
type Cause string

// The causes in the cause table (README "Causes").
const (
	CauseNone                 Cause = "none"
	CauseInvalidImageName     Cause = "invalid-image-name"
	CauseRegistryCredentials  Cause = "registry-credentials"
	CauseAccessDenied         Cause = "access-denied"
	CausePullSecret           Cause = "pull-secret"
	CauseRepositoryNotFound   Cause = "repository-not-found"
	CauseTagNotFound          Cause = "tag-not-found"
	CausePlatformMismatch     Cause = "platform-mismatch"
	CauseRateLimited          Cause = "rate-limited"
	CauseRegistryUnreachable  Cause = "registry-unreachable"
	CauseEndpointPolicyDenied Cause = "endpoint-policy-denied"
	CauseKMSDenied            Cause = "kms-denied"
	CauseTLSCertificate       Cause = "tls-certificate"
	CauseNodeDiskFull         Cause = "node-disk-full"
	CausePullTimeout          Cause = "pull-timeout"
	// CauseNeverPullPolicy is more specific than invalid-image-name: imagePullPolicy
	// Never and the image is not on the node.
	CauseNeverPullPolicy Cause = "never-pull-policy"
	// CauseRuntimeError covers ImageInspectError: the node's container runtime failed.
	CauseRuntimeError Cause = "runtime-error"
	// CauseSignatureInvalid is CRI-O's SignatureValidationFailed.
	CauseSignatureInvalid Cause = "signature-invalid"
	// CausePullThroughCache is an ECR pull-through cache rule failing upstream (credentials, upstream errors).
	CausePullThroughCache Cause = "pull-through-cache"
	// CauseUnsupportedManifest is a schema-1 image that containerd 2.x no longer pulls.
	CauseUnsupportedManifest Cause = "unsupported-manifest"
	CauseUnknown             Cause = "unknown"
)

// Confidence says how strongly the evidence supports a finding's cause.
type Confidence string

const (
	// Confirmed: the evidence proves the cause (a decisive message or a fact read from the cluster).
	Confirmed Confidence = "confirmed"
	// Likely: the message points at this cause and nothing contradicts it.
	Likely Confidence = "likely"
	// Possible: the message is shared by several causes; this is the best guess.
	Possible Confidence = "possible"
)

func (c Confidence) rank() int {
	switch c {
	case Confirmed:
		return 3
	case Likely:
		return 2
	case Possible:
		return 1
	}
	return 0
}

// ContainerKind says where in the pod spec a container lives.
type ContainerKind string

const (
	KindInit      ContainerKind = "init"
	KindRegular   ContainerKind = "container"
	KindEphemeral ContainerKind = "ephemeral"
	// KindSandbox is the pod sandbox (pause) image, pulled by the runtime, not listed in the spec.
	KindSandbox ContainerKind = "sandbox"
)

// Event is a kubelet event about the pod, normalised from core/v1 and events.k8s.io/v1.
type Event struct {
	Type      string    `json:"type,omitempty"` // Normal or Warning
	Reason    string    `json:"reason"`
	Message   string    `json:"message"`
	FieldPath string    `json:"fieldPath,omitempty"` // spec.containers{api}
	Count     int32     `json:"count,omitempty"`
	FirstSeen time.Time `json:"firstSeen,omitzero"`
	LastSeen  time.Time `json:"lastSeen,omitzero"`
	// API is "v1" or "events.k8s.io/v1": where the event was read.
	API string `json:"api,omitempty"`
}

// NodeFacts is what the engine knows about the node the pod is on.
type NodeFacts struct {
	Name             string
	Arch             string // kubernetes.io/arch label, else nodeInfo.architecture
	OS               string
	ProviderID       string
	InstanceID       string // from an aws:/// providerID
	Zone             string // from the providerID or topology.kubernetes.io/zone
	Region           string // zone minus its letter, or topology.kubernetes.io/region
	InstanceType     string
	Fargate          bool
	FargateProfile   string
	NodeGroup        string // eks.amazonaws.com/nodegroup
	KarpenterPool    string // karpenter.sh/nodepool
	ContainerRuntime string // nodeInfo.containerRuntimeVersion, e.g. containerd://1.7.27
	KubeletVersion   string
	DiskPressure     *bool // nil when the condition is not reported
	DiskPressureMsg  string
}

// SecretStatus is what a collector learned about one referenced pull secret.
type SecretStatus string

const (
	SecretFound     SecretStatus = "found"
	SecretMissing   SecretStatus = "missing"
	SecretForbidden SecretStatus = "forbidden" // RBAC did not allow the read; the check was skipped
	SecretUnchecked SecretStatus = "unchecked" // the collector cannot read secrets (e.g. a saved file)
	SecretError     SecretStatus = "error"
)

// PullSecret describes one imagePullSecret without its contents: only the type and the
// registry host keys of its auths map are ever read.
type PullSecret struct {
	Name   string
	From   string // "pod" or "serviceaccount"
	Status SecretStatus
	Type   corev1.SecretType
	// Hosts are the keys of the dockerconfig auths map, as written (may carry a scheme or path).
	Hosts  []string
	Detail string // why it could not be read (never secret data)
}

// ServiceAccountFacts holds the pod's service account, as far as pulls are concerned.
type ServiceAccountFacts struct {
	Name             string
	Found            bool
	ImagePullSecrets []string
	// IRSARoleARN is eks.amazonaws.com/role-arn: it does not affect image pulls.
	IRSARoleARN string
	// ECRRoleARN is eks.amazonaws.com/ecr-role-arn, used only by KEP-4412 credential providers.
	ECRRoleARN string
}

// Workload is the top of the pod's owner chain (Deployment, StatefulSet, DaemonSet, Job, CronJob),
// or the pod itself when it has no controller.
type Workload struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Related counts other failing pods that share the image or the registry, cluster-wide
// (or namespace-wide when the collector could only see one namespace).
type Related struct {
	Scope            string   // "cluster" or "namespace <ns>"
	SameImagePods    int      // other pods failing on the same image
	SameRegistryPods int      // other pods failing on any image of the same registry host
	SameRegistryNS   []string // namespaces of those pods (for the report)
	Nodes            int      // distinct nodes among pods failing on this registry, including this one
}

// Skip records a check the collector could not run, and what it would need.
type Skip struct {
	Check  string `json:"check"`
	Reason string `json:"reason"`
	Needs  string `json:"needs,omitempty"` // e.g. "get secrets in namespace payments"
}

// Facts is everything a collector gathered about one pod.
type Facts struct {
	Pod    *corev1.Pod
	Events []Event
	// Now is when the facts were collected (injected so that checks never read the clock).
	Now time.Time
	// Source names where the facts came from: a kubeconfig context or "file <path>".
	Source string
	// Cluster is the EKS cluster name when known (configuration), used in eks commands.
	Cluster        string
	Node           *NodeFacts
	ServiceAccount *ServiceAccountFacts
	PullSecrets    []PullSecret
	Workload       *Workload
	Related        map[string]Related // keyed by the image string as written in the spec
	// Cloud is evidence from AWS and the registries; nil when no cloud check ran.
	Cloud   *CloudEvidence
	Skipped []Skip
}

// Ref returns the pod's reference.
func (f *Facts) Ref() PodRef {
	if f == nil || f.Pod == nil {
		return PodRef{}
	}
	return PodRef{Namespace: f.Pod.Namespace, Name: f.Pod.Name}
}

// Fix is one remedy: a title and the commands that apply it, with real values filled in.
type Fix struct {
	Title    string   `json:"title"`
	Commands []string `json:"commands"`
}

// RestartAdvice says whether a rollout restart (a new pod) would succeed once the cause is gone.
type RestartAdvice struct {
	Helps  bool   `json:"helps"`
	Reason string `json:"reason"`
}

// Finding is the verdict for one failing container (or the pod sandbox).
type Finding struct {
	Container     string        `json:"container"`
	ContainerKind ContainerKind `json:"container_kind"`
	Image         string        `json:"image"`
	Cause         Cause         `json:"cause"`
	Confidence    Confidence    `json:"confidence"`
	Summary       string        `json:"summary"`
	Evidence      []string      `json:"evidence"`
	Fixes         []Fix         `json:"fixes"`
	Verify        string        `json:"verify"`
	RestartHelps  RestartAdvice `json:"restart_helps"`
	// Notes correct common advice that does not apply here (IRSA, NetworkPolicy, ...).
	Notes []string `json:"notes,omitempty"`
	// Alternatives are other causes the evidence leaves open, most plausible first.
	Alternatives []Cause `json:"alternatives,omitempty"`
	// Check is the ID of the check that produced the finding.
	Check string `json:"check"`
}

// Status is the pod-level verdict.
type Status string

const (
	StatusFailing Status = "failing"
	StatusHealthy Status = "healthy"
)

// Report is the diagnosis of one pod.
type Report struct {
	Pod PodRef `json:"pod"`
	// PodUID tells a pod from a later one of the same name (a StatefulSet pod, a re-created pod).
	PodUID   string    `json:"pod_uid,omitempty"`
	Status   Status    `json:"status"`
	Cause    Cause     `json:"cause"`
	Workload *Workload `json:"workload,omitempty"`
	Node     string    `json:"node,omitempty"`
	Source   string    `json:"source,omitempty"`
	Findings []Finding `json:"findings"`
	// Skipped lists checks that could not run and why, so a partial report says what it lacks.
	Skipped []Skip `json:"skipped,omitempty"`
}

func (r Report) String() string {
	return fmt.Sprintf("%s %s (%s, %d findings)", r.Pod, r.Status, r.Cause, len(r.Findings))
}
