#!/usr/bin/env bash
# Runs every test: builds the real control plane when it is missing (hack/control-plane.sh),
# then runs the Go tests with envtest pointed at it. Tests that need the API server fail,
# never skip, when it is not there.
set -euo pipefail
cd "$(dirname "$0")/.."

assets=$(bash hack/control-plane.sh)
export KUBEBUILDER_ASSETS="$assets"
export PULLCHECK_KUBECTL="$assets/kubectl"

go vet ./...
go test -count=1 -timeout 30m ./... "$@"
