package diagnosis

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestProbeEvidence runs the engine, so the probe is weighed against the verdict that won:
// the bot's own manifest request settles existence questions for non-ECR registries and adds
// context to the rest (DOMAIN §7.1).
func TestProbeEvidence(t *testing.T) {
	const quay = "quay.io/acme/app:3.1"
	const busybox = "busybox:1.36"
	notFound := func(image string, p RegistryProbe) *Facts {
		return newFacts(withImage("api", image), pullFailed("api", notFoundErr(ParseImage(image).Full)), withProbe(image, p))
	}
	tlsErr := resolveErr(tPrivate, `failed to do request: Head "`+headURL(tPrivate)+`": tls: failed to verify certificate: x509: certificate signed by unknown authority`)
	hub429 := `failed to pull and unpack image "docker.io/library/busybox:1.36": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:3fbc: 429 Too Many Requests - Server message: toomanyrequests: You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit`
	for _, tc := range []struct {
		checkCase
		notSays []string // substrings neither the summary nor the evidence may contain
	}{
		{checkCase: checkCase{
			name:  "MANIFEST_UNKNOWN on a non-ECR image",
			facts: notFound(quay, RegistryProbe{Auth: "anonymous", Status: 404, ErrorCode: "MANIFEST_UNKNOWN", Exists: No}),
			cause: CauseTagNotFound, conf: Confirmed,
			says:    []string{"quay.io has the repository acme/app but no image 3.1.", "the bot's anonymous request for quay.io/acme/app:3.1 answered 404 MANIFEST_UNKNOWN"},
			restart: true,
		}},
		{checkCase: checkCase{
			// A registry may hide a private repository behind NAME_UNKNOWN from anonymous callers.
			name:  "NAME_UNKNOWN, anonymous",
			facts: notFound(quay, RegistryProbe{Auth: "anonymous", Status: 404, ErrorCode: "NAME_UNKNOWN", Exists: No}),
			cause: CauseRepositoryNotFound, conf: Likely,
			says:    []string{"quay.io has no repository acme/app.", "answered 404 NAME_UNKNOWN"},
			restart: true,
		}},
		{checkCase: checkCase{
			name: "NAME_UNKNOWN with the pod's pull secret",
			facts: newFacts(withImage("api", tPrivate), withSecret(dockerSecret("regcred", "registry.example.com:5000")), pullFailed("api", notFoundErr(tPrivate)),
				withProbe(tPrivate, RegistryProbe{Auth: "pull-secret", Status: 404, ErrorCode: "NAME_UNKNOWN", Exists: No})),
			cause: CauseRepositoryNotFound, conf: Confirmed,
			says:    []string{"registry.example.com:5000 has no repository team/app.", "the bot's request with the pod's pull secret for registry.example.com:5000/team/app:3.1 answered 404 NAME_UNKNOWN"},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "the image exists now",
			facts: notFound(quay, RegistryProbe{Auth: "anonymous", Status: 200, Exists: Yes, Digest: tDigest}),
			cause: CauseTagNotFound, conf: Possible,
			says:    []string{"conflict: the bot's anonymous request finds quay.io/acme/app:3.1 now (digest " + tDigest + "); it was probably pushed after the node's last attempt"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		}, notSays: []string{"answered 200"}},
		{checkCase: checkCase{
			name:  "the image exists now, no digest header",
			facts: notFound(quay, RegistryProbe{Auth: "anonymous", Status: 200, Exists: Yes}),
			cause: CauseTagNotFound, conf: Possible,
			says:    []string{"finds quay.io/acme/app:3.1 now; it was probably pushed"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		}, notSays: []string{"digest a failure", "(digest"}},
		{checkCase: checkCase{
			// For ECR the API is the authority: the probe adds context, it does not decide.
			name:  "ECR, the bot's token gets MANIFEST_UNKNOWN",
			facts: notFound(ecrImage, RegistryProbe{Auth: "ecr-token", Status: 404, ErrorCode: "MANIFEST_UNKNOWN", Exists: No}),
			cause: CauseTagNotFound, conf: Possible,
			says:    []string{"the bot's request with an ECR token of its own (its AWS role, or the registry account's role) for " + ecrImage + " answered 404 MANIFEST_UNKNOWN"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "Docker Hub rate-limit counters",
			facts: newFacts(withImage("api", busybox), pullFailed("api", hub429), withProbe(busybox, RegistryProbe{Auth: "anonymous", Status: 429, RateLimit: "100;w=21600", RateRemaining: "0;w=21600", RetryAfter: "3600"})),
			cause: CauseRateLimited, conf: Confirmed,
			says: []string{"Docker Hub's counters for the bot's own address: ratelimit-limit 100;w=21600, ratelimit-remaining 0;w=21600 (the nodes' NAT address has its own)",
				"the registry asks to retry after 3600 seconds"},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "Docker Hub sends only the remaining counter",
			facts: newFacts(withImage("api", busybox), pullFailed("api", hub429), withProbe(busybox, RegistryProbe{Auth: "anonymous", Status: 200, RateRemaining: "0"})),
			cause: CauseRateLimited, conf: Confirmed,
			says:    []string{"ratelimit-limit none, ratelimit-remaining 0"},
			restart: true,
		}, notSays: []string{"a failure", "retry after"}},
		{checkCase: checkCase{
			name:  "TLS: the bot fails the same way",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", tlsErr), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", TLSError: "x509: certificate signed by unknown authority"})),
			cause: CauseTLSCertificate, conf: Confirmed,
			says:    []string{"the bot's anonymous request fails the same way (x509: certificate signed by unknown authority): the registry's certificate is not trusted by public roots either"},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "TLS: the bot verifies the certificate",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", tlsErr), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", Status: 401})),
			cause: CauseTLSCertificate, conf: Confirmed,
			says:    []string{"the bot's anonymous request verifies the certificate (it answered 401): the nodes' trust store lacks the CA, or a proxy intercepts the nodes' traffic"},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "pull secret: anonymous 401",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", insufficientScopeErr(tPrivate)), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", Status: 401, ErrorCode: "UNAUTHORIZED"})),
			cause: CausePullSecret, conf: Likely,
			says:    []string{"the bot's anonymous request got 401: registry.example.com:5000 requires credentials for team/app"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "pull secret: the image is public",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", insufficientScopeErr(tPrivate)), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", Status: 200, Exists: Yes})),
			cause: CausePullSecret, conf: Likely,
			says:    []string{"conflict: the bot's anonymous request can read registry.example.com:5000/team/app:3.1 without credentials: the image is public"},
			alts:    []Cause{CauseRepositoryNotFound},
			restart: true,
		}},
		{checkCase: checkCase{
			name: "access denied: the image is public",
			facts: newFacts(withImage("api", tPrivate), withSecret(dockerSecret("regcred", "registry.example.com:5000")), pullFailed("api", headStatusErr(tPrivate, "403 Forbidden")),
				withProbe(tPrivate, RegistryProbe{Auth: "anonymous", Status: 200, Exists: Yes})),
			cause: CauseAccessDenied, conf: Likely,
			says:    []string{"a bad pull secret is still sent and can be refused"},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "unreachable: the bot cannot resolve the host either",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", timeoutErr(tPrivate, "10.1.2.3")), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", DNSError: "lookup registry.example.com: no such host"})),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"the bot cannot resolve registry.example.com:5000 either (lookup registry.example.com: no such host)"},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "unreachable: the bot cannot connect either",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", timeoutErr(tPrivate, "10.1.2.3")), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", ConnError: "dial tcp 10.1.2.3:5000: connect: connection refused"})),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"the bot cannot connect to registry.example.com:5000 either (dial tcp 10.1.2.3:5000: connect: connection refused): the registry itself is down or unreachable"},
			restart: true,
		}},
		{checkCase: checkCase{
			name:  "unreachable: the registry answers the bot",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", timeoutErr(tPrivate, "10.1.2.3")), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", Status: 401})),
			cause: CauseRegistryUnreachable, conf: Likely,
			says:    []string{"the bot's anonymous request answered 401: the registry is up, so the problem is on the node's network path"},
			restart: true,
		}},
		{checkCase: checkCase{
			// A registry that answers 5xx is not "up" for this purpose.
			name:  "unreachable: the registry answers the bot with a server error",
			facts: newFacts(withImage("api", tPrivate), pullFailed("api", timeoutErr(tPrivate, "10.1.2.3")), withProbe(tPrivate, RegistryProbe{Auth: "anonymous", Status: 503})),
			cause: CauseRegistryUnreachable, conf: Likely,
			restart: true,
		}, notSays: []string{"the registry is up"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd := findingOf(t, NewEngine().Evaluate(tc.facts), "api")
			assertVerdict(t, tc.checkCase, verdictOf(fd))
			said := fd.Summary + "\n" + strings.Join(fd.Evidence, "\n")
			for _, s := range tc.notSays {
				if strings.Contains(said, s) {
					t.Errorf("summary+evidence contain %q, want not:\n%s", s, said)
				}
			}
			if tc.conf == Confirmed && strings.Contains(strings.Join(fd.Notes, "\n"), noteNotFoundAmbiguous) {
				t.Error("a settled not-found keeps the note that only the API can tell")
			}
		})
	}
}

// TestProbeEvidenceECRNoAnswer: an ECR probe that got no answer says more about the bot's own
// network than about the node's, so it changes nothing.
func TestProbeEvidenceECRNoAnswer(t *testing.T) {
	for _, msg := range []string{notFoundErr(ecrImage), timeoutErr(ecrImage, "52.94.1.10"), headStatusErr(ecrImage, "403 Forbidden"), noBasicAuthErr(ecrImage)} {
		without := NewEngine().Evaluate(newFacts(pullFailed("api", msg)))
		with := NewEngine().Evaluate(newFacts(pullFailed("api", msg),
			withProbe(ecrImage, RegistryProbe{Auth: "ecr-token", Exists: Yes, ConnError: "dial tcp 52.94.1.10:443: i/o timeout", DNSError: "no such host"})))
		if diff := cmp.Diff(without, with); diff != "" {
			t.Errorf("%s: the ECR probe without an answer changed the report (-without +with):\n%s", msg, diff)
		}
	}
}

func findingOf(t *testing.T, r Report, container string) Finding {
	t.Helper()
	for _, fd := range r.Findings {
		if fd.Container == container {
			return fd
		}
	}
	t.Fatalf("no finding for %s in %+v", container, r.Findings)
	return Finding{}
}

func verdictOf(fd Finding) *Verdict {
	return &Verdict{Cause: fd.Cause, Confidence: fd.Confidence, Summary: fd.Summary, Evidence: fd.Evidence, Fixes: fd.Fixes,
		Verify: fd.Verify, RestartHelps: fd.RestartHelps, Notes: fd.Notes, Alternatives: fd.Alternatives}
}
