package diagnosis

import "fmt"

// checkLayerDenied: the manifest resolved but the layer download from ECR's S3 bucket got 403:
// an S3 gateway endpoint policy (or a bucket allow-list) that does not allow ECR's layer bucket.
func checkLayerDenied(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigForbidden || !(c.Signal.LayerBucket || (c.Image.IsECR() && c.Signal.Stage == StageFetch)) {
		return nil
	}
	x := cmdContext{f, c}
	region := x.region()
	v := &Verdict{Cause: CauseEndpointPolicyDenied, Confidence: Likely,
		Summary:      fmt.Sprintf("The manifest of %s resolved, but downloading its layers from ECR's S3 bucket was denied (403): a VPC endpoint policy most likely does not allow the layer bucket.", c.Image.Raw),
		Alternatives: []Cause{CauseKMSDenied, CauseAccessDenied},
		Notes:        []string{noteNetworkPolicy},
		RestartHelps: RestartAdvice{Helps: true, Reason: "once the endpoint policy allows the layer bucket, a new pod pulls at once"}}
	if !c.Signal.LayerBucket {
		v.Confidence = Possible
	}
	if c.Signal.Host != "" {
		v.Evidence = append(v.Evidence, fmt.Sprintf("the 403 came from %s (ECR's layer storage), after the manifest was found", c.Signal.Host))
	}
	disc := x.nodeRoleDiscovery()
	if disc != nil && region != "" {
		n := f.Node
		v.Fixes = append(v.Fixes, Fix{Title: "Show the S3 endpoint policies in the node's VPC", Commands: []string{
			fmt.Sprintf("VPC=$(aws ec2 describe-instances --region %s --instance-ids %s --query 'Reservations[0].Instances[0].VpcId' --output text)", n.Region, n.InstanceID),
			fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --filters Name=vpc-id,Values="$VPC" Name=service-name,Values=com.amazonaws.%s.s3 --query 'VpcEndpoints[].[VpcEndpointId,PolicyDocument]' --output text`, region, region),
		}})
	} else if region != "" {
		// No EC2 instance (Fargate, or the instance is unknown): the VPC cannot be looked up,
		// so list the region's S3 endpoints with their VPCs.
		v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Show the S3 endpoint policies in %s (pick the endpoint of the pod's VPC)", region), Commands: []string{
			fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --filters Name=service-name,Values=com.amazonaws.%s.s3 --query 'VpcEndpoints[].[VpcEndpointId,VpcId,PolicyDocument]' --output text`, region, region),
		}})
	}
	if disc != nil && region != "" { // the command below needs $VPC from the first fix
		v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Allow s3:GetObject on arn:aws:s3:::prod-%s-starport-layer-bucket/* in that policy (merge it with the statements already there)", region), Commands: []string{
			fmt.Sprintf(`aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id "$(aws ec2 describe-vpc-endpoints --region %s --filters Name=vpc-id,Values="$VPC" Name=service-name,Values=com.amazonaws.%s.s3 --query 'VpcEndpoints[0].VpcEndpointId' --output text)" --policy-document file://s3-endpoint-policy.json`, region, region, region)}})
	}
	return v
}
