# Every target bootstraps its own .venv, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast bench lint graph clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## train an MLP on the embedded digits set; pictures in out/
	$(PY) examples/demo.py

test: $(STAMP)  ## the whole suite, slow real-data runs included (what CI runs)
	$(PY) -m pytest

test-fast: $(STAMP)  ## everything but the slow real-data runs
	$(PY) -m pytest -m "not slow"

# BASELINE=REV: also time tinygrad_np at git revision REV, alternating in the same run.
BASELINE ?=
bench: $(STAMP)  ## speed and memory against hand-written NumPy and the peers installed (benchmarks/README.md)
	$(PY) -m benchmarks.run $(if $(BASELINE),--baseline $(BASELINE))

lint: $(STAMP)
	$(PY) -m ruff check tinygrad_np tests examples benchmarks

graph: $(STAMP)  ## regenerate docs/graph.png, the picture in the README
	$(PY) examples/demo.py --graph-only --out docs

clean:
	rm -rf $(VENV) out .pytest_cache
