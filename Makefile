# One command per verb. Every target installs what it needs first, so each works on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
LEGACY_VENV := .venv-legacy
PHOENIX_VENV := .venv-phoenix
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-legacy install-phoenix run test test-current test-legacy check bench bench-pipeline faults clean

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

run: install  ## Start Glassgate on 127.0.0.1:4000 with the embedded PostgreSQL under .glassgate/
	$(VENV)/bin/glassgate serve $(ARGS)

test: install install-legacy install-phoenix  ## Run every test (current SDKs), then the conformance suite with the 1.x SDKs
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)
	$(LEGACY_VENV)/bin/python -m pytest tests/conformance $(PYTEST_ARGS)

check: install  ## ruff, mypy --strict and the import rules
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install  ## Proxy overhead: direct vs nginx vs Glassgate (installs nginx and wrk from Debian if missing)
	bench/install-tools.sh
	$(VENV)/bin/python -m bench.run $(ARGS)
	$(VENV)/bin/python -m bench.sigv4_bench

bench-pipeline: install  ## Trace pipeline: writer spans/s, and list/dashboard query times with 1,000,000 spans stored
	$(VENV)/bin/python -m bench.pipeline $(ARGS)

faults: install  ## Fault scenarios (database down 30 s, database hung 30 s, SIGTERM under load), reported as numbers
	$(VENV)/bin/python -m bench.faults --scenario all --json

clean:  ## Remove the environments and local state (keeps nothing from .glassgate/)
	rm -rf $(TOOLS) $(VENV) $(LEGACY_VENV) $(PHOENIX_VENV) .glassgate .pytest_cache .mypy_cache .ruff_cache
