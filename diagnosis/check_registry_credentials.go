package diagnosis

import (
	"fmt"
	"strings"
)

// checkRegistryCredentials: an ECR pull presented no usable credential (`no basic auth
// credentials`, 401). On EKS the credential comes from the node's role through the kubelet's
// ecr-credential-provider, so the usual causes are the node role, the ecr.api path, or a stale
// static token in a pull secret.
func checkRegistryCredentials(f *Facts, c *Container) *Verdict {
	if !c.Image.IsECR() {
		return nil
	}
	switch c.Signal.Kind {
	case SigNoCredentials, SigUnauthorized, SigInsufficientScope:
	default:
		return nil
	}
	x := cmdContext{f, c}
	v := &Verdict{Cause: CauseRegistryCredentials, Confidence: Likely,
		Alternatives: []Cause{CauseRegistryUnreachable, CauseAccessDenied},
		Notes:        []string{noteIRSA(f), noteEcrAPILooksLikeAuth},
		RestartHelps: RestartAdvice{Helps: true, Reason: "IAM and network changes apply to the next pull; a new pod retries at once instead of waiting out the back-off"}}
	who := principal(f)
	if c.Signal.Kind == SigUnauthorized {
		v.Summary = fmt.Sprintf("ECR rejected the credential presented for %s (401): a stale or foreign token, typically an ECR token stored in a pull secret, or one issued for another region or partition.", c.Image.Raw)
	} else {
		v.Summary = fmt.Sprintf("No ECR credential was presented for %s: the kubelet's credential provider got no token for %s in %s.", c.Image.Raw, who, c.Image.Region)
	}
	for _, s := range f.PullSecrets {
		if !presented(s) {
			continue // the kubelet never presented it
		}
		for _, h := range s.Hosts {
			if isECRHostKey(h) {
				v.Evidence = append(v.Evidence, fmt.Sprintf("pull secret %s holds a static token for %s: ECR tokens expire after 12 hours", s.Name, h))
				v.Notes = append(v.Notes, noteTokenExpiry)
				if p := x.jsonPatch(`{"op":"remove","path":"{{spec}}/imagePullSecrets"}`); p != "" && len(f.Pod.Spec.ImagePullSecrets) == 1 && f.Pod.Spec.ImagePullSecrets[0].Name == s.Name {
					v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Stop using the static ECR token secret %s (the node role supplies ECR credentials)", s.Name), Commands: []string{p, x.restart()}})
				}
				if c.Signal.Kind == SigUnauthorized {
					v.Confidence = Confirmed
				}
				break
			}
		}
	}
	if sa := f.ServiceAccount; sa != nil && sa.ECRRoleARN != "" {
		v.Evidence = append(v.Evidence, fmt.Sprintf("service account %s has eks.amazonaws.com/ecr-role-arn %s: on nodes whose credential provider passes service-account tokens, that role pulls, and its trust policy must accept the cluster's OIDC issuer", sa.Name, sa.ECRRoleARN))
	}
	v.Evidence = append(v.Evidence, fmt.Sprintf("the image is in ECR account %s, region %s: %s pulls it", c.Image.Account, c.Image.Region, who))
	if f.Node != nil && f.Node.Fargate {
		if fix, ok := fargateRoleFix(f, x); ok {
			v.Fixes = append(v.Fixes, fix)
		}
		return v
	}
	if disc := x.nodeRoleDiscovery(); disc != nil {
		v.Fixes = append(v.Fixes, Fix{Title: "Give the node role ECR pull permissions (AmazonEC2ContainerRegistryPullOnly)", Commands: append(disc,
			fmt.Sprintf(`aws iam attach-role-policy --role-name "$NODE_ROLE" --policy-arn %s`, x.policyARN("AmazonEC2ContainerRegistryPullOnly")))})
		v.Fixes = append(v.Fixes, Fix{Title: "Check that the node's subnet reaches ecr.api (an interface endpoint, or a NAT route)", Commands: []string{
			fmt.Sprintf("VPC=$(aws ec2 describe-instances --region %s --instance-ids %s --query 'Reservations[0].Instances[0].VpcId' --output text)", f.Node.Region, f.Node.InstanceID),
			fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --filters Name=vpc-id,Values="$VPC" Name=service-name,Values=com.amazonaws.%s.ecr.api,com.amazonaws.%s.ecr.dkr --query 'VpcEndpoints[].[ServiceName,State,PrivateDnsEnabled]' --output text`, c.Image.Region, c.Image.Region, c.Image.Region),
		}})
		v.Verify = fmt.Sprintf(`aws iam simulate-principal-policy --policy-source-arn "$(aws iam get-role --role-name "$NODE_ROLE" --query Role.Arn --output text)" --action-names ecr:GetAuthorizationToken ecr:BatchGetImage ecr:GetDownloadUrlForLayer --resource-arns %s --query 'EvaluationResults[].[EvalActionName,EvalDecision]' --output text`, c.Image.RepositoryARN())
	}
	return v
}

// isECRHostKey reports whether a dockerconfig auths key names a private ECR registry.
func isECRHostKey(key string) bool {
	k := strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(key), "https://"), "http://")
	host, _, _ := strings.Cut(k, "/")
	return ecrPrivateHost.MatchString(host)
}

// fargateRoleFix attaches the Fargate pod execution policy to the profile's execution role.
// It needs the EKS cluster name (Facts.Cluster) and the profile name from the node label.
func fargateRoleFix(f *Facts, x cmdContext) (Fix, bool) {
	n := f.Node
	region := x.region()
	if f.Cluster == "" || n == nil || n.FargateProfile == "" || region == "" {
		return Fix{}, false
	}
	return Fix{Title: fmt.Sprintf("Give the pod execution role of Fargate profile %s ECR pull permissions", n.FargateProfile), Commands: []string{
		fmt.Sprintf("ROLE_ARN=$(aws eks describe-fargate-profile --region %s --cluster-name %s --fargate-profile-name %s --query fargateProfile.podExecutionRoleArn --output text)", region, f.Cluster, n.FargateProfile),
		fmt.Sprintf(`aws iam attach-role-policy --role-name "${ROLE_ARN##*/}" --policy-arn %s`, x.policyARN("AmazonEKSFargatePodExecutionRolePolicy")),
	}}, true
}
