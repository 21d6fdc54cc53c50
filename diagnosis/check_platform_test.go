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
