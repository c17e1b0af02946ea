# Two commands set everything up on a fresh machine (Python 3.11, git, node, apt):
#   make book   creates .venv if missing, installs what the book needs, builds _build/html
#   make test   does the same, then runs the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
ENV_STAMP    := $(VENV)/.installed
VENDOR_STAMP := _vendor/mathjax/tex-mml-chtml.js
BUILD_FLAGS  := -W -n --keep-going

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: book book-student pdf test env lab vendor browser latex sandbox cache-check clean benchmarks solutions

book: $(ENV_STAMP) $(VENDOR_STAMP) cache-check
	$(BIN)/jupyter-book build $(BUILD_FLAGS) .

# The jupyter-cache re-runs a notebook only when its code changes. The chapters also depend on
# the course package and the benchmark results: when those change, empty the cache.
cache-check:
	@hash=$$(cat kvmem/*.py benchmarks/results/*.json | sha256sum | cut -c1-16); \
	if [ "$$(cat _build/.inputs-hash 2>/dev/null)" != "$$hash" ]; then \
	  rm -rf _build/.jupyter_cache _build/.doctrees; mkdir -p _build; echo "$$hash" > _build/.inputs-hash; \
	  echo "kvmem or benchmark results changed: notebooks will run again"; fi

# The student edition: the book without its Solutions part, for courses that publish it during
# term (_build/student/html). It reuses the full edition's executed notebooks.
book-student: $(ENV_STAMP) $(VENDOR_STAMP) cache-check
	mkdir -p _build/student
	$(BIN)/python -m book_ext.editions _toc.yml > _build/student/_toc.yml
	KVMEM_EDITION=student $(BIN)/jupyter-book build $(BUILD_FLAGS) --toc _build/student/_toc.yml --path-output _build/student .

# The PDF edition: the same notebooks (from the jupyter-cache) through XeLaTeX.
pdf: $(ENV_STAMP) $(VENDOR_STAMP) cache-check latex
	$(BIN)/jupyter-book build --builder pdflatex $(BUILD_FLAGS) .
	@echo "PDF: _build/latex/memory-course.pdf"

test: book book-student pdf browser sandbox
	$(BIN)/python -m pytest

env: $(ENV_STAMP)

# For students: JupyterLab from .venv, with the course package importable and the exercises open.
lab: $(ENV_STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) exercises/

vendor: $(VENDOR_STAMP)

benchmarks: $(ENV_STAMP)  ## about half an hour on a busy 2-core machine; writes benchmarks/results/
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

# The browser test drives Debian's chromium (Playwright's own browser download is not used);
# KVMEM_CHROMIUM names another Chromium-based browser instead.
browser:
	@test -n "$$KVMEM_CHROMIUM" || command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# Debian's TeX Live for the PDF (XeLaTeX, the LaTeX packages Sphinx uses, latexmk) and poppler's
# pdftotext / pdftoppm for its test: about 2.5 minutes to install on a fresh machine.
latex:
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v pdftotext >/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	  texlive-xetex texlive-latex-extra texlive-fonts-recommended latexmk fonts-freefont-otf poppler-utils >/dev/null; }

# The autograder runs each submission in a bubblewrap sandbox (Debian's bubblewrap); without it,
# it grades with resource limits only and says so.
sandbox:
	@command -v bwrap >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq bubblewrap >/dev/null; }

# Re-run the solution masters (they are committed with their outputs) and regenerate exercises/.
solutions: $(ENV_STAMP)
	$(BIN)/jupyter execute --inplace solutions/*.ipynb
	$(BIN)/python -m kvmem.grading.generate

clean:
	rm -rf _build
