# Two commands do all set-up: `make run` (install, migrate, seed a demo, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VAR := var
export NRM_DATABASE_URL ?= sqlite:///$(VAR)/nrm.sqlite3
export NRM_KEY_FILE ?= $(VAR)/nrm.keys
DEMO_ACCOUNTS := $(VAR)/demo-accounts.txt

.PHONY: run test install install-dev lint bench clean docs

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed
install-dev: $(BIN)/.installed-dev

run: install
	@install -d -m 0700 $(VAR)  # private: the database and the key file live here
	$(BIN)/nrm migrate
	$(BIN)/nrm keys ensure
	@if $(BIN)/nrm demo is-empty; then $(BIN)/nrm demo seed --accounts-file $(DEMO_ACCOUNTS) >/dev/null; fi
	@if [ -f $(DEMO_ACCOUNTS) ]; then cat $(DEMO_ACCOUNTS); fi
	@echo "Serving on http://127.0.0.1:8000 (API docs at /docs). Ctrl-C stops."
	$(BIN)/nrm serve --host 127.0.0.1 --port 8000

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

test: lint
	$(BIN)/pytest -n 2

docs: install
	$(BIN)/python -m app.workflow.docs > docs/workflow.md

$(BIN)/.installed-bench: $(BIN)/.installed-dev pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

# Benchmarks, not tests (`make test` never runs them): generates 100 000 cases in a throw-away PostgreSQL
# database (NRM_BENCH_POSTGRES_URL), loads `nrm serve` and a bare baseline app with wrk, runs the
# micro-benchmarks and writes docs/benchmarks.md. BENCH_ARGS="--cases 1000000" for the full scale.
bench: $(BIN)/.installed-bench
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "wrk is missing and could not be installed: apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
