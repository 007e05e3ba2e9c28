# Two commands for a fresh clone: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed

.PHONY: run test widget bench clean screenshots hints-doc

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(RUNTIME): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DEV): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME)

run: $(RUNTIME)  ## everything on its embedded default; without AMOCRM_CLIENT_ID, the demo on a sandbox account
	$(PY) -m service run

# Test files run on TEST_WORKERS processes (pytest-xdist), each with its own Redis and browser; a file stays on one
# worker, so its module fixtures are set up once. Much of the suite waits on subprocesses and sockets: 2 pay off on
# 2 CPUs. Files are handed out in collection order (tests/conftest.py puts the minute-long chaos run first), not by
# their number of tests. TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= 2

test: $(DEV)  ## the whole suite: unit, integration (real Redis, real RQ), browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

widget: $(RUNTIME)  ## widget.zip for upload in amoCRM (API URL from PUBLIC_URL)
	$(PY) -m service widget

screenshots: $(DEV)  ## README pictures (docs/*.png) from a running `make run` at BASE_URL
	$(PY) docs/screenshots.py $(or $(BASE_URL),http://127.0.0.1:5000)

hints-doc: $(RUNTIME)  ## docs/hints.md: what every hint says, from the code
	$(PY) -m service hints-doc

clean:
	rm -rf $(VENV) var tests/artifacts widget.zip
