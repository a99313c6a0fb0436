# syntax=docker/dockerfile:1
#
# One image for every service: the command chooses what runs.
#
#   docker build -t saas .
#   docker run saas serve                        # all four services in one process
#   docker run saas serve --services iam         # one service (a microservice deployment)
#   docker run saas migrate                      # apply every migration and exit
#
# The binary is static (CGO_ENABLED=0) and runs as an unprivileged user on a
# distroless base: no shell, no package manager, nothing but /saas and the CA
# certificates and time zone data the base provides. See orchestrate/ for
# docker compose and Kubernetes.

ARG GO_VERSION=1.26.8

# --- build ------------------------------------------------------------------
# Runs on the builder's own platform and cross-compiles, so a multi-platform
# build (docker buildx build --platform linux/amd64,linux/arm64) never emulates
# the compiler.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src

# Dependencies first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

# Everything the binary embeds (migrations, specs, docs assets) is committed
# under schema/, openapi/ and gen/; .dockerignore keeps the rest out.
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /saas ./cmd/saas

# --- run --------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="saas" \
      org.opencontainers.image.description="SaaS platform: config-vault, uam, iam and content in one binary" \
      org.opencontainers.image.source="https://github.com/saasplatform/saas"
COPY --from=build /saas /saas
# The distroless "nonroot" user, by number so that Kubernetes' runAsNonRoot
# can verify it without reading /etc/passwd.
USER 65532:65532
ENV SAAS_ADDR=:8000
EXPOSE 8000
# The binary checks itself (GET /healthz on the port of SAAS_ADDR): the base
# has no shell and no curl. Kubernetes ignores HEALTHCHECK and uses the probes
# in orchestrate/k8s; docker compose repeats this check in its healthcheck.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["/saas", "healthcheck"]
ENTRYPOINT ["/saas"]
CMD ["serve"]
