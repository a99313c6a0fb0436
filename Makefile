# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is what they are made of.

SHELL       := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
TOOL     := $(GO) tool -modfile=tools.mod
BIN      := bin/saas
# Services with an OpenAPI document in openapi/<name>.yaml.
SERVICES := config-vault uam iam content
# Fuzz time per target in `make test` (CI); longer runs: `make fuzz FUZZTIME=5m`.
FUZZTIME ?= 10s

include make/npm.mk

.PHONY: help run build generate generate-go generate-sql check-generated lint test go-test fuzz ts-test bench bench-load bench-go clean

help:
	@echo "make run     build, migrate and start the platform on :8000 (Swagger UI at /docs)"
	@echo "make test    everything CI checks"
	@echo "make generate | check-generated | lint | go-test | fuzz | ts-test | bench | clean"
	@echo "make bench   the load run (bench/results.md, see BENCHMARKS.md), then the Go benchmarks"

## Run

run: build
	@url=$$(scripts/dev-postgres.sh) && \
	  DATABASE_URL="$$url" SAAS_DEV_MASTER_KEY_FILE="$${SAAS_DEV_MASTER_KEY_FILE:-.data/master.key}" \
	  exec $(BIN) serve

build:
	$(GO) build -o $(BIN) ./cmd/saas

## Generation: gen/ is written here and nowhere else.

generate: generate-go generate-sql generate-ts generate-docs

generate-go:
	rm -rf gen/api gen/client
	for s in $(SERVICES); do \
	  dir=$${s//-/}; mkdir -p gen/api/$$dir gen/client/$$dir; \
	  $(TOOL) oapi-codegen -config openapi/codegen/$$s.server.yaml openapi/$$s.yaml; \
	  $(TOOL) oapi-codegen -config openapi/codegen/$$s.client.yaml openapi/$$s.yaml; \
	done

generate-sql:
	rm -rf gen/db
	$(TOOL) sqlc generate

# Fails when gen/ differs from what the sources generate (edited by hand, or
# sources changed without `make generate`).
check-generated: generate
	@if [ -n "$$(git status --porcelain -- gen)" ]; then \
	  echo "gen/ is out of date with openapi/, schema/, queries/: run 'make generate' and commit" >&2; \
	  git status --short -- gen >&2; git --no-pager diff --stat -- gen >&2; exit 1; \
	fi

## Checks

lint: lint-specs
	@out=$$(gofmt -l cmd internal schema); if [ -n "$$out" ]; then echo "gofmt needed:" >&2; echo "$$out" >&2; exit 1; fi
	$(GO) vet ./...

test: check-generated lint go-test fuzz ts-test

go-test:
	@url=$$(scripts/dev-postgres.sh) && DATABASE_URL="$$url" $(GO) test -race -count=1 ./...

# Each fuzz target runs briefly; a crasher fails the build and is kept in testdata/.
fuzz:
	@url=$$(scripts/dev-postgres.sh); export DATABASE_URL="$$url"; \
	for pkg in $$($(GO) list ./internal/... ./cmd/...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# The TypeScript client against a real server on a free port and a fresh database.
ts-test: build node_modules/.installed
	@url=$$(scripts/dev-postgres.sh) && DATABASE_URL="$$url" scripts/with-server.sh $(BIN) -- $(MAKE) --no-print-directory test-ts

## Benchmarks (BENCHMARKS.md): `make bench` is both of these.
# BENCH_FLAGS go to saas-load (such as -duration 10s -conns 64 -only read-tenant,login);
# PROFILE=1 also takes a CPU profile of the server per scenario into bench/profiles.

BENCH_FLAGS ?=
PROFILE     ?=

bench: bench-load bench-go

# The load generator against a fresh `saas serve` on a fresh database, with the
# defaults a deployment has (RSA key pool, info logs) and pprof on loopback.
bench-load: build
	$(GO) build -o bin/saas-load ./cmd/saas-load
	@url=$$(scripts/dev-postgres.sh) && DATABASE_URL="$$url" SAAS_RSA_POOL_SIZE=4 SAAS_LOG_LEVEL=info SAAS_TEST_PPROF=1 \
	  scripts/with-server.sh $(BIN) -- bin/saas-load -out bench $(if $(PROFILE),-profile-dir bench/profiles) $(BENCH_FLAGS)

# The Go benchmarks of every package (hot functions, each alone).
bench-go:
	@url=$$(scripts/dev-postgres.sh) && DATABASE_URL="$$url" $(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin test/ts/build
