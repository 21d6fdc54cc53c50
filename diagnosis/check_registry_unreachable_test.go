package diagnosis

import "testing"

func TestCheckUnreachable(t *testing.T) {
	const east = "111122223333.dkr.ecr.us-east-1.amazonaws.com/payments/api:1.8.2"
	const typo = "111122223333.dkr.ecr.us-west-2.amazonaws.co/payments/api:1.8.2"
	dns := func(image string) string {
		host := ParseImage(image).Domain
		return resolveErr(image, `failed to do request: Head "`+headURL(image)+`": dial tcp: lookup `+host+` on 10.0.0.2:53: no such host`)
	}
	layerTimeout := layerErr(ecrImage, `failed to do request: Get "`+layerURL+`": dial tcp 52.218.1.1:443: i/o timeout`)
	runCheckCases(t, checkUnreachable, []checkCase{
		{
			name:  "ECR timeout from a private subnet",
			facts: newFacts(pullFailed("api", timeoutErr(ecrImage, "52.94.1.10"))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says: []string{"Node " + tNode + " timed out connecting to 111122223333.dkr.ecr.us-west-2.amazonaws.com"},
			fixes: []string{
				"read VPC SUBNET < <(aws ec2 describe-instances --region us-west-2 --instance-ids i-0abc1234def567890",
				`aws ec2 describe-route-tables --region us-west-2 --filters Name=association.subnet-id,Values="$SUBNET"`,
				"--service-name com.amazonaws.us-west-2.ecr.api",
				"--service-name com.amazonaws.us-west-2.ecr.dkr",
				"--service-name com.amazonaws.us-west-2.s3",
				"kubectl get pods -A --field-selector spec.nodeName=" + tNode,
			},
			// A NetworkPolicy in the namespace is a common suspect; it cannot block a pull (DOMAIN §11.2).
			notes:   []string{"NetworkPolicy cannot block an image pull", "Security groups for pods"},
			restart: true,
		},
		{
			name:  "S3 layer bucket timeout",
			facts: newFacts(pullFailed("api", layerTimeout)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"S3 gateway endpoint", "prod-us-west-2-starport-layer-bucket"},
			restart: true,
		},
		{
			name:  "typo in the ECR host",
			facts: newFacts(withImage("api", typo), pullFailed("api", dns(typo))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"111122223333.dkr.ecr.us-west-2.amazonaws.co does not resolve and is not a valid ECR host name"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		},
		{
			name:  "Fargate: the pod's security groups",
			facts: newFacts(onFargate, pullFailed("api", timeoutErr(ecrImage, "52.94.1.10"))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:     []string{"Node " + tFargate},
			notes:    []string{"On Fargate the pull goes out through the pod's own network interface"},
			notFixes: []string{"describe-instances"},
			restart:  true,
		},
		{
			name:  "image in another region",
			facts: newFacts(withImage("api", east), pullFailed("api", timeoutErr(east, "52.46.1.1"))),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"the image is in region us-east-1 but the node in us-west-2"},
			restart: true,
		},
		{
			name:  "registry 503",
			facts: newFacts(withImage("api", "quay.io/acme/app:3.1"), pullFailed("api", headStatusErr("quay.io/acme/app:3.1", "503 Service Unavailable"))),
			cause: CauseRegistryUnreachable, conf: Possible,
			says:    []string{"quay.io answered 503"},
			restart: true,
		},
		{
			name: "many nodes fail",
			facts: newFacts(pullFailed("api", timeoutErr(ecrImage, "52.94.1.10")), func(f *Facts) {
				f.Related = map[string]Related{ecrImage: {Scope: "cluster", SameImagePods: 3, Nodes: 4}}
			}),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"pods on 4 nodes fail to reach"},
			restart: true,
		},
		{
			name: "CRI-O RegistryUnavailable",
			facts: newFacts(withImage("api", "harbor.internal/team/app:3.1"),
				waiting("api", ReasonRegistryUnavailable, `image pull failed for harbor.internal/team/app:3.1 because the registry is unavailable: pinging container registry harbor.internal: Get "https://harbor.internal/v2/": dial tcp 10.1.2.3:443: connect: connection refused`)),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"was refused by harbor.internal"},
			restart: true,
		},
		{name: "401", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized"))), wantNil: true},
	})
}
