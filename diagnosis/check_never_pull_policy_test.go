package diagnosis

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func neverPull(name string) func(*Facts) {
	return func(f *Facts) {
		img := imageOf(f, name)
		kind, _, _ := specOf(f, name)
		// image_manager.go imageNotPresentOnNeverPolicyError (DOMAIN §2.1).
		msg := `Container image "` + img + `" is not present with pull policy of Never`
		withPolicy(name, corev1.PullNever)(f)
		event("Warning", "ErrImageNeverPull", fieldPath(kind, name), msg, time.Minute)(f)
		waiting(name, ReasonErrImageNeverPull, msg)(f)
	}
}

func TestCheckNeverPullPolicy(t *testing.T) {
	runCheckCases(t, checkNeverPullPolicy, []checkCase{
		{
			name:  "Deployment container",
			facts: newFacts(neverPull("api")),
			cause: CauseNeverPullPolicy, conf: Confirmed,
			says:  []string{"spec.containers{api}.imagePullPolicy: Never", ecrImage, tNode},
			fixes: []string{`kubectl -n payments patch deployment payments-api --type json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]'`},
		},
		{
			name:      "init container",
			facts:     newFacts(neverPull("migrate")),
			container: "migrate",
			cause:     CauseNeverPullPolicy, conf: Confirmed,
			fixes: []string{`"path":"/spec/template/spec/initContainers/0/imagePullPolicy"`},
		},
		{
			name:      "second container of the pod",
			facts:     newFacts(addContainer("sidecar", "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0"), running("api"), neverPull("sidecar")),
			container: "sidecar",
			cause:     CauseNeverPullPolicy, conf: Confirmed,
			fixes: []string{`"path":"/spec/template/spec/containers/1/imagePullPolicy"`},
		},
		{
			name:  "CronJob",
			facts: newFacts(ownedBy("CronJob", "nightly-report"), neverPull("api")),
			cause: CauseNeverPullPolicy, conf: Confirmed,
			fixes: []string{`kubectl -n payments patch cronjob nightly-report --type json -p '[{"op":"replace","path":"/spec/jobTemplate/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]'`},
		},
		{name: "not found", facts: newFacts(pullFailed("api", notFoundErr(ecrImage))), wantNil: true},
	})
}
