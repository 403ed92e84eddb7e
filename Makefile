# Every target bootstraps what it needs, so each works on a fresh clone: `.venv` with the
# project in it, and for demo/test/graph Graphviz's `dot` from the system's package manager.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONWARNINGS="ignore:Editable installation" \
          $(PY) -m pip install --quiet
DEMO_STAMP := $(VENV)/.installed-examples
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench lint graph graphviz clean

# Python >= 3.10 (else stop, saying so) and a .venv with a current pip.
define venv
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || { echo "make: tinygrad_np needs python3 >= 3.10, found: $$($(PYTHON) -V 2>&1 | head -1); install one, or run make PYTHON=/path/to/python3.X" >&2; exit 1; }
	@[ -x $(PY) ] || $(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "make: $(PYTHON) cannot create a virtual environment (no ensurepip): install python3-venv (sudo apt-get install python3-venv on Debian/Ubuntu), then run make again" >&2; exit 1; }
	@[ -x $(PY) ] || { echo "make: creating $(VENV) ($$($(PYTHON) -V))" && $(PYTHON) -m venv $(VENV) && $(PIP) --upgrade pip; } || { rm -rf $(VENV); exit 1; }
endef

# `make demo` installs what the examples need (the `examples` extra); `make test` and the other
# targets add the dev tools (pytest, hypothesis, ruff, psutil) to the same .venv.
$(DEMO_STAMP): pyproject.toml
	$(venv)
	@echo "make: installing tinygrad_np with its examples extra into $(VENV)"
	@$(PIP) -e '.[examples]'
	@touch $@

$(STAMP): pyproject.toml
	$(venv)
	@echo "make: installing tinygrad_np with its dev extra into $(VENV)"
	@$(PIP) -e '.[dev]'
	@touch $@ $(DEMO_STAMP)

# Graphviz's `dot` draws out/graph.png and is used by the rendering tests. Nothing happens when
# it is there; else Homebrew or apt-get (as root, or through `sudo -n`) installs it without a
# question, or make stops before any other work, saying what to install.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  sudo=; [ "$$(id -u)" = 0 ] || sudo="sudo -n"; \
	  if [ "$$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then \
	    echo "make: installing Graphviz (its dot program draws the graph) with Homebrew"; \
	    brew install --quiet graphviz; \
	  elif command -v apt-get >/dev/null 2>&1 && { [ -z "$$sudo" ] || sudo -n true 2>/dev/null; }; then \
	    echo "make: installing Graphviz (its dot program draws the graph) with apt-get"; \
	    log=$$($$sudo apt-get update -qq 2>&1 && \
	      $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz 2>&1) || \
	      echo "$$log" >&2; \
	  fi; \
	  command -v dot >/dev/null 2>&1 || { \
	    if [ "$$(uname -s)" = Darwin ]; then fix="Homebrew (brew install graphviz) or conda install -c conda-forge graphviz"; \
	    elif command -v apt-get >/dev/null 2>&1; then fix="sudo apt-get install graphviz"; \
	    else fix="your system's graphviz package or conda install -c conda-forge graphviz"; fi; \
	    echo "make: Graphviz's dot program is missing and make could not install it without asking: install it with $$fix, then run make again" >&2; exit 1; }; \
	}

demo: graphviz $(DEMO_STAMP)  ## train an MLP on the embedded digits set; pictures in out/
	$(PY) examples/demo.py

test: graphviz $(STAMP)  ## the whole suite, slow real-data runs included (what CI runs)
	$(PY) -m pytest

test-fast: graphviz $(STAMP)  ## everything but the slow real-data runs
	$(PY) -m pytest -m "not slow"

# BASELINE=REV: also time tinygrad_np at git revision REV, alternating in the same run.
BASELINE ?=
bench: $(STAMP)  ## speed and memory against hand-written NumPy and the peers installed (benchmarks/README.md)
	$(PY) -m benchmarks.run $(if $(BASELINE),--baseline $(BASELINE))

lint: $(STAMP)
	$(PY) -m ruff check tinygrad_np tests examples benchmarks notebooks

graph: graphviz $(DEMO_STAMP)  ## regenerate docs/graph.png and docs/backward.png (the README's)
	$(PY) examples/demo.py --graph-only --out docs

clean:
	rm -rf $(VENV) out .pytest_cache build
