package registryprobe

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pullcheck/pullcheck/diagnosis"
)

func TestSanitize(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", maxText+50)
	tests := []struct {
		name, in, want string
	}{
		{
			name: "userinfo",
			in:   `Get "https://robot:hunter22@registry.example.com/v2/": dial tcp: i/o timeout`,
			want: `Get "https://registry.example.com/v2/": dial tcp: i/o timeout`,
		},
		{
			name: "token query string",
			in:   `Get "https://auth.example.com/token?scope=repository:a:pull&access_token=abc.def": EOF`,
			want: `Get "https://auth.example.com/token?REDACTED": EOF`,
		},
		{
			name: "pre-signed URL and fragment",
			in:   "redirect to https://bucket.s3.amazonaws.com/layer?X-Amz-Security-Token=SECRET#frag failed",
			want: "redirect to https://bucket.s3.amazonaws.com/layer?REDACTED failed",
		},
		{
			name: "authorization values",
			in:   "sent Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig and Basic cm9ib3Q6aHVudGVyMjI=",
			want: "sent Authorization: Bearer REDACTED and Basic REDACTED",
		},
		{
			name: "plain words after basic are kept",
			in:   "basic authentication challenge without realm; bearer token missing",
			want: "basic authentication challenge without realm; bearer token missing",
		},
		{
			name: "one line",
			in:   "no token in bearer response:\n{\"x\":1}\n",
			want: `no token in bearer response: {"x":1}`,
		},
		{
			name: "bounded",
			in:   long,
			want: long[:maxText] + "…",
		},
		{
			name: "nothing to do",
			in:   "dial tcp 10.0.1.5:443: connect: connection refused",
			want: "dial tcp 10.0.1.5:443: connect: connection refused",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sanitize(tt.in); got != tt.want {
				t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	secrets := secretForms("robot", "hunter22/+")
	in := diagnosis.RegistryProbe{
		Auth: "pull-secret", Digest: "sha256:abc",
		RetryAfter: "Basic cm9ib3Q6aHVudGVyMjIvKw==", ConnError: "x hunter22/+ y hunter22%2F%2B z",
		Platforms: []string{"linux/hunter22/+"},
	}
	want := diagnosis.RegistryProbe{
		Auth: "pull-secret", Digest: "sha256:abc",
		RetryAfter: "Basic REDACTED", ConnError: "x REDACTED y REDACTED z",
		Platforms: []string{"linux/REDACTED"},
	}
	if diff := cmp.Diff(want, scrub(in, secrets)); diff != "" {
		t.Errorf("scrub mismatch (-want +got):\n%s", diff)
	}
	if in.Platforms[0] != "linux/hunter22/+" {
		t.Error("scrub changed its argument's Platforms")
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	const (
		index    = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hex64 + `","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hex64 + `","size":1,"platform":{"os":"windows","architecture":"amd64","os.version":"10.0.20348.1"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hex64 + `","size":1}]}`
		bareList = `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + hex64 + `","size":1,"platform":{"os":"linux","architecture":"amd64"}}]}`
		image    = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{}}`
	)
	tests := []struct {
		name, contentType, body string
		wantType                string
		wantPlatforms           []string
	}{
		{"index", "application/vnd.oci.image.index.v1+json", index, "application/vnd.oci.image.index.v1+json", []string{"linux/arm64/v8", "windows/amd64"}},
		{"content type with parameters", "application/vnd.oci.image.index.v1+json; charset=utf-8", index, "application/vnd.oci.image.index.v1+json", []string{"linux/arm64/v8", "windows/amd64"}},
		{"generic content type, media type in the body", "application/json", index, "application/vnd.oci.image.index.v1+json", []string{"linux/arm64/v8", "windows/amd64"}},
		{"no media type anywhere, manifests listed", "", bareList, "", []string{"linux/amd64"}},
		{"image", "application/vnd.oci.image.manifest.v1+json", image, "application/vnd.oci.image.manifest.v1+json", nil},
		{"schema 1", "application/vnd.docker.distribution.manifest.v1+prettyjws", `{"schemaVersion":1}`, "application/vnd.docker.distribution.manifest.v1+prettyjws", nil},
		{"not JSON", "text/html", "<html>", "text/html", nil},
		{"index media type, broken body", "application/vnd.oci.image.index.v1+json", `{"manifests":7}`, "application/vnd.oci.image.index.v1+json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotType, gotPlatforms := describe(typesMediaType(tt.contentType), []byte(tt.body))
			if gotType != tt.wantType {
				t.Errorf("media type = %q, want %q", gotType, tt.wantType)
			}
			if diff := cmp.Diff(tt.wantPlatforms, gotPlatforms); diff != "" {
				t.Errorf("platforms mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

const hex64 = "0000000000000000000000000000000000000000000000000000000000000000"

func typesMediaType(s string) types.MediaType { return types.MediaType(s) }
