# Two commands on a fresh machine: `make run` (the main job on the embedded demo corpus) and
# `make test` (the whole test suite). Both create .venv and install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
KEDRO := $(VENV)/bin/kedro
PIP_INSTALL := $(PIP) install --quiet --constraint constraints.txt
# The main job: `kedro run --pipelines=dfpo` (ingestion, retrieval, dictionary baseline, the three
# DFPO stages, evaluation). `make run RUN_PIPELINE=__default__` runs every pipeline.
RUN_PIPELINE ?= dfpo
PYTEST_ARGS ?=

export KEDRO_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test install install-test browser lint demo-corpus clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

$(VENV)/.installed-run: pyproject.toml constraints.txt | $(PY)
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(PY)
	$(PIP_INSTALL) -e ".[test]"
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

run: install
	$(KEDRO) run $(if $(RUN_PIPELINE),--pipelines=$(RUN_PIPELINE))

test: install-test browser
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

# The browser tests (tests/ui) drive Debian's chromium through Playwright (never `playwright
# install`). Installed here when missing and apt-get can run (as root); else they are skipped.
APT_BROWSER := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	chromium fonts-dejavu-core >/dev/null
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" -eq 0 ]; then \
		echo "installing chromium (Debian package) for the browser tests"; \
		$(APT_BROWSER) || { apt-get update -qq >/dev/null && $(APT_BROWSER); } || \
		echo "apt-get could not install chromium: the browser tests (tests/ui) will be skipped"; \
	else \
		echo "no chromium, and apt-get is unavailable or not root: the browser tests (tests/ui) will be skipped"; \
	fi

lint: install-test
	$(VENV)/bin/ruff check src tests scripts benchmarks
	$(VENV)/bin/ruff format --check src tests scripts benchmarks

demo-corpus: $(PY)
	$(PY) scripts/build_demo_corpus.py

clean-venv:
	rm -rf $(VENV)
