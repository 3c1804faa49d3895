# radassure: two commands to start (see README.md).
#   make demo   - create .venv, install, build the demo department, print the next step
#   make serve  - open the demo department at http://127.0.0.1:8000
#   make test   - create .venv with the dev extras, run the whole suite (SQLite + PostgreSQL)
#   make check  - lint (ruff, mypy, import-linter) + the whole suite: what CI runs
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
STAMP_RUN := $(VENV)/.installed

.PHONY: demo serve test test-fast lint check bench bench-contours clean

$(STAMP_RUN): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(VENV)/bin/radassure --home radassure-demo demo --overwrite

serve: $(STAMP_RUN)
	$(VENV)/bin/radassure --home radassure-demo serve

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

check: lint test

bench: $(STAMP)
	$(PY) benchmarks/ingest.py

# Heavy peers (MONAI with a CPU torch, seg-metrics, MedPy) live in their own environment.
bench-contours:
	test -x .venv-bench/bin/python || ($(PYTHON) -m venv .venv-bench && \
	  .venv-bench/bin/pip install torch==2.13.0 && \
	  .venv-bench/bin/pip install -e . monai seg-metrics medpy surface-distance)
	.venv-bench/bin/python benchmarks/agreement_monai.py
	.venv-bench/bin/python benchmarks/contours.py --repeat 3 --timeout 300

clean:
	rm -rf $(VENV) radassure-demo .pytest_cache .mypy_cache .ruff_cache
