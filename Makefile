# advlab: two commands do everything on a fresh machine.
#   make book   build the whole book to HTML, executing every notebook
#   make test   lint, unit tests, the book build and the browser check
# Both create the virtualenv (.venv) and install what they need first.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BOOK_HTML := _build/html/index.html

.PHONY: all venv vendor browser book test unit lint format lock bench lab clean

all: test

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=24"
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	@touch $@

venv: $(STAMP)

vendor:
	@bash scripts/fetch_vendor_js.sh

browser:
	@bash scripts/ensure_chromium.sh

book: $(STAMP) vendor
	$(BIN)/jupyter-book build . --all -W --keep-going
	@echo "book: open _build/html/index.html"

LINTED := advlab tests $(wildcard benchmarks)

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED) book
	$(BIN)/ruff format --check $(LINTED)

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not browser"

test: $(STAMP) lint book browser
	ADVLAB_REQUIRE_BOOK=1 ADVLAB_REQUIRE_BROWSER=1 $(BIN)/python -m pytest

format: $(STAMP)
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

lock: $(STAMP)
	{ echo "# Full lock of the environment 'make venv' builds (pip freeze of a fresh install of requirements.txt)."; \
	  echo "# Regenerate with: make lock"; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt

# Work through the chapters interactively (widgets respond here, unlike on the static pages).
JUPYTERLAB_VERSION := 4.6.6
lab: $(STAMP)
	@$(BIN)/python -c "import jupyterlab" 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet "jupyterlab==$(JUPYTERLAB_VERSION)" -c constraints.txt
	$(BIN)/jupyter lab book/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_attacks.py

clean:
	rm -rf _build
