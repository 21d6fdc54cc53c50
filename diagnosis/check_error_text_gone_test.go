package diagnosis

import (
	"testing"
	"time"
)

func TestCheckErrorTextGone(t *testing.T) {
	bare := `Back-off pulling image "` + ecrImage + `"`
	// After an hour only BackOff events survive, and a pre-1.32 kubelet keeps no error (DOMAIN §2.2, §11.10).
	expired := func(f *Facts) {
		event("Normal", "BackOff", "spec.containers{api}", bare, time.Minute)(f)
		waiting("api", ReasonImagePullBackOff, bare)(f)
	}
	runCheckCases(t, checkErrorTextGone, []checkCase{
		{
			name:  "events expired",
			facts: newFacts(expired),
			cause: CauseUnknown, conf: Possible,
			says: []string{"error text is gone", ecrImage},
			fixes: []string{
				"kubectl -n payments rollout restart deployment/payments-api",
				"kubectl -n payments get events --field-selector reason=Failed --sort-by .lastTimestamp",
			},
		},
		{
			name:  "no message and no events at all",
			facts: newFacts(waiting("api", ReasonErrImagePull, "")),
			cause: CauseUnknown, conf: Possible,
		},
		{
			name:  "Job: delete the pod",
			facts: newFacts(ownedBy("Job", "payments-migrate"), expired),
			cause: CauseUnknown, conf: Possible,
			fixes: []string{"kubectl -n payments delete pod " + tPod},
		},
		{
			name:  "bare pod: re-create it",
			facts: newFacts(ownedBy("Pod", tPod), expired),
			cause: CauseUnknown, conf: Possible,
			fixes:    []string{"| kubectl replace --force -f -"},
			notFixes: []string{"delete pod"},
		},
		{name: "v1.32 waiting message keeps the error", facts: newFacts(backOff132("api", notFoundErr(ecrImage))), wantNil: true},
		{name: "a Failed event is still there", facts: newFacts(pullFailed("api", notFoundErr(ecrImage))), wantNil: true},
	})
}
