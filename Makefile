# Peak Portal: `make run` starts the portal on the embedded default, `make test` runs the suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# Django 6.1 needs Python 3.12+. Take the first suitable interpreter: $(PYTHON) if given,
# then python3.13/python3.12 on PATH, then pyenv's, then python3.
PYTHON ?= $(shell for p in python3.13 python3.12 \
	$$(ls -d $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	&& { command -v $$p; break; }; done)

.PHONY: run test test-clock install lock clean oidc-deps

$(VENV)/.installed: pyproject.toml requirements.lock
	@if [ -z "$(PYTHON)" ]; then \
		echo "Peak Portal needs Python 3.12 or newer (Django 6.1). None was found on PATH or in pyenv."; \
		echo "Install one (e.g. 'pyenv install 3.13') or run: make PYTHON=/path/to/python3.13 $(MAKECMDGOALS)"; \
		exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py runportal --port $(PORT)

# The tests' OpenID Connect provider (node's oidc-provider), from its lock file (issue 13).
OIDC_DIR := tests/oidc
$(OIDC_DIR)/node_modules/.package-lock.json: $(OIDC_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the OpenID Connect sign-in tests will be skipped (or fail under PORTAL_REQUIRE_BROWSER)"; fi

oidc-deps: $(OIDC_DIR)/node_modules/.package-lock.json

test: install oidc-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# The suite with every test's clock moved (tests/conftest.py): CLOCK=month-end, month-start or an ISO date-time.
CLOCK ?= month-end
test-clock: install oidc-deps
	PORTAL_TEST_CLOCK=$(CLOCK) $(PY) -m pytest $(PYTEST_ARGS)

# Refresh the lock after changing pyproject.toml: a fresh venv, newest allowed versions, frozen.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet ".[dev]"
	.lock-venv/bin/pip freeze --exclude peak-portal > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) var staticfiles $(OIDC_DIR)/node_modules
