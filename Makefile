# Backstep: the two commands a fresh machine needs are `make run` and `make test`.
# Everything installs into .venv from this project's own files (pyproject.toml).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

# `make run` is the single-machine demo: embedded SQLite, in-process scheduler, and the
# test clock switched on so the README's "see a reminder now" recipe works.
RUN_ENV := BACKSTEP_ALLOW_TEST_CLOCK=$${BACKSTEP_ALLOW_TEST_CLOCK:-true}

.PHONY: run test install install-dev lint typecheck migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/backstep migrate

seed: migrate
	$(RUN_ENV) $(BIN)/backstep seed-demo

run: seed
	@echo "Backstep on http://$(HOST):$(PORT)  (API docs: /docs, dashboard: /dashboard)"
	$(RUN_ENV) $(BIN)/backstep serve --host $(HOST) --port $(PORT)

# The suite, after the lint and type gates (CI runs exactly this).
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api exercise_library tests
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy api exercise_library


clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
