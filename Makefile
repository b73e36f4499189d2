# Every target does its own set-up through the shared .venv target.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-large lint bench clean

$(VENV): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	touch $(VENV)

demo: $(VENV)
	$(PY) -m examples.quickstart

lint: $(VENV)
	$(PY) -m ruff check .

test: $(VENV) lint
	$(PY) -m pytest -q

test-large: $(VENV)
	$(PY) -m pytest -q -m large

clean:
	rm -rf $(VENV) runs
