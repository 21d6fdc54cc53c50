package diagnosis

// CauseInfo documents one cause: the stable ID and what it means, in one line.
type CauseInfo struct {
	Cause       Cause  `json:"cause"`
	Description string `json:"description"`
}

// AllCauses lists every cause a report can carry, in the order of the cause table.
func AllCauses() []CauseInfo {
	return []CauseInfo{
		{CauseNone, "nothing fails: no container is waiting on an image pull"},
		{CauseInvalidImageName, "the image reference cannot be parsed, so no registry is contacted (InvalidImageName)"},
		{CauseNeverPullPolicy, "imagePullPolicy is Never and the image is not on the node (ErrImageNeverPull)"},
		{CauseRuntimeError, "the node's container runtime failed to inspect the image (ImageInspectError)"},
		{CauseSignatureInvalid, "the runtime's signature policy rejected the image (CRI-O SignatureValidationFailed)"},
		{CausePlatformMismatch, "the image index has no entry for the node's OS and architecture"},
		{CauseNodeDiskFull, "the node (or the Fargate pod's ephemeral storage) ran out of disk while pulling"},
		{CauseTLSCertificate, "the node does not trust the registry's TLS certificate"},
		{CauseRateLimited, "the registry answered 429: Docker Hub pull limits, ECR Public quotas or throttling"},
		{CausePullThroughCache, "an ECR pull-through cache rule could not fetch from its upstream registry"},
		{CauseKMSDenied, "the KMS key of the encrypted ECR repository is disabled, pending deletion or its grant was revoked"},
		{CauseEndpointPolicyDenied, "the layer download from ECR's S3 bucket was denied, usually by a VPC endpoint policy"},
		{CausePullSecret, "a non-ECR registry wants credentials the pod's imagePullSecrets do not supply"},
		{CauseRegistryCredentials, "no usable ECR credential was presented: the node role, the ecr.api path or a stale static token"},
		{CauseAccessDenied, "ECR or the registry denied the presented principal (403): IAM or repository policy"},
		{CauseRepositoryNotFound, "the repository does not exist under that registry host"},
		{CauseTagNotFound, "the repository has no such tag or digest (never pushed, expired, archived or not replicated)"},
		{CauseRegistryUnreachable, "the node cannot reach the registry: DNS, routes, NAT, VPC endpoints, security groups, or a registry error"},
		{CausePullTimeout, "the pull was cancelled for making no progress, hit the kubelet's pull QPS, or is taking too long"},
		{CauseUnsupportedManifest, "a Docker schema-1 image, which containerd 2.x no longer pulls"},
		{CauseUnknown, "the error text is gone or has no known shape"},
	}
}
