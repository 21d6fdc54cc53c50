package registryprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// Values of diagnosis.RegistryProbe.Auth set by this package. Credentials.Source supplies
// the others ("ecr-token", "pull-secret").
const (
	// AuthAnonymous: no credentials were given; the probe followed the registry's
	// anonymous token flow, if it has one.
	AuthAnonymous = "anonymous"
	// AuthCredentials: credentials were given without a Source.
	AuthCredentials = "credentials"
	// AuthNotProbed: no request was sent because the image reference cannot be resolved
	// (it did not parse, or it has no registry host or repository). Every other field of
	// the probe is empty.
	AuthNotProbed = "not-probed"
)

// DefaultTimeout bounds one probe when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DefaultUserAgent is sent when Options.UserAgent is empty.
const DefaultUserAgent = "pullcheck-registryprobe"

// Credentials authenticate a probe: Basic auth where the registry asks for it, or the
// username and password exchanged for a bearer token at the registry's token endpoint.
// Neither the password nor any token it buys ever appears in a probe result.
type Credentials struct {
	Username string
	Password string `json:"-"`
	// Source names where the credentials come from and becomes RegistryProbe.Auth:
	// "ecr-token" (the bot's own ECR token) or "pull-secret" (the pod's pull secret).
	Source string
}

// String redacts the password, so printing Credentials with %v or %+v is safe.
func (c Credentials) String() string {
	return "{Username:" + c.Username + " Password:REDACTED Source:" + c.Source + "}"
}

// GoString redacts the password for %#v.
func (c Credentials) GoString() string {
	return "registryprobe.Credentials" + c.String()
}

// LogValue redacts the password for log/slog.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.String("source", c.Source))
}

// Options configure a Prober. The zero value is ready to use.
type Options struct {
	// Transport sends the probe's requests. Nil means a clone of http.DefaultTransport
	// (system trust store, proxy from the environment).
	Transport http.RoundTripper
	// Timeout bounds one probe, token exchange included. Zero means DefaultTimeout.
	Timeout time.Duration
	// UserAgent starts the User-Agent header (go-containerregistry appends its own
	// product token). Empty means DefaultUserAgent.
	UserAgent string
}

// Prober resolves image manifests over the registries' HTTP API. It is safe for
// concurrent use.
type Prober struct {
	transport http.RoundTripper
	timeout   time.Duration
	userAgent string
}

// New returns a Prober.
func New(opts Options) *Prober {
	p := &Prober{transport: opts.Transport, timeout: opts.Timeout, userAgent: opts.UserAgent}
	if p.transport == nil {
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			p.transport = t.Clone()
		} else {
			p.transport = http.DefaultTransport
		}
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if p.userAgent == "" {
		p.userAgent = DefaultUserAgent
	}
	return p
}

// Probe GETs the image's manifest by digest (when the reference has one) or by tag from
// img.RegistryHost(), with the Accept header of a pull, and reports what the registry
// answered. It never returns an error: a failure is part of the evidence (Status and
// ErrorCode, TLSError, DNSError or ConnError). A nil creds, or one with neither username
// nor password, probes anonymously.
//
// The probe sends no retries (a retried 429 would spend more of a rate limit the nodes
// need) and gives up after the Prober's timeout. If ctx ends first, the probe reports
// what it saw until then and no failure of its own.
func (p *Prober) Probe(ctx context.Context, img diagnosis.ImageRef, creds *Credentials) diagnosis.RegistryProbe {
	ref, err := reference(img)
	if err != nil {
		return diagnosis.RegistryProbe{Auth: AuthNotProbed}
	}

	res := diagnosis.RegistryProbe{Auth: AuthAnonymous}
	auth := authn.Anonymous
	var secrets []string
	if creds != nil && (creds.Username != "" || creds.Password != "") {
		res.Auth = creds.Source
		if res.Auth == "" {
			res.Auth = AuthCredentials
		}
		auth = authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password})
		secrets = secretForms(creds.Username, creds.Password)
	}

	pctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	rec := &recorder{inner: p.transport}
	opts := []remote.Option{
		remote.WithContext(pctx),
		remote.WithTransport(rec),
		remote.WithAuth(auth),
		remote.WithUserAgent(p.userAgent),
		// One attempt only: no backoff, no retried status codes, no retried errors.
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	}
	var desc *remote.Descriptor
	if img.Registry == diagnosis.RegistryDockerHub {
		// Docker Hub counts manifest GETs against the pull rate limit, not HEADs: the bot
		// must not spend the budget the nodes need. The rate-limit headers come with HEAD too;
		// the platforms of an index are not read.
		var head *v1.Descriptor
		head, err = remote.Head(ref, opts...)
		if err == nil {
			desc = &remote.Descriptor{Descriptor: *head}
		}
	} else {
		desc, err = remote.Get(ref, opts...)
	}
	res.RateLimit, res.RateRemaining, res.RetryAfter = rec.headers()
	switch {
	case err == nil:
		res.Status = http.StatusOK
		res.Exists = diagnosis.Yes
		res.Digest = desc.Digest.String()
		res.MediaType, res.Platforms = describe(desc.MediaType, desc.Manifest)
	case ctx.Err() != nil:
		// The caller gave up: nothing learned about the registry.
	default:
		classify(err, &res, ref, rec.lastManifestStatus(), p.timeout)
	}
	return scrub(res, append(secrets, rec.credentials()...))
}

// reference builds the go-containerregistry reference of img on its registry host
// (registry-1.docker.io for Docker Hub). The digest wins over the tag, as in containerd.
func reference(img diagnosis.ImageRef) (name.Reference, error) {
	if img.Err != nil {
		return nil, img.Err
	}
	if img.Domain == "" || img.Path == "" {
		return nil, errors.New("image reference has no registry host or repository")
	}
	repo := img.RegistryHost() + "/" + img.Path
	if img.Digest != "" {
		return name.NewDigest(repo+"@"+img.Digest, name.StrictValidation)
	}
	if img.Tag == "" {
		return nil, errors.New("image reference has neither tag nor digest")
	}
	return name.NewTag(repo+":"+img.Tag, name.StrictValidation)
}

// describe returns the manifest's media type and, for an index, its platforms. The
// Content-Type header wins; the manifest's own mediaType field stands in when the
// registry sends no manifest media type (some send application/json or nothing).
func describe(contentType types.MediaType, manifest []byte) (string, []string) {
	var body struct {
		MediaType types.MediaType   `json:"mediaType"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	_ = json.Unmarshal(manifest, &body) // not JSON: no mediaType field and no platforms
	mt := contentType
	if base, _, err := mime.ParseMediaType(string(mt)); err == nil {
		mt = types.MediaType(base) // without parameters such as charset
	}
	known := mt.IsIndex() || mt.IsImage() || mt.IsSchema1()
	if !known && body.MediaType != "" {
		mt, known = body.MediaType, true
	}
	if !mt.IsIndex() && (known || len(body.Manifests) == 0) {
		return string(mt), nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(manifest))
	if err != nil {
		return string(mt), nil
	}
	return string(mt), platforms(idx)
}

// attestationType is the annotation BuildKit puts on the attestation manifests it adds
// to an index (platform unknown/unknown); they are not runnable images.
const attestationType = "vnd.docker.reference.type"

// platforms lists the index's os/arch[/variant] entries in index order, without
// duplicates and without BuildKit attestation manifests.
func platforms(idx *v1.IndexManifest) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range idx.Manifests {
		if m.Platform == nil || m.Annotations[attestationType] == "attestation-manifest" {
			continue
		}
		p := m.Platform.OS + "/" + m.Platform.Architecture
		if m.Platform.Variant != "" {
			p += "/" + m.Platform.Variant
		}
		if m.Platform.OS == "" && m.Platform.Architecture == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}
