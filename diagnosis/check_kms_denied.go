package diagnosis

import "fmt"

// checkKMS: the repository's KMS key is disabled, pending deletion, or ECR's grant was revoked.
func checkKMS(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigKMS {
		return nil
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
