# advlab: two commands do everything on a fresh machine.
#   make book   build the whole book to HTML, executing every notebook
#   make test   lint, unit tests, the book build and the browser check
# More: make data, test-real, notebooks, lab, lint, bench (see README).
# Both create the virtualenv (.venv) and install what they need first.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BOOK_HTML := _build/html/index.html

.PHONY: all venv vendor browser data book test test-real notebooks unit lint format lock bench lab clean

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

# Debian's complete Fashion-MNIST (60,000 + 10,000 images) in /usr/share/datasets/fashion-mnist/.
# `make data` installs it (through sudo, which may ask for a password) or fails; `make book` tries
# the same without ever prompting or failing (root or password-less sudo only; otherwise one line
# says how to install it), because only chapter 3's catastrophic-overfitting run and chapter 8's
# grey-scale section use it, each with the embedded digits as its fallback.
data:
	@bash scripts/ensure_fashion_mnist.sh

# `make book` builds when anything the pages depend on changed since the last successful build:
# the chapters, the configuration, advlab's code, or the book's settings (ADVLAB_DATASET,
# ADVLAB_PROFILE, ADVLAB_SEED, ADVLAB_DEVICE), so `make test` right after `make book` reuses that
# build instead of executing every chapter again. `make book REBUILD=1` (or `make clean`) forces one.
BOOK_STAMP := _build/html/.advlab-book-stamp
BOOK_ENV := _build/.advlab-book-env
BOOK_INPUTS := $(wildcard book/*.md book/*.bib book/*.svg book/_js/* book/_ext/*.py) _config.yml _toc.yml \
  $(shell find advlab -name '*.py' 2>/dev/null)
BOOK_SETTINGS := dataset=$(ADVLAB_DATASET) profile=$(ADVLAB_PROFILE) seed=$(ADVLAB_SEED) device=$(ADVLAB_DEVICE)

# (at parse time: the settings file is rewritten only when the settings differ from the last build's)
$(shell mkdir -p $(dir $(BOOK_ENV)); [ "$$(cat $(BOOK_ENV) 2>/dev/null)" = "$(BOOK_SETTINGS)" ] \
  || echo "$(BOOK_SETTINGS)" > $(BOOK_ENV))
ifeq ($(REBUILD),1)
$(shell rm -f $(BOOK_STAMP))
endif

$(BOOK_STAMP): $(STAMP) $(BOOK_INPUTS) $(BOOK_ENV)
	@bash scripts/fetch_vendor_js.sh
	@bash scripts/ensure_fashion_mnist.sh --best-effort || true
	@rm -f $(BOOK_STAMP)
	$(BIN)/jupyter-book build . --all -W --keep-going
	@touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	@echo "book: open _build/html/index.html ($$(cat $(BOOK_ENV)))"

LINTED := advlab tests $(wildcard benchmarks) book/_ext
# Chapters: MyST Markdown notebooks (a jupytext header) in book/.
CHAPTERS := $(shell grep -l '^jupytext:' book/*.md 2>/dev/null)

# The chapters' code cells are linted too: jupytext writes each as a py:percent script
# into _build/lint/book/ (named after the chapter, so ruff's messages point at it).
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/lint-imports
	$(BIN)/mypy advlab
	@rm -rf _build/lint && mkdir -p _build/lint/book
	@for f in $(CHAPTERS); do \
	  $(BIN)/jupytext --quiet --to py:percent "$$f" -o "_build/lint/$${f%.md}.py" || exit 1; \
	done
	$(BIN)/ruff check _build/lint/book

# .ipynb copies of the chapters, for readers who want files for Jupyter or Colab.
notebooks: $(STAMP)
	@mkdir -p _build/notebooks
	@for f in $(CHAPTERS); do \
	  $(BIN)/jupytext --quiet --to ipynb "$$f" -o "_build/notebooks/$$(basename $${f%.md}).ipynb" || exit 1; \
	done
	@echo "notebooks: _build/notebooks/ ($(words $(CHAPTERS)) chapters)"

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not browser"

test: $(STAMP) lint book browser notebooks
	ADVLAB_REQUIRE_BOOK=1 ADVLAB_REQUIRE_BROWSER=1 ADVLAB_REQUIRE_NOTEBOOKS=1 $(BIN)/python -m pytest

# Chapters 1-2 on real data: Fashion-MNIST (from Debian, `make data`), quick profile, built into
# a separate folder so the default book is untouched. Only the pages in _toc_real.yml are built
# (intro, chapters 1-2, the API reference and the bibliography), with -W as the main build. Its
# config is _config.yml with two changes: links to chapters outside this toc (chapter 2 points
# at chapter 3) render as plain text instead of failing -W (the main build checks those links),
# and the local Sphinx extensions' folders are absolute (the copied config lives in _build/real).
REAL_OUT := _build/real
REAL_CONFIG := $(REAL_OUT)/_config.yml
test-real: $(STAMP) vendor data
	@mkdir -p $(REAL_OUT)
	@$(BIN)/python -c "import os, yaml; c = yaml.safe_load(open('_config.yml')); \
	  sp = c.setdefault('sphinx', {}); \
	  sp['local_extensions'] = {k: os.path.abspath(v) for k, v in (sp.get('local_extensions') or {}).items()}; \
	  s = sp.setdefault('config', {}); \
	  s['suppress_warnings'] = list(s.get('suppress_warnings', [])) + ['ref.doc']; \
	  yaml.safe_dump(c, open('$(REAL_CONFIG)', 'w'), allow_unicode=True, sort_keys=False)"
	@start=$$(date +%s); \
	ADVLAB_DATASET=fashion-mnist ADVLAB_PROFILE=quick \
	  $(BIN)/jupyter-book build . --toc _toc_real.yml --config $(REAL_CONFIG) --all -W --keep-going \
	  --path-output $(REAL_OUT) && \
	echo "test-real: intro and chapters 1-2 built on Fashion-MNIST in $$(( $$(date +%s) - start )) s ($(REAL_OUT)/_build/html)"

format: $(STAMP)
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

lock: $(STAMP)
	{ echo "# Full lock of the environment 'make venv' builds (pip freeze of a fresh install of requirements.txt)."; \
	  echo "# Regenerate with: make lock"; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt

# Work through the chapters interactively. jupytext (pinned in requirements.txt) lets JupyterLab
# open the MyST Markdown chapters as notebooks; ADVLAB_LIVE=1 gives the explorers free controls
# that recompute any setting in the running kernel.
JUPYTERLAB_VERSION := 4.6.6
lab: $(STAMP)
	@$(BIN)/python -c "import jupyterlab, jupytext" 2>/dev/null || \
	  $(BIN)/python -m pip install --quiet "jupyterlab==$(JUPYTERLAB_VERSION)" jupytext -c constraints.txt
	ADVLAB_LIVE=1 $(BIN)/jupyter lab book/ $(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_attacks.py

clean:
	rm -rf _build
