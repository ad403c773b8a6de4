# `make demo` and `make test` work on a fresh machine: they create .venv, install torch (CPU) first,
# then the package with its extras, then run.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export MUJOCO_GL ?= egl

.PHONY: install demo test pytest lint format benchmarks clean

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[tests,benchmarks]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) -m sb3_dynamite.demo

test: install
	$(PY) -m pytest -n 2 tests

pytest: test

lint: install
	$(VENV)/bin/ruff check sb3_dynamite tests benchmarks examples

format: install
	$(VENV)/bin/ruff format sb3_dynamite tests benchmarks examples

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
