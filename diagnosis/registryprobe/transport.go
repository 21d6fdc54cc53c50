package registryprobe

import (
	"errors"
	"net/http"
	"strings"
	"sync"
)

// errPlainHTTP refuses a plain-HTTP request. go-containerregistry also tries plain HTTP
// for loopback, private (RFC 1918) and .local hosts, but containerd uses https for every
// host but localhost unless the node's hosts.toml says otherwise, and the bot's localhost
// is not the node's: the probe must not succeed over a scheme the node does not use.
var errPlainHTTP = errors.New("plain http not tried: the container runtime uses https")

// recorder is the bottom of one probe's transport stack: every request of the probe
// (the /v2/ ping, the token exchange, the manifest GET and any redirect) passes through
// it. It keeps the rate-limit headers of all responses, the status of the last manifest
// response, and the credentials of the Authorization headers sent (the password's Basic
// form and the bearer tokens), so that they can be scrubbed from the result. One recorder
// serves one probe.
type recorder struct {
	inner http.RoundTripper

	mu             sync.Mutex // the ping races an https and an http request
	limit          string
	remaining      string
	retryAfter     string
	manifestStatus int
	sent           []string // credentials of the Authorization headers sent
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on errors
		}
		return nil, errPlainHTTP
	}
	if _, cred, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && cred != "" {
		r.mu.Lock()
		r.sent = append(r.sent, cred)
		r.mu.Unlock()
	}
	resp, err := r.inner.RoundTrip(req)
	if resp != nil {
		r.record(req, resp)
	}
	return resp, err
}

func (r *recorder) record(req *http.Request, resp *http.Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Docker Hub's headers (docs.docker.com/docker-hub/usage/pulls); the last value seen wins.
	if v := resp.Header.Get("Ratelimit-Limit"); v != "" {
		r.limit = v
	}
	if v := resp.Header.Get("Ratelimit-Remaining"); v != "" {
		r.remaining = v
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		r.retryAfter = v
	}
	if strings.Contains(req.URL.Path, "/manifests/") {
		r.manifestStatus = resp.StatusCode
	}
}

func (r *recorder) headers() (limit, remaining, retryAfter string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.limit, r.remaining, r.retryAfter
}

func (r *recorder) lastManifestStatus() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.manifestStatus
}

func (r *recorder) credentials() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent
}
