# Two entry points do all set-up on a fresh machine:
#   make example   translate the shipped example to every output format (into build/example/)
#   make test      lint, then run the whole test suite with every tool it needs installed
# Environments are created on first use and rebuilt when pyproject.toml changes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pipeglot-installed

# Extra environments and tools that some tests run generated artifacts in. Each test module
# that needs one finds it through an environment variable set below; under `make test`
# (PIPEGLOT_STRICT=1) a missing tool fails the test instead of skipping it.
TEST_TOOLS := $(STAMP)

.PHONY: example test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all]'
	touch $@

example: $(STAMP)
	$(BIN)/python examples/translate_all.py examples/abalone.json build/example

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint $(TEST_TOOLS)
	PIPEGLOT_STRICT=1 $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
