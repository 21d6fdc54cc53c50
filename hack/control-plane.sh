#!/usr/bin/env bash
# Builds the real Kubernetes control plane that the tests run through envtest:
# kube-apiserver and kubectl from k8s.io/kubernetes, and etcd from go.etcd.io/etcd/server/v3,
# all from the Go module proxy, into a git-ignored cache directory. Does nothing when the
# binaries are already there. Prints the directory on stdout (progress goes to stderr).
#
#   KUBE_ASSETS_DIR   where the binaries go (default: <repo>/.cache/kube-assets)
set -euo pipefail

KUBERNETES_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
ETCD_VERSION=v3.6.16

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${KUBE_ASSETS_DIR:-$repo/.cache/kube-assets}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

have() { [ -x "$dir/$1" ] && [ "$(cat "$dir/$1.version" 2>/dev/null)" = "$2" ]; }

if have kube-apiserver "$KUBERNETES_VERSION" && have kubectl "$KUBERNETES_VERSION" && have etcd "$ETCD_VERSION"; then
  echo "$dir"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0

if ! { have kube-apiserver "$KUBERNETES_VERSION" && have kubectl "$KUBERNETES_VERSION"; }; then
  echo "building kube-apiserver and kubectl $KUBERNETES_VERSION (about 12 minutes on 2 cores the first time)" >&2
  mkdir -p "$work/kube" && cd "$work/kube"
  go mod init pullcheck.local/kube-assets >/dev/null 2>&1
  # k8s.io/kubernetes maps its staging modules to ./staging/...; point each at its published version.
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  for m in $(grep -E '=> \./staging/' "$gomod" | awk '{print $1}'); do
    go mod edit -replace "$m=$m@$STAGING_VERSION"
  done
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION" >&2
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION" \
    -o "$dir/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION" \
    -o "$dir/kubectl" k8s.io/kubernetes/cmd/kubectl
  echo "$KUBERNETES_VERSION" > "$dir/kube-apiserver.version"
  echo "$KUBERNETES_VERSION" > "$dir/kubectl.version"
fi

if ! have etcd "$ETCD_VERSION"; then
  echo "building etcd $ETCD_VERSION (about 2 minutes the first time)" >&2
  mkdir -p "$work/etcd" && cd "$work/etcd"
  go mod init pullcheck.local/etcd-assets >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3
  echo "$ETCD_VERSION" > "$dir/etcd.version"
fi

echo "$dir"
