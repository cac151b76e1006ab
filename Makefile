# Every target sets itself up from nothing but python3, git and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
LINT_PATHS := inferlog tests benchmarks examples docs/conf.py

.PHONY: demo test lint typecheck unit docs bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml | $(PY)
	$(PIP) install -e '.[analysis]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install -e '.[all,test,docs]'
	touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(VENV)/bin/inferlog demo

lint: $(VENV)/.installed-test
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

typecheck: $(VENV)/.installed-test
	$(PY) -m mypy

unit: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 --dist loadfile

test: lint typecheck unit docs

docs: $(VENV)/.installed-test
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

bench: $(VENV)/.installed-test
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) docs/_build .mypy_cache .ruff_cache .pytest_cache logs
