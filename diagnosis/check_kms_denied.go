package diagnosis

import "fmt"

// checkKMS: the repository's KMS key is disabled, pending deletion, or ECR's grant was revoked.
func checkKMS(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigKMS {
		return nil
	}
	if ev := f.ECR(c); ev != nil && ev.EncryptionType == "KMS" && ev.KMSKeyState != "" {
		return kmsVerdict(f, c, ev)
	}
	v := &Verdict{Cause: CauseKMSDenied, Confidence: Likely,
		Summary:      fmt.Sprintf("Layers of %s cannot be decrypted: the repository's KMS key is disabled, scheduled for deletion, or ECR's grant on it was revoked.", c.Image.Raw),
		Notes:        []string{noteKMSDecrypt},
		RestartHelps: RestartAdvice{Helps: true, Reason: "once the key is usable again, a new pod pulls at once"}}
	if c.Image.IsECR() {
		v.Fixes = append(v.Fixes, Fix{Title: "Find the repository's key and its state", Commands: []string{
			fmt.Sprintf("KEY=$(aws ecr describe-repositories --region %s --registry-id %s --repository-names %s --query 'repositories[0].encryptionConfiguration.kmsKey' --output text)", c.Image.Region, c.Image.Account, c.Image.Path),
			fmt.Sprintf(`aws kms describe-key --region %s --key-id "$KEY" --query 'KeyMetadata.[KeyState,DeletionDate]' --output text`, c.Image.Region),
		}}, Fix{Title: "Re-enable the key (cancel a scheduled deletion first)", Commands: []string{
			fmt.Sprintf(`aws kms cancel-key-deletion --region %s --key-id "$KEY"`, c.Image.Region),
			fmt.Sprintf(`aws kms enable-key --region %s --key-id "$KEY"`, c.Image.Region),
		}})
	}
	return v
}

// kmsVerdict is the verdict when ECR's evidence shows the repository's KMS key: confirmed
// when the key is not usable, with the commands on that very key.
func kmsVerdict(f *Facts, c *Container, ev *ECRImageEvidence) *Verdict {
	region := c.Image.Region
	v := &Verdict{Cause: CauseKMSDenied, Confidence: Likely,
		Evidence:     []string{fmt.Sprintf("ecr:DescribeRepositories: %s is encrypted with KMS key %s; kms:DescribeKey: %s", c.Image.Path, ev.KMSKey, ev.KMSKeyState)},
		Notes:        []string{noteKMSDecrypt},
		RestartHelps: RestartAdvice{Helps: true, Reason: "once the key is usable again, a new pod pulls at once"}}
	switch ev.KMSKeyState {
	case "Enabled":
		v.Summary = fmt.Sprintf("The KMS key %s of %s is enabled: if layers still cannot be decrypted, ECR's grant on the key was revoked; a new repository gets new grants.", ev.KMSKey, c.Image.Path)
		v.Fixes = []Fix{{Title: "List the key's grants (ECR's grant names the repository)", Commands: []string{
			fmt.Sprintf("aws kms list-grants --region %s --key-id %s --query 'Grants[].[GranteePrincipal,Operations]' --output text", region, ev.KMSKey)}}}
	case "PendingDeletion":
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The KMS key %s that encrypts %s is scheduled for deletion, so ECR cannot decrypt its layers.", ev.KMSKey, c.Image.Path)
		v.Fixes = []Fix{{Title: "Cancel the deletion and enable the key", Commands: []string{
			fmt.Sprintf("aws kms cancel-key-deletion --region %s --key-id %s", region, ev.KMSKey),
			fmt.Sprintf("aws kms enable-key --region %s --key-id %s", region, ev.KMSKey)}}}
	case "PendingImport":
		// enable-key cannot help a key without key material; only the same material decrypts.
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The KMS key %s that encrypts %s has no key material (PendingImport: imported material was deleted or expired), so ECR cannot decrypt its layers until the same material is imported again.", ev.KMSKey, c.Image.Path)
		// The wrapping key and the import token must come from the same call.
		v.Fixes = []Fix{{Title: "Import the key's original key material (PlaintextKeyMaterial.bin) again: other material cannot decrypt what it encrypted", Commands: []string{
			fmt.Sprintf("aws kms get-parameters-for-import --region %s --key-id %s --wrapping-algorithm RSAES_OAEP_SHA_256 --wrapping-key-spec RSA_2048 --output json > import-parameters.json", region, ev.KMSKey),
			"jq -r .PublicKey import-parameters.json | base64 -d > WrappingPublicKey.bin",
			"jq -r .ImportToken import-parameters.json | base64 -d > ImportToken.bin",
			"openssl pkeyutl -encrypt -in PlaintextKeyMaterial.bin -out EncryptedKeyMaterial.bin -inkey WrappingPublicKey.bin -keyform DER -pubin -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256",
			fmt.Sprintf("aws kms import-key-material --region %s --key-id %s --encrypted-key-material fileb://EncryptedKeyMaterial.bin --import-token fileb://ImportToken.bin --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE", region, ev.KMSKey)}}}
	case "Unavailable":
		// A key in a custom key store whose store is disconnected; enable-key does not apply.
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The KMS key %s that encrypts %s is Unavailable: its custom key store is disconnected, so ECR cannot decrypt its layers.", ev.KMSKey, c.Image.Path)
		v.Fixes = []Fix{{Title: "Reconnect the key's custom key store", Commands: []string{
			fmt.Sprintf("aws kms connect-custom-key-store --region %s --custom-key-store-id \"$(aws kms describe-key --region %s --key-id %s --query KeyMetadata.CustomKeyStoreId --output text)\"", region, region, ev.KMSKey)}}}
	default:
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The KMS key %s that encrypts %s is %s, so ECR cannot decrypt its layers.", ev.KMSKey, c.Image.Path, ev.KMSKeyState)
		v.Fixes = []Fix{{Title: "Enable the key", Commands: []string{fmt.Sprintf("aws kms enable-key --region %s --key-id %s", region, ev.KMSKey)}}}
	}
	v.Verify = fmt.Sprintf("aws kms describe-key --region %s --key-id %s --query KeyMetadata.KeyState --output text", region, ev.KMSKey)
	return v
}
