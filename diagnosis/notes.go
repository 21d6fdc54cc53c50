package diagnosis

import "fmt"

// Corrections of common advice (DOMAIN.md §11), attached to the findings where they matter.

func noteIRSA(f *Facts) string {
	n := "IRSA or EKS Pod Identity on the pod's service account has no effect on image pulls: the kubelet pulls with the node's IAM role (on Fargate, the pod execution role)."
	if sa := f.ServiceAccount; sa != nil && sa.IRSARoleARN != "" {
		n = fmt.Sprintf("The service account %s has the IRSA role %s, but that role has no effect on image pulls: the kubelet pulls with the node's IAM role (on Fargate, the pod execution role).", sa.Name, sa.IRSARoleARN)
	}
	return n
}

const noteNetworkPolicy = "A Kubernetes NetworkPolicy cannot block an image pull: the node's container runtime pulls, not the pod. Look at routes, NAT, VPC endpoints, DNS and security groups instead."

const noteSGForPods = "Security groups for pods apply to pod network interfaces, not to the node's, so they do not affect pulls on EC2 nodes."

const noteFargateSG = "On Fargate the pull goes out through the pod's own network interface: its security groups (the cluster security group by default) must allow HTTPS (443) to the registry."

const noteNotFoundAmbiguous = "containerd reports a missing repository, a missing tag and an expired or archived tag all as `not found`: only the registry's API tells them apart."

const noteTokenExpiry = "ECR tokens do expire after 12 hours, but on EKS the kubelet's credential provider renews them on its own: rebooting nodes is not a fix. Only static ECR tokens stored in pull secrets go stale."

const noteEcrAPILooksLikeAuth = "If the node cannot reach the ecr.api endpoint (private subnet without NAT or an ecr.api VPC endpoint), the credential provider times out and the pull goes out anonymously: that looks exactly like an authentication error."

const noteKMSDecrypt = "Adding kms:Decrypt to the node role is not the documented fix: ECR decrypts under the grant it created for the repository. Check the key's state and that grant first."

// principal names who pulls the image for this pod.
func principal(f *Facts) string {
	n := f.Node
	switch {
	case n == nil:
		return "the node's IAM role"
	case n.Fargate && n.FargateProfile != "":
		return fmt.Sprintf("the pod execution role of Fargate profile %s", n.FargateProfile)
	case n.Fargate:
		return "the Fargate pod execution role"
	case n.InstanceID != "":
		return fmt.Sprintf("the IAM role of instance %s (node %s)", n.InstanceID, n.Name)
	}
	return fmt.Sprintf("the IAM role of node %s", n.Name)
}
