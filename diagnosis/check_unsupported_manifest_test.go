package diagnosis

import "testing"

func TestCheckUnsupportedManifest(t *testing.T) {
	// containerd 2.x core/remotes/docker schema-1 refusal (DOMAIN §3.1, §10.6).
	schema1 := `failed to pull and unpack image "` + ecrImage + `": media type "application/vnd.docker.distribution.manifest.v1+prettyjws" is no longer supported since containerd v2.0, please rebuild the image as "application/vnd.docker.distribution.manifest.v2+json" or "application/vnd.oci.image.manifest.v1+json"`
	runCheckCases(t, checkUnsupportedManifest, []checkCase{
		{
			name:  "schema 1 on containerd 2",
			facts: newFacts(func(f *Facts) { f.Node.ContainerRuntime = "containerd://2.1.4" }, pullFailed("api", schema1)),
			cause: CauseUnsupportedManifest, conf: Confirmed,
			says:    []string{ecrImage, tNode},
			fixes:   []string{"docker buildx build -t " + ecrImage + " --push ."},
			restart: true,
		},
		{name: "not found", facts: newFacts(pullFailed("api", notFoundErr(ecrImage))), wantNil: true},
	})
}
