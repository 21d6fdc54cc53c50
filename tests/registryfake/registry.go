package registryfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The credentials a registry accepts when Options leave them empty.
const (
	DefaultUsername = "robot$ci"
	DefaultPassword = "s3cr3t-Pa55word-9f8e7d"
)

// AuthMode is how a registry authenticates.
type AuthMode int

const (
	// AuthBearer is Docker Hub's token flow: a 401 on /v2/ names a token realm on the same
	// server, which takes Basic credentials (or none, for an anonymous token).
	AuthBearer AuthMode = iota
	// AuthBasic is ECR's: a Basic challenge and Basic credentials on every request.
	AuthBasic
	// AuthNone serves everything without credentials.
	AuthNone
)

// Repository prefixes with a fixed behaviour, whatever the registry holds.
const (
	RepoForbidden    = "forbidden/"    // manifest: 403 DENIED
	RepoLimited      = "limited/"      // manifest: 429 TOOMANYREQUESTS with Retry-After and rate-limit headers
	RepoTokenLimited = "tokenlimited/" // token endpoint: 429 TOOMANYREQUESTS
	RepoEcho         = "echo/"         // manifest: 429 whose headers and body echo the Authorization header and the password
	RepoPublic       = "public/"       // readable with an anonymous token
	RepoLibrary      = "library/"      // readable with an anonymous token; Docker Hub's rate-limit headers on manifests
)

// Docker Hub's rate-limit header values the fake sends (docs.docker.com/docker-hub/usage/pulls).
const (
	RateLimitLimit     = "100;w=21600"
	RateLimitExhausted = "0;w=21600"
	RateLimitRemaining = "97;w=21600"
)

// Options configure a Registry.
type Options struct {
	Auth AuthMode
	// Username and Password are the credentials the registry accepts (DefaultUsername and
	// DefaultPassword when both are empty).
	Username, Password string
	// Hosts are DNS names the registry answers for besides its 127.0.0.1 address: its
	// certificate names them and Transport routes them to it. A name may start with "*."
	// (one label, as in a certificate).
	Hosts []string
	// Untrusted keeps the registry's self-signed certificate out of Transport's roots, so
	// clients fail to verify it, as nodes without a private CA do.
	Untrusted bool
	// Latency delays every response (0: none); see SetLatency.
	Latency time.Duration
}

// ErrorResponse is an OCI distribution error answer.
type ErrorResponse struct {
	Status  int
	Code    string
	Message string
	Header  http.Header
}

// Pushed is what the registry holds under a tag.
type Pushed struct {
	Digest    string
	MediaType string
}

// Registry is a running fake registry. It is safe for concurrent use.
type Registry struct {
	opts  Options
	srv   *httptest.Server
	inner http.Handler
	cert  []byte // DER of the self-signed certificate

	seedOnce sync.Once
	seedSrv  *httptest.Server

	mu        sync.Mutex
	latency   time.Duration
	tokens    map[string]bool // issued bearer token -> issued for the user (not anonymous)
	userAgent string          // of the last manifest request
	hits      map[string]int  // manifest requests per repository, after authentication
	fails     []failRule
	pushed    map[string]Pushed
}

type failRule struct {
	prefix string
	resp   ErrorResponse
}

var quietLog = log.New(io.Discard, "", 0)

// New starts a registry; it stops when the test ends.
func New(tb testing.TB, opts Options) *Registry {
	tb.Helper()
	if opts.Username == "" && opts.Password == "" {
		opts.Username, opts.Password = DefaultUsername, DefaultPassword
	}
	cert, der, err := selfSigned(opts.Hosts)
	if err != nil {
		tb.Fatalf("registryfake: certificate: %v", err)
	}
	r := &Registry{
		opts:    opts,
		inner:   registry.New(registry.Logger(quietLog)),
		cert:    der,
		latency: opts.Latency,
		tokens:  map[string]bool{},
		hits:    map[string]int{},
		pushed:  map[string]Pushed{},
	}
	r.srv = httptest.NewUnstartedServer(r)
	r.srv.Config.ErrorLog = quietLog // handshakes that clients fail on purpose
	r.srv.TLS = tlsConfig(cert)
	r.srv.StartTLS()
	tb.Cleanup(r.close)
	return r
}

func (r *Registry) close() {
	r.srv.Close()
	r.seedOnce.Do(func() {})
	if r.seedSrv != nil {
		r.seedSrv.Close()
	}
}

// Host is the registry's 127.0.0.1:port address.
func (r *Registry) Host() string { return r.srv.Listener.Addr().String() }

// URL is https://127.0.0.1:port.
func (r *Registry) URL() string { return r.srv.URL }

// Image is a reference to repoAndRef (repo:tag or repo@digest) on the registry's address.
func (r *Registry) Image(repoAndRef string) string { return r.Host() + "/" + repoAndRef }

// Transport trusts the registry's certificate (unless it is Untrusted) and routes its Hosts
// to it; see the package function Transport.
func (r *Registry) Transport() *http.Transport { return Transport(r) }

// SetLatency delays every response from now on by d (0 turns it off). The wait ends early
// when the client gives up.
func (r *Registry) SetLatency(d time.Duration) {
	r.mu.Lock()
	r.latency = d
	r.mu.Unlock()
}

// Fail makes every manifest request for a repository starting with prefix (after
// authentication) fail with resp. Later calls take precedence.
func (r *Registry) Fail(prefix string, resp ErrorResponse) {
	r.mu.Lock()
	r.fails = append([]failRule{{prefix, resp}}, r.fails...)
	r.mu.Unlock()
}

// IssuedTokens are all bearer tokens the registry handed out.
func (r *Registry) IssuedTokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for tok := range r.tokens {
		out = append(out, tok)
	}
	return out
}

// LastUserAgent is the User-Agent of the last authenticated manifest request.
func (r *Registry) LastUserAgent() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.userAgent
}

// Hits counts the authenticated manifest requests for repo.
func (r *Registry) Hits(repo string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[repo]
}

// Pushed returns what was pushed under repoTag ("repo:tag"), and whether anything was.
func (r *Registry) Pushed(repoTag string) (Pushed, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pushed[repoTag]
	return p, ok
}

// Taggable is an image or an index.
type Taggable interface {
	Digest() (v1.Hash, error)
	MediaType() (types.MediaType, error)
}

// Push stores what (a v1.Image or v1.ImageIndex) under repoTag ("repo:tag"), bypassing
// authentication and the failures set with Fail, and returns what was pushed.
func (r *Registry) Push(tb testing.TB, repoTag string, what Taggable) Pushed {
	tb.Helper()
	r.seedOnce.Do(func() { r.seedSrv = httptest.NewServer(r.inner) })
	ref, err := name.NewTag(r.seedSrv.Listener.Addr().String() + "/" + repoTag)
	if err != nil {
		tb.Fatalf("registryfake: push %s: %v", repoTag, err)
	}
	switch w := what.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, w)
	case v1.Image:
		err = remote.Write(ref, w)
	default:
		tb.Fatalf("registryfake: push %s: %T is neither an image nor an index", repoTag, what)
	}
	if err != nil {
		tb.Fatalf("registryfake: push %s: %v", repoTag, err)
	}
	d, err := what.Digest()
	if err != nil {
		tb.Fatal(err)
	}
	mt, err := what.MediaType()
	if err != nil {
		tb.Fatal(err)
	}
	p := Pushed{Digest: d.String(), MediaType: string(mt)}
	r.mu.Lock()
	r.pushed[repoTag] = p
	r.mu.Unlock()
	return p
}

// RandomImage is a small single-platform image with random content.
func RandomImage(tb testing.TB) v1.Image {
	tb.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// Index builds an index of media type mt (OCI index or Docker manifest list) over random
// images for the platforms, plus a BuildKit attestation manifest (platform unknown/unknown,
// annotated vnd.docker.reference.type=attestation-manifest).
func Index(tb testing.TB, mt types.MediaType, platforms ...v1.Platform) v1.ImageIndex {
	tb.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		adds = append(adds, mutate.IndexAddendum{Add: RandomImage(tb), Descriptor: v1.Descriptor{Platform: &p}})
	}
	adds = append(adds, mutate.IndexAddendum{Add: RandomImage(tb), Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}})
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt), adds...)
}

// ServeHTTP serves the registry API with authentication and the fixed behaviours.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	latency := r.latency
	r.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return
		}
	}
	if req.URL.Path == "/token" && r.opts.Auth == AuthBearer {
		r.token(w, req)
		return
	}
	repo, manifest := manifestRepo(req.URL.Path)
	if !r.authorized(req, repo) {
		r.challenge(w, repo)
		return
	}
	if !manifest {
		r.inner.ServeHTTP(w, req)
		return
	}
	r.mu.Lock()
	r.userAgent = req.Header.Get("User-Agent")
	r.hits[repo]++
	var fail *ErrorResponse
	for _, f := range r.fails {
		if strings.HasPrefix(repo, f.prefix) {
			fail = &f.resp
			break
		}
	}
	r.mu.Unlock()
	switch {
	case fail != nil:
		writeError(w, *fail)
	case strings.HasPrefix(repo, RepoForbidden):
		writeError(w, ErrorResponse{Status: http.StatusForbidden, Code: "DENIED", Message: "requested access to the resource is denied"})
	case strings.HasPrefix(repo, RepoLimited):
		writeError(w, ErrorResponse{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS", Message: "You have reached your pull rate limit.",
			Header: RateLimitHeader("60")})
	case strings.HasPrefix(repo, RepoEcho):
		// A registry that leaks what it was sent: clients must scrub it.
		auth := req.Header.Get("Authorization")
		writeError(w, ErrorResponse{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS", Message: auth,
			Header: http.Header{"Retry-After": {auth}, "Ratelimit-Limit": {r.opts.Password}}})
	case strings.HasPrefix(repo, RepoLibrary):
		w.Header().Set("RateLimit-Limit", RateLimitLimit)
		w.Header().Set("RateLimit-Remaining", RateLimitRemaining)
		r.inner.ServeHTTP(w, req)
	default:
		r.inner.ServeHTTP(w, req)
	}
}

// RateLimitHeader is what Docker Hub sends with a 429: the limit, nothing remaining, and
// Retry-After in seconds.
func RateLimitHeader(retryAfter string) http.Header {
	return http.Header{
		"Retry-After":         {retryAfter},
		"Ratelimit-Limit":     {RateLimitLimit},
		"Ratelimit-Remaining": {RateLimitExhausted},
	}
}

// manifestRepo returns the repository of a /v2/<repo>/... path and whether the path is a
// manifest's.
func manifestRepo(path string) (repo string, manifest bool) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return "", false
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(rest, kind); i > 0 {
			return rest[:i], kind == "/manifests/"
		}
	}
	return "", false
}

func (r *Registry) authorized(req *http.Request, repo string) bool {
	switch r.opts.Auth {
	case AuthNone:
		return true
	case AuthBasic:
		user, pass, ok := req.BasicAuth()
		return ok && user == r.opts.Username && pass == r.opts.Password
	}
	tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	r.mu.Lock()
	forUser, issued := r.tokens[tok]
	r.mu.Unlock()
	anonymousRepo := repo == ""
	for _, prefix := range []string{RepoPublic, RepoLibrary, RepoLimited} {
		anonymousRepo = anonymousRepo || strings.HasPrefix(repo, prefix)
	}
	return issued && (forUser || anonymousRepo)
}

func (r *Registry) challenge(w http.ResponseWriter, repo string) {
	switch r.opts.Auth {
	case AuthBasic:
		w.Header().Set("WWW-Authenticate", `Basic realm="`+r.srv.URL+`/",service="ecr.amazonaws.com"`)
	default:
		c := `Bearer realm="` + r.realm() + `",service="registryfake"`
		if repo != "" {
			c += `,scope="repository:` + repo + `:pull"`
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	writeError(w, ErrorResponse{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "authentication required"})
}

// realm is the token endpoint's URL: on the first host name the registry serves (clients
// refuse a realm on a private address for a registry with a public name), else on its
// address.
func (r *Registry) realm() string {
	for _, h := range r.opts.Hosts {
		if !strings.HasPrefix(h, "*") {
			return "https://" + h + "/token"
		}
	}
	return r.srv.URL + "/token"
}

// token is the realm of the bearer flow: Basic credentials buy a user token, none an
// anonymous one, wrong ones a 401.
func (r *Registry) token(w http.ResponseWriter, req *http.Request) {
	if strings.Contains(req.URL.Query().Get("scope"), ":"+RepoTokenLimited) {
		writeError(w, ErrorResponse{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS", Message: "too many token requests",
			Header: RateLimitHeader("30")})
		return
	}
	user, pass, withCreds := req.BasicAuth()
	if withCreds && (user != r.opts.Username || pass != r.opts.Password) {
		writeError(w, ErrorResponse{Status: http.StatusUnauthorized, Code: "UNAUTHORIZED", Message: "incorrect username or password"})
		return
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	tok := "tok-" + hex.EncodeToString(b)
	r.mu.Lock()
	r.tokens[tok] = withCreds
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
}

// writeError writes an OCI distribution error body.
func writeError(w http.ResponseWriter, e ErrorResponse) {
	maps.Copy(w.Header(), e.Header)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": e.Code, "message": e.Message}},
	})
}
