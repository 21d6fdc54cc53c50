package diagnosis

import (
	"testing"
	"time"
)

func TestCheckPullTimeout(t *testing.T) {
	stuck := func(since time.Duration) func(*Facts) {
		return event("Normal", "Pulling", "spec.containers{api}", `Pulling image "`+ecrImage+`"`, since)
	}
	runCheckCases(t, checkPullTimeout, []checkCase{
		{
			// cri-client keeps codes other than Unknown (DOMAIN §2.4, C14).
			name:  "no progress: context canceled",
			facts: newFacts(pullFailed("api", `rpc error: code = Canceled desc = failed to pull and unpack image "`+ecrImage+`": context canceled`)),
			cause: CausePullTimeout, conf: Likely,
			says:    []string{"image_pull_progress_timeout", tNode},
			fixes:   []string{"kubectl get node " + tNode + " -o jsonpath="},
			notes:   []string{"SOCI"},
			restart: false,
		},
		{
			name:  "kubelet pull QPS",
			facts: newFacts(pullFailed("api", "pull QPS exceeded")),
			cause: CausePullTimeout, conf: Likely,
			says:    []string{"registryPullQPS"},
			restart: false,
		},
		{
			name:  "stuck in ContainerCreating with a Pulling event 12 minutes old",
			facts: newFacts(stuck(12 * time.Minute)),
			cause: CausePullTimeout, conf: Possible,
			says:    []string{"for 12m0s", "Pulling event at 2026-08-22T09:48:00Z"},
			restart: false,
		},
		{name: "429", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "429 Too Many Requests"))), wantNil: true},
	})
}

func TestPullStartedRecentlyIsNotFailing(t *testing.T) {
	f := newFacts(event("Normal", "Pulling", "spec.containers{api}", `Pulling image "`+ecrImage+`"`, 2*time.Minute))
	if got := FailingContainers(f); len(got) != 0 {
		t.Errorf("FailingContainers = %d containers, want none: a 2-minute pull is not stuck", len(got))
	}
}
