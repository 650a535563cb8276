# shardline — every target is a thin wrapper over the CLI and the test suite.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ENV    ?= prod
PYTEST_ARGS ?=
# `make test` runs the tests that share the local stack on one worker, the rest beside it.
TEST_WORKERS ?= 2

.PHONY: help install demo test unit tftest lint package lock bench soak deploy clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "; printf "usage: make <target>\n\n"} \
	  /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-9s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python >= 3.11"; exit 2; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: Python >= 3.11 is required"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install shardline with its dependencies

demo: install ## Local stack up, simulate a fleet, show aggregates, tear down
	$(BIN)/shardline demo

test: install ## Run every test: unit, Terraform (fmt/validate/test), end to end (2 workers)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

unit: install ## Run the fast tests only: unit and conformance (no embedded stack, no terraform)
	$(BIN)/python -m pytest -m "not integration and not terraform" $(PYTEST_ARGS)

tftest: install ## Run the Terraform tests: fmt, validate, plan per environment, terraform test
	$(BIN)/python -m pytest -m terraform $(PYTEST_ARGS)

lint: install ## ruff, terraform fmt and validate, and checkov (in its own venv; works offline)
	$(BIN)/ruff check .
	terraform fmt -check -recursive terraform
	$(BIN)/python -m shardline.terraform validate terraform
	@test -x .venv-lint/bin/checkov || { $(PYTHON) -m venv .venv-lint && .venv-lint/bin/pip install --quiet checkov; }
	BC_SKIP_MAPPING=TRUE .venv-lint/bin/checkov -d terraform --framework terraform --quiet --compact

package: install ## Build the Lambda zips into dist/lambda (deterministic)
	$(BIN)/shardline package

lock: install ## Refresh lambdas/requirements.lock (pinned + hashed Lambda dependencies) from lambdas/requirements.txt
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile lambdas/requirements.txt --universal --python-version 3.11 \
	  --generate-hashes --custom-compile-command "make lock" --quiet -o lambdas/requirements.lock

bench: install ## Run the benchmarks in bench/ (each prints a JSON line of ratios; not the soak)
	@for b in bench/bench_*.py; do [ "$$b" = bench/bench_soak.py ] && continue; \
	  echo "== $$b"; $(BIN)/python $$b || exit 1; done

soak: install ## Local stack at a steady rate for MINUTES (default 60): memory and lag over time
	$(BIN)/python bench/bench_soak.py --minutes $(or $(MINUTES),60) $(SOAK_ARGS)

deploy: install ## terraform apply to real AWS with envs/$(ENV).tfvars and every built package (functions + dependencies layer)
	$(BIN)/shardline package --with-dependencies --var-file terraform/envs/$(ENV).tfvars
	terraform -chdir=terraform init -input=false
	terraform -chdir=terraform apply -var-file=envs/$(ENV).tfvars \
	  -var-file=$(CURDIR)/dist/lambda/packages.tfvars.json

clean: ## Remove the venv, build output and local stack state
	rm -rf $(VENV) .venv-lint dist build .shardline .pytest_cache .ruff_cache *.egg-info
