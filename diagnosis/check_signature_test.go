package diagnosis

import "testing"

func TestCheckSignature(t *testing.T) {
	const quay = "quay.io/acme/app:1"
	// CRI-O internal/storage/image.go WrapSignatureCRIErrorIfNeeded (DOMAIN §2.1, C18).
	crio := "SignatureValidationFailed: image pull failed for quay.io/acme/app:1 because the signature validation failed: Source image rejected: A signature was required, but no signature exists"
	runCheckCases(t, checkSignature, []checkCase{
		{
			name: "CRI-O reason",
			facts: newFacts(withImage("api", quay), func(f *Facts) { f.Node.ContainerRuntime = "cri-o://1.31.2" },
				pullFailed("api", crio), waiting("api", ReasonSignatureValidationFailed, "image pull failed for quay.io/acme/app:1 because the signature validation failed: Source image rejected: A signature was required, but no signature exists")),
			cause: CauseSignatureInvalid, conf: Confirmed,
			says:    []string{"node " + tNode, quay},
			fixes:   []string{"kubectl get node " + tNode + " -o jsonpath="},
			restart: true,
		},
		{
			name:  "v1.32 waiting message",
			facts: newFacts(withImage("api", quay), backOff132("api", crio)),
			cause: CauseSignatureInvalid, conf: Confirmed,
			restart: true,
		},
		{name: "429", facts: newFacts(withImage("api", "busybox:1.36"), pullFailed("api", `failed to pull and unpack image "docker.io/library/busybox:1.36": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:3fbc6: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.`)), wantNil: true},
	})
}
