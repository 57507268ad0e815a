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

.PHONY: run test test-browser install install-dev lint typecheck migrate seed clean

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

# The seed replays weeks of activity through the services: their info logs would bury the
# logins it prints, so it logs warnings only unless BACKSTEP_LOG_LEVEL says otherwise.
seed: migrate
	$(RUN_ENV) BACKSTEP_LOG_LEVEL=$${BACKSTEP_LOG_LEVEL:-WARNING} $(BIN)/backstep seed-demo

run: seed
	@echo "Backstep on http://$(HOST):$(PORT)  (API docs: /docs, dashboard: /dashboard)"
	$(RUN_ENV) $(BIN)/backstep serve --host $(HOST) --port $(PORT)

# The browser tests drive Debian's Chromium (never a browser Playwright downloads). Installed
# here when absent, so a fresh machine (CI runs as root) gets it; without it they fail.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

# The suite, after the lint and type gates (CI runs exactly this).
test: install-dev $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy api exercise_library tests bench
	$(BIN)/pytest -n auto --dist worksteal

# Only the real-browser tests of the dashboard (screenshots land in test-artifacts/).
test-browser: install-dev $(CHROMIUM)
	$(BIN)/pytest -m browser

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy api exercise_library


clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
