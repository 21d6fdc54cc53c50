# syntax=docker/dockerfile:1
#
# pullcheck's container image: a static binary on distroless, as a non-root user, with CA
# certificates and no shell. Build (and push to your registry, e.g. ECR):
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION="$(git describe --tags --always)" --build-arg COMMIT="$(git rev-parse HEAD)" \
#     -t <registry>/pullcheck:<tag> --push .
#
# tests/deploy checks that GO_VERSION is go.mod's go version and runs this file's go build
# command, then `pullcheck version`, to prove the stamp works.

# The build stage runs on the builder's platform and cross-compiles for the target's.
ARG GO_VERSION=1.26.8
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/pullcheck .

# distroless/static: CA certificates, /etc/passwd with nonroot (65532), no shell, no package
# manager. The binary carries its own time zone data (time/tzdata).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pullcheck /pullcheck
USER 65532:65532
ENTRYPOINT ["/pullcheck"]
CMD ["serve"]
