package diagnosis

import (
	"testing"
	"time"
)

func invalidName(name, image, detail string) func(*Facts) {
	// image_manager.go applyDefaultImageTag + pkg/util/parsers (DOMAIN §2.1, C17).
	msg := `Failed to apply default image tag "` + image + `": couldn't parse image name "` + image + `": invalid reference format` + detail
	return func(f *Facts) {
		withImage(name, image)(f)
		kind, _, _ := specOf(f, name)
		event("Warning", "InspectFailed", fieldPath(kind, name), msg, time.Minute)(f)
		event("Warning", "Failed", fieldPath(kind, name), "Error: InvalidImageName", time.Minute)(f)
		waiting(name, ReasonInvalidImageName, msg)(f)
	}
}

func TestCheckInvalidImageName(t *testing.T) {
	upper := "111122223333.dkr.ecr.us-west-2.amazonaws.com/Payments/API:1.8.2"
	runCheckCases(t, checkInvalidImageName, []checkCase{
		{
			name:  "uppercase repository",
			facts: newFacts(invalidName("api", upper, ": repository name (Payments/API) must be lowercase")),
			cause: CauseInvalidImageName, conf: Confirmed,
			says: []string{`"` + upper + `"`, "spec.containers{api}", "must be lowercase", "never contacts a registry"},
			fixes: []string{
				"kubectl -n payments set image deployment/payments-api api=" + ecrImage,
				`kubectl -n payments get deployment/payments-api -o 'jsonpath={.spec.template.spec.containers[?(@.name=="api")].image}'`,
			},
			verify: []string{"kubectl -n payments get pods -l app=payments-api -o wide"},
		},
		{
			name:  "template placeholder left in the reference",
			facts: newFacts(invalidName("api", "${REGISTRY_URL}/payments/api:1.8.2", "")),
			cause: CauseInvalidImageName, conf: Confirmed,
			says:     []string{"${REGISTRY_URL}/payments/api:1.8.2"},
			notes:    []string{"template placeholder"},
			fixes:    []string{"kubectl -n payments get deployment/payments-api"},
			notFixes: []string{"set image"},
		},
		{
			name:  "scheme in the reference",
			facts: newFacts(invalidName("api", "https://"+tPrivate, "")),
			cause: CauseInvalidImageName, conf: Confirmed,
			fixes: []string{"kubectl -n payments set image deployment/payments-api api=" + tPrivate},
		},
		{
			name:      "init container (Init:InvalidImageName)",
			facts:     newFacts(invalidName("migrate", "payments/Migrate:1.8.2", ": repository name (payments/Migrate) must be lowercase")),
			container: "migrate",
			cause:     CauseInvalidImageName, conf: Confirmed,
			says: []string{"spec.initContainers{migrate}"},
			fixes: []string{
				"kubectl -n payments set image deployment/payments-api migrate=payments/migrate:1.8.2",
				`jsonpath={.spec.template.spec.initContainers[?(@.name=="migrate")].image}`,
			},
		},
		{
			name:  "CronJob template",
			facts: newFacts(ownedBy("CronJob", "nightly-report"), invalidName("api", upper, "")),
			cause: CauseInvalidImageName, conf: Confirmed,
			fixes: []string{
				"kubectl -n payments set image cronjob/nightly-report api=" + ecrImage,
				`kubectl -n payments get cronjob/nightly-report -o 'jsonpath={.spec.jobTemplate.spec.template.spec.containers[?(@.name=="api")].image}'`,
			},
		},
		{
			name:  "Job: the template cannot change, so no set image",
			facts: newFacts(ownedBy("Job", "payments-migrate"), invalidName("api", upper, "")),
			cause: CauseInvalidImageName, conf: Confirmed,
			fixes:    []string{"kubectl -n payments get job/payments-migrate"},
			notFixes: []string{"set image"},
		},
		{
			name:  "bare pod",
			facts: newFacts(ownedBy("Pod", tPod), invalidName("api", upper, "")),
			cause: CauseInvalidImageName, conf: Confirmed,
			fixes: []string{
				"kubectl -n payments set image pod/" + tPod + " api=" + ecrImage,
				`kubectl -n payments get pod/` + tPod + ` -o 'jsonpath={.spec.containers[?(@.name=="api")].image}'`,
			},
			verify: []string{"kubectl -n payments get pod " + tPod + " -o wide"},
		},
		{name: "not found belongs to not-found", facts: newFacts(pullFailed("api", notFoundErr(ecrImage))), wantNil: true},
		{name: "401 belongs to registry-credentials", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "401 Unauthorized"))), wantNil: true},
	})
}
