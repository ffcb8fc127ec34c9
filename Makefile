# Two commands on a fresh clone: `make serve` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000
MODEL := model_artifacts/model.safetensors
# No code here may reach a model hub, and nothing here calls AWS.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install model serve test synth bench clean

help:
	@echo "make serve   - install, build the model if missing, serve the API on 127.0.0.1:$(PORT)"
	@echo "make test    - install, build the model if missing, run the whole test suite"
	@echo "make model   - (re)build model_artifacts/ from training/ (FORCE=1 to retrain)"
	@echo "make synth   - synthesize the CloudFormation template (no AWS, no Docker needed)"
	@echo "make bench   - run the benchmarks, write benchmarks/results/"

# The venv is rebuilt when any requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt lambda_image/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

$(MODEL): | $(VENV)/.installed
	$(PY) training/train.py
	$(PY) training/evaluate.py

model: $(VENV)/.installed
	@if [ -n "$(FORCE)" ] || [ ! -f $(MODEL) ]; then \
		$(PY) training/train.py && $(PY) training/evaluate.py; \
	else echo "model_artifacts/ is built (FORCE=1 to retrain)"; fi

serve: install $(MODEL)
	PORT=$(PORT) $(PY) -m local.server

test: install $(MODEL)
	$(PY) -m pytest

synth: install
	npx cdk synth --quiet

bench: install $(MODEL)
	$(PY) -m benchmarks.run

clean:
	rm -rf cdk.out .pytest_cache .hypothesis
