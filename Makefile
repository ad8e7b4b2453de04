# VideoForge: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo web test lint typecheck bench bench-transcode bench-api bench-autoscale ami clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The web page's npm packages (hls.js), pinned in web/package-lock.json; `npm ci` runs
# again only when the lock file changes.
WEB_STAMP := web/node_modules/.installed

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
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy common processor gallery streaming gateway videoforge

bench: bench-transcode bench-api bench-autoscale

bench-transcode: $(STAMP)
	scripts/install-system-deps.sh demo
	$(BIN)/python -m bench.transcode

bench-api: $(STAMP)
	$(BIN)/python -m bench.api

bench-autoscale: $(STAMP)
	$(BIN)/python -m bench.autoscale

ami:
	cd packer && packer init worker.pkr.hcl && packer build worker.pkr.hcl

clean:
	rm -rf $(VENV) web/node_modules .pytest_cache .ruff_cache .mypy_cache
