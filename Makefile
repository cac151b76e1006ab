# Every target sets itself up from nothing but python3, git and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
LINT_PATHS := inferlog tests benchmarks examples docs/conf.py

.PHONY: demo test lint typecheck unit docs bench clean compat

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

test: lint typecheck unit docs compat

# python-json-logger's own formatter tests, against inferlog.JsonFormatter; the sdist
# is downloaded into build/compat (not committed). Differences: tests/compat/pjl_differences.json.
compat: $(VENV)/.installed-test
	$(PY) tests/compat/run_pjl_tests.py --cache build/compat

docs: $(VENV)/.installed-test
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

# The peers the benchmarks measure against (watchtower) come with the bench extra.
$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(PIP) install -e '.[all,test,docs,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build/compat docs/_build .mypy_cache .ruff_cache .pytest_cache logs
