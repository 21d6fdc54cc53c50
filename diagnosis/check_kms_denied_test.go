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
	// grant is an enabled key whose grants were read: ECR's grant for the repository is there or not.
	grant := func(image string, present Tri, mods ...func(*Facts)) *Facts {
		ev := ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, EncryptionType: "KMS", KMSKey: tKMSKey, KMSKeyState: "Enabled", KMSGrant: present, KMSGrants: 2}
		if present == Yes {
			ev.KMSGrantID = "0c1d2e3f"
		}
		msg := layerErr(image, "unexpected status code "+layerURL+": 403 Forbidden - Server message: AccessDenied: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.")
		return newFacts(append([]func(*Facts){withImage("api", image), pullFailed("api", msg), withECR(image, ev)}, mods...)...)
	}
	const byDigest = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"
	runCheckCases(t, checkKMS, []checkCase{
		{
			// DOMAIN C11: the key is enabled and kms:ListGrants shows no grant to ECR for the
			// repository: the grant was revoked. It cannot be restored; a new repository gets one.
			name:  "key enabled, ECR's grant revoked",
			facts: grant(ecrImage, No),
			cause: CauseKMSDenied, conf: Confirmed,
			says: []string{"ECR's grant on the KMS key " + tKMSKey + " was revoked: the key is enabled, but none of its grants lets ECR decrypt for payments/api",
				"kms:ListGrants on " + tKMSKey + ": 2 grants, none to ECR for " + tRepoARN, "kms:DescribeKey: Enabled"},
			firstFix: "aws ecr create-repository --region us-west-2 --registry-id 111122223333 --repository-name payments/api-2 --encryption-configuration encryptionType=KMS,kmsKey=" + tKMSKey,
			fixes: []string{
				"aws ecr get-login-password --region us-west-2 | docker login --username AWS --password-stdin 111122223333.dkr.ecr.us-west-2.amazonaws.com",
				"docker tag 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api-2:1.8.2",
				"docker push 111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api-2:1.8.2",
				"kubectl -n payments set image deployment/payments-api api=111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api-2:1.8.2",
			},
			notFixes: []string{"enable-key", "create-grant", "$KEY", "list-grants"},
			verify:   []string{"aws kms list-grants --region us-west-2 --key-id " + tKMSKey + " --query 'Grants[].Constraints.EncryptionContextSubset' --output text"},
			notes:    []string{"kms:Decrypt to the node role is not the documented fix"},
		},
		{
			// A digest reference keeps its digest: the same image pushed again has the same one.
			name:  "key enabled, ECR's grant revoked, image by digest",
			facts: grant(byDigest, No, func(f *Facts) { f.Cloud.Images[byDigest].ECR.KMSGrants = 1 }),
			cause: CauseKMSDenied, conf: Confirmed,
			says:     []string{"kms:ListGrants on " + tKMSKey + ": 1 grant, not to ECR for " + tRepoARN},
			firstFix: "--repository-name payments/api-2 --encryption-configuration encryptionType=KMS,kmsKey=" + tKMSKey,
			fixes:    []string{"set image deployment/payments-api api=111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api-2@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"},
			notFixes: []string{"docker tag"},
		},
		{
			// The key and the grant are fine: only a Deny in the key policy is left to look at.
			name:  "key enabled, ECR's grant in place",
			facts: grant(ecrImage, Yes),
			cause: CauseKMSDenied, conf: Possible,
			says:     []string{"is enabled and ECR's grant on it for the repository is in place", "kms:ListGrants: grant 0c1d2e3f lets ECR decrypt for " + tRepoARN},
			firstFix: "aws kms get-key-policy --region us-west-2 --key-id " + tKMSKey + " --policy-name default --query Policy --output text",
			notFixes: []string{"create-repository", "enable-key"},
			restart:  true,
		},
		{
			// The grants were not read (kms:ListGrants refused): ECR's grant is the suspect, and
			// the fix lists the grants.
			name:  "key enabled, grants not read",
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
