# watchfloor: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck contracts pytest browser bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

PORT ?= 8000

## demo: install, load the bundled real sample data, then serve the console (make demo PORT=8080)
demo: $(STAMP)
	$(BIN)/watchfloor demo --port $(PORT)
	$(BIN)/watchfloor --db demo-data/watchfloor.db serve --port $(PORT)

## test: install, then lint, type-check, check import contracts and run every test
test: lint typecheck contracts pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest -q

## browser: the console's end-to-end and XSS tests in Debian's headless Chromium (apt-get install chromium)
browser: $(STAMP)
	WATCHFLOOR_REQUIRE_SERVICES=1 $(BIN)/pytest -q tests/web/test_xss_browser.py tests/web/test_e2e_flow.py

## bench: run the benchmarks; JSON results in benchmarks/results/, table in benchmarks/README.md
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
