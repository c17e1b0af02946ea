# Two commands set everything up on a fresh machine (Python 3.11, git, node, apt):
#   make book   creates .venv if missing, installs what the book needs, builds _build/html
#   make test   does the same, then runs the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
ENV_STAMP    := $(VENV)/.installed
VENDOR_STAMP := _vendor/mathjax/tex-mml-chtml.js
BUILD_FLAGS  := -W -n --keep-going

.PHONY: book test env vendor clean benchmarks

book: $(ENV_STAMP) $(VENDOR_STAMP)
	$(BIN)/jupyter-book build $(BUILD_FLAGS) .

test: book
	$(BIN)/python -m pytest

env: $(ENV_STAMP)

vendor: $(VENDOR_STAMP)

benchmarks: $(ENV_STAMP)
	$(BIN)/python -m benchmarks

$(ENV_STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# MathJax is served from the build, so the book reads offline.
$(VENDOR_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	rm -rf _vendor/mathjax
	mkdir -p _vendor
	cp -r node_modules/mathjax/es5 _vendor/mathjax

clean:
	rm -rf _build
