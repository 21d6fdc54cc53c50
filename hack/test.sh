#!/usr/bin/env bash
# Runs every test. On a fresh machine it first gets what the tests drive for real:
#   - Debian's awscli (/usr/bin/aws) and jq, through apt-get, when missing;
#   - kube-apiserver, etcd and kubectl, built from the Go module proxy by hack/control-plane.sh
#     into .cache/kube-assets when missing.
# Tests that need them fail, never skip, when they are not there.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v jq >/dev/null 2>&1 || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

assets=$(bash hack/control-plane.sh)
export KUBEBUILDER_ASSETS="$assets"
export PULLCHECK_KUBECTL="$assets/kubectl"

go vet ./...
go test -count=1 -timeout 30m ./... "$@"
