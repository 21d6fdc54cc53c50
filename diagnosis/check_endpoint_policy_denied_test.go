package diagnosis

import "testing"

func TestCheckLayerDenied(t *testing.T) {
	layer403 := layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden")
	blob403 := layerErr(ecrImage, "unexpected status code https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/payments/api/blobs/sha256:9f8e7d6c: 403 Forbidden")
	runCheckCases(t, checkLayerDenied, []checkCase{
		{
			name:  "403 on the starport layer bucket",
			facts: newFacts(pullFailed("api", layer403)),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			says: []string{"prod-us-west-2-starport-layer-bucket.s3.us-west-2.amazonaws.com"},
			fixes: []string{
				"VPC=$(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890",
				"Name=service-name,Values=com.amazonaws.us-west-2.s3",
				"arn:aws:s3:::prod-us-west-2-starport-layer-bucket/*",
				"aws ec2 modify-vpc-endpoint --region us-west-2",
			},
			notes:   []string{"NetworkPolicy cannot block an image pull"},
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{
			name:  "403 on an ECR blob redirect (not the bucket itself)",
			facts: newFacts(pullFailed("api", blob403)),
			cause: CauseEndpointPolicyDenied, conf: Possible,
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{
			// Without an instance the node's VPC is unknown: no command may use $VPC.
			name:  "Fargate node",
			facts: newFacts(onFargate, pullFailed("api", layer403)),
			cause: CauseEndpointPolicyDenied, conf: Likely,
			fixes:   []string{"Name=service-name,Values=com.amazonaws.us-west-2.s3"},
			alts:    []Cause{CauseKMSDenied, CauseAccessDenied},
			restart: true,
		},
		{name: "manifest 403 belongs to access-denied", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))), wantNil: true},
		{name: "layer timeout belongs to registry-unreachable", facts: newFacts(pullFailed("api", layerErr(ecrImage, `failed to do request: Get "`+layerURL+`": dial tcp 52.218.1.1:443: i/o timeout`))), wantNil: true},
	})
}
