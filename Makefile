# The two commands of the README. Both create .venv with pip on Python 3.11 (pip finds the
# torch release that lies on this machine's disk; uv would download a multi-GB build instead).
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install run lint test bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"

# Ingest the bundled sample filings, answer the sample questions, then serve the analyst app on
# http://127.0.0.1:8501 (Ctrl-C stops it).
run: install
	$(BIN)/finrag demo --serve

# Style and layering: ruff (lint + format) and the import contracts in pyproject.toml.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/finrag bench ingest ../shared/data/financebench-dev/pdfs
