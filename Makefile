# classpay: `make run` serves the API on an emulated AWS; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

API_PORT ?= 8000
MOTO_PORT ?= 5000
export API_PORT MOTO_PORT

.PHONY: run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.local

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/catalog.py 10000 100
	$(BIN)/python bench/learning_calls.py 50

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
