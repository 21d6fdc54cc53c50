// Package cloud gathers AWS evidence for a diagnosis: whether an ECR repository and tag exist
// (and why not: lifecycle rules, archived images, pull-through cache rules, KMS keys), which IAM
// role pulls for a node and what IAM allows it, and the node's network path to ECR and S3 (routes,
// VPC endpoints, their security groups and policies).
//
// Every call is read-only, made with the bot's own credentials from the default chain (so IRSA
// and EKS Pod Identity work for the bot itself), except the ECR and KMS reads of a registry
// account that has a role in Options.RegistryRoles, and the ECR token for the registry probe
// (ECRToken) of such an account: those go through that role (sts:AssumeRole,
// credentials cached per account), and a role that cannot be assumed is one Skip naming
// sts:AssumeRole. Each lookup has its own timeout and is cached
// with a TTL across pods and scans; a lookup that fails becomes a diagnosis.Skip that names the
// permission or endpoint it needed, never a failed diagnosis.
package cloud
