package diagnosis

import "testing"

func graviton(f *Facts) { f.Node.Arch, f.Node.InstanceType = "arm64", "m7g.large" }

func TestCheckPlatform(t *testing.T) {
	// containerd core/images/handlers.go LimitManifests, gRPC NotFound (DOMAIN §3.1, C07).
	noMatch := "rpc error: code = NotFound desc = failed to pull and unpack image \"" + ecrImage + "\": no match for platform in manifest: not found"
	runCheckCases(t, checkPlatform, []checkCase{
		{
			name:  "amd64-only index on Graviton",
			facts: newFacts(graviton, pullFailed("api", noMatch)),
			cause: CausePlatformMismatch, conf: Confirmed,
			says: []string{"linux/arm64", "node " + tNode + ": kubernetes.io/os=linux, kubernetes.io/arch=arm64, instance type m7g.large"},
			fixes: []string{
				"docker buildx build --platform linux/amd64,linux/arm64 -t " + ecrImage + " --push .",
				`kubectl -n payments patch deployment payments-api --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}'`,
			},
			notes: []string{"exec format error"},
		},
		{
			// A JSON patch "add" of the whole nodeSelector would replace it and drop the
			// selectors the pod already has; a merge patch adds the one key.
			name: "existing nodeSelector is kept",
			facts: newFacts(graviton, func(f *Facts) {
				f.Pod.Spec.NodeSelector = map[string]string{"eks.amazonaws.com/nodegroup": "ng-general"}
			},
				pullFailed("api", noMatch)),
			cause: CausePlatformMismatch, conf: Confirmed,
			fixes:    []string{`--type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}'`},
			notFixes: []string{`"op":"add"`},
		},
		{
			name:  "arm64-only image on an amd64 node, CRI-O wording",
			facts: newFacts(withImage("api", "quay.io/acme/app:3.1"), pullFailed("api", `choosing an image from manifest list docker://quay.io/acme/app:3.1: no image found in image index for architecture "amd64", variant "", OS "linux"`)),
			cause: CausePlatformMismatch, conf: Confirmed,
			says:  []string{"linux/amd64"},
			fixes: []string{`{"nodeSelector":{"kubernetes.io/arch":"arm64"}}`},
		},
		{
			name:  "Fargate runs amd64 only",
			facts: newFacts(onFargate, func(f *Facts) { f.Node.Arch = "amd64" }, pullFailed("api", noMatch)),
			cause: CausePlatformMismatch, conf: Confirmed,
			notes:    []string{"Fargate runs only amd64"},
			notFixes: []string{"nodeSelector"},
		},
		{
			name:      "init container, CronJob",
			facts:     newFacts(graviton, ownedBy("CronJob", "nightly-report"), pullFailed("migrate", "rpc error: code = NotFound desc = failed to pull and unpack image \""+tMigrate+"\": no match for platform in manifest: not found")),
			container: "migrate",
			cause:     CausePlatformMismatch, conf: Confirmed,
			fixes: []string{`kubectl -n payments patch cronjob nightly-report --type merge -p '{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/arch":"amd64"}}}}}}}'`},
		},
		{name: "plain not found belongs to not-found", facts: newFacts(graviton, pullFailed("api", notFoundErr(ecrImage))), wantNil: true},
	})
}

// TestCheckPlatformEvidence: the image index's platforms, from ECR or the registry probe,
// name what the image offers, and the nodeSelector patch picks one of them (DOMAIN C07).
func TestCheckPlatformEvidence(t *testing.T) {
	noMatch := func(image string) string {
		return "rpc error: code = NotFound desc = failed to pull and unpack image \"" + image + "\": no match for platform in manifest: not found"
	}
	const quay = "quay.io/acme/app:3.1"
	ecrPlatforms := func(p ...string) func(*Facts) {
		return withECR(ecrImage, ECRImageEvidence{RepositoryExists: Yes, ImageExists: Yes, MediaType: "application/vnd.oci.image.index.v1+json", Platforms: p})
	}
	patch := func(selector string) string {
		return `kubectl -n payments patch deployment payments-api --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":` + selector + `}}}}'`
	}
	runCheckCases(t, checkPlatform, []checkCase{
		{
			name:  "ECR index is amd64-only, node is Graviton",
			facts: newFacts(graviton, pullFailed("api", noMatch(ecrImage)), ecrPlatforms("linux/amd64")),
			cause: CausePlatformMismatch, conf: Confirmed,
			says:  []string{"the image index of " + ecrImage + " offers linux/amd64"},
			fixes: []string{patch(`{"kubernetes.io/arch":"amd64"}`), "Or schedule the workload on amd64 nodes, which the image supports"},
			notes: []string{"exec format error"},
		},
		{
			// Attestation manifests (unknown/unknown) and 32-bit ARM are not EKS node platforms.
			name:  "ECR index with attestations and arm/v7, node is amd64",
			facts: newFacts(pullFailed("api", noMatch(ecrImage)), ecrPlatforms("linux/arm64/v8", "linux/arm/v7", "unknown/unknown")),
			cause: CausePlatformMismatch, conf: Confirmed,
			says:     []string{"offers linux/arm64/v8, linux/arm/v7, unknown/unknown"},
			fixes:    []string{patch(`{"kubernetes.io/arch":"arm64"}`)},
			notFixes: []string{`"kubernetes.io/arch":"arm"}`, "unknown"},
		},
		{
			// The evidence lists the node's own platform: the image gained it after the failure.
			name:  "ECR index now offers the node's platform",
			facts: newFacts(graviton, pullFailed("api", noMatch(ecrImage)), ecrPlatforms("linux/amd64", "linux/arm64")),
			cause: CausePlatformMismatch, conf: Confirmed,
			says:     []string{"conflict: the image index offers linux/arm64 now"},
			notFixes: []string{"nodeSelector"},
			restart:  true,
		},
		{
			name:  "image offers only Linux, node is Windows",
			facts: newFacts(func(f *Facts) { f.Node.OS = "windows" }, pullFailed("api", noMatch(ecrImage)), ecrPlatforms("linux/amd64", "linux/arm64")),
			cause: CausePlatformMismatch, conf: Confirmed,
			says:  []string{"platform windows/amd64", "offers linux/amd64, linux/arm64"},
			fixes: []string{patch(`{"kubernetes.io/os":"linux","kubernetes.io/arch":"amd64"}`), "on linux/amd64 nodes"},
		},
		{
			name: "registry probe platforms for a non-ECR image",
			facts: newFacts(withImage("api", quay), pullFailed("api", `choosing an image from manifest list docker://quay.io/acme/app:3.1: no image found in image index for architecture "amd64", variant "", OS "linux"`),
				withProbe(quay, RegistryProbe{Auth: "anonymous", Status: 200, Exists: Yes, MediaType: "application/vnd.oci.image.index.v1+json", Platforms: []string{"linux/arm64", "linux/s390x"}})),
			cause: CausePlatformMismatch, conf: Confirmed,
			says:  []string{"the image index of quay.io/acme/app:3.1 offers linux/arm64, linux/s390x"},
			fixes: []string{`{"nodeSelector":{"kubernetes.io/arch":"arm64"}}`},
		},
		{
			// ECR's answer wins over the probe's.
			name:  "ECR platforms preferred over the probe's",
			facts: newFacts(graviton, pullFailed("api", noMatch(ecrImage)), ecrPlatforms("linux/amd64"), withProbe(ecrImage, RegistryProbe{Auth: "ecr-token", Status: 200, Platforms: []string{"linux/ppc64le"}})),
			cause: CausePlatformMismatch, conf: Confirmed,
			says: []string{"offers linux/amd64"},
		},
		{
			name:  "Fargate with evidence: no nodeSelector",
			facts: newFacts(onFargate, pullFailed("api", noMatch(ecrImage)), ecrPlatforms("linux/arm64")),
			cause: CausePlatformMismatch, conf: Confirmed,
			says:     []string{"offers linux/arm64"},
			notes:    []string{"Fargate runs only amd64"},
			notFixes: []string{"nodeSelector"},
		},
		{
			// The index lists nothing EKS can run: no node to pin the workload to.
			name:  "index with no EKS platform",
			facts: newFacts(pullFailed("api", noMatch(ecrImage)), ecrPlatforms("linux/s390x", "linux/ppc64le")),
			cause: CausePlatformMismatch, conf: Confirmed,
			fixes:    []string{"docker buildx build --platform linux/amd64,linux/arm64"},
			notFixes: []string{"nodeSelector"},
		},
	})
}
