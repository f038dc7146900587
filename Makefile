# Creative Studio — every developer task is a make target; `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BRIEF ?= cyberpunk street scene at night, neon signs
TEST_WORKERS ?= 2

.PHONY: help install studio check lint typecheck test test-fast clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/studio: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(BIN)/studio ## create .venv and install the studio with its dev tools

studio: install ## install, then run a session on the embedded defaults (BRIEF="...")
	$(BIN)/studio run "$(BRIEF)"

lint: install ## ruff format --check and ruff check
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: install ## mypy --strict on every package (api engine store people graph agents adapters)
	$(BIN)/mypy

test: install ## the test suite (real Postgres: embedded unless TEST_DATABASE_URL is set)
	$(BIN)/pytest --durations=25

test-fast: install ## the tests without the slow ones (browser, subprocesses, whole sessions)
	$(BIN)/pytest -m "not slow" -n $(TEST_WORKERS)

check: lint typecheck test ## everything CI runs: lint, types, tests

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
