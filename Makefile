# VideoForge: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo web test lint typecheck lock lock-upgrade bench bench-transcode bench-api bench-autoscale bench-chunked ami ami-worker ami-gateway ami-control clean

# Exactly the versions CI tested: every package pinned with its hashes in requirements.lock
# (compiled from pyproject.toml by `make lock`), then the project itself without resolving.
LOCK := requirements.lock
WORKER_LOCK := requirements-worker.lock

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

# After changing dependencies in pyproject.toml: `make lock` re-resolves, keeping every
# pin that still fits; `make lock-upgrade` moves everything to the newest allowed release.
# The worker image's lock is the runtime subset, at the same versions.
UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --quiet

lock: $(STAMP)
	$(UV_COMPILE) --extra dev --extra local $(UPGRADE) -o $(LOCK)
	$(UV_COMPILE) --constraint $(LOCK) -o $(WORKER_LOCK)

lock-upgrade:
	$(MAKE) lock UPGRADE=--upgrade

# The web page's npm packages (hls.js; eslint for its modules), pinned in
# web/package-lock.json; `npm ci` runs again only when the lock file changes.
WEB_STAMP := web/node_modules/.installed
ESLINT := web/node_modules/.bin/eslint --config web/eslint.config.mjs gateway/static

$(WEB_STAMP): web/package-lock.json
	scripts/install-system-deps.sh demo
	cd web && npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web: $(WEB_STAMP)

demo: $(STAMP) $(WEB_STAMP)
	scripts/install-system-deps.sh demo
	$(BIN)/videoforge up --sample

test: $(STAMP) $(WEB_STAMP)
	scripts/install-system-deps.sh test
	$(BIN)/ruff check .
	$(BIN)/mypy common processor gallery streaming gateway notifier videoforge
	$(ESLINT)
	$(BIN)/python -m pytest -n 2

lint: $(STAMP) $(WEB_STAMP)
	$(BIN)/ruff check .
	$(ESLINT)

typecheck: $(STAMP)
	$(BIN)/mypy common processor gallery streaming gateway notifier videoforge

bench: bench-transcode bench-api bench-autoscale bench-chunked

bench-transcode: $(STAMP)
	scripts/install-system-deps.sh demo
	$(BIN)/python -m bench.transcode

bench-api: $(STAMP)
	$(BIN)/python -m bench.api

bench-autoscale: $(STAMP)
	$(BIN)/python -m bench.autoscale

# One long source whole on one pinned core, then chunked on two (QUICK=1: a 12 s smoke
# run), then the fleet simulator with and without chunking, from the figures just measured.
bench-chunked: $(STAMP)
	scripts/install-system-deps.sh demo
	$(BIN)/python -m bench.chunked $(if $(QUICK),--quick); status=$$?; \
	  $(BIN)/python -m bench.chunk_fleet && exit $$status

# The images (packer/images.pkr.hcl, one per run): the wheel of this checkout and
# ansible/<image>.yml, tagged with the commit. `make ami` is the worker's.
ami: ami-worker
ami-worker ami-gateway ami-control: ami-%: $(STAMP)
	rm -rf dist && $(BIN)/pip wheel --quiet --no-deps -w dist .
	cd packer && packer init images.pkr.hcl && \
	  PATH="$(CURDIR)/$(BIN):$$PATH" packer build -var "image=$*" \
	    -var "git_revision=$$(git rev-parse HEAD)" images.pkr.hcl

clean:
	rm -rf $(VENV) web/node_modules .pytest_cache .ruff_cache .mypy_cache
