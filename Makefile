# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make brief   -> builds the environment, then a negotiation brief for a sample target
#   make test    -> builds the environment, then runs the whole default test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TARGET ?= online_school

.PHONY: brief test test-all bench batch clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

brief: $(STAMP)
	$(BIN)/valuation brief params/$(TARGET).yaml

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2

batch: $(STAMP)
	$(BIN)/valuation batch params/

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) work outputs
