# The two commands of the README: `make run` and `make test`. Python
# packages install into .venv from PyPI, browser assets into node_modules
# from npm (then copied into app/static/vendor); Python 3.11+, Node.js and
# make are all a machine needs.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: install assets run test lint audit lock bench bench-scale clean

# Reinstall whenever the declared dependencies or their locked versions change.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools  # the venv's own setuptools is old and has known CVEs
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

# The newest releases pyproject.toml allows, in a venv of their own, written to
# requirements.lock; then `make install test audit` to take them.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[dev]'
	sed -n '/^#/p' requirements.lock > requirements.lock.new
	.lock-venv/bin/python -m pip freeze --exclude-editable >> requirements.lock.new
	mv requirements.lock.new requirements.lock && rm -rf .lock-venv

# Reinstall the browser assets whenever their pinned versions change.
app/static/vendor/.installed: package.json package-lock.json scripts/vendor.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/vendor.py
	touch $@

assets: app/static/vendor/.installed

install: $(VENV)/.installed assets

run: install
	$(BIN)/hie migrate
	$(BIN)/hie seed --demo
	$(BIN)/hie serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/pytest -n auto

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app

# Known vulnerabilities in what is installed: the locked versions (pip-audit, with PyPI's data).
audit: install
	$(BIN)/python scripts/audit.py

bench: install
	$(BIN)/python -m bench.run --n 100000 --db sqlite --db postgresql --duration 10

# PostgreSQL at 10,000 and 1,000,000 adoptions with 1, 2 and 4 workers (bench/README.md).
bench-scale: install
	$(BIN)/python -m bench.scale

clean:
	rm -rf $(VENV) data node_modules app/static/vendor .pytest_cache .mypy_cache .ruff_cache
