package diagnosis

import "testing"

func TestCheckPullThroughCache(t *testing.T) {
	const ptc = "111122223333.dkr.ecr.us-west-2.amazonaws.com/docker-hub/library/nginx:1.27"
	// aws/containers-roadmap#2354 with containerd >= 2.4's body (DOMAIN C15).
	upstream := headStatusErr(ptc, "403 Forbidden: denied: The authentication to the upstream registry failed. Verify that the credentials provided in the pull through cache rule are correct, and try again.")
	runCheckCases(t, checkPullThroughCache, []checkCase{
		{
			name:  "upstream credentials rejected",
			facts: newFacts(withImage("api", ptc), pullFailed("api", upstream)),
			cause: CausePullThroughCache, conf: Confirmed,
			says:    []string{ptc, "Secrets Manager"},
			fixes:   []string{"aws ecr describe-pull-through-cache-rules --region us-west-2 --registry-id 111122223333"},
			restart: true,
		},
		{
			name:  "v1.32 waiting message",
			facts: newFacts(withImage("api", ptc), backOff132("api", upstream)),
			cause: CausePullThroughCache, conf: Confirmed,
			restart: true,
		},
		{name: "plain 403 belongs to access-denied", facts: newFacts(withImage("api", ptc), pullFailed("api", headStatusErr(ptc, "403 Forbidden"))), wantNil: true},
	})
}
