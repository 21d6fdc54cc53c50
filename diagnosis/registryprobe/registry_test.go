package registryprobe_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

var quietLog = log.New(io.Discard, "", 0)

// The credentials the test registries accept.
const (
	testUser = "robot$ci"
	testPass = "s3cr3t-Pa55word-9f8e7d"
)

// authMode is how a test registry authenticates.
type authMode int

const (
	// authBearer is Docker Hub's token flow: a 401 on /v2/ names a token realm on the same
	// server, which takes Basic credentials (or none, for an anonymous token).
	authBearer authMode = iota
	// authBasic is ECR's: a Basic challenge and Basic credentials on every request.
	authBasic
)

// Repository prefixes with a fixed behaviour, whatever the registry holds.
const (
	repoForbidden    = "forbidden/" // manifest: 403 DENIED
	repoLimited      = "limited/"   // manifest: 429 TOOMANYREQUESTS with Retry-After and rate-limit headers
	repoTokenLimited = "tokenlimited/"
	repoEcho         = "echo/"    // manifest: 429 whose headers echo the request's Authorization header
	repoPublic       = "public/"  // readable with an anonymous token, as are repoLimited and repoLibrary
	repoLibrary      = "library/" // readable with an anonymous token; Docker Hub's rate-limit headers on manifests
)

// testRegistry is a real OCI registry (go-containerregistry's pkg/registry, in memory)
// behind TLS and a handler that adds what pkg/registry lacks: authentication, DENIED and
// TOOMANYREQUESTS. pkg/registry itself answers NAME_UNKNOWN and MANIFEST_UNKNOWN.
type testRegistry struct {
	srv   *httptest.Server
	mode  authMode
	inner http.Handler

	mu        sync.Mutex
	tokens    map[string]bool // issued bearer token -> issued for the test user (not anonymous)
	userAgent string          // of the last manifest request

	limitedHits atomic.Int32 // manifest requests to repoLimited

	images map[string]pushed // "repo:tag" -> what was pushed there
}

// pushed is what the registry holds under a tag.
type pushed struct {
	digest    string
	mediaType string
}

func newTestRegistry(t *testing.T, mode authMode) *testRegistry {
	t.Helper()
	r := &testRegistry{
		mode:   mode,
		inner:  registry.New(registry.Logger(quietLog)),
		tokens: map[string]bool{},
		images: map[string]pushed{},
	}
	r.srv = httptest.NewUnstartedServer(r)
	r.srv.Config.ErrorLog = quietLog // handshakes the probe fails on purpose
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	r.seed(t)
	return r
}

// host is the registry's host:port.
func (r *testRegistry) host() string { return r.srv.Listener.Addr().String() }

// image is a reference to repo (with tag or digest) on this registry.
func (r *testRegistry) image(repoAndRef string) string { return r.host() + "/" + repoAndRef }

// transport trusts the registry's self-signed certificate.
func (r *testRegistry) transport() http.RoundTripper {
	return r.srv.Client().Transport.(*http.Transport).Clone()
}

// issuedTokens are all bearer tokens the registry handed out.
func (r *testRegistry) issuedTokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for tok := range r.tokens {
		out = append(out, tok)
	}
	return out
}

func (r *testRegistry) lastUserAgent() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.userAgent
}

// seed pushes the test images straight into the inner registry, over a plain-HTTP
// server without authentication that is closed afterwards.
func (r *testRegistry) seed(t *testing.T) {
	t.Helper()
	seed := httptest.NewServer(r.inner)
	defer seed.Close()
	host := seed.Listener.Addr().String()

	img := randomImage(t)
	for _, tag := range []string{"team/app:1.0", "public/app:1.0", "library/nginx:1.27"} {
		r.push(t, host, tag, img)
	}
	r.push(t, host, "team/multi:2.0", index(t, types.OCIImageIndex,
		v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
	))
	r.push(t, host, "team/list:3.0", index(t, types.DockerManifestList,
		v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
		v1.Platform{OS: "linux", Architecture: "amd64"}, // listed twice: reported once
	))
}

type taggable interface {
	Digest() (v1.Hash, error)
	MediaType() (types.MediaType, error)
}

func (r *testRegistry) push(t *testing.T, host, repoTag string, what taggable) {
	t.Helper()
	ref, err := name.NewTag(host + "/" + repoTag)
	if err != nil {
		t.Fatal(err)
	}
	switch w := what.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, w)
	case v1.Image:
		err = remote.Write(ref, w)
	}
	if err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	d, err := what.Digest()
	if err != nil {
		t.Fatal(err)
	}
	mt, err := what.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	r.images[repoTag] = pushed{digest: d.String(), mediaType: string(mt)}
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// index builds an index of random images for the platforms, plus a BuildKit attestation
// manifest (platform unknown/unknown) that the probe must leave out.
func index(t *testing.T, mt types.MediaType, platforms ...v1.Platform) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, p := range platforms {
		adds = append(adds, mutate.IndexAddendum{Add: randomImage(t), Descriptor: v1.Descriptor{Platform: &p}})
	}
	adds = append(adds, mutate.IndexAddendum{Add: randomImage(t), Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}})
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, mt), adds...)
}

func (r *testRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/token" && r.mode == authBearer {
		r.token(w, req)
		return
	}
	repo, manifest := manifestRepo(req.URL.Path)
	if !r.authorized(req, repo) {
		r.challenge(w, repo)
		return
	}
	if manifest {
		r.mu.Lock()
		r.userAgent = req.Header.Get("User-Agent")
		r.mu.Unlock()
	}
	switch {
	case manifest && strings.HasPrefix(repo, repoForbidden):
		writeError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
	case manifest && strings.HasPrefix(repo, repoLimited):
		r.limitedHits.Add(1)
		w.Header().Set("Retry-After", "60")
		w.Header().Set("RateLimit-Limit", "100;w=21600")
		w.Header().Set("RateLimit-Remaining", "0;w=21600")
		writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "You have reached your pull rate limit.")
	case manifest && strings.HasPrefix(repo, repoEcho):
		// A registry that leaks what it was sent: the probe must scrub it.
		auth := req.Header.Get("Authorization")
		w.Header().Set("Retry-After", auth)
		w.Header().Set("RateLimit-Limit", testPass)
		writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", auth)
	case manifest && strings.HasPrefix(repo, repoLibrary):
		w.Header().Set("RateLimit-Limit", "100;w=21600")
		w.Header().Set("RateLimit-Remaining", "97;w=21600")
		r.inner.ServeHTTP(w, req)
	default:
		r.inner.ServeHTTP(w, req)
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

func (r *testRegistry) authorized(req *http.Request, repo string) bool {
	switch r.mode {
	case authBasic:
		user, pass, ok := req.BasicAuth()
		return ok && user == testUser && pass == testPass
	default:
		tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return false
		}
		r.mu.Lock()
		forUser, issued := r.tokens[tok]
		r.mu.Unlock()
		anonymousRepo := repo == ""
		for _, prefix := range []string{repoPublic, repoLibrary, repoLimited} {
			anonymousRepo = anonymousRepo || strings.HasPrefix(repo, prefix)
		}
		return issued && (forUser || anonymousRepo)
	}
}

func (r *testRegistry) challenge(w http.ResponseWriter, repo string) {
	switch r.mode {
	case authBasic:
		w.Header().Set("WWW-Authenticate", `Basic realm="`+r.srv.URL+`/",service="ecr.amazonaws.com"`)
	default:
		c := `Bearer realm="` + r.srv.URL + `/token",service="test-registry"`
		if repo != "" {
			c += `,scope="repository:` + repo + `:pull"`
		}
		w.Header().Set("WWW-Authenticate", c)
	}
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// token is the realm of the bearer flow: Basic credentials buy a user token, none an
// anonymous one, wrong ones a 401.
func (r *testRegistry) token(w http.ResponseWriter, req *http.Request) {
	if strings.Contains(req.URL.Query().Get("scope"), ":"+repoTokenLimited) {
		w.Header().Set("Retry-After", "30")
		w.Header().Set("RateLimit-Limit", "100;w=21600")
		w.Header().Set("RateLimit-Remaining", "0;w=21600")
		writeError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", "too many token requests")
		return
	}
	user, pass, withCreds := req.BasicAuth()
	if withCreds && (user != testUser || pass != testPass) {
		writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "incorrect username or password")
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
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"code": code, "message": message}},
	})
}
