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
	switch {
	case ev.KMSKeyState == "Enabled" && ev.KMSGrant == No:
		return kmsGrantRevoked(f, c, ev, v)
	case ev.KMSKeyState == "Enabled" && ev.KMSGrant == Yes:
		// The key is usable and ECR holds its grant: what is left is a Deny in the key policy
		// (it overrides grants) or a key that is not the one the layers were encrypted with.
		v.Confidence = Possible
		v.Summary = fmt.Sprintf("The KMS key %s of %s is enabled and ECR's grant on it for the repository is in place, yet the layers cannot be decrypted: look for a statement in the key policy that denies kms:Decrypt, which overrides grants.", ev.KMSKey, c.Image.Path)
		v.Evidence = append(v.Evidence, fmt.Sprintf("kms:ListGrants: grant %s lets ECR decrypt for %s", ev.KMSGrantID, c.Image.RepositoryARN()))
		v.Fixes = []Fix{{Title: "Read the key policy: a Deny on kms:Decrypt (for ECR, or for everyone outside a condition) wins over ECR's grant", Commands: []string{
			fmt.Sprintf("aws kms get-key-policy --region %s --key-id %s --policy-name default --query Policy --output text", region, ev.KMSKey)}}}
	case ev.KMSKeyState == "Enabled":
		// The grants were not read (kms:ListGrants refused or failed: a Skip says so).
		v.Summary = fmt.Sprintf("The KMS key %s of %s is enabled: if layers still cannot be decrypted, ECR's grant on the key was revoked; a new repository gets new grants.", ev.KMSKey, c.Image.Path)
		v.Fixes = []Fix{{Title: "List the key's grants (ECR's grant names the repository)", Commands: []string{
			fmt.Sprintf("aws kms list-grants --region %s --key-id %s --query 'Grants[].[GranteePrincipal,Operations]' --output text", region, ev.KMSKey)}}}
	case ev.KMSKeyState == "PendingDeletion":
		v.Confidence = Confirmed
		v.Summary = fmt.Sprintf("The KMS key %s that encrypts %s is scheduled for deletion, so ECR cannot decrypt its layers.", ev.KMSKey, c.Image.Path)
		v.Fixes = []Fix{{Title: "Cancel the deletion and enable the key", Commands: []string{
			fmt.Sprintf("aws kms cancel-key-deletion --region %s --key-id %s", region, ev.KMSKey),
			fmt.Sprintf("aws kms enable-key --region %s --key-id %s", region, ev.KMSKey)}}}
	case ev.KMSKeyState == "PendingImport":
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
	case ev.KMSKeyState == "Unavailable":
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

// kmsGrantRevoked is the verdict when the repository's key is enabled but has no grant that
// lets ECR decrypt for the repository: ECR's grant was revoked (or retired). ECR makes the
// grant when it creates the repository, and the ECR guide describes no way to restore it (a
// grant to ECR's service principal is ECR's to make): a new repository with the same key gets
// a new one, and its images must be pushed again from their source, since ECR cannot decrypt
// the old layers to copy them (DOMAIN C11).
func kmsGrantRevoked(f *Facts, c *Container, ev *ECRImageEvidence, v *Verdict) *Verdict {
	x := cmdContext{f, c}
	img, region := c.Image, c.Image.Region
	v.Confidence = Confirmed
	v.Summary = fmt.Sprintf("ECR's grant on the KMS key %s was revoked: the key is enabled, but none of its grants lets ECR decrypt for %s, so ECR cannot decrypt its layers. A revoked grant cannot be restored; a new repository with the key gets a new one.", ev.KMSKey, img.Path)
	grants := "no grants"
	switch {
	case ev.KMSGrants == 1:
		grants = "1 grant, not to ECR"
	case ev.KMSGrants > 1:
		grants = fmt.Sprintf("%d grants, none to ECR", ev.KMSGrants)
	}
	v.Evidence = append(v.Evidence, fmt.Sprintf("kms:ListGrants on %s: %s for %s", ev.KMSKey, grants, img.RepositoryARN()))
	newPath := img.Path + "-2"
	newRef := img.Domain + "/" + newPath
	if img.Tag != "" {
		newRef += ":" + img.Tag
	} else {
		newRef += "@" + img.Digest
	}
	v.Fixes = []Fix{{Title: fmt.Sprintf("Create a new repository encrypted with the same key, %s (or a name of your choice): ECR makes its grant on the key as it creates it", newPath), Commands: []string{
		fmt.Sprintf("aws ecr create-repository --region %s --registry-id %s --repository-name %s --encryption-configuration encryptionType=KMS,kmsKey=%s", region, img.Account, newPath, ev.KMSKey)}}}
	push := Fix{Title: fmt.Sprintf("Push the image to %s again from its source (ECR cannot decrypt the layers in %s to copy them), and point the workload at it", newPath, img.Path)}
	if img.Tag != "" {
		push.Commands = append(push.Commands,
			fmt.Sprintf("aws ecr get-login-password --region %s | docker login --username AWS --password-stdin %s", region, img.Domain),
			fmt.Sprintf("docker tag %s %s", img.Full, newRef),
			fmt.Sprintf("docker push %s", newRef))
	}
	if cmd := x.setImage(newRef); cmd != "" {
		push.Commands = append(push.Commands, cmd)
	}
	if len(push.Commands) > 0 {
		v.Fixes = append(v.Fixes, push)
	}
	v.RestartHelps = RestartAdvice{Helps: false, Reason: fmt.Sprintf("a new pod pulls from %s again and fails the same way; changing the image to the new repository rolls out new pods by itself", img.Path)}
	// The new repository's ARN shows among the repositories the key's grants name.
	v.Verify = fmt.Sprintf("aws kms list-grants --region %s --key-id %s --query 'Grants[].Constraints.EncryptionContextSubset' --output text", region, ev.KMSKey)
	return v
}
