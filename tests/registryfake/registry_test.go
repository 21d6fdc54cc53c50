package registryfake_test

import (
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/pullcheck/pullcheck/tests/registryfake"
)

func get(t *testing.T, rt http.RoundTripper, ref string, auth authn.Authenticator) error {
	t.Helper()
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.Get(r, remote.WithTransport(rt), remote.WithAuth(auth), remote.WithContext(t.Context()),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}), remote.WithRetryPredicate(func(error) bool { return false }))
	return err
}

// TestTransportRoutesHosts: a client that uses real host names reaches the registry that
// serves them, with its certificate trusted; other hosts fail as unknown names.
func TestTransportRoutesHosts(t *testing.T) {
	t.Parallel()
	ecr := registryfake.New(t, registryfake.Options{Auth: registryfake.AuthBasic, Username: "AWS", Password: "pw",
		Hosts: []string{"*.dkr.ecr.us-west-2.amazonaws.com"}})
	hub := registryfake.New(t, registryfake.Options{Hosts: []string{"registry-1.docker.io"}})
	ecr.Push(t, "payments/api:1.8.1", registryfake.RandomImage(t))
	hub.Push(t, "library/nginx:1.27", registryfake.RandomImage(t))
	rt := registryfake.Transport(ecr, hub)

	if err := get(t, rt, "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.1", &authn.Basic{Username: "AWS", Password: "pw"}); err != nil {
		t.Errorf("ECR host: %v", err)
	}
	if err := get(t, rt, "registry-1.docker.io/library/nginx:1.27", authn.Anonymous); err != nil {
		t.Errorf("Docker Hub host: %v", err)
	}
	if got := hub.Hits("library/nginx"); got != 1 {
		t.Errorf("hub manifest requests = %d, want 1", got)
	}
	// A wildcard covers one label only, as in a certificate.
	err := get(t, rt, "a.b.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.1", authn.Anonymous)
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("unserved host: err = %v, want a DNS not-found error", err)
	}
}

func TestUntrustedAndFail(t *testing.T) {
	t.Parallel()
	bad := registryfake.New(t, registryfake.Options{Auth: registryfake.AuthNone, Untrusted: true, Hosts: []string{"harbor.corp.example"}})
	err := get(t, registryfake.Transport(bad), "harbor.corp.example:8443/team/app:1", authn.Anonymous)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("untrusted registry: err = %v, want x509.UnknownAuthorityError", err)
	}

	hub := registryfake.New(t, registryfake.Options{Hosts: []string{"registry-1.docker.io"}})
	hub.Fail("library/busybox", registryfake.ErrorResponse{Status: http.StatusTooManyRequests, Code: "TOOMANYREQUESTS",
		Message: "You have reached your unauthenticated pull rate limit.", Header: registryfake.RateLimitHeader("21600")})
	err = get(t, hub.Transport(), "registry-1.docker.io/library/busybox:1.36", authn.Anonymous)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("rate-limited repository: err = %v, want a 429", err)
	}
}

// TestLatency: every response waits; a client that gives up does not wait it out.
func TestLatency(t *testing.T) {
	t.Parallel()
	reg := registryfake.New(t, registryfake.Options{Auth: registryfake.AuthNone, Latency: time.Hour})
	c := &http.Client{Transport: reg.Transport(), Timeout: 50 * time.Millisecond}
	start := time.Now()
	_, err := c.Get(reg.URL() + "/v2/")
	if err == nil {
		t.Fatal("GET /v2/ answered, want a timeout")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("the client waited %s", d)
	}
	reg.SetLatency(0)
	c.Timeout = 10 * time.Second
	resp, err := c.Get(reg.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/ = %d, want 200", resp.StatusCode)
	}
}
