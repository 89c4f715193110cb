# Two set-up commands for a new machine: `make run` and `make test`. Each installs what it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run serve test bench lint typecheck schema clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# Azurite (the storage emulator the tests start) from package-lock.json; `npm install` only if there is no lock.
$(NODE_STAMP): package.json $(wildcard package-lock.json)
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
	else npm install --no-audit --no-fund --loglevel=error; fi
	touch $(NODE_STAMP)

run: $(STAMP)
	$(PY) -m provisioning run samples/workers.csv --mapping microsoft-sample || [ $$? -eq 1 ]

# The mapping page and the HTTP API on http://127.0.0.1:8080/ (local folders, the embedded Graph emulator).
serve: $(STAMP)
	$(PY) -m provisioning serve --port 8080

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m benchmarks

schema: $(STAMP)
	$(PY) -c "import json; from provisioning.core.mapping.profile import profile_json_schema; print(json.dumps(profile_json_schema(), indent=2))" > mappings/profile.schema.json

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
