# make/npm.mk: the npm side of the build, included by the root Makefile (`include make/npm.mk`).
#
#   node_modules/.installed  npm ci from package-lock.json, redone whenever package.json or the lock changes
#   lint-specs               Spectral (spectral:oas, warnings fail) on every service spec
#   generate-ts              gen/ts: the @saasplatform/client package (openapi-typescript + openapi-fetch)
#   generate-docs            gen/docs: Swagger UI and ReDoc assets + docs.go embedding them
#   test-ts                  type-checks test/ts and runs it with node --test against $SAAS_TEST_URL
#
# Paths are relative to the repository root; run make from there. The tools come from
# node_modules/.bin (never npx, which would reach for the registry when something is missing).

NPM_STAMP := node_modules/.installed
NODE_BIN  := node_modules/.bin

# One OpenAPI document per service: openapi/<service>.yaml. Shared component files live in a
# subfolder (openapi/components/*.yaml) and are not services. The root Makefile may set SERVICES
# before the include to pin the list.
SERVICES ?= $(sort $(basename $(notdir $(wildcard openapi/*.yaml))))
SERVICE_SPECS = $(SERVICES:%=openapi/%.yaml)

TS_OUT      := gen/ts
DOCS_OUT    := gen/docs
TS_TEST_DIR := test/ts
TS_TEST_OUT := test/ts/build

# A property with a `default` stays optional: without this flag openapi-typescript 7 makes it
# required everywhere, request bodies included (e.g. is_active in TenantCreate).
OPENAPI_TS_FLAGS := --default-non-nullable=false

# Browser assets embedded into the binary (gen/docs/assets), with the license texts that must
# travel with them. ReDoc's bundle is copied with one change: its footer logo is an <img> from
# cdn.redoc.ly, which the pages' Content-Security-Policy would block (and report) on every load;
# it becomes an empty data: image, which ReDoc hides (onError) as it does an unreachable one.
SWAGGER_UI_DIR := node_modules/swagger-ui-dist
REDOC_DIR      := node_modules/redoc
DOCS_ASSET_SRCS := \
	$(SWAGGER_UI_DIR)/swagger-ui-bundle.js \
	$(SWAGGER_UI_DIR)/swagger-ui-bundle.js.LICENSE.txt \
	$(SWAGGER_UI_DIR)/swagger-ui-standalone-preset.js \
	$(SWAGGER_UI_DIR)/swagger-ui-standalone-preset.js.LICENSE.txt \
	$(SWAGGER_UI_DIR)/swagger-ui.css \
	$(SWAGGER_UI_DIR)/favicon-32x32.png \
	$(REDOC_DIR)/bundles/redoc.standalone.js.LICENSE.txt
REDOC_LOGO_URL := https://cdn.redoc.ly/redoc/logo-mini.svg

.PHONY: lint-specs generate-ts generate-docs test-ts

# A clean clone installs by itself; `npm ci` never rewrites the lock file. Install scripts are
# skipped: none of the tools needs one (the two present are a banner and a telemetry ping).
$(NPM_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

lint-specs: $(NPM_STAMP) .spectral.yaml $(SERVICE_SPECS)
	$(if $(SERVICES),,$(error lint-specs: no openapi/*.yaml found))
	$(NODE_BIN)/spectral lint --ruleset .spectral.yaml --fail-severity=warn $(SERVICE_SPECS)

# gen/ts is rebuilt whole, so a removed spec leaves no stale file behind.
generate-ts: $(NPM_STAMP) scripts/gen-ts-index.mjs $(SERVICE_SPECS)
	$(if $(SERVICES),,$(error generate-ts: no openapi/*.yaml found))
	rm -rf $(TS_OUT)
	mkdir -p $(TS_OUT)/src
	set -e; for s in $(SERVICES); do \
		$(NODE_BIN)/openapi-typescript openapi/$$s.yaml --output $(TS_OUT)/src/$$s.ts $(OPENAPI_TS_FLAGS); \
	done
	node scripts/gen-ts-index.mjs $(TS_OUT) $(SERVICE_SPECS)

generate-docs: $(NPM_STAMP) scripts/docs.go.tmpl
	rm -rf $(DOCS_OUT)
	mkdir -p $(DOCS_OUT)/assets
	cp $(DOCS_ASSET_SRCS) $(DOCS_OUT)/assets/
	sed 's#$(REDOC_LOGO_URL)#data:,#g' $(REDOC_DIR)/bundles/redoc.standalone.js > $(DOCS_OUT)/assets/redoc.standalone.js
	@if grep -q 'cdn\.redoc\.ly' $(DOCS_OUT)/assets/redoc.standalone.js; then \
		echo "generate-docs: redoc.standalone.js still loads from cdn.redoc.ly: update REDOC_LOGO_URL in make/npm.mk" >&2; exit 1; fi
	cp $(SWAGGER_UI_DIR)/LICENSE $(DOCS_OUT)/assets/swagger-ui-dist.LICENSE.txt
	cp $(REDOC_DIR)/LICENSE $(DOCS_OUT)/assets/redoc.LICENSE.txt
	cp scripts/docs.go.tmpl $(DOCS_OUT)/docs.go

# Needs a running server: the root Makefile starts `saas serve` and exports SAAS_TEST_URL.
# The build output keeps the repository layout (test/ts/build/test/ts/*.test.js next to
# test/ts/build/gen/ts/src/*.js), so the tests' relative imports resolve unchanged.
# Only the compiled *.test.js files are handed to node --test, never helpers or the client.
TS_TESTS = $(sort $(patsubst $(TS_TEST_DIR)/%.test.ts,$(TS_TEST_OUT)/$(TS_TEST_DIR)/%.test.js,$(wildcard $(TS_TEST_DIR)/*.test.ts)))

test-ts: $(NPM_STAMP)
	$(if $(TS_TESTS),,$(error test-ts: no $(TS_TEST_DIR)/*.test.ts found))
	@test -n "$${SAAS_TEST_URL:-}" || { echo "test-ts: SAAS_TEST_URL is not set: start 'saas serve' and export its base URL, e.g. SAAS_TEST_URL=http://127.0.0.1:8000" >&2; exit 2; }
	rm -rf $(TS_TEST_OUT)
	$(NODE_BIN)/tsc -p $(TS_TEST_DIR)
	node --enable-source-maps --test $(TS_TESTS)
