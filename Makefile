# The two commands: `make run` (set up, start the app on demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501
# The city-scale store the benchmark runs on (built on first use: about a minute of CPU, 300 MB).
DB ?= data/city.duckdb

.PHONY: run test bench bench-import clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(VENV)/.dev-deps
	$(BIN)/python bench/city_bench.py --db $(DB)

bench-import: $(VENV)/.dev-deps
	$(BIN)/python bench/import_bench.py

clean:
	rm -rf $(VENV)
