# Two commands on a fresh machine with Python 3.11+ and make: `make lab` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
SANITIZE := notebooks/sanitize.cfg

.PHONY: lab test test-latest lint unit nbval notebooks clean-notebooks check-notebooks bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per extra: installing again only when pyproject.toml changes.
$(VENV)/.installed-%: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$*]'
	touch $@

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# No "get notified about official Jupyter news?" prompt for a room of newcomers, and no news or update
# fetch: JupyterLab's default settings from tools/lab-settings/overrides.json (a user's own still win).
NO_NEWS := --LabApp.app_settings_dir=$(CURDIR)/tools/lab-settings --LabApp.news_url=None

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) $(ALLOW_ROOT) $(NO_NEWS) $(LAB_ARGS)

test: $(VENV)/.installed-test lint unit nbval check-notebooks

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

unit: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q tests

nbval: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q --nbval --nbval-current-env --nbval-sanitize-with $(SANITIZE) notebooks

# Outputs are part of the notebooks: regenerate them all, deterministically.
notebooks: $(VENV)/.installed-test
	PYTHONHASHSEED=0 $(BIN)/python tools/run_notebooks.py notebooks/*.ipynb

check-notebooks: $(VENV)/.installed-test
	$(BIN)/nbstripout --keep-output --keep-count --verify notebooks/*.ipynb

# The newest release of every runtime and test dependency, past pyproject.toml's upper bounds, in an
# environment of its own: first the canaries (tests/project/test_private_api.py: they name the attribute a
# release moved), then the suite. The versions tried are printed first. The browser tests are left to
# make test: they exercise Chromium, JupyterLite and JupyterHub, and take minutes.
LATEST := .venv-latest
RUNTIME := starlette|httpx|anyio|websockets|uvicorn|ipykernel|ipython|zttp|h11
test-latest:
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade $$($(PYTHON) tools/unbounded_requirements.py)
	$(LATEST)/bin/python -m pip install --quiet --no-deps -e .
	@$(LATEST)/bin/python -m pip list --format=freeze 2>/dev/null | grep -iE '^($(RUNTIME))=='
	$(LATEST)/bin/python -m pytest -q tests/project/test_private_api.py
	$(LATEST)/bin/python -m pytest -q -m 'not browser' tests

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py

# An offline install for a workshop room: run on a connected machine like the laptops, copy
# wheelhouse/ along, then: pip install --no-index --find-links wheelhouse '.[lab]'
.PHONY: wheelhouse
wheelhouse: | $(BIN)/python
	$(BIN)/python -m pip wheel --quiet --wheel-dir wheelhouse '.[lab]' 'setuptools>=69'

# The workshop as a static JupyterLite site (Pyodide kernel), from PyPI and npm only: needs node/npm too.
LITE_VENV := .venv-lite
LITE_OUT ?= _site
LITE_PORT ?= 8000
.PHONY: lite lite-serve

$(LITE_VENV)/.installed: tools/lite-requirements.txt
	$(PYTHON) -m venv $(LITE_VENV)
	$(LITE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LITE_VENV)/bin/python -m pip install --quiet -r tools/lite-requirements.txt
	touch $@

lite: $(LITE_VENV)/.installed
	$(LITE_VENV)/bin/python tools/build_lite.py --output $(LITE_OUT)

lite-serve:
	test -f $(LITE_OUT)/index.html || $(MAKE) lite
	$(PYTHON) -m http.server --bind 127.0.0.1 $(LITE_PORT) --directory $(LITE_OUT)

clean:
	rm -rf $(VENV) $(LATEST) $(LITE_VENV) $(LITE_OUT) .node build *.egg-info
