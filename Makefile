# `make demo` and `make test` bootstrap everything from nothing: a .venv with uv, then the
# pinned dependency set (requirements.lock) and this project in editable mode.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed-stamp
# Runs and the UI share one Dagster instance, so CLI runs show up in `make ui`.
export DAGSTER_HOME ?= $(CURDIR)/.tdm/dagster

.PHONY: install demo test lint ui bench lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet -r requirements-dev.lock
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tdm run schemas/retail.yaml --env local --dev-key

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Without TDM_MASKING_KEY the UI masks with the public demo key (insecure; for trying it out).
ui: $(STAMP)
	mkdir -p $(DAGSTER_HOME)
	test -n "$$TDM_MASKING_KEY" || echo "TDM_MASKING_KEY is unset: masking with the PUBLIC demo key"
	test -n "$$TDM_MASKING_KEY" || export TDM_ALLOW_DEV_KEY=1; $(BIN)/dagster dev -w workspace.yaml

bench: $(STAMP)
	$(BIN)/python bench/generation.py

# Re-pin the transitive dependency sets after changing pyproject.toml (the image uses the first).
lock:
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf $(VENV) .tdm
