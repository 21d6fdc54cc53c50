// Package deploy tests what an operator installs: the Helm chart in deploy/helm/pullcheck, the
// plain manifests in deploy/kubernetes rendered from it, the Dockerfile and the README's
// configuration reference.
//
// The chart is rendered with Helm's Go SDK, as `helm install` renders it (schema validation
// included), and every object is applied with server-side dry-run on a real kube-apiserver
// (tests/kubetest, envtest with RBAC authorization: its default --authorization-mode=RBAC,
// which TestMain checks). For least privilege, the all-options release is installed for real
// and the bot's code runs as the chart's ServiceAccount (impersonation) through a recording
// transport: every request it makes must be allowed, and every permission the chart grants
// must be used by some request (SubjectAccessReview over every resource the server serves).
// A static check finds every client-go call in the module's code and fails when one is not
// granted by the chart.
//
// `go generate ./tests/deploy` (which runs `go test -run TestPlainManifests -update`)
// regenerates deploy/kubernetes from the chart.
//
// The tests need the envtest binaries (hack/control-plane.sh); they fail, never skip, when
// those are missing.
package deploy

//go:generate go test -count=1 -run TestPlainManifests -update .
