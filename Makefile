# mnistlab: `make run` opens the dashboard, `make test` runs every test. Both set everything up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo)
export MNISTLAB_DATA_DIR ?= $(CURDIR)/data
PORT ?= 8501

.PHONY: run test setup data browser bench lint clean

run: setup data  ## fetch what is missing, then serve the dashboard on http://127.0.0.1:$(PORT)
	$(PY) -m streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

test: setup data browser  ## the layering contract, then the whole suite: unit, integration (real data), app, browser and PostgreSQL tests
	$(VENV)/bin/lint-imports
	MNISTLAB_TEST_POSTGRES="$${MNISTLAB_TEST_POSTGRES:-$$(tools/test-postgres.sh)}" $(PY) -m pytest -q

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

data: setup  ## download and verify MNIST and Fashion-MNIST (nothing is downloaded if already verified)
	$(PY) -m mnistlab data fetch --dataset all

browser:  ## Debian's Chromium for the end-to-end tests (Playwright never downloads its own browser)
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

bench: setup data
	$(PY) -m mnistlab bench --device cpu

lint: setup
	$(VENV)/bin/ruff check mnistlab tests app.py pages ui

clean:
	rm -rf $(VENV) .pytest_cache
