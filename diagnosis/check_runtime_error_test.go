package diagnosis

import (
	"testing"
	"time"
)

func inspectFailed(name string) func(*Facts) {
	return func(f *Facts) {
		img := imageOf(f, name)
		// image_manager.go: "Failed to inspect image %q: %v" (DOMAIN §2.1).
		msg := `Failed to inspect image "` + img + `": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix /run/containerd/containerd.sock: connect: connection refused"`
		kind, _, _ := specOf(f, name)
		event("Warning", "InspectFailed", fieldPath(kind, name), msg, time.Minute)(f)
		waiting(name, ReasonImageInspectError, msg)(f)
	}
}

func TestCheckRuntimeError(t *testing.T) {
	runCheckCases(t, checkRuntimeError, []checkCase{
		{
			name:  "Deployment",
			facts: newFacts(inspectFailed("api")),
			cause: CauseRuntimeError, conf: Likely,
			says: []string{"node " + tNode, "node-local fault"},
			fixes: []string{
				"kubectl cordon " + tNode,
				"kubectl -n payments rollout restart deployment/payments-api",
				"kubectl get node " + tNode + " -o jsonpath=",
			},
			restart: true,
		},
		{
			name:  "Job: delete the pod, the Job makes a new one",
			facts: newFacts(ownedBy("Job", "payments-migrate"), inspectFailed("api")),
			cause: CauseRuntimeError, conf: Likely,
			fixes:   []string{"kubectl -n payments delete pod " + tPod},
			restart: true,
		},
		{
			name:  "bare pod: re-create it, off the cordoned node",
			facts: newFacts(ownedBy("Pod", tPod), inspectFailed("api")),
			cause: CauseRuntimeError, conf: Likely,
			fixes:    []string{"kubectl -n payments get pod " + tPod + " -o json | jq 'del(.spec.nodeName, .spec.ephemeralContainers)' | kubectl replace --force -f -"},
			notFixes: []string{"delete pod"},
			restart:  true,
		},
		{name: "403", facts: newFacts(pullFailed("api", headStatusErr(ecrImage, "403 Forbidden"))), wantNil: true},
	})
}
