package registryprobe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// classify records a failed probe. TLS and DNS come first: for loopback and private hosts
// go-containerregistry pings over https and plain http at once and joins both errors, and
// the https failure (not the refused http attempt) is the one the node sees.
func classify(err error, res *diagnosis.RegistryProbe, ref name.Reference, manifestStatus int, timeout time.Duration) {
	if msg := tlsError(err); msg != "" {
		res.TLSError = sanitize(msg)
		return
	}
	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		res.DNSError = sanitize(dnsErr.Error())
		return
	}
	if terr, ok := errors.AsType[*transport.Error](err); ok {
		// The registry (or its token endpoint) answered with an error.
		res.Status = terr.StatusCode
		if len(terr.Errors) > 0 {
			res.ErrorCode = string(terr.Errors[0].Code)
		}
		if terr.StatusCode == http.StatusNotFound && isManifestRequest(terr.Request, ref) {
			res.Exists = diagnosis.No
		}
		return
	}
	// The registry may have answered the manifest request and the exchange failed after it
	// (a digest that does not match the one asked for, a body that cannot be read).
	res.Status = manifestStatus
	res.ConnError = sanitize(connError(err, timeout))
}

// isManifestRequest tells the manifest GET apart from the /v2/ ping and the token request:
// only a 404 on the manifest itself says the repository or the tag does not exist.
func isManifestRequest(req *http.Request, ref name.Reference) bool {
	return req != nil && req.URL != nil && strings.HasSuffix(req.URL.Path, "/manifests/"+ref.Identifier())
}

// tlsError returns the message of a TLS or certificate failure in err, or "".
func tlsError(err error) string {
	if e, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return e.Error() // "tls: failed to verify certificate: x509: ...", as the runtime says it
	}
	if e, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return e.Error()
	}
	if e, ok := errors.AsType[x509.HostnameError](err); ok {
		return e.Error()
	}
	if e, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return e.Error()
	}
	if e, ok := errors.AsType[x509.SystemRootsError](err); ok {
		return e.Error()
	}
	if e, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return e.Error() // not TLS at all: "tls: first record does not look like a TLS handshake"
	}
	if e, ok := errors.AsType[tls.AlertError](err); ok {
		return e.Error()
	}
	// The server refused the handshake: crypto/tls reports its alert as a net.OpError.
	if e, ok := errors.AsType[*net.OpError](err); ok && e.Op == "remote error" {
		return e.Error()
	}
	return ""
}

// connError describes a failure to get an answer: refused or reset connections, timeouts,
// and anything else that kept the exchange from completing.
func connError(err error, timeout time.Duration) string {
	if op, ok := errors.AsType[*net.OpError](err); ok {
		return op.Error() // "dial tcp 10.0.1.5:443: connect: connection refused"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() {
		return fmt.Sprintf("no answer within %s: %v", timeout, netErr)
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by the registry: " + err.Error()
	}
	return err.Error()
}

var (
	urlPattern = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s"'<>]+`)
	// authPattern matches credentials the way an Authorization header carries them.
	authPattern = regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=\-]{16,}`)
)

// maxText bounds the length of a failure text.
const maxText = 300

// sanitize makes a failure text safe to show: URLs lose their userinfo, query string and
// fragment (token endpoints and pre-signed URLs carry secrets there), Authorization-like
// credentials are dropped, and the text is one line of bounded length.
func sanitize(s string) string {
	s = urlPattern.ReplaceAllStringFunc(s, func(raw string) string {
		u, err := url.Parse(raw)
		if err != nil {
			return "<url>"
		}
		u.User = nil
		if u.RawQuery != "" || u.ForceQuery {
			u.RawQuery, u.ForceQuery = "REDACTED", false
		}
		u.Fragment, u.RawFragment = "", ""
		return u.String()
	})
	s = authPattern.ReplaceAllString(s, "$1 REDACTED")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxText {
		s = strings.ToValidUTF8(s[:maxText], "") + "…"
	}
	return s
}

// secretForms are the ways a credential can show up in text: the password itself, its
// URL encodings, and the Basic auth value built from it.
func secretForms(username, password string) []string {
	if password == "" {
		return nil
	}
	basic := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	return []string{password, url.QueryEscape(password), url.PathEscape(password), basic}
}

// scrub removes every secret form from the probe's text fields (defence in depth: no field
// is built from a request, but a registry could echo one in a header or a media type).
// Auth is the caller's Source and Digest is a validated hash; both are left alone.
func scrub(res diagnosis.RegistryProbe, secrets []string) diagnosis.RegistryProbe {
	if len(secrets) == 0 {
		return res
	}
	clean := func(s string) string {
		for _, secret := range secrets {
			if secret != "" {
				s = strings.ReplaceAll(s, secret, "REDACTED")
			}
		}
		return s
	}
	for _, f := range []*string{&res.ErrorCode, &res.MediaType, &res.RateLimit, &res.RateRemaining,
		&res.RetryAfter, &res.TLSError, &res.DNSError, &res.ConnError} {
		*f = clean(*f)
	}
	if res.Platforms != nil {
		platforms := make([]string, len(res.Platforms))
		for i, p := range res.Platforms {
			platforms[i] = clean(p)
		}
		res.Platforms = platforms
	}
	return res
}
