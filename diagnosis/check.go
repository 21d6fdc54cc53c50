package diagnosis

// Check is one diagnostic rule. Run looks at one failing container and returns a verdict,
// or nil when the rule does not apply. Run is pure: no I/O, no clock (use Facts.Now), no logging.
type Check struct {
	// ID is stable and kebab-case; it appears in the JSON output as a finding's "check".
	ID  string
	Run func(f *Facts, c *Container) *Verdict
}

// Verdict is what a check concludes about a container. The engine keeps the strongest
// verdict (highest confidence, then the check's position in the list) as the finding.
type Verdict struct {
	Cause        Cause
	Confidence   Confidence
	Summary      string
	Evidence     []string
	Fixes        []Fix
	Verify       string
	RestartHelps RestartAdvice
	Notes        []string
	Alternatives []Cause
}

// DefaultChecks is the ordered list of checks the engine runs. Order breaks ties between
// verdicts of equal confidence: more specific checks come first. New checks are appended
// here explicitly (no init-time registration).
func DefaultChecks() []Check {
	return []Check{
		{ID: "invalid-image-name", Run: checkInvalidImageName},
		{ID: "never-pull-policy", Run: checkNeverPullPolicy},
		{ID: "runtime-error", Run: checkRuntimeError},
		{ID: "signature-invalid", Run: checkSignature},
		{ID: "platform-mismatch", Run: checkPlatform},
		{ID: "node-disk-full", Run: checkDiskFull},
		{ID: "tls-certificate", Run: checkTLS},
		{ID: "rate-limited", Run: checkRateLimited},
		{ID: "pull-through-cache", Run: checkPullThroughCache},
		{ID: "kms-denied", Run: checkKMS},
		{ID: "endpoint-policy-denied", Run: checkLayerDenied},
		{ID: "pull-secret", Run: checkPullSecret},
		{ID: "registry-credentials", Run: checkRegistryCredentials},
		{ID: "access-denied", Run: checkAccessDenied},
		{ID: "not-found", Run: checkNotFound},
		{ID: "registry-unreachable", Run: checkUnreachable},
		{ID: "pull-timeout", Run: checkPullTimeout},
		{ID: "unsupported-manifest", Run: checkUnsupportedManifest},
		{ID: "error-text-gone", Run: checkErrorTextGone},
	}
}
