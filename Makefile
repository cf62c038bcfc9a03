# The README's commands. Each target bootstraps .venv itself.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test lint format bench venv clean catalogs

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

## run: migrate, seed the demo, serve with the embedded defaults, print how to dial
run: venv
	$(BIN)/python scripts/run_demo.py

## test: the whole suite (DATABASE_URL / REDIS_URL pick the services; unset = embedded)
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## bench: the benchmark suite (PostgreSQL + Redis server); prints the table, writes bench/results/
bench: venv
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
