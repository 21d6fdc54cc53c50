package registryprobe_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/registryprobe"
	"github.com/pullcheck/pullcheck/tests/registryfake"
)

var (
	secretCreds = &registryprobe.Credentials{Username: testUser, Password: testPass, Source: "pull-secret"}
	ecrCreds    = &registryprobe.Credentials{Username: testUser, Password: testPass, Source: "ecr-token"}
	wrongCreds  = &registryprobe.Credentials{Username: testUser, Password: wrongPass, Source: "pull-secret"}
	bareCreds   = &registryprobe.Credentials{Username: testUser, Password: testPass}
)

const wrongPass = "wr0ng-Pa55word-1234"

const dockerV2 = "application/vnd.docker.distribution.manifest.v2+json"

func TestProbe(t *testing.T) {
	t.Parallel()
	registries := map[authMode]*registryfake.Registry{
		authBearer: newTestRegistry(t, authBearer),
		authBasic:  newTestRegistry(t, authBasic),
	}
	tests := []struct {
		name  string
		mode  authMode
		image string // repo:tag on the registry
		// byDigest probes image by the digest pushed under its tag.
		byDigest bool
		creds    *registryprobe.Credentials
		// want's Digest and MediaType are filled in from what was pushed when Exists is Yes.
		want diagnosis.RegistryProbe
	}{
		{
			name:  "bearer: anonymous token reads a public repository",
			image: "public/app:1.0",
			want:  diagnosis.RegistryProbe{Auth: "anonymous", Status: 200, Exists: diagnosis.Yes},
		},
		{
			name:  "bearer: Docker Hub rate-limit headers of a successful pull",
			image: "library/nginx:1.27",
			want: diagnosis.RegistryProbe{Auth: "anonymous", Status: 200, Exists: diagnosis.Yes,
				RateLimit: "100;w=21600", RateRemaining: "97;w=21600"},
		},
		{
			name:  "bearer: pull secret reads a single-platform image",
			image: "team/app:1.0",
			creds: secretCreds,
			want:  diagnosis.RegistryProbe{Auth: "pull-secret", Status: 200, Exists: diagnosis.Yes},
		},
		{
			name:  "bearer: credentials without a source",
			image: "team/app:1.0",
			creds: bareCreds,
			want:  diagnosis.RegistryProbe{Auth: "credentials", Status: 200, Exists: diagnosis.Yes},
		},
		{
			name:  "bearer: OCI index lists its platforms, not its attestation manifest",
			image: "team/multi:2.0",
			creds: secretCreds,
			want: diagnosis.RegistryProbe{Auth: "pull-secret", Status: 200, Exists: diagnosis.Yes,
				Platforms: []string{"linux/amd64", "linux/arm64/v8"}},
		},
		{
			name:     "bearer: index by digest",
			image:    "team/multi:2.0",
			byDigest: true,
			creds:    secretCreds,
			want: diagnosis.RegistryProbe{Auth: "pull-secret", Status: 200, Exists: diagnosis.Yes,
				Platforms: []string{"linux/amd64", "linux/arm64/v8"}},
		},
		{
			name:  "bearer: Docker manifest list, a repeated platform once",
			image: "team/list:3.0",
			creds: secretCreds,
			want: diagnosis.RegistryProbe{Auth: "pull-secret", Status: 200, Exists: diagnosis.Yes,
				Platforms: []string{"linux/amd64", "linux/arm/v7"}},
		},
		{
			name:  "bearer: anonymous token on a private repository",
			image: "team/app:1.0",
			want:  diagnosis.RegistryProbe{Auth: "anonymous", Status: 401, ErrorCode: "UNAUTHORIZED"},
		},
		{
			name:  "bearer: wrong password refused by the token endpoint",
			image: "team/app:1.0",
			creds: wrongCreds,
			want:  diagnosis.RegistryProbe{Auth: "pull-secret", Status: 401, ErrorCode: "UNAUTHORIZED"},
		},
		{
			name:  "bearer: forbidden repository",
			image: "forbidden/app:1.0",
			creds: secretCreds,
			want:  diagnosis.RegistryProbe{Auth: "pull-secret", Status: 403, ErrorCode: "DENIED"},
		},
		{
			name:  "bearer: unknown repository",
			image: "nope/app:1.0",
			creds: secretCreds,
			want:  diagnosis.RegistryProbe{Auth: "pull-secret", Status: 404, ErrorCode: "NAME_UNKNOWN", Exists: diagnosis.No},
		},
		{
			name:  "bearer: unknown tag",
			image: "team/app:9.9",
			creds: secretCreds,
			want:  diagnosis.RegistryProbe{Auth: "pull-secret", Status: 404, ErrorCode: "MANIFEST_UNKNOWN", Exists: diagnosis.No},
		},
		{
			name:  "bearer: unknown digest",
			image: "team/app@sha256:" + strings.Repeat("0", 64),
			creds: secretCreds,
			want:  diagnosis.RegistryProbe{Auth: "pull-secret", Status: 404, ErrorCode: "MANIFEST_UNKNOWN", Exists: diagnosis.No},
		},
		{
			name:  "bearer: rate limited manifest",
			image: "limited/app:1.0",
			want: diagnosis.RegistryProbe{Auth: "anonymous", Status: 429, ErrorCode: "TOOMANYREQUESTS",
				RateLimit: "100;w=21600", RateRemaining: "0;w=21600", RetryAfter: "60"},
		},
		{
			name:  "bearer: rate limited token endpoint",
			image: "tokenlimited/app:1.0",
			creds: secretCreds,
			want: diagnosis.RegistryProbe{Auth: "pull-secret", Status: 429, ErrorCode: "TOOMANYREQUESTS",
				RateLimit: "100;w=21600", RateRemaining: "0;w=21600", RetryAfter: "30"},
		},
		{
			name:  "basic: the bot's ECR token reads an image",
			mode:  authBasic,
			image: "team/app:1.0",
			creds: ecrCreds,
			want:  diagnosis.RegistryProbe{Auth: "ecr-token", Status: 200, Exists: diagnosis.Yes},
		},
		{
			name:  "basic: index",
			mode:  authBasic,
			image: "team/multi:2.0",
			creds: ecrCreds,
			want: diagnosis.RegistryProbe{Auth: "ecr-token", Status: 200, Exists: diagnosis.Yes,
				Platforms: []string{"linux/amd64", "linux/arm64/v8"}},
		},
		{
			name:  "basic: no credentials",
			mode:  authBasic,
			image: "team/app:1.0",
			want:  diagnosis.RegistryProbe{Auth: "anonymous", Status: 401, ErrorCode: "UNAUTHORIZED"},
		},
		{
			name:  "basic: wrong password",
			mode:  authBasic,
			image: "team/app:1.0",
			creds: wrongCreds,
			want:  diagnosis.RegistryProbe{Auth: "pull-secret", Status: 401, ErrorCode: "UNAUTHORIZED"},
		},
		{
			name:  "basic: unknown repository",
			mode:  authBasic,
			image: "nope/app:1.0",
			creds: ecrCreds,
			want:  diagnosis.RegistryProbe{Auth: "ecr-token", Status: 404, ErrorCode: "NAME_UNKNOWN", Exists: diagnosis.No},
		},
		{
			name:  "basic: forbidden repository",
			mode:  authBasic,
			image: "forbidden/app:1.0",
			creds: ecrCreds,
			want:  diagnosis.RegistryProbe{Auth: "ecr-token", Status: 403, ErrorCode: "DENIED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := registries[tt.mode]
			image := tt.image
			if tt.byDigest {
				repo, _, _ := strings.Cut(image, ":")
				image = repo + "@" + pushed(t, reg, tt.image).Digest
			}
			want := tt.want
			if want.Exists == diagnosis.Yes {
				p := pushed(t, reg, tt.image)
				want.Digest, want.MediaType = p.Digest, p.MediaType
			}
			p := registryprobe.New(registryprobe.Options{Transport: reg.Transport()})
			got := p.Probe(t.Context(), diagnosis.ParseImage(reg.Image(image)), tt.creds)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Probe(%s) mismatch (-want +got):\n%s", image, diff)
			}
		})
	}
}

func TestProbeMediaTypes(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t, authBearer)
	p := registryprobe.New(registryprobe.Options{Transport: reg.Transport()})
	want := map[string]string{
		"team/app:1.0":   dockerV2,
		"team/multi:2.0": "application/vnd.oci.image.index.v1+json",
		"team/list:3.0":  "application/vnd.docker.distribution.manifest.list.v2+json",
	}
	for image, mt := range want {
		got := p.Probe(t.Context(), diagnosis.ParseImage(reg.Image(image)), secretCreds)
		if got.MediaType != mt {
			t.Errorf("Probe(%s).MediaType = %q, want %q", image, got.MediaType, mt)
		}
	}
}

// TestProbeSendsOneRequest: a retried 429 would spend more of the rate limit that the
// nodes need, and would take seconds of back-off.
func TestProbeSendsOneRequest(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t, authBearer)
	p := registryprobe.New(registryprobe.Options{Transport: reg.Transport()})
	got := p.Probe(t.Context(), diagnosis.ParseImage(reg.Image("limited/app:1.0")), nil)
	if got.Status != http.StatusTooManyRequests {
		t.Fatalf("Status = %d, want 429", got.Status)
	}
	if n := reg.Hits("limited/app"); n != 1 {
		t.Errorf("manifest requests = %d, want 1", n)
	}
}

func TestProbeUserAgent(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t, authBearer)
	for _, tt := range []struct{ option, want string }{
		{"", registryprobe.DefaultUserAgent + " "},
		{"pullcheck-test/1.2", "pullcheck-test/1.2 "},
	} {
		p := registryprobe.New(registryprobe.Options{Transport: reg.Transport(), UserAgent: tt.option})
		if got := p.Probe(t.Context(), diagnosis.ParseImage(reg.Image("public/app:1.0")), nil); got.Exists != diagnosis.Yes {
			t.Fatalf("Probe = %+v, want an image", got)
		}
		if got := reg.LastUserAgent(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("UserAgent option %q: User-Agent = %q, want prefix %q", tt.option, got, tt.want)
		}
	}
}

func TestProbeUnreachable(t *testing.T) {
	t.Parallel()
	reg := newTestRegistry(t, authBearer)

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	// hang accepts the connection and the TLS handshake, then never answers.
	hang := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)

	canceled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name  string
		opts  registryprobe.Options
		ctx   context.Context
		image string
		// want's TLSError, DNSError and ConnError are prefixes of the texts.
		want diagnosis.RegistryProbe
	}{
		{
			name:  "self-signed certificate, system trust store",
			image: reg.Image("public/app:1.0"),
			want:  diagnosis.RegistryProbe{Auth: "anonymous", TLSError: "tls: failed to verify certificate: x509: "},
		},
		{
			name:  "self-signed certificate, the server's certificate trusted",
			opts:  registryprobe.Options{Transport: reg.Transport()},
			image: reg.Image("public/app:1.0"),
			want: diagnosis.RegistryProbe{Auth: "anonymous", Status: 200, Exists: diagnosis.Yes,
				Digest: pushed(t, reg, "public/app:1.0").Digest, MediaType: dockerV2},
		},
		{
			name:  "no such host",
			opts:  registryprobe.Options{Timeout: 3 * time.Second},
			image: "nonexistent.invalid/team/app:1.0",
			want:  diagnosis.RegistryProbe{Auth: "anonymous", DNSError: "lookup nonexistent.invalid"},
		},
		{
			name:  "connection refused",
			image: refused + "/team/app:1.0",
			want:  diagnosis.RegistryProbe{Auth: "anonymous", ConnError: "dial tcp " + refused + ": connect: connection refused"},
		},
		{
			name:  "no answer within the timeout",
			opts:  registryprobe.Options{Transport: hang.Client().Transport, Timeout: 100 * time.Millisecond},
			image: hang.Listener.Addr().String() + "/team/app:1.0",
			want:  diagnosis.RegistryProbe{Auth: "anonymous", ConnError: "no answer within 100ms"},
		},
		{
			name:  "caller gave up: nothing learned",
			opts:  registryprobe.Options{Transport: reg.Transport()},
			ctx:   canceled,
			image: reg.Image("public/app:1.0"),
			want:  diagnosis.RegistryProbe{Auth: "anonymous"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			got := registryprobe.New(tt.opts).Probe(ctx, diagnosis.ParseImage(tt.image), nil)
			if diff := cmp.Diff(tt.want, trimToPrefixes(got, tt.want)); diff != "" {
				t.Errorf("Probe(%s) mismatch (-want +got):\n%s\nfull result: %+v", tt.image, diff, got)
			}
		})
	}
}

// trimToPrefixes cuts got's failure texts to want's when want's is a prefix of them.
func trimToPrefixes(got, want diagnosis.RegistryProbe) diagnosis.RegistryProbe {
	trim := func(g *string, w string) {
		if w != "" && strings.HasPrefix(*g, w) {
			*g = w
		}
	}
	trim(&got.TLSError, want.TLSError)
	trim(&got.DNSError, want.DNSError)
	trim(&got.ConnError, want.ConnError)
	return got
}

// TestProbeNotProbed: a reference that cannot be resolved sends no request.
func TestProbeNotProbed(t *testing.T) {
	t.Parallel()
	noRequest := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("request sent: %s %s", r.Method, r.URL.Redacted())
		return nil, errors.New("no request expected")
	})
	p := registryprobe.New(registryprobe.Options{Transport: noRequest})
	tests := []struct {
		name string
		img  diagnosis.ImageRef
	}{
		{"zero ImageRef", diagnosis.ImageRef{}},
		{"parse error", diagnosis.ParseImage("Payments/API:1.0")},
		{"empty string", diagnosis.ParseImage("")},
		{"error set with fields", diagnosis.ImageRef{Err: errors.New("bad"), Domain: "example.com", Path: "a", Tag: "1"}},
		{"no repository", diagnosis.ImageRef{Domain: "example.com", Tag: "1"}},
		{"no host", diagnosis.ImageRef{Path: "team/app", Tag: "1"}},
		{"no tag and no digest", diagnosis.ImageRef{Domain: "example.com", Path: "team/app"}},
		{"bad digest", diagnosis.ImageRef{Domain: "example.com", Path: "team/app", Digest: "sha256:xyz"}},
		{"bad tag", diagnosis.ImageRef{Domain: "example.com", Path: "team/app", Tag: "a b"}},
		{"bad host", diagnosis.ImageRef{Domain: "exa mple.com", Path: "team/app", Tag: "1"}},
		{"upper-case path", diagnosis.ImageRef{Domain: "example.com", Path: "Team/App", Tag: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Probe(t.Context(), tt.img, secretCreds)
			if diff := cmp.Diff(diagnosis.RegistryProbe{Auth: registryprobe.AuthNotProbed}, got); diff != "" {
				t.Errorf("Probe mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeNeverLeaksCredentials: neither the password, its Basic form, nor a token the
// registry issued shows up in a result, whatever the outcome, even when the registry
// echoes them back.
func TestProbeNeverLeaksCredentials(t *testing.T) {
	t.Parallel()
	bearer := newTestRegistry(t, authBearer)
	basic := newTestRegistry(t, authBasic)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()

	type run struct {
		opts  registryprobe.Options
		image string
		creds *registryprobe.Credentials
	}
	var runs []run
	for _, reg := range []*registryfake.Registry{bearer, basic} {
		for _, image := range []string{"team/app:1.0", "team/multi:2.0", "forbidden/app:1.0", "nope/app:1.0",
			"limited/app:1.0", "tokenlimited/app:1.0", "echo/app:1.0"} {
			for _, creds := range []*registryprobe.Credentials{secretCreds, wrongCreds} {
				runs = append(runs, run{registryprobe.Options{Transport: reg.Transport()}, reg.Image(image), creds})
			}
		}
		runs = append(runs, run{registryprobe.Options{}, reg.Image("team/app:1.0"), secretCreds}) // TLS failure
	}
	runs = append(runs, run{registryprobe.Options{}, refused + "/team/app:1.0", secretCreds})

	var results []diagnosis.RegistryProbe
	for _, r := range runs {
		results = append(results, registryprobe.New(r.opts).Probe(t.Context(), diagnosis.ParseImage(r.image), r.creds))
	}

	secrets := []string{testPass, wrongPass,
		base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass)),
		base64.StdEncoding.EncodeToString([]byte(testUser + ":" + wrongPass)),
	}
	secrets = append(secrets, bearer.IssuedTokens()...)
	if len(bearer.IssuedTokens()) == 0 {
		t.Fatal("the bearer registry issued no token: the test proves nothing")
	}
	var echoed bool
	for i, res := range results {
		js, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		printed := fmt.Sprintf("%+v %#v %s", res, res, js)
		for _, s := range secrets {
			if strings.Contains(printed, s) {
				t.Errorf("probe of %s (%s) leaks %q: %s", runs[i].image, runs[i].creds.Password, s, printed)
			}
		}
		echoed = echoed || strings.Contains(res.RetryAfter, "REDACTED")
	}
	if !echoed {
		t.Error("no echoed credential was scrubbed: the echo registry did not run")
	}
}

func TestCredentialsRedacted(t *testing.T) {
	t.Parallel()
	c := registryprobe.Credentials{Username: testUser, Password: testPass, Source: "pull-secret"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("probe", "creds", c)
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
		fmt.Sprintf("%v", &c), string(js), logged.String()} {
		if strings.Contains(out, testPass) {
			t.Errorf("credentials printed with the password: %s", out)
		}
		if !strings.Contains(out, testUser) {
			t.Errorf("credentials printed without the username: %s", out)
		}
	}
}

// TestProbeHost: the probe goes to the host the runtime contacts, over https.
func TestProbeHost(t *testing.T) {
	t.Parallel()
	tests := []struct{ image, wantURL string }{
		{"nginx", "https://registry-1.docker.io/v2/library/nginx/manifests/latest"},
		{"docker.io/bitnami/redis:7.2", "https://registry-1.docker.io/v2/bitnami/redis/manifests/7.2"},
		{"111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2",
			"https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/payments/api/manifests/1.8.2"},
		{"registry.example.com:5000/team/app:3.1@sha256:" + hex64,
			"https://registry.example.com:5000/v2/team/app/manifests/sha256:" + hex64},
		// go-containerregistry would fall back to plain http for a private address.
		{"10.0.1.5:5000/team/app:3.1", "https://10.0.1.5:5000/v2/team/app/manifests/3.1"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var sent []string
			var manifestMethod string
			// The registry answers the ping without a challenge and 404 to everything else.
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				sent = append(sent, r.URL.String())
				if strings.Contains(r.URL.Path, "/manifests/") {
					manifestMethod = r.Method
				}
				mu.Unlock()
				status := http.StatusNotFound
				if r.URL.Path == "/v2/" {
					status = http.StatusOK
				}
				return &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
			})
			got := registryprobe.New(registryprobe.Options{Transport: rt}).Probe(t.Context(), diagnosis.ParseImage(tt.image), nil)
			if got.Status != http.StatusNotFound || got.Exists != diagnosis.No {
				t.Errorf("Probe = %+v, want a 404 on the manifest", got)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, u := range sent {
				if strings.HasPrefix(u, "http:") {
					t.Errorf("plain http request sent: %s", u)
				}
			}
			if len(sent) == 0 || sent[len(sent)-1] != tt.wantURL {
				t.Errorf("requests = %q, want the last one %s", sent, tt.wantURL)
			}
			// Docker Hub counts manifest GETs against the nodes' pull budget; HEADs are free.
			if want := http.MethodGet; strings.Contains(tt.wantURL, "registry-1.docker.io") && manifestMethod != http.MethodHead ||
				!strings.Contains(tt.wantURL, "registry-1.docker.io") && manifestMethod != want {
				t.Errorf("manifest request method %s for %s", manifestMethod, tt.image)
			}
		})
	}
}

const hex64 = "0000000000000000000000000000000000000000000000000000000000000000"

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
