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
# SageMaker SDK v2 cannot share a venv with Airflow 3 (packaging<25 against >=25), so the
# tests that run v2 scripts use their own venv. PIPEGLOT_SAGEMAKER2_PYTHON points at it.
SAGEMAKER2_VENV := .venv-sagemaker2
SAGEMAKER2_STAMP := $(SAGEMAKER2_VENV)/.pipeglot-installed
export PIPEGLOT_SAGEMAKER2_PYTHON := $(abspath $(SAGEMAKER2_VENV)/bin/python)
# Generated Airflow DAGs are also loaded and run on Airflow 2.10 with provider 9.17.0 (the
# last provider release for 2.10); PIPEGLOT_AIRFLOW2_PYTHON points at that venv.
AIRFLOW2_VENV := .venv-airflow2
AIRFLOW2_STAMP := $(AIRFLOW2_VENV)/.pipeglot-installed
export PIPEGLOT_AIRFLOW2_PYTHON := $(abspath $(AIRFLOW2_VENV)/bin/python)
# Generated ASL is also checked with the npm asl-validator, pinned in package.json and
# package-lock.json; PIPEGLOT_ASL_VALIDATOR points at its binary.
ASL_VALIDATOR := node_modules/.bin/asl-validator
export PIPEGLOT_ASL_VALIDATOR := $(abspath $(ASL_VALIDATOR))
# Debian packages: Graphviz lays out the drawings of `graph --format svg` and
# `compare --format html`; the compare tests open that page in Chromium. CI runs as root.
SYSTEM_PACKAGES := graphviz chromium fonts-dejavu-core
TEST_TOOLS := $(STAMP) $(SAGEMAKER2_STAMP) $(AIRFLOW2_STAMP) $(ASL_VALIDATOR) system-tools

.PHONY: example test lint bench fuzz clean system-tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[all]'
	touch $@

example: $(STAMP)
	$(BIN)/python examples/translate_all.py examples/abalone-project/pipelines/abalone/pipeline.py build/example

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python tests/typecheck.py

test: lint $(TEST_TOOLS)
	PIPEGLOT_STRICT=1 $(BIN)/python -m pytest

$(SAGEMAKER2_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SAGEMAKER2_VENV)
	$(SAGEMAKER2_VENV)/bin/pip install --quiet --upgrade pip
	$(SAGEMAKER2_VENV)/bin/pip install --quiet -e . "sagemaker>=2.257,<3" "stepfunctions==2.3.0" \
		"moto[sagemaker,s3,sts,iam]>=5.2.5"
	touch $@

$(AIRFLOW2_STAMP): pyproject.toml
	$(PYTHON) -m venv $(AIRFLOW2_VENV)
	$(AIRFLOW2_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW2_VENV)/bin/pip install --quiet -e . "apache-airflow==2.10.5" \
		"apache-airflow-providers-amazon==9.17.0" "moto[sagemaker,s3,sts,iam]>=5.2.5"
	touch $@

$(ASL_VALIDATOR): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

system-tools:
	command -v dot >/dev/null && command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES))

# A long mutation-fuzzing campaign over the corpus and tests/fixtures/ (tests/test_fuzz.py):
# FUZZ_EXAMPLES mutants, each through every writer (8 today: 3,000 mutants are 24,000
# mutant-and-writer pairs), random each run; `make test` runs a fixed budget of 80.
FUZZ_EXAMPLES ?= 3000
fuzz: $(STAMP)
	PIPEGLOT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py -q -s \
		-o timeout=0 -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) $(SAGEMAKER2_VENV) $(AIRFLOW2_VENV) build .pytest_cache .hypothesis
