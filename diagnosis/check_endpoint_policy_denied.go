package diagnosis

import (
	"fmt"
	"strings"
)

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
			fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --filters Name=vpc-id,Values="$VPC" Name=service-name,Values=%s --query 'VpcEndpoints[].[VpcEndpointId,PolicyDocument]' --output text`, region, endpointService(region, "s3")),
		}})
	} else if region != "" {
		// No EC2 instance (Fargate, or the instance is unknown): the VPC cannot be looked up,
		// so list the region's S3 endpoints with their VPCs.
		v.Fixes = append(v.Fixes, Fix{Title: fmt.Sprintf("Show the S3 endpoint policies in %s (pick the endpoint of the pod's VPC)", region), Commands: []string{
			fmt.Sprintf(`aws ec2 describe-vpc-endpoints --region %s --filters Name=service-name,Values=%s --query 'VpcEndpoints[].[VpcEndpointId,VpcId,PolicyDocument]' --output text`, region, endpointService(region, "s3")),
		}})
	}
	if disc != nil && region != "" { // the commands below need $VPC from the first fix
		v.Fixes = append(v.Fixes, layerPolicyFix(c.Image, region, fmt.Sprintf(`"$(aws ec2 describe-vpc-endpoints --region %s --filters Name=vpc-id,Values="$VPC" Name=service-name,Values=%s --query 'VpcEndpoints[0].VpcEndpointId' --output text)"`, region, endpointService(region, "s3"))))
	}
	if settled := layerEvidence(f, c, x, v); settled != nil {
		return settled
	}
	return v
}

// layerPolicyFix merges an Allow for ECR's layer bucket into the S3 endpoint's policy. The
// bucket ARN is in the image's partition (arn:aws-cn:s3::: in China).
func layerPolicyFix(img ImageRef, region, endpointArg string) Fix {
	partition := img.Partition
	switch {
	case partition != "":
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	default:
		partition = "aws"
	}
	bucket := "arn:" + partition + ":s3:::prod-" + region + "-starport-layer-bucket/*"
	return Fix{Title: fmt.Sprintf("Allow s3:GetObject on %s in the S3 endpoint's policy, merged with the statements already there", bucket), Commands: []string{
		fmt.Sprintf("aws ec2 describe-vpc-endpoints --region %s --vpc-endpoint-ids %s --query 'VpcEndpoints[0].PolicyDocument' --output text > current.json", region, endpointArg),
		fmt.Sprintf(`jq '.Statement += [{"Sid":"AllowEcrLayers","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"%s"}]' current.json > new.json`, bucket),
		fmt.Sprintf("aws ec2 modify-vpc-endpoint --region %s --vpc-endpoint-id %s --policy-document file://new.json", region, endpointArg),
	}}
}

// layerEvidence settles a layer 403 with the S3 endpoint policy, the repository's KMS key and
// IAM's simulation of ecr:GetDownloadUrlForLayer.
func layerEvidence(f *Facts, c *Container, x cmdContext, v *Verdict) *Verdict {
	// Only a gateway endpoint that carries the node's traffic (available, on the node subnet's
	// route table, in the bucket's region) applies its policy.
	if ep := servicePath(f, c.Image.Region, "s3").endpoint; ep != nil && ep.PolicyDenies != "" {
		v.Confidence = Confirmed
		v.Alternatives = nil
		v.Summary = fmt.Sprintf("The policy of S3 gateway endpoint %s on the node's route table %s does not allow %s, so the layers of %s cannot be downloaded.", ep.ID, f.Network().RouteTable, ep.PolicyDenies, c.Image.Raw)
		v.Evidence = append(v.Evidence, fmt.Sprintf("endpoint %s's policy refuses %s", ep.ID, ep.PolicyDenies))
		v.Fixes = []Fix{layerPolicyFix(c.Image, f.Node.Region, ep.ID)}
		return nil
	}
	if ev := f.ECR(c); ev != nil && ev.EncryptionType == "KMS" && ev.KMSKeyState != "" && ev.KMSKeyState != "Enabled" {
		return kmsVerdict(f, c, ev)
	}
	if p := f.Principal(); p != nil && len(deniedActions(f, "ecr:GetDownloadUrlForLayer")) > 0 {
		return &Verdict{Cause: CauseAccessDenied, Confidence: Confirmed,
			Summary:      fmt.Sprintf("The role %s may read the manifest of %s but not its layers: ecr:GetDownloadUrlForLayer is %s.", p.RoleName, c.Image.Raw, p.Decisions["ecr:GetDownloadUrlForLayer"]),
			Evidence:     append(v.Evidence, fmt.Sprintf("iam:SimulatePrincipalPolicy for %s on %s: ecr:GetDownloadUrlForLayer %s", p.RoleARN, c.Image.RepositoryARN(), p.Decisions["ecr:GetDownloadUrlForLayer"])),
			Fixes:        []Fix{attachPullPolicy(f, x)},
			Verify:       simulateCommand(f, c),
			Notes:        []string{noteIRSA(f)},
			RestartHelps: v.RestartHelps,
		}
	}
	return nil
}
