# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make run    creates .venv, installs learnable, trains the default digit classifier
#   make test   creates .venv, installs learnable with its test tools, runs the tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch, installed first when the environment has no torch at all.
TORCH ?= torch==2.13.0
# Debian's headless Chromium, for the test that opens the run report in a browser
# (tests/insight/test_report_browser.py); that test skips when these are missing.
CHROMIUM := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
APT_LOG := $${TMPDIR:-/tmp}/learnable-chromium-apt.log

.PHONY: install browser run test test-all lint bench clean

$(BIN)/learnable: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/learnable

# Installs chromium and chromium-driver when they are missing and apt-get may be used (root); never fails.
browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium and chromium-driver for the browser test (log: $(APT_LOG))"; \
	    export DEBIAN_FRONTEND=noninteractive; apt_install="apt-get install -y -q --no-install-recommends chromium chromium-driver"; \
	    { $$apt_install || { apt-get update -q && $$apt_install; }; } \
	      >$(APT_LOG) 2>&1 || echo "could not install chromium; the browser test will be skipped"; \
	  else \
	    echo "no $(CHROMIUM) or $(CHROMEDRIVER) (apt-get install chromium chromium-driver as root); the browser test will be skipped"; \
	  fi; \
	fi

run: install
	$(BIN)/learnable train

# The layer contracts of docs/architecture.md first (a second), then the suite.
test: install browser
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest

test-all: install
	$(BIN)/python -m pytest -m "slow or not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports --no-cache

bench: install
	$(BIN)/python benchmarks/learner_vs_loop.py

clean:
	rm -rf $(VENV) models runs .pytest_cache
