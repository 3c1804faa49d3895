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

.PHONY: demo serve test test-fast lint check bench bench-contours bench-monitoring clean

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
	$(VENV)/bin/radassure --home radassure-demo monitor run

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

# NannyML and Evidently (peers of the monitoring benchmark) live in their own environment.
# Pinned: evidently 0.7.23 imports a pandas internal that pandas 3 removed, hence pandas<3.
# Their usage telemetry is switched off (here and in benchmarks/_monitoring_peers.py).
bench-monitoring:
	test -x .venv-monitor/bin/python || ($(PYTHON) -m venv .venv-monitor && \
	  .venv-monitor/bin/pip install -e . nannyml==0.13.1 evidently==0.7.23 'pandas<3')
	NML_DISABLE_USAGE_LOGGING=1 DO_NOT_TRACK=1 .venv-monitor/bin/python benchmarks/monitoring.py --peers

clean:
	rm -rf $(VENV) radassure-demo .pytest_cache .mypy_cache .ruff_cache
