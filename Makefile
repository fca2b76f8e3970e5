# Two commands matter: `make run` and `make test`. Everything they need is built
# here from the lock files (uv.lock, web/package-lock.json), nothing by hand.
SHELL := /bin/bash
PYTHON ?= python3.13
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
ASSETS := kabinet/static/vendor
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test guide trusted-documents lint format schema publish-schema docs assets chromium caddy bench clean

run: $(VENV)/.synced $(ASSETS)/.built
	$(VENV)/bin/kabinet serve

test: $(VENV)/.synced $(ASSETS)/.built chromium caddy guide
	$(VENV)/bin/ruff check kabinet tests bench
	$(VENV)/bin/ruff format --check kabinet tests bench
	$(VENV)/bin/pytest

# The API guide's documents and TypeScript examples (docs/guide-ts), compiled: graphql-codegen
# (client preset) types the guide's ```graphql blocks from schema.graphql, then tsc checks
# the examples against them. An example that no longer fits the schema fails `make test`.
GUIDE := docs/guide-ts
NODE_BIN := $(CURDIR)/web/node_modules/.bin
guide: $(ASSETS)/.built
	cd $(GUIDE) && NODE_PATH=$(CURDIR)/web/node_modules $(NODE_BIN)/graphql-codegen --config codegen.json
	$(NODE_BIN)/tsc --noEmit -p $(GUIDE)

# The project's own manifest of trusted documents: codegen's, of the guide's documents
# (a test fails when it drifts from them).
trusted-documents: guide
	cp $(GUIDE)/gql/persisted-documents.json kabinet/trusted-documents.json

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check kabinet tests bench
	$(VENV)/bin/ruff format --check kabinet tests bench

format: $(VENV)/.synced
	$(VENV)/bin/ruff format kabinet tests bench
	$(VENV)/bin/ruff check --fix kabinet tests bench

# Not part of `make test`: the benchmark suite (docs/performance.md), about 8 minutes on
# 2 cores plus the scale section (its databases are built into var/ the first time, which
# takes a while longer); prints its tables and writes bench/results.json.
# `make bench BENCH=--quick` tries it out in a few minutes; `BENCH="--only scale"` runs
# the scale section alone.
bench: $(VENV)/.synced
	$(VENV)/bin/python -m bench $(BENCH)

# schema.graphql, and the API guide's "Unreleased" changes to the published contract
# (docs/schema/published.graphql); a test fails on drift or on a breaking change.
schema: $(VENV)/.synced
	$(VENV)/bin/kabinet export-schema > schema.graphql
	$(VENV)/bin/kabinet schema-changes --update docs/api-guide.md

# Publish the current schema as the contract; "Unreleased" becomes a dated entry.
publish-schema: $(VENV)/.synced
	$(VENV)/bin/kabinet publish-schema

# The settings table of docs/deployment.md, from kabinet/config.py (a test fails on drift).
docs: $(VENV)/.synced
	$(VENV)/bin/kabinet settings-doc --update docs/deployment.md

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

# GraphiQL is served from the app itself so it works offline: the UMD builds
# come from the npm registry through web/package-lock.json.
assets: $(ASSETS)/.built
$(ASSETS)/.built: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(ASSETS)
	cp web/node_modules/react/umd/react.production.min.js \
	   web/node_modules/react-dom/umd/react-dom.production.min.js \
	   web/node_modules/graphiql/graphiql.min.js \
	   web/node_modules/graphiql/graphiql.min.css \
	   web/node_modules/graphql-ws/umd/graphql-ws.min.js $(ASSETS)/
	touch $@

# The browser test drives Debian's Chromium; install it when it is missing.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The proxy test runs deploy/Caddyfile with Debian's caddy; install it when it is missing.
caddy:
	@command -v caddy >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null; }

clean:
	rm -rf $(VENV) $(TOOLS) $(ASSETS) web/node_modules
