# Two commands a newcomer needs: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

# Real ImageNet weights and photos for offline use, when the shared assets sit beside the clone.
ASSETS ?= $(abspath ../shared/assets)
ifneq ($(wildcard $(ASSETS)/keras_home),)
export KERAS_HOME ?= $(ASSETS)/keras_home
export OCCLUSION_WIDGET_ASSETS ?= $(ASSETS)
endif
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: help demo test install backends js-deps chromium lint test-js test-py bench bench-quick bench-peers clean \
  docs docs-serve docs-check

help:
	@echo "make demo   install, then open JupyterLab on notebooks/quickstart.ipynb"
	@echo "make test   install, then run every check: lint, types, vitest, pytest (incl. browser)"
	@echo "make bench  run the benchmarks (make bench-quick for a short run)"
	@echo "make docs   build the documentation site into site/ (make docs-serve: live reload)"

# The editable install runs the hatch Jupyter builder hook, which runs `npm install` and
# `npm run build` into occlusion_widget/static/.
$(VENV)/.installed: pyproject.toml package.json
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

# JAX and torch are optional Keras backends; the suite runs the engine on each one it finds.
# torch is pinned to the CPU build this machine image carries: a newer one pulls GBs of CUDA.
$(VENV)/.backends: $(VENV)/.installed
	$(PY) -m pip install --quiet "jax>=0.4.30" "torch==2.13.0" \
	  || echo "JAX/torch could not be installed: their backend tests will skip"
	@touch $@

backends: $(VENV)/.backends

# `npm ci` installs exactly the lock and never rewrites it, so a clone stays clean. The lock
# lists every platform's optional binaries (rollup, esbuild); regenerate it with
# `npm install --package-lock-only` after a change to package.json, never from one machine's tree.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

js-deps: node_modules/.installed

# Browser tests drive Debian's Chromium; a browser downloaded by a test tool would not run here.
chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The quickstart is Lab's default URL: a file argument alone still opens the browser (and prints
# the link) at the bare Launcher. Jupyter refuses to run as root unless told; a fresh container
# or CI box runs as root.
demo: install
	$(BIN)/jupyter lab --LabApp.default_url=/lab/tree/notebooks/quickstart.ipynb \
	  $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: install js-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy occlusion_widget/engine
	npm run --silent typecheck
	npm run --silent lint
	$(BIN)/mypy --check-untyped-defs --ignore-missing-imports --follow-imports=silent \
	  occlusion_widget/session occlusion_widget/widget/mirror.py \
	  occlusion_widget/widget/messages.py occlusion_widget/widget/outputs.py \
	  occlusion_widget/widget/page_state.py occlusion_widget/widget/widget.py \
	  occlusion_widget/widget/export.py occlusion_widget/page.py
	$(BIN)/lint-imports

test-js: js-deps
	npm run --silent test

test-py: install backends chromium
	$(BIN)/pytest

test: lint test-js docs-check test-py

# The documentation site (mkdocs.yml, docs/, scripts/docs/): MkDocs Material, mkdocstrings and
# mkdocs-jupyter, from the `docs` extra. The build makes its figures, live maps and executed
# notebooks from this checkout into build/docs-gen/ (reused while their inputs are unchanged).
$(VENV)/.docs: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[docs]"
	@touch $@

docs: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --strict \
	  --watch occlusion_widget --watch notebooks --watch scripts/docs --watch benchmarks/RESULTS.md

# Part of `make test`: a broken reference, a failing notebook, a live map that was not made or a
# page that would load anything from outside the site fails the strict build. It runs before
# test-py, whose browser test opens the built site from disk.
docs-check: docs

# Peers live in benchmarks/.peers so their pins never touch .venv; a failed install only
# makes the peer benchmark skip them, with the reason.
bench-peers: install backends
	$(PY) -m benchmarks.bench_peers --install || echo "peers not installed: their rows will be skipped"

bench: install backends bench-peers chromium
	$(PY) -m benchmarks.run_all
	$(PY) -m benchmarks.bench_hover

bench-quick: install backends bench-peers chromium
	$(PY) -m benchmarks.run_all --quick
	$(PY) -m benchmarks.bench_hover --quick

clean:
	rm -rf $(VENV) node_modules occlusion_widget/static dist build site
