# Two commands for a fresh machine: `make demo` (the default job) and `make test`. Both build .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU wheel of torch on this machine's disk; a GPU user installs any newer torch into the venv instead.
TORCH ?= torch==2.13.0

.PHONY: venv demo test bench clean

$(BIN)/inkwash: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

venv: $(BIN)/inkwash

demo: venv
	$(BIN)/python -m inkwash demo --out demo-out

test: venv
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
