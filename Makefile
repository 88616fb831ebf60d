# Two commands do all set-up: `make run` (install, migrate, seed a demo, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
VAR := var
export NRM_DATABASE_URL ?= sqlite:///$(VAR)/nrm.sqlite3
export NRM_KEY_FILE ?= $(VAR)/nrm.keys
DEMO_ACCOUNTS := $(VAR)/demo-accounts.txt

.PHONY: run test install install-dev lint bench clean docs browser screenshots \
	translations translations-extract translations-update translations-compile

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

run: install translations-compile
	@install -d -m 0700 $(VAR)  # private: the database and the key file live here
	$(BIN)/nrm migrate
	$(BIN)/nrm keys ensure
	@if $(BIN)/nrm demo is-empty; then $(BIN)/nrm demo seed --accounts-file $(DEMO_ACCOUNTS) >/dev/null; fi
	@if [ -f $(DEMO_ACCOUNTS) ]; then cat $(DEMO_ACCOUNTS); fi
	@echo "Web application: http://127.0.0.1:8000/ (sign in with a demo account above)"
	@echo "API: http://127.0.0.1:8000/api/v1 (documentation at http://127.0.0.1:8000/docs). Ctrl-C stops."
	$(BIN)/nrm serve --host 127.0.0.1 --port 8000

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

test: lint translations-compile browser
	$(BIN)/pytest -n 2

# Translations of the web application (docs/web.md): extract the messages of app/web into a template, merge it
# into the fr and en catalogues, compile them. Catalogues carry no line numbers, so parallel branches merge.
TRANSLATIONS := app/web/translations
POT := $(TRANSLATIONS)/messages.pot
translations-extract: install
	$(BIN)/pybabel --quiet extract --mapping-file babel.cfg --keywords N_ --no-location --sort-output \
		--project nrm --msgid-bugs-address "" --output-file $(POT) app/web
translations-update: translations-extract
	$(BIN)/pybabel --quiet update --input-file $(POT) --output-dir $(TRANSLATIONS) --domain messages \
		--no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
translations-compile: install
	$(BIN)/pybabel --quiet compile --directory $(TRANSLATIONS) --domain messages
translations: translations-update translations-compile

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work here). Installed when
# missing and running as root; otherwise tests/e2e is skipped with a loud line, or fails the run when CI=true.
CHROMIUM := /usr/bin/chromium
browser:
	@[ -x $(CHROMIUM) ] || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "!!! $(CHROMIUM) is missing and could not be installed (apt-get install chromium): browser tests will be skipped"

# Pictures of the main pages (fr and en, 360 px and desktop) for the README, into docs/screenshots/.
screenshots: install-dev translations-compile browser
	NRM_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/e2e/test_screenshots.py tests/e2e/test_referral_screenshots.py tests/e2e/test_transfer_journey.py \
		tests/e2e/test_components.py -p no:xdist -q

docs: install
	$(BIN)/python -m app.workflow.docs > docs/workflow.md

$(BIN)/.installed-bench: $(BIN)/.installed-dev pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

# Benchmarks, not tests (`make test` never runs them): generates 100 000 cases in a throw-away PostgreSQL
# database (NRM_BENCH_POSTGRES_URL), loads `nrm serve` and a bare baseline app with wrk, runs the
# micro-benchmarks and writes docs/benchmarks.md. BENCH_ARGS="--cases 1000000" for the full scale. The catalogues are
# compiled first, as `make run` does: a service compiling them in memory at start-up carries ~50 MB more.
bench: $(BIN)/.installed-bench translations-compile
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
		|| { echo "wrk is missing and could not be installed: apt-get install wrk"; exit 1; }
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
