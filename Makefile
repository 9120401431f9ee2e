# `make demo` and `make test` bootstrap everything from nothing: a .venv with uv, then the
# pinned dependency set (requirements.lock) and this project in editable mode.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
# The runtime set (requirements.lock, all `make demo` needs) and the dev set on top of it.
RUNTIME_STAMP := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp
# Airflow (pipelines/airflow_dag.py) has its own environment: see docs/airflow.md.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-stamp
# Runs and the UI share one Dagster instance, so CLI runs show up in `make ui`.
export DAGSTER_HOME ?= $(CURDIR)/.tdm/dagster

.PHONY: install airflow demo test lint ui bench lock clean

install: $(STAMP)

$(RUNTIME_STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet --no-deps -e .
	touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	$(BIN)/uv pip install --python $(BIN)/python --compile-bytecode --quiet -r requirements-dev.lock
	touch $(STAMP)

# The Airflow 3 environment: Airflow and the engine's own dependencies (no Dagster), the same
# versions as .venv wherever both hold a package, and this project in editable mode.
airflow: $(AIRFLOW_STAMP)

$(AIRFLOW_STAMP): requirements-airflow.lock pyproject.toml | $(STAMP)
	test -x $(AIRFLOW_VENV)/bin/python || $(BIN)/uv venv --quiet --python $(BIN)/python $(AIRFLOW_VENV)
	$(BIN)/uv pip install --python $(AIRFLOW_VENV)/bin/python --compile-bytecode --quiet \
		-r requirements-airflow.lock
	$(BIN)/uv pip install --python $(AIRFLOW_VENV)/bin/python --compile-bytecode --quiet \
		--no-deps -e .
	touch $(AIRFLOW_STAMP)

# The masking kernels compile on first use (numba, cached on disk afterwards): on a fresh
# clone, warm_up() compiles them on the other core while the run starts and generates, and
# the run loads what it finished. It is stopped when the run ends: the kernels the example does
# not use (~7 s more) compile when a run first needs them.
demo: $(RUNTIME_STAMP)
	$(BIN)/python -c "from tdm.masking.strategies import warm_up; warm_up()" & warm=$$!; \
	$(BIN)/tdm run schemas/retail.yaml --env local --dev-key; status=$$?; \
	kill $$warm 2>/dev/null; wait $$warm 2>/dev/null; exit $$status

test: $(STAMP) $(AIRFLOW_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Without TDM_MASKING_KEY the UI masks with the public demo key (insecure; for trying it out).
# The webserver and the daemon (schedules, sensors: stopped until switched on) run as in the
# compose stack; `dagster dev` would do the same, but is superseded and says so at each start.
UI_PORT ?= 3000
ui: $(RUNTIME_STAMP)
	$(BIN)/python -c "from pipelines.runner import instance; instance()"
	test -n "$$TDM_MASKING_KEY" || echo "TDM_MASKING_KEY is unset: masking with the PUBLIC demo key"
	test -n "$$TDM_MASKING_KEY" || export TDM_ALLOW_DEV_KEY=1; \
	$(BIN)/dagster-daemon run -w workspace.yaml & daemon=$$!; \
	trap 'kill $$daemon 2>/dev/null' EXIT INT TERM; \
	echo "Dagster UI: http://127.0.0.1:$(UI_PORT)"; \
	$(BIN)/dagster-webserver -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

bench: $(STAMP)
	$(BIN)/python bench/generation.py

# Re-pin the transitive dependency sets after changing pyproject.toml (the image uses the first).
lock:
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements-dev.lock
	$(BIN)/uv pip compile requirements-airflow.in -c requirements.lock --python-version 3.11 \
		-o requirements-airflow.lock
	$(BIN)/uv pip compile pyproject.toml --extra airflow -c requirements.lock --python-version 3.11 \
		--quiet >/dev/null  # the `airflow` extra still installs beside the pinned Dagster set

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) .tdm
