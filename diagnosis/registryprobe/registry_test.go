package registryprobe_test

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/pullcheck/pullcheck/tests/registryfake"
)

// The credentials the test registries accept.
const (
	testUser = registryfake.DefaultUsername
	testPass = registryfake.DefaultPassword
)

// authMode is how a test registry authenticates (the zero value is Docker Hub's bearer flow).
type authMode int

const (
	authBearer authMode = iota
	authBasic
)

// newTestRegistry starts a fake registry (tests/registryfake) holding the test images:
// team/app:1.0, public/app:1.0 and library/nginx:1.27 (one single-platform image),
// team/multi:2.0 (an OCI index for linux/amd64 and linux/arm64/v8) and team/list:3.0 (a
// Docker manifest list with linux/amd64 twice and linux/arm/v7), each index with a BuildKit
// attestation manifest.
func newTestRegistry(t *testing.T, mode authMode) *registryfake.Registry {
	t.Helper()
	auth := registryfake.AuthBearer
	if mode == authBasic {
		auth = registryfake.AuthBasic
	}
	r := registryfake.New(t, registryfake.Options{Auth: auth})
	img := registryfake.RandomImage(t)
	for _, tag := range []string{"team/app:1.0", "public/app:1.0", "library/nginx:1.27"} {
		r.Push(t, tag, img)
	}
	r.Push(t, "team/multi:2.0", registryfake.Index(t, types.OCIImageIndex,
		v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
	))
	r.Push(t, "team/list:3.0", registryfake.Index(t, types.DockerManifestList,
		v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
		v1.Platform{OS: "linux", Architecture: "amd64"}, // listed twice: reported once
	))
	return r
}

// pushed returns what reg holds under repoTag, failing the test when nothing is there.
func pushed(t *testing.T, reg *registryfake.Registry, repoTag string) registryfake.Pushed {
	t.Helper()
	p, ok := reg.Pushed(repoTag)
	if !ok {
		t.Fatalf("nothing pushed under %s", repoTag)
	}
	return p
}
