package diagnosis

import (
	"strings"
	"testing"
)

func TestCheckKMS(t *testing.T) {
	// S3 KMS AccessDenied body on the layer URL (JetBrains/space-issues-import#13, DOMAIN C11 [inferred]).
	kms := func(image, url string) string {
		return layerErr(image, "unexpected status code "+url+": 403 Forbidden - Server message: AccessDenied: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.")
	}
	const china = "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2"
	chinaURL := strings.ReplaceAll(strings.Replace(layerURL, "amazonaws.com", "amazonaws.com.cn", 1), "us-west-2", "cn-north-1")
	runCheckCases(t, checkKMS, []checkCase{
		{
			name:  "key disabled",
			facts: newFacts(pullFailed("api", kms(ecrImage, layerURL))),
			cause: CauseKMSDenied, conf: Likely,
			says: []string{ecrImage, "KMS key"},
			fixes: []string{
				"KEY=$(aws ecr describe-repositories --region us-west-2 --registry-id 111122223333 --repository-names payments/api",
				`aws kms describe-key --region us-west-2 --key-id "$KEY"`,
				`aws kms cancel-key-deletion --region us-west-2 --key-id "$KEY"`,
				`aws kms enable-key --region us-west-2 --key-id "$KEY"`,
			},
			notes:   []string{"kms:Decrypt to the node role is not the documented fix"},
			restart: true,
		},
		{
			name:  "China partition",
			facts: newFacts(withImage("api", china), withNodeRegion("cn-north-1"), pullFailed("api", kms(china, chinaURL))),
			cause: CauseKMSDenied, conf: Likely,
			fixes:   []string{"--region cn-north-1 --registry-id 111122223333 --repository-names payments/api"},
			restart: true,
		},
		{name: "plain layer 403 belongs to endpoint-policy-denied", facts: newFacts(pullFailed("api", layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden"))), wantNil: true},
	})
}
