package diagnosis

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseImage(t *testing.T) {
	const hex = "4feaecf0df9a7319becc808f8c78d3498dcab3fde3dc0270ad6486c0cc001216"
	for _, tc := range []struct {
		raw  string
		want ImageRef // Raw is filled in from raw
		err  string   // substring of Err
	}{
		// Docker Hub defaults (distribution/reference normalize.go, DOMAIN §10.1).
		{raw: "nginx", want: ImageRef{Full: "docker.io/library/nginx:latest", Domain: "docker.io", Path: "library/nginx", Tag: "latest", ImplicitTag: true, ShortName: true, Registry: RegistryDockerHub}},
		{raw: "api:1.8.2", want: ImageRef{Full: "docker.io/library/api:1.8.2", Domain: "docker.io", Path: "library/api", Tag: "1.8.2", ShortName: true, Registry: RegistryDockerHub}},
		{raw: "library/nginx:1.27", want: ImageRef{Full: "docker.io/library/nginx:1.27", Domain: "docker.io", Path: "library/nginx", Tag: "1.27", ShortName: true, Registry: RegistryDockerHub}},
		{raw: "payments/api:1.8.2", want: ImageRef{Full: "docker.io/payments/api:1.8.2", Domain: "docker.io", Path: "payments/api", Tag: "1.8.2", ShortName: true, Registry: RegistryDockerHub}},
		{raw: "docker.io/acme/app", want: ImageRef{Full: "docker.io/acme/app:latest", Domain: "docker.io", Path: "acme/app", Tag: "latest", ImplicitTag: true, Registry: RegistryDockerHub}},
		{raw: "index.docker.io/acme/app:2", want: ImageRef{Full: "docker.io/acme/app:2", Domain: "docker.io", Path: "acme/app", Tag: "2", Registry: RegistryDockerHub}},
		{raw: "index.docker.io/nginx", want: ImageRef{Full: "docker.io/library/nginx:latest", Domain: "docker.io", Path: "library/nginx", Tag: "latest", ImplicitTag: true, Registry: RegistryDockerHub}},
		// Digests: the tag is then not used for resolution.
		{raw: "nginx@sha256:" + hex, want: ImageRef{Full: "docker.io/library/nginx@sha256:" + hex, Domain: "docker.io", Path: "library/nginx", Digest: "sha256:" + hex, ShortName: true, Registry: RegistryDockerHub}},
		{raw: "nginx:1.27@sha256:" + hex, want: ImageRef{Full: "docker.io/library/nginx:1.27@sha256:" + hex, Domain: "docker.io", Path: "library/nginx", Tag: "1.27", Digest: "sha256:" + hex, ShortName: true, Registry: RegistryDockerHub}},
		// Ports belong to the host; the tag follows the last path element's colon.
		{raw: tPrivate, want: ImageRef{Full: tPrivate, Domain: "registry.example.com:5000", Path: "team/app", Tag: "3.1", Registry: RegistryOther}},
		{raw: "registry.example.com:5000/team/app", want: ImageRef{Full: "registry.example.com:5000/team/app:latest", Domain: "registry.example.com:5000", Path: "team/app", Tag: "latest", ImplicitTag: true, Registry: RegistryOther}},
		{raw: "localhost/app", want: ImageRef{Full: "localhost/app:latest", Domain: "localhost", Path: "app", Tag: "latest", ImplicitTag: true, Registry: RegistryOther}},
		{raw: "localhost:5000/app:1", want: ImageRef{Full: "localhost:5000/app:1", Domain: "localhost:5000", Path: "app", Tag: "1", Registry: RegistryOther}},
		{raw: "10.0.3.17:5000/app:1", want: ImageRef{Full: "10.0.3.17:5000/app:1", Domain: "10.0.3.17:5000", Path: "app", Tag: "1", Registry: RegistryOther}},
		// An upper-case first element is a host, not a Docker Hub namespace (splitDockerDomain).
		{raw: "Registry/app:1", want: ImageRef{Full: "Registry/app:1", Domain: "Registry", Path: "app", Tag: "1", Registry: RegistryOther}},
		// Parse errors.
		{raw: "ACTOKEY", err: "must be lowercase"},
		{raw: "payments/API:1", err: "must be lowercase"},
		{raw: "", err: "invalid reference format"},
		{raw: "https://" + tPrivate, err: "invalid reference format"},
		{raw: "${REGISTRY_URL}/payments/api:1.8.2", err: "invalid reference format"},
		{raw: hex, err: "cannot specify 64-byte hexadecimal strings"},
		// ECR private, with the provider's host pattern (DOMAIN §10.2).
		{raw: ecrImage, want: ImageRef{Full: ecrImage, Domain: "111122223333.dkr.ecr.us-west-2.amazonaws.com", Path: "payments/api", Tag: "1.8.2",
			Registry: RegistryECR, Account: tAccount, Region: tRegion, Partition: "aws"}},
		{raw: "111122223333.dkr.ecr-fips.us-west-2.amazonaws.com/payments/api:1.8.2", want: ImageRef{Full: "111122223333.dkr.ecr-fips.us-west-2.amazonaws.com/payments/api:1.8.2",
			Domain: "111122223333.dkr.ecr-fips.us-west-2.amazonaws.com", Path: "payments/api", Tag: "1.8.2", Registry: RegistryECR, Account: tAccount, Region: tRegion, Partition: "aws", FIPS: true}},
		{raw: "111122223333.dkr-ecr.us-west-2.on.aws/payments/api:1.8.2", want: ImageRef{Full: "111122223333.dkr-ecr.us-west-2.on.aws/payments/api:1.8.2",
			Domain: "111122223333.dkr-ecr.us-west-2.on.aws", Path: "payments/api", Tag: "1.8.2", Registry: RegistryECR, Account: tAccount, Region: tRegion, Partition: "aws", DualStack: true}},
		{raw: "111122223333.dkr-ecr-fips.us-west-2.on.aws/payments/api:1.8.2", want: ImageRef{Full: "111122223333.dkr-ecr-fips.us-west-2.on.aws/payments/api:1.8.2",
			Domain: "111122223333.dkr-ecr-fips.us-west-2.on.aws", Path: "payments/api", Tag: "1.8.2", Registry: RegistryECR, Account: tAccount, Region: tRegion, Partition: "aws", FIPS: true, DualStack: true}},
		{raw: "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2", want: ImageRef{Full: "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2",
			Domain: "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn", Path: "payments/api", Tag: "1.8.2", Registry: RegistryECR, Account: tAccount, Region: "cn-north-1", Partition: "aws-cn"}},
		{raw: "111122223333.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn/payments/api:1.8.2", want: ImageRef{Full: "111122223333.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn/payments/api:1.8.2",
			Domain: "111122223333.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn", Path: "payments/api", Tag: "1.8.2", Registry: RegistryECR, Account: tAccount, Region: "cn-northwest-1", Partition: "aws-cn", DualStack: true}},
		{raw: "151742754352.dkr.ecr.us-gov-east-1.amazonaws.com/eks/pause:3.5", want: ImageRef{Full: "151742754352.dkr.ecr.us-gov-east-1.amazonaws.com/eks/pause:3.5",
			Domain: "151742754352.dkr.ecr.us-gov-east-1.amazonaws.com", Path: "eks/pause", Tag: "3.5", Registry: RegistryECR, Account: "151742754352", Region: "us-gov-east-1", Partition: "aws-us-gov"}},
		{raw: "111122223333.dkr.ecr.eusc-de-east-1.amazonaws.eu/payments/api:1", want: ImageRef{Full: "111122223333.dkr.ecr.eusc-de-east-1.amazonaws.eu/payments/api:1",
			Domain: "111122223333.dkr.ecr.eusc-de-east-1.amazonaws.eu", Path: "payments/api", Tag: "1", Registry: RegistryECR, Account: tAccount, Region: "eusc-de-east-1", Partition: "aws-eusc"}},
		{raw: "111122223333.dkr.ecr.us-iso-east-1.c2s.ic.gov/payments/api:1", want: ImageRef{Full: "111122223333.dkr.ecr.us-iso-east-1.c2s.ic.gov/payments/api:1",
			Domain: "111122223333.dkr.ecr.us-iso-east-1.c2s.ic.gov", Path: "payments/api", Tag: "1", Registry: RegistryECR, Account: tAccount, Region: "us-iso-east-1", Partition: "aws-iso"}},
		// Not ECR for the credential provider: an endpoint-specific name, a short account.
		{raw: "vpce-0abc1234.dkr.ecr.us-west-2.vpce.amazonaws.com/payments/api:1.8.2", want: ImageRef{Full: "vpce-0abc1234.dkr.ecr.us-west-2.vpce.amazonaws.com/payments/api:1.8.2",
			Domain: "vpce-0abc1234.dkr.ecr.us-west-2.vpce.amazonaws.com", Path: "payments/api", Tag: "1.8.2", Registry: RegistryOther}},
		{raw: "11112222333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1", want: ImageRef{Full: "11112222333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1",
			Domain: "11112222333.dkr.ecr.us-west-2.amazonaws.com", Path: "payments/api", Tag: "1", Registry: RegistryOther}},
		// Other registry families.
		{raw: "public.ecr.aws/eks-distro/kubernetes/pause:3.9", want: ImageRef{Full: "public.ecr.aws/eks-distro/kubernetes/pause:3.9", Domain: "public.ecr.aws", Path: "eks-distro/kubernetes/pause", Tag: "3.9", Registry: RegistryECRPublic}},
		{raw: "ecr-public.aws.com/nginx/nginx:1.27", want: ImageRef{Full: "ecr-public.aws.com/nginx/nginx:1.27", Domain: "ecr-public.aws.com", Path: "nginx/nginx", Tag: "1.27", Registry: RegistryECRPublic}},
		{raw: "ghcr.io/acme/app:2", want: ImageRef{Full: "ghcr.io/acme/app:2", Domain: "ghcr.io", Path: "acme/app", Tag: "2", Registry: RegistryGHCR}},
		{raw: "gcr.io/acme-prod/app:2", want: ImageRef{Full: "gcr.io/acme-prod/app:2", Domain: "gcr.io", Path: "acme-prod/app", Tag: "2", Registry: RegistryGCR}},
		{raw: "eu.gcr.io/acme-prod/app:2", want: ImageRef{Full: "eu.gcr.io/acme-prod/app:2", Domain: "eu.gcr.io", Path: "acme-prod/app", Tag: "2", Registry: RegistryGCR}},
		{raw: "us-docker.pkg.dev/acme-prod/images/app:2", want: ImageRef{Full: "us-docker.pkg.dev/acme-prod/images/app:2", Domain: "us-docker.pkg.dev", Path: "acme-prod/images/app", Tag: "2", Registry: RegistryArtifact}},
		{raw: "acme.azurecr.io/app:2", want: ImageRef{Full: "acme.azurecr.io/app:2", Domain: "acme.azurecr.io", Path: "app", Tag: "2", Registry: RegistryACR}},
		{raw: "quay.io/acme/app:2", want: ImageRef{Full: "quay.io/acme/app:2", Domain: "quay.io", Path: "acme/app", Tag: "2", Registry: RegistryQuay}},
		{raw: "harbor.internal/team/app:3.1", want: ImageRef{Full: "harbor.internal/team/app:3.1", Domain: "harbor.internal", Path: "team/app", Tag: "3.1", Registry: RegistryOther}},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			got := ParseImage(tc.raw)
			if tc.err != "" {
				if got.Err == nil || !strings.Contains(got.Err.Error(), tc.err) {
					t.Fatalf("ParseImage(%q).Err = %v, want an error containing %q", tc.raw, got.Err, tc.err)
				}
				if diff := cmp.Diff(ImageRef{Raw: tc.raw}, got, cmpopts.IgnoreFields(ImageRef{}, "Err")); diff != "" {
					t.Errorf("a failed parse must leave the fields empty (-want +got):\n%s", diff)
				}
				return
			}
			tc.want.Raw = tc.raw
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("ParseImage(%q) (-want +got):\n%s", tc.raw, diff)
			}
		})
	}
}

func TestImageRefDerived(t *testing.T) {
	for _, tc := range []struct {
		raw                        string
		repo, reference, host, arn string
	}{
		{ecrImage, "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api", "1.8.2", "111122223333.dkr.ecr.us-west-2.amazonaws.com", "arn:aws:ecr:us-west-2:111122223333:repository/payments/api"},
		{"111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2", "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api", "1.8.2", "111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn", "arn:aws-cn:ecr:cn-north-1:111122223333:repository/payments/api"},
		{"151742754352.dkr.ecr.us-gov-east-1.amazonaws.com/eks/pause:3.5", "151742754352.dkr.ecr.us-gov-east-1.amazonaws.com/eks/pause", "3.5", "151742754352.dkr.ecr.us-gov-east-1.amazonaws.com", "arn:aws-us-gov:ecr:us-gov-east-1:151742754352:repository/eks/pause"},
		{"111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api@" + tDigest, "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api", tDigest, "111122223333.dkr.ecr.us-west-2.amazonaws.com", "arn:aws:ecr:us-west-2:111122223333:repository/payments/api"},
		{"busybox", "docker.io/library/busybox", "latest", "registry-1.docker.io", ""},
		{"nginx:1.27@" + tDigest, "docker.io/library/nginx", tDigest, "registry-1.docker.io", ""},
		{tPrivate, "registry.example.com:5000/team/app", "3.1", "registry.example.com:5000", ""},
		{"public.ecr.aws/nginx/nginx:1.27", "public.ecr.aws/nginx/nginx", "1.27", "public.ecr.aws", ""},
		{"Bad", "", "", "", ""},
	} {
		r := ParseImage(tc.raw)
		if got := r.Repository(); got != tc.repo {
			t.Errorf("ParseImage(%q).Repository() = %q, want %q", tc.raw, got, tc.repo)
		}
		if got := r.Reference(); got != tc.reference {
			t.Errorf("ParseImage(%q).Reference() = %q, want %q", tc.raw, got, tc.reference)
		}
		if got := r.RegistryHost(); got != tc.host {
			t.Errorf("ParseImage(%q).RegistryHost() = %q, want %q", tc.raw, got, tc.host)
		}
		if got := r.RepositoryARN(); got != tc.arn {
			t.Errorf("ParseImage(%q).RepositoryARN() = %q, want %q", tc.raw, got, tc.arn)
		}
		if got, want := r.IsECR(), tc.arn != ""; got != want {
			t.Errorf("ParseImage(%q).IsECR() = %v, want %v", tc.raw, got, want)
		}
	}
}

func TestHostMatches(t *testing.T) {
	for _, tc := range []struct {
		image, key string
		want       bool
	}{
		// The port must match (DOMAIN §10.1, C09).
		{tPrivate, "registry.example.com", false},
		{tPrivate, "registry.example.com:5000", true},
		{tPrivate, "registry.example.com:5001", false},
		{"registry.example.com/team/app:3.1", "registry.example.com:5000", false},
		{tPrivate, "https://registry.example.com:5000", true},
		{tPrivate, "http://registry.example.com:5000/", true},
		{tPrivate, "REGISTRY.EXAMPLE.COM:5000", true},
		{tPrivate, "  registry.example.com:5000  ", true},
		// A path in the key is a prefix of the repository path; /v1/ and /v2/ mean the host.
		{tPrivate, "registry.example.com:5000/team", true},
		{tPrivate, "registry.example.com:5000/other", false},
		{tPrivate, "https://registry.example.com:5000/v2/", true},
		{tPrivate, "https://registry.example.com:5000/v1/", true},
		{tPrivate, "https://registry.example.com:5000/v2/team", true},
		{tPrivate, "https://registry.example.com:5000/v2/other", false},
		// Globs match one DNS label each (credentialprovider URLsMatch).
		{tPrivate, "*.example.com:5000", true},
		{"a.b.example.com/team/app:1", "*.example.com", false},
		{"b.example.com/team/app:1", "*.example.com", true},
		{ecrImage, "*.dkr.ecr.us-west-2.amazonaws.com", true},
		{ecrImage, "111122223333.dkr.ecr.us-west-2.amazonaws.com", true},
		{ecrImage, "444455556666.dkr.ecr.us-west-2.amazonaws.com", false},
		// Docker Hub's legacy keys.
		{"nginx", "https://index.docker.io/v1/", true},
		{"nginx", "index.docker.io", true},
		{"nginx", "docker.io", true},
		{"acme/app:2", "registry-1.docker.io", true},
		{"acme/app:2", "https://registry.hub.docker.com", true},
		{"acme/app:2", "index.docker.io/acme", true},
		{"acme/app:2", "index.docker.io/other", false},
		{"acme/app:2", "ghcr.io", false},
		{"ghcr.io/acme/app:2", "https://index.docker.io/v1/", false},
		{"quay.io/acme/app:2", "quay.io", true},
	} {
		if got := ParseImage(tc.image).HostMatches(tc.key); got != tc.want {
			t.Errorf("ParseImage(%q).HostMatches(%q) = %v, want %v", tc.image, tc.key, got, tc.want)
		}
	}
}

func FuzzParseImage(f *testing.F) {
	for _, s := range []string{
		"nginx", "api:1.8.2", "library/nginx:1.27", "index.docker.io/acme/app:2", tPrivate, "localhost:5000/app:1",
		"Registry/app:1", "ACTOKEY", "", ecrImage, tXAccount, tPause, "nginx:1.27@" + tDigest,
		"111122223333.dkr-ecr-fips.us-west-2.on.aws/payments/api:1.8.2",
		"111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn/payments/api:1.8.2",
		"[::1]:5000/app:1", "public.ecr.aws/eks-distro/kubernetes/pause:3.9", "https://" + tPrivate,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := ParseImage(raw)
		if r.Raw != raw {
			t.Fatalf("Raw = %q, want %q", r.Raw, raw)
		}
		if r.Err != nil {
			return
		}
		if r.Domain == "" || r.Path == "" || r.Full == "" {
			t.Fatalf("ParseImage(%q) = %+v: a parsed reference needs a domain, a path and a full form", raw, r)
		}
		if r.Reference() == "" {
			t.Fatalf("ParseImage(%q) has neither tag nor digest", raw)
		}
		again := ParseImage(r.Full)
		if again.Err != nil || again.Full != r.Full {
			t.Fatalf("ParseImage(%q).Full = %q re-parses to %q (err %v)", raw, r.Full, again.Full, again.Err)
		}
		if again.Domain != r.Domain || again.Path != r.Path || again.Registry != r.Registry || again.Account != r.Account || again.Region != r.Region || again.Partition != r.Partition {
			t.Fatalf("ParseImage(%q) and its Full %q disagree: %+v vs %+v", raw, r.Full, r, again)
		}
		if r.IsECR() && (len(r.Account) != 12 || r.Region == "" || r.Partition == "" || !strings.HasPrefix(r.RepositoryARN(), "arn:"+r.Partition+":ecr:")) {
			t.Fatalf("ParseImage(%q): inconsistent ECR fields %+v", raw, r)
		}
		_ = r.HostMatches(raw)
	})
}
