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

// TestCheckKMSEvidence: with the repository's key state known, the verdict names the key and
// the command that makes it usable again, on that very key ARN (DOMAIN C11).
func TestCheckKMSEvidence(t *testing.T) {
	kms := layerErr(ecrImage, "unexpected status code "+layerURL+": 403 Forbidden - Server message: AccessDenied: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.")
	keyIn := func(state string) *Facts {
		return newFacts(pullFailed("api", kms), withECR(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, EncryptionType: "KMS", KMSKey: tKMSKey, KMSKeyState: state}))
	}
	runCheckCases(t, checkKMS, []checkCase{
		{
			// The key is fine: ECR's grant is the suspect; a new repository gets new grants.
			name:  "key enabled: the grant",
			facts: keyIn("Enabled"),
			cause: CauseKMSDenied, conf: Likely,
			says:     []string{"The KMS key " + tKMSKey + " of payments/api is enabled", "ECR's grant on the key was revoked", "kms:DescribeKey: Enabled"},
			firstFix: "aws kms list-grants --region us-west-2 --key-id " + tKMSKey,
			notFixes: []string{"enable-key", "$KEY"},
			restart:  true,
		},
		{
			name:  "key pending deletion",
			facts: keyIn("PendingDeletion"),
			cause: CauseKMSDenied, conf: Confirmed,
			says:     []string{"The KMS key " + tKMSKey + " that encrypts payments/api is scheduled for deletion"},
			firstFix: "aws kms cancel-key-deletion --region us-west-2 --key-id " + tKMSKey,
			fixes:    []string{"aws kms enable-key --region us-west-2 --key-id " + tKMSKey},
			notFixes: []string{"$KEY"},
			verify:   []string{"aws kms describe-key --region us-west-2 --key-id " + tKMSKey},
			restart:  true,
		},
		{
			name:  "key disabled",
			facts: keyIn("Disabled"),
			cause: CauseKMSDenied, conf: Confirmed,
			says:     []string{"is Disabled"},
			firstFix: "aws kms enable-key --region us-west-2 --key-id " + tKMSKey,
			notFixes: []string{"cancel-key-deletion"},
			restart:  true,
		},
		{
			// enable-key cannot give a key its material back.
			name:  "imported key material deleted",
			facts: keyIn("PendingImport"),
			cause: CauseKMSDenied, conf: Confirmed,
			says:     []string{"has no key material (PendingImport"},
			firstFix: "aws kms get-parameters-for-import --region us-west-2 --key-id " + tKMSKey,
			fixes: []string{"--output json > import-parameters.json", "jq -r .ImportToken import-parameters.json | base64 -d > ImportToken.bin",
				"-out EncryptedKeyMaterial.bin -inkey WrappingPublicKey.bin", "aws kms import-key-material --region us-west-2 --key-id " + tKMSKey + " --encrypted-key-material fileb://EncryptedKeyMaterial.bin --import-token fileb://ImportToken.bin"},
			notFixes: []string{"enable-key"},
			restart:  true,
		},
		{
			name:  "custom key store disconnected",
			facts: keyIn("Unavailable"),
			cause: CauseKMSDenied, conf: Confirmed,
			says:     []string{"is Unavailable: its custom key store is disconnected"},
			firstFix: `aws kms connect-custom-key-store --region us-west-2 --custom-key-store-id "$(aws kms describe-key --region us-west-2 --key-id ` + tKMSKey + ` --query KeyMetadata.CustomKeyStoreId --output text)"`,
			notFixes: []string{"enable-key"},
			restart:  true,
		},
		{
			// AES256 repositories have no customer key: the generic lookup stays.
			name:  "repository not KMS-encrypted",
			facts: newFacts(pullFailed("api", kms), withECR(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, EncryptionType: "AES256"})),
			cause: CauseKMSDenied, conf: Likely,
			fixes:   []string{`KEY=$(aws ecr describe-repositories --region us-west-2`},
			restart: true,
		},
		{
			name:  "key state not read",
			facts: newFacts(pullFailed("api", kms), withECR(ecrImage, ECRImageEvidence{RepositoryExists: Yes, EncryptionType: "KMS", KMSKey: tKMSKey})),
			cause: CauseKMSDenied, conf: Likely,
			fixes:   []string{`aws kms describe-key --region us-west-2 --key-id "$KEY"`},
			restart: true,
		},
	})
}
