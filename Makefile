# Peak Portal: `make run` starts the portal on the embedded default, `make test` runs the suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000

# Django 6.1 needs Python 3.12+ (looked up once, `:=`). Take the first suitable interpreter: $(PYTHON) if given,
# then python3.13/python3.12 on PATH, then pyenv's, then python3.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.13 python3.12 \
	$$(ls -d $$(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
endif

# uv installs the locks in seconds: the one on PATH, else one bootstrapped with pip into .tools/
# (pinned); where neither works, pip installs the same locks (with their hashes) instead. The venv keeps
# pip (--seed), so `.venv/bin/pip install X` still works for trying a package before `make lock`.
UV_VERSION := 0.13.8
TOOLS := .tools
ifeq ($(origin UV),undefined)
UV := $(shell command -v uv 2>/dev/null || { [ -x $(TOOLS)/bin/uv ] && echo $(TOOLS)/bin/uv; })
endif
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock

# Where PYTHONDONTWRITEBYTECODE=1 is set (this machine sets it), each process of `make run` (web, two workers,
# beat) and each test process compiled the ~1,300 modules it imports from source: 4 s of CPU a process, 5 s of
# the first `make run`. Python caches bytecode for these commands (in .venv and __pycache__/, git-ignored).
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run test test-clock install lock clean oidc-deps bench

$(VENV)/.installed: pyproject.toml $(LOCK) $(DEV_LOCK)
	@if [ -z "$(PYTHON)" ]; then \
		echo "Peak Portal needs Python 3.12 or newer (Django 6.1). None was found on PATH or in pyenv."; \
		echo "Install one (e.g. 'pyenv install 3.13') or run: make PYTHON=/path/to/python3.13 $(MAKECMDGOALS)"; \
		exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	@uv="$(UV)"; \
	if [ -z "$$uv" ] && [ -z "$(NO_UV)" ]; then \
		echo "Bootstrapping uv $(UV_VERSION) into $(TOOLS)/ with pip"; \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
			--target $(TOOLS) "uv==$(UV_VERSION)" >/dev/null 2>&1 && uv=$(TOOLS)/bin/uv \
			|| echo "Could not install uv; falling back to pip"; \
	fi; \
	[ -n "$(NO_UV)" ] && uv=""; \
	if [ -n "$$uv" ]; then \
		$$uv venv --quiet --seed --allow-existing --python "$(PYTHON)" $(VENV) \
		&& $$uv pip sync --quiet --python $(PY) --require-hashes $(DEV_LOCK); \
	else \
		{ [ -x $(PY) ] && $(PY) -m pip --version >/dev/null 2>&1; } || $(PYTHON) -m venv --clear $(VENV); \
		$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes -r $(DEV_LOCK); \
	fi
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

# The suite runs on every core (pytest-xdist, a file per worker at a time: module fixtures start once); JOBS=0
# runs it in one process.
JOBS ?= auto
XDIST = $(if $(filter 0,$(JOBS)),-p no:xdist,-n $(JOBS) --dist loadfile)
test: install oidc-deps
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

# Issue #11: seed BENCH_DATABASE_URL (PostgreSQL; created if missing) to BENCH_AGENTS agents through the
# portal's models, serve it with gunicorn and load every page (bench/README.md). Not part of `make test`.
BENCH_AGENTS ?= 1000
BENCH_DURATION ?= 10
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/peakportal_bench
bench: install
	@command -v createdb >/dev/null && createdb -h 127.0.0.1 -U postgres $(notdir $(BENCH_DATABASE_URL)) 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/seed.py --reset --agents $(BENCH_AGENTS)
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/run.py --duration $(BENCH_DURATION) $(BENCH_ARGS)

# The suite with every test's clock moved (tests/conftest.py): CLOCK=month-end, month-start or an ISO date-time.
CLOCK ?= month-end
test-clock: install oidc-deps
	PORTAL_TEST_CLOCK=$(CLOCK) $(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

# Re-lock after changing pyproject.toml: production first, then dev on top of it (same versions),
# both with hashes for every platform. Keeps the pinned versions it can; UPGRADE=1 takes the newest.
lock:
	@uv="$(UV)"; [ -n "$$uv" ] || { $(PYTHON) -m pip install --quiet --disable-pip-version-check \
		--no-warn-script-location --target $(TOOLS) "uv==$(UV_VERSION)" >/dev/null 2>&1 && uv=$(TOOLS)/bin/uv; }; \
	set -e; flags="--quiet --generate-hashes --universal --python-version 3.12 --no-header"; \
	[ -z "$(UPGRADE)" ] || flags="$$flags --upgrade"; \
	$$uv pip compile $$flags pyproject.toml -o $(LOCK); \
	$$uv pip compile $$flags --extra dev -c $(LOCK) pyproject.toml -o $(DEV_LOCK); \
	for f in $(LOCK) $(DEV_LOCK); do \
		{ echo "# Generated by \`make lock\` (uv pip compile, hashes for every platform); do not edit by hand."; \
		  cat $$f; } > $$f.tmp && mv $$f.tmp $$f; done
	@echo "Locked $$(grep -c '^[a-zA-Z]' $(LOCK)) production and $$(grep -c '^[a-zA-Z]' $(DEV_LOCK)) dev packages"

clean:
	rm -rf $(VENV) var staticfiles $(OIDC_DIR)/node_modules
