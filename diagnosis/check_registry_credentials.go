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
	if settled := credentialsEvidence(f, c, x, v); settled != nil {
		return settled
	}
	// Once IAM's simulation has answered for the pulling role, the generic "look the role up
	// and attach the policy" fixes are either already given with the real role name or
	// contradicted by the evidence.
	roleKnown := false
	if p := f.Principal(); p != nil && p.RoleName != "" && len(p.Decisions) > 0 {
		roleKnown = true
	}
	if f.Node != nil && f.Node.Fargate {
		if fix, ok := fargateRoleFix(f, x); ok && !roleKnown {
			v.Fixes = append(v.Fixes, fix)
		}
		return v
	}
	if disc := x.nodeRoleDiscovery(); disc != nil {
		if !roleKnown {
			v.Fixes = append(v.Fixes, Fix{Title: "Give the node role ECR pull permissions (AmazonEC2ContainerRegistryPullOnly)", Commands: append(disc,
				fmt.Sprintf(`aws iam attach-role-policy --role-name "$NODE_ROLE" --policy-arn %s`, x.policyARN("AmazonEC2ContainerRegistryPullOnly")))})
			v.Verify = fmt.Sprintf(`aws iam simulate-principal-policy --policy-source-arn "$(aws iam get-role --role-name "$NODE_ROLE" --query Role.Arn --output text)" --action-names ecr:GetAuthorizationToken ecr:BatchGetImage ecr:GetDownloadUrlForLayer --resource-arns %s --query 'EvaluationResults[].[EvalActionName,EvalDecision]' --output text`, c.Image.RepositoryARN())
		}
		if servicePath(f, c.Image.Region, "ecr.api").reachable == Unknown {
			v.Fixes = append(v.Fixes, Fix{Title: "Check that the node's subnet reaches ecr.api (an interface endpoint, or a NAT route)", Commands: []string{
				fmt.Sprintf("VPC=$(aws ec2 describe-instances --region %s --instance-ids %s --query 'Reservations[0].Instances[0].VpcId' --output text)", f.Node.Region, f.Node.InstanceID),
				fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --filters Name=vpc-id,Values="$VPC" Name=service-name,Values=%s,%s --query 'VpcEndpoints[].[ServiceName,State,PrivateDnsEnabled]' --output text`, f.Node.Region, endpointService(f.Node.Region, "ecr.api"), endpointService(f.Node.Region, "ecr.dkr")),
			}})
		}
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

// credentialsEvidence weighs the cloud evidence for a missing ECR credential. It returns a
// different verdict when the evidence points elsewhere (the ecr.api path, an endpoint policy),
// or refines v in place and returns nil.
func credentialsEvidence(f *Facts, c *Container, x cmdContext, v *Verdict) *Verdict {
	p := f.Principal()
	api := servicePath(f, c.Image.Region, "ecr.api")
	if api.reachable == No {
		w := &Verdict{Cause: CauseRegistryUnreachable, Confidence: Confirmed,
			Summary: fmt.Sprintf("This looks like an authentication error but is a network one: %s cannot reach ecr.api in %s, so the kubelet's credential provider got no token and the pull went out without credentials.",
				x.nodeLabel(), c.Image.Region),
			Evidence:     append(v.Evidence, api.why),
			Notes:        []string{noteEcrAPILooksLikeAuth, noteNetworkPolicy, noteIRSA(f)},
			RestartHelps: RestartAdvice{Helps: true, Reason: "once the node reaches ecr.api, a new pod gets a token and pulls at once instead of waiting out the back-off"},
			Alternatives: []Cause{CauseRegistryCredentials},
		}
		if api.fix != nil {
			w.Fixes = append(w.Fixes, *api.fix)
		}
		w.Verify = api.verify
		return w
	}
	if ep := api.endpoint; ep != nil && ep.PolicyDenies != "" { // only an endpoint in use applies its policy
		return &Verdict{Cause: CauseEndpointPolicyDenied, Confidence: Confirmed,
			Summary:      fmt.Sprintf("The policy of VPC endpoint %s (ecr.api) does not allow %s for %s, so the credential provider gets no token.", ep.ID, ep.PolicyDenies, principal(f)),
			Evidence:     append(v.Evidence, fmt.Sprintf("endpoint %s's policy refuses %s", ep.ID, ep.PolicyDenies)),
			Fixes:        []Fix{endpointPolicyFix(f, ep)},
			RestartHelps: RestartAdvice{Helps: true, Reason: "once the endpoint policy allows the call, a new pod gets a token at once"},
		}
	}
	if api.why != "" {
		v.Evidence = append(v.Evidence, api.why)
	}
	if p == nil {
		return nil
	}
	if p.IMDSEnabled == No && f.Node != nil && f.Node.InstanceID != "" {
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("Instance metadata (IMDS) is turned off on %s, so the kubelet's credential provider finds no credentials for ECR and pulls anonymously.", f.Node.InstanceID)
		v.Evidence = append(v.Evidence, fmt.Sprintf("ec2:DescribeInstances: %s has MetadataOptions.HttpEndpoint disabled", f.Node.InstanceID))
		v.Fixes = append([]Fix{{Title: "Turn instance metadata back on (hop limit 1 is enough for the kubelet); change the launch template too", Commands: []string{
			fmt.Sprintf("aws ec2 modify-instance-metadata-options --region %s --instance-id %s --http-endpoint enabled --http-tokens required --http-put-response-hop-limit 1", f.Node.Region, f.Node.InstanceID)}}}, v.Fixes...)
		return nil
	}
	if denied := deniedActions(f, "ecr:GetAuthorizationToken"); len(denied) > 0 {
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The role %s that pulls for %s may not call ecr:GetAuthorizationToken, so the kubelet gets no ECR token and pulls without credentials.", p.RoleName, x.nodeLabel())
		v.Evidence = append(v.Evidence, fmt.Sprintf("iam:SimulatePrincipalPolicy for %s: ecr:GetAuthorizationToken %s; attached policies: %s", p.RoleARN, p.Decisions["ecr:GetAuthorizationToken"], orNone(strings.Join(p.AttachedPolicies, ", "))))
		v.Alternatives = nil
		v.Fixes = append([]Fix{attachPullPolicy(f, x)}, dropNodeRoleDiscovery(v.Fixes)...)
		v.Verify = simulateCommand(f, c)
		return nil
	}
	if allowedActions(f, "ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer") {
		v.Evidence = append(v.Evidence, fmt.Sprintf("iam:SimulatePrincipalPolicy for %s allows ecr:GetAuthorizationToken, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on %s", p.RoleARN, c.Image.RepositoryARN()))
		if api.reachable == Yes {
			v.Summary += " The role's permissions and the path to ecr.api both look right: look at the node's credential provider configuration (a custom image host, a KEP-4412 service-account token setup) and at static ECR tokens in pull secrets."
		}
	}
	return nil
}

// attachPullPolicy attaches AmazonEC2ContainerRegistryPullOnly (Fargate: the pod execution
// policy) to the pulling role, named directly when the evidence knows it.
func attachPullPolicy(f *Facts, x cmdContext) Fix {
	p := f.Principal()
	policy := "AmazonEC2ContainerRegistryPullOnly"
	if p.Kind == "fargate-execution-role" {
		policy = "AmazonEKSFargatePodExecutionRolePolicy"
	}
	return Fix{Title: fmt.Sprintf("Give %s ECR pull permissions (%s)", p.RoleName, policy), Commands: []string{
		fmt.Sprintf("aws iam attach-role-policy --role-name %s --policy-arn %s", p.RoleName, x.policyARN(policy))}}
}

// simulateCommand shows what IAM allows the pulling role on the repository.
func simulateCommand(f *Facts, c *Container) string {
	p := f.Principal()
	return fmt.Sprintf("aws iam simulate-principal-policy --policy-source-arn %s --action-names ecr:GetAuthorizationToken ecr:BatchGetImage ecr:GetDownloadUrlForLayer --resource-arns %s --query 'EvaluationResults[].[EvalActionName,EvalDecision]' --output text", p.RoleARN, c.Image.RepositoryARN())
}

// dropNodeRoleDiscovery removes the fixes that look the pulling role up (the node's instance
// profile, or a Fargate profile's execution role) and attach a policy to it, once it is known.
func dropNodeRoleDiscovery(fixes []Fix) []Fix {
	var out []Fix
	for _, fx := range fixes {
		if len(fx.Commands) > 0 && (strings.HasPrefix(fx.Commands[0], "PROFILE=$(") || strings.HasPrefix(fx.Commands[0], "ROLE_ARN=$(aws eks describe-fargate-profile ")) {
			continue
		}
		out = append(out, fx)
	}
	return out
}

// endpointPolicyFix shows the endpoint's policy and how to replace it with one that allows
// the pull (merged by the user with what must stay).
func endpointPolicyFix(f *Facts, ep *VPCEndpoint) Fix {
	region := f.Node.Region
	return Fix{Title: fmt.Sprintf("Read endpoint %s's policy; if nothing in it must stay, reset it to the default (full access), otherwise add a statement allowing the pull", ep.ID), Commands: []string{
		fmt.Sprintf("aws ec2 describe-vpc-endpoints --region %s --vpc-endpoint-ids %s --query 'VpcEndpoints[0].PolicyDocument' --output text", region, ep.ID),
		fmt.Sprintf(`aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id %s --reset-policy`, region, ep.ID),
	}}
}
