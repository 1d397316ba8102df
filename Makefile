# Two commands do all the set-up on a fresh machine with Python 3.11:
#   make run    creates .venv, installs learnable, trains the default digit classifier
#   make test   creates .venv, installs learnable with its test tools, runs the tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch, installed first when the environment has no torch at all.
TORCH ?= torch==2.13.0

.PHONY: install run test test-all lint bench clean

$(BIN)/learnable: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/learnable

run: install
	$(BIN)/learnable train

test: install
	$(BIN)/python -m pytest

test-all: install
	$(BIN)/python -m pytest -m "slow or not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks

bench: install
	$(BIN)/python benchmarks/learner_vs_loop.py

clean:
	rm -rf $(VENV) models runs .pytest_cache
