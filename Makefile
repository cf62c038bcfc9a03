# The README's commands. Each target bootstraps .venv itself from the lock (requirements-dev.txt).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# pip-tools lives in a throwaway virtualenv of its own, never in .venv.
LOCK_VENV ?= /tmp/mbolo-piptools
export FLASK_APP := wsgi

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench venv lock clean

## help: list the targets
help:
	@grep -E '^## ' $(MAKEFILE_LIST) | sed -e 's/^## //' | awk -F': ' '{printf "  make %-8s %s\n", $$1, $$2}'

# The lock is complete (every transitive package, pinned and hashed), so pip resolves nothing:
# --no-deps keeps out what the lock leaves out on purpose (the SDK's unused `responses`).
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.txt
	touch $@

## venv: create .venv and install the locked runtime and test packages
venv: $(BIN)/.installed

## run: migrate, seed the demo, serve with the embedded defaults, print how to dial
run: venv
	$(BIN)/python scripts/run_demo.py

## test: the whole suite (DATABASE_URL / REDIS_URL pick the services; unset = embedded)
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff check and ruff format --check
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## format: ruff format and the fixable ruff checks
format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: every benchmark, one table, bench/results/<run>.json (BENCH_ARGS="--quick --members N")
bench: venv
	$(BIN)/python -m bench.run_all $(BENCH_ARGS)

# pyyaml and responses reach the runtime graph only through the SDK's unused `responses`.
PIP_COMPILE = $(LOCK_VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras \
	--no-emit-index-url --no-emit-find-links --unsafe-package responses

## lock: recompile requirements.txt and requirements-dev.txt from the *.in files (pip-tools)
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet pip-tools)
	$(PIP_COMPILE) --unsafe-package pyyaml --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in

## clean: remove .venv and the local state (instance/, caches)
clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
