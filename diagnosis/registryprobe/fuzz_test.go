package registryprobe_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/registryprobe"
)

// FuzzProbe: Probe never panics, whatever the ImageRef holds, parsed or built by hand.
// The transport fails every request at once, so no request leaves the process.
func FuzzProbe(f *testing.F) {
	f.Add("nginx", "", "", "", "")
	f.Add("111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.2", "", "", "", "")
	f.Add("registry.example.com:5000/team/app@sha256:"+strings.Repeat("a", 64), "", "", "", "")
	f.Add("", "docker.io", "library/nginx", "latest", "")
	f.Add("", "[::1]:5000", "a/b", "", "sha256:"+strings.Repeat("0", 64))
	f.Add("", "exa mple.com", "team/App", "a b", "sha256:zz")
	f.Add("", "example.com", "/", ":", "@")
	f.Add("", "example.com", "a", "", "sha512:"+strings.Repeat("f", 128))
	f.Add("Payments/API:1.0", "", "", "", "")
	unreachable := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("unreachable")
	})
	p := registryprobe.New(registryprobe.Options{Transport: unreachable, Timeout: time.Second})
	f.Fuzz(func(t *testing.T, raw, domain, path, tag, digest string) {
		img := diagnosis.ParseImage(raw)
		if raw == "" {
			img = diagnosis.ImageRef{Domain: domain, Path: path, Tag: tag, Digest: digest}
		}
		got := p.Probe(t.Context(), img, nil)
		if got.Auth == registryprobe.AuthNotProbed {
			if !cmp.Equal(got, diagnosis.RegistryProbe{Auth: registryprobe.AuthNotProbed}) {
				t.Errorf("not probed, yet %+v", got)
			}
			return
		}
		if got.Exists == diagnosis.Yes || got.Status != 0 {
			t.Errorf("Probe(%+v) through a transport that always fails = %+v", img, got)
		}
	})
}
