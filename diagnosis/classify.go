package diagnosis

import (
	"strings"
)

// SignalKind is what a runtime error message says happened, before any evidence is weighed.
type SignalKind string

// Signal kinds, from the runtime message grammar (DOMAIN.md §3, §8).
const (
	SigNone              SignalKind = ""                   // no error text
	SigUnknown           SignalKind = "unrecognised"       // text present, no known shape
	SigInvalidReference  SignalKind = "invalid-reference"  // couldn't parse image name
	SigNeverPull         SignalKind = "never-pull"         // not present with pull policy of Never
	SigInspectFailed     SignalKind = "inspect-failed"     // Failed to inspect image
	SigPlatform          SignalKind = "platform"           // no match for platform in manifest
	SigDiskFull          SignalKind = "disk-full"          // no space left on device
	SigTLS               SignalKind = "tls"                // x509 / tls: failed to verify
	SigRateLimited       SignalKind = "rate-limited"       // 429 / toomanyrequests
	SigUpstreamAuth      SignalKind = "upstream-auth"      // ECR pull-through cache upstream credentials
	SigNoCredentials     SignalKind = "no-credentials"     // no basic auth credentials
	SigInsufficientScope SignalKind = "insufficient-scope" // Bearer registries: denied or does not exist
	SigUnauthorized      SignalKind = "unauthorized"       // 401, authentication required, bad password
	SigForbidden         SignalKind = "forbidden"          // 403, denied, not authorized to perform
	SigKMS               SignalKind = "kms"                // KMS key errors
	SigNameUnknown       SignalKind = "name-unknown"       // registry body: repository not known
	SigManifestUnknown   SignalKind = "manifest-unknown"   // registry body: manifest unknown
	SigNotFound          SignalKind = "not-found"          // containerd HEAD 404: repository or tag
	SigBlobNotFound      SignalKind = "blob-not-found"     // a layer or config blob 404s
	SigDNS               SignalKind = "dns"                // no such host / server misbehaving
	SigTimeout           SignalKind = "timeout"            // i/o timeout, Client.Timeout, deadline exceeded
	SigRefused           SignalKind = "refused"            // connection refused / reset
	SigNetUnreachable    SignalKind = "net-unreachable"    // network/host is unreachable, no route
	SigServerError       SignalKind = "server-error"       // 5xx from the registry
	SigCanceled          SignalKind = "canceled"           // context canceled, no progress
	SigQPS               SignalKind = "qps"                // kubelet pull QPS exceeded
	SigSignature         SignalKind = "signature"          // CRI-O signature validation
	SigSchema1           SignalKind = "schema1"            // schema-1 manifests on containerd 2.x
	SigBackOffOnly       SignalKind = "back-off-only"      // only "Back-off pulling image", the error text is gone
)

// Stage is where in the pull pipeline a failure happened.
type Stage string

const (
	StageResolve Stage = "resolve" // HEAD/GET manifest, auth challenge
	StageToken   Stage = "token"   // fetching a Bearer token
	StageFetch   Stage = "fetch"   // blob / layer download
	StageUnpack  Stage = "unpack"
)

// Signal is the classification of one runtime error text.
type Signal struct {
	Kind   SignalKind
	Stage  Stage
	Status int    // HTTP status when the text carries one
	URL    string // the URL the runtime was requesting, when quoted
	Host   string // the host of URL, or the host of a failed DNS lookup
	// LayerBucket is true when the request went to ECR's S3 layer bucket (starport-layer-bucket).
	LayerBucket bool
	// Code is the gRPC code of an "rpc error: code = X desc = ..." wrapper, if any.
	Code string
	// Phrase is the part of the text that decided the kind (for evidence).
	Phrase string
	// Text is the message with wrappers stripped (rpc error, failed to pull and unpack, ...).
	Text string
}

// Classify reads a kubelet / runtime error message (a Failed event's message, a waiting
// message, or the text after "Failed to pull image"). It is pure, allocation-light and never panics.
func Classify(msg string) Signal {
	text := StripWrappers(msg)
	if text == "" {
		return Signal{Kind: SigNone}
	}
	code := grpcCode(msg)
	// Aggregates "[err1, err2]" come from the kubelet trying several credentials: classify each
	// and keep the most specific.
	if parts := splitAggregate(text); len(parts) > 1 {
		best := Signal{Kind: SigUnknown, Text: text}
		for _, p := range parts {
			s := classifyOne(StripWrappers(p))
			if signalRank(s.Kind) > signalRank(best.Kind) {
				best = s
			}
		}
		best.Text = text
		best.Code = code
		return best
	}
	s := classifyOne(text)
	s.Code = code
	return s
}

// grpcCode returns X from the first "rpc error: code = X desc" in msg.
func grpcCode(msg string) string {
	const p = "rpc error: code = "
	i := strings.Index(msg, p)
	if i < 0 {
		return ""
	}
	rest := msg[i+len(p):]
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// rule is one entry of the ordered classifier table: the first rule with a matching phrase wins.
type rule struct {
	kind    SignalKind
	phrases []string // lower-case substrings
}

// rules follow DOMAIN.md §8's order: decisive shapes first, generic network errors last.
var rules = []rule{
	{SigInvalidReference, []string{"couldn't parse image name", "invalid reference format", "failed to apply default image tag"}},
	{SigNeverPull, []string{"is not present with pull policy of never"}},
	{SigInspectFailed, []string{"failed to inspect image"}},
	{SigSignature, []string{"signaturevalidationfailed", "signature validation failed", "source image rejected"}},
	{SigPlatform, []string{"no match for platform in manifest", "no image found in image index for architecture", "no image found in manifest list for architecture"}},
	{SigDiskFull, []string{"no space left on device"}},
	{SigSchema1, []string{"is no longer supported since containerd v2.0", "manifest.v1+prettyjws"}},
	{SigTLS, []string{"x509:", "tls: failed to verify", "tls: handshake failure", "certificate signed by unknown authority", "first record does not look like a tls handshake"}},
	{SigUpstreamAuth, []string{"authentication to the upstream registry failed", "upstreamaccessdenied"}},
	{SigRateLimited, []string{"429 too many requests", "toomanyrequests", "too many requests to registry", "pull rate limit", "upstreamtoomanyrequests", "throttlingexception"}},
	{SigKMS, []string{"kmserror", "kmsexception", "ciphertext refers to a customer master key", "kms.", "kms:"}},
	{SigNoCredentials, []string{"no basic auth credentials"}},
	{SigInsufficientScope, []string{"insufficient_scope", "requested access to the resource is denied", "pull access denied"}},
	{SigUnauthorized, []string{"401 unauthorized", "unauthorized: authentication required", "invalid username/password", "unauthorized: incorrect username or password", "authentication required"}},
	{SigForbidden, []string{"403 forbidden", "is not authorized to perform", "denied:", "accessdenied"}},
	{SigNameUnknown, []string{"name unknown", "name_unknown", "repository name not known", "does not exist in the registry"}},
	{SigManifestUnknown, []string{"manifest unknown", "manifest_unknown", "requested image not found"}},
	{SigBlobNotFound, []string{"blob unknown", "blob_unknown"}},
	{SigDNS, []string{"no such host", "server misbehaving", "temporary failure in name resolution"}},
	{SigTimeout, []string{"i/o timeout", "client.timeout exceeded", "context deadline exceeded", "tls handshake timeout", "deadline exceeded", "timed out"}},
	{SigRefused, []string{"connection refused", "connection reset by peer", "registryunavailable", "registry is unavailable", ": eof", "unexpected eof"}},
	{SigNetUnreachable, []string{"network is unreachable", "no route to host", "host is unreachable"}},
	{SigServerError, []string{"500 internal server error", "502 bad gateway", "503 service unavailable", "504 gateway timeout", "upstreamunavailable"}},
	{SigQPS, []string{"pull qps exceeded"}},
	{SigCanceled, []string{"context canceled", "no progress in", "code = canceled"}},
	{SigNotFound, []string{": not found", "code = notfound", " not found"}},
	{SigBackOffOnly, []string{"back-off pulling image"}},
}

func classifyOne(text string) Signal {
	s := Signal{Kind: SigUnknown, Text: text}
	if text == "" {
		s.Kind = SigNone
		return s
	}
	// ASCII-only lowering keeps byte offsets, so the phrase can be cut out of text at the index
	// found in lower (strings.ToLower changes lengths for invalid UTF-8 and some runes).
	lower := asciiLower(text)
	for _, r := range rules {
		for _, p := range r.phrases {
			if i := strings.Index(lower, p); i >= 0 {
				s.Kind = r.kind
				s.Phrase = text[i : i+len(p)]
				goto matched
			}
		}
	}
matched:
	s.URL = findURL(text)
	if s.URL != "" {
		s.Host = hostOf(s.URL)
	}
	if s.Kind == SigDNS {
		if h := lookupHost(text); h != "" {
			s.Host = h
		}
	}
	if s.Kind == SigNotFound && (strings.Contains(s.URL, "/blobs/") || strings.Contains(lower, "content at ")) {
		s.Kind = SigBlobNotFound
	}
	s.Status = findStatus(lower)
	s.LayerBucket = strings.Contains(lower, "starport-layer-bucket") ||
		(strings.Contains(s.Host, ".s3.") || strings.HasPrefix(s.Host, "s3.")) && strings.Contains(s.Host, "amazonaws.com")
	s.Stage = stageOf(lower, s)
	return s
}

// asciiLower lower-cases ASCII letters only, so every byte keeps its offset.
func asciiLower(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' })
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// signalRank orders kinds by how much they say, for picking the best part of an aggregate.
func signalRank(k SignalKind) int {
	switch k {
	case SigNone:
		return 0
	case SigUnknown, SigBackOffOnly:
		return 1
	case SigNoCredentials, SigUnauthorized, SigInsufficientScope:
		return 2 // several credentials tried: a more telling error from another one wins
	}
	return 3
}

func stageOf(lower string, s Signal) Stage {
	switch {
	case s.Kind == SigDiskFull || strings.Contains(lower, "failed to extract layer"):
		return StageUnpack
	case strings.Contains(lower, "failed to fetch oauth token") || strings.Contains(lower, "failed to fetch anonymous token") ||
		strings.Contains(lower, "failed to authorize") || strings.Contains(lower, "unable to retrieve auth token"):
		return StageToken
	case strings.Contains(lower, "httpreadseeker") || strings.Contains(lower, "failed to copy") || s.LayerBucket ||
		strings.Contains(s.URL, "/blobs/") || strings.Contains(lower, "error pulling image configuration"):
		return StageFetch
	}
	return StageResolve
}

// findStatus returns the first HTTP status code the text reports with its reason phrase.
func findStatus(lower string) int {
	for _, st := range []struct {
		code   int
		phrase string
	}{
		{401, "401 unauthorized"}, {403, "403 forbidden"}, {404, "404 not found"}, {429, "429 too many requests"},
		{500, "500 internal server error"}, {502, "502 bad gateway"}, {503, "503 service unavailable"}, {504, "504 gateway timeout"},
	} {
		if strings.Contains(lower, st.phrase) {
			return st.code
		}
	}
	return 0
}

// findURL returns the first http(s) URL quoted in the text.
func findURL(text string) string {
	i := strings.Index(text, "https://")
	if i < 0 {
		i = strings.Index(text, "http://")
	}
	if i < 0 {
		return ""
	}
	end := i
	for end < len(text) {
		c := text[end]
		if c == ' ' || c == '"' || c == '\'' || c == ',' || c == ']' || c == '\n' || c == '\t' {
			break
		}
		end++
	}
	return strings.TrimRight(text[i:end], ":.")
}

func hostOf(url string) string {
	rest := url[strings.Index(url, "://")+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// lookupHost extracts HOST from "dial tcp: lookup HOST on 10.0.0.2:53: no such host".
func lookupHost(text string) string {
	i := strings.Index(text, "lookup ")
	if i < 0 {
		return ""
	}
	rest := text[i+len("lookup "):]
	if j := strings.IndexAny(rest, " :"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// StripWrappers removes the prefixes that kubelet, cri-client and containerd put around the
// runtime error (DOMAIN.md §8): the v1.32+ back-off wrapper, "Failed to pull image "X": ",
// "rpc error: code = X desc = ", "failed to pull and unpack image "X": ",
// "failed to resolve reference "X": " and "failed to resolve image: ".
func StripWrappers(msg string) string {
	s := strings.TrimSpace(msg)
	for range 8 { // wrappers nest a bounded number of times
		before := s
		s = stripQuotedPrefix(s, "Back-off pulling image ")
		s = strings.TrimPrefix(s, "ErrImagePull: ")
		s = strings.TrimPrefix(s, "RegistryUnavailable: ")
		s = strings.TrimPrefix(s, "Error response from daemon: ")
		s = stripQuotedPrefix(s, "Failed to pull image ")
		s = stripQuotedPrefix(s, "failed to pull image ")
		if strings.HasPrefix(s, "rpc error: code = ") {
			if j := strings.Index(s, " desc = "); j >= 0 {
				s = s[j+len(" desc = "):]
			}
		}
		s = stripQuotedPrefix(s, "failed to pull and unpack image ")
		s = stripQuotedPrefix(s, "failed to resolve reference ")
		s = strings.TrimPrefix(s, "failed to resolve image: ")
		s = strings.TrimSpace(s)
		if s == before {
			break
		}
	}
	return s
}

// stripQuotedPrefix removes `prefix"…": ` from s. A back-off wrapper with nothing after the
// quote ("Back-off pulling image "x"") is kept, because then it is all the text there is.
func stripQuotedPrefix(s, prefix string) string {
	if !strings.HasPrefix(s, prefix+`"`) {
		return s
	}
	rest := s[len(prefix)+1:]
	j := strings.Index(rest, `": `)
	if j < 0 {
		return s
	}
	return rest[j+3:]
}

// splitAggregate splits the kubelet's "[err1, err2]" aggregate. It returns nil when the
// text is not an aggregate.
func splitAggregate(text string) []string {
	if len(text) < 2 || text[0] != '[' || text[len(text)-1] != ']' {
		return nil
	}
	inner := text[1 : len(text)-1]
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			// utilerrors.NewAggregate joins with ", "; commas inside a message are rare but exist,
			// so split only where the next part starts like a new error.
			if depth == 0 && i+1 < len(inner) && inner[i+1] == ' ' && startsError(inner[i+2:]) {
				parts = append(parts, inner[start:i])
				start = i + 2
			}
		}
	}
	return append(parts, inner[start:])
}

func startsError(s string) bool {
	for _, p := range []string{"rpc error", "failed to", "Failed to", "unexpected status", "pull access denied", "Error response", "initializing source", "reading manifest", "pinging container registry"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// quotedAfter returns X from the first `prefix"X"` in s.
func quotedAfter(s, prefix string) string {
	i := strings.Index(s, prefix+`"`)
	if i < 0 {
		return ""
	}
	rest := s[i+len(prefix)+1:]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}
