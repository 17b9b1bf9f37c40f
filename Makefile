# classpay: `make run` serves the API on an emulated AWS; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

API_PORT ?= 8000
MOTO_PORT ?= 5000
export API_PORT MOTO_PORT

# Packaging needs no AWS account or credentials; a region only names the partition.
STAGE ?= prod
PACKAGE_ENV := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-ap-northeast-2}

.PHONY: run test lint lint-infra package policy bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m infra.local

test: $(STAMP)
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory lint-infra
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

# out/sam.json + out/deployment.zip for $(STAGE): Chalice's template merged with infra/template.py's.
package: $(STAMP)
	rm -rf out
	$(PACKAGE_ENV) $(BIN)/python -m infra.template --stage $(STAGE) --output build/merge-$(STAGE).json
	$(PACKAGE_ENV) $(BIN)/chalice package --stage $(STAGE) --merge-template build/merge-$(STAGE).json out/

lint-infra: package
	$(PACKAGE_ENV) $(BIN)/python -m infra.lint out/sam.json

# Rewrite .chalice/policy-<stage>.json from the AWS calls the whole test suite makes; review the diff.
policy: $(STAMP)
	CLASSPAY_UPDATE_POLICY=1 $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/catalog.py 10000 100
	$(BIN)/python bench/ledger_calls.py
	$(BIN)/python bench/orders.py 40
	$(BIN)/python bench/package_size.py
	$(BIN)/python bench/learning_calls.py 50

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache out build
