# Two commands on a fresh machine: `make run` (set up, train if needed, start) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
RASA   := $(VENV)/bin/rasa
SGA    := $(VENV)/bin/sga
STAMP  := $(VENV)/.installed
SPACY  := build/spacy_en/config.cfg
MODEL  := models/sga.tar.gz
RASA_ARGS := --config bot/config.yml --domain bot/domain --data data

export TF_CPP_MIN_LOG_LEVEL ?= 2
export RASA_TELEMETRY_ENABLED ?= false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup web web-browser model run test test-unit validate lint bench soak lock clean

help:
	@echo "make run    set up (Python 3.10 venv, pinned packages, spaCy pipeline), train if needed, start the assistant"
	@echo "make test   set up, validate the data, train if needed, run every test"
	@echo "make bench  speed and memory, side by side with a stock rasa init bot (bench-results/)"
	@echo "make soak   50 conversations x 20 turns on two Rasa + two action servers (PostgreSQL, Redis)"

# The venv, re-made only when the interpreter is not 3.10; packages re-installed only when the
# pins change.
$(STAMP): pyproject.toml requirements/constraints.txt scripts/find-python310.sh
	@python=$$(scripts/find-python310.sh) || exit 1; \
	if ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then \
	  echo "Creating $(VENV) with $$python"; rm -rf $(VENV); "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet "pip==24.0"
	@echo "Installing pinned packages: about 4 minutes and 2.7 GB the first time; pip lists each package as it goes..."
	@start=$$(date +%s); $(PY) -m pip install --progress-bar on -c requirements/constraints.txt -e ".[test]" \
	  && echo "Packages installed in $$(( $$(date +%s) - start )) s."
	@touch $(STAMP)

# The project's own spaCy pipeline (blank English + lookup lemmatizer; nothing downloaded).
$(SPACY): $(STAMP)
	$(PY) -m sga_tools.nlp

setup: $(STAMP) $(SPACY)

# The web chat widget, bundled locally from the npm registry (no CDN); quick when nothing changed.
# The browser test also needs Debian's chromium (installed when missing; never a downloaded browser).
web:
	scripts/setup-web.sh

web-browser:
	scripts/setup-web.sh --browser

# Rasa compares fingerprints and only trains when config, domain or data changed.
model: setup
	$(RASA) train $(RASA_ARGS) --out models --fixed-model-name sga

run: model web
	$(SGA) run

validate: setup
	$(RASA) data validate $(RASA_ARGS) --fail-on-warnings

# Style and types: ruff (lint and format) everywhere, mypy strict on the engines (sga/).
lint: setup
	$(VENV)/bin/ruff check sga actions rasa_addons sga_tools tests migrations
	$(VENV)/bin/ruff format --check sga actions rasa_addons sga_tools tests migrations
	$(VENV)/bin/mypy sga

test: validate lint model web-browser
	$(PY) -m pytest -ra

test-unit: setup web
	$(PY) -m pytest -ra tests/unit

# The assistant side by side with the stock `rasa init` bot (tests/bench/); about 10 minutes.
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--assistant package.module:factory" (python -m tests.bench -h).
bench: model
	$(PY) -m tests.bench $(BENCH_ARGS)

# Two Rasa servers and two action servers behind local balancers, sharing PostgreSQL and Redis:
# 50 conversations x 20 turns (a few minutes). Passes only with zero errors and one record per checklist.
soak: model
	$(PY) -m tests.soak --conversations 50 --turns 20

lock: setup
	@{ sed -n '1,2p' requirements/constraints.txt; $(PY) -m pip freeze --exclude-editable | sort -f; } > requirements/constraints.new
	@mv requirements/constraints.new requirements/constraints.txt; echo "requirements/constraints.txt refreshed"

clean:
	rm -rf models build var .pytest_cache web/dist
