# classpay: `make run` serves the API on an emulated AWS; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` installs requirements-run.txt only (no test or benchmark tools); `make test`'s
# requirements-dev.txt includes it, so its stamp stands for both.
RUN_STAMP := $(VENV)/.installed-run
RUN_REQUIREMENTS := requirements-run.txt requirements.txt infra/drawing-requirements.txt infra/payout-worker-requirements.txt

API_PORT ?= 8000
MOTO_PORT ?= 5000
export API_PORT MOTO_PORT

# Packaging needs no AWS account or credentials; a region only names the partition.
STAGE ?= prod
PACKAGE_ENV := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-ap-northeast-2}

.PHONY: run reset test lint lint-infra package policy bench fuzz clean

# The suite on both cores (pytest-xdist workers, each with its own emulated AWS, a test module per
# worker at a time, in the order tests/conftest.py sorts them: without --no-loadscope-reorder xdist would
# start the modules with the most tests first and the long one-test modules last), printing its slowest tests; then the `after_suite` tests, which check the AWS calls
# every worker recorded (tests/conftest.py). $(1): extra environment (make policy's).
TEST_WORKERS ?= 2
CALLS := build/aws-calls.json
define suite
	rm -f $(CALLS)
	$(1) CLASSPAY_RECORD_AWS_CALLS=$(CALLS) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not after_suite" --durations=15
	$(1) CLASSPAY_RECORDED_AWS_CALLS=$(CALLS) $(BIN)/python -m pytest -m after_suite
endef

$(BIN)/python:
	@echo "Creating the virtualenv $(VENV)..."
	@$(PYTHON) -m venv $(VENV)

$(STAMP): requirements-dev.txt $(RUN_REQUIREMENTS) | $(BIN)/python
	@$(BIN)/python -m infra.install requirements-dev.txt
	@touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): $(RUN_REQUIREMENTS) | $(BIN)/python
	@$(BIN)/python -m infra.install requirements-run.txt
	@touch $(RUN_STAMP)

# The emulated AWS keeps its state in .local/ across runs (infra/emulator.py); `make reset` forgets it.
run: $(RUN_STAMP)
	@$(BIN)/python -m infra.local

reset: | $(BIN)/python
	@$(BIN)/python -m infra.local --reset

# The browser tests' Chromium (tests/support/browser.py): Debian's, installed with apt when missing.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	else echo "Chromium is missing: run  sudo apt-get install -y --no-install-recommends chromium" >&2; exit 1; fi

# A Korean font for the pages the browser tests show (tests/test_web_client.py, its screenshots): Debian's Nanum.
KOREAN_FONT := /usr/share/fonts/truetype/nanum/NanumGothic.ttf
$(KOREAN_FONT):
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-nanum; \
	else echo "A Korean font is missing: run  sudo apt-get install -y --no-install-recommends fonts-nanum" >&2; exit 1; fi

test: $(STAMP) $(CHROMIUM) $(KOREAN_FONT)
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory lint-infra
	$(call suite,)

lint: $(STAMP)
	$(BIN)/ruff check .

# out/ for $(STAGE): sam.json (Chalice's template merged with the one infra/template/ generates), deployment.zip (the code),
# layer-deployment.zip (requirements.txt), and DrawingLayer.zip and PayoutWorkerLayer.zip (one function's own);
# every zip with its modules' bytecode for the functions' Python (infra/bytecode.py).
package: $(STAMP)
	rm -rf out
	$(PACKAGE_ENV) $(BIN)/python -m infra.template --stage $(STAGE) --output build/merge-$(STAGE).json
	$(PACKAGE_ENV) $(BIN)/chalice package --stage $(STAGE) --merge-template build/merge-$(STAGE).json out/
	$(BIN)/python -m infra.function_layers out/
	$(BIN)/python -m infra.bytecode out/

lint-infra: package
	$(PACKAGE_ENV) $(BIN)/python -m infra.lint out/sam.json

# Rewrite .chalice/policy-<stage>.json from the AWS calls the whole test suite makes; review the diff.
policy: $(STAMP)
	$(call suite,CLASSPAY_UPDATE_POLICY=1)

# Every benchmark in bench/ (incl. a locust run on chalice local, loopback), rewriting bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(ONLY)

# Schemathesis against `chalice local` on an emulated AWS (its own ports), half an hour per caller.
FUZZ_SECONDS ?= 1800
fuzz: $(STAMP)
	MOTO_PORT=$${FUZZ_MOTO_PORT:-5804} API_PORT=$${FUZZ_API_PORT:-8804} $(BIN)/python -m infra.fuzz --max-time $(FUZZ_SECONDS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache out build
