"""The Airflow DAG (pipelines/airflow_dag.py) against the Dagster graph: the same spec, seed and
key give the same version id and byte-identical Parquet files; a version that fails validation
is never loaded.

The DAG runs with Airflow's own `dag.test()` in .venv-airflow (`make airflow`, which `make test`
runs first), in a subprocess with its own AIRFLOW_HOME and SQLite metadata database.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from pipelines.runner import run_dataset
from tdm.core import settings
from tdm.plan.loading import load_spec
from tests.conftest import ROOT

pytestmark = [pytest.mark.airflow, pytest.mark.xdist_group("airflow")]

PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAG_FILE = ROOT / "pipelines" / "airflow_dag.py"
KEY = "airflow-test-key-0123456789abcdef"
SEED = 21

# Four batches, so the batch task is mapped four times; masked keys, foreign keys following them.
SPEC = """
dataset: shop
seed: 7
batch_size: 250
reference_date: 2026-01-01
tables:
  customers:
    rows: 600
    primary_key: id
    columns:
      id: {type: int, generator: sequence, mask: pseudonymize}
      email: {type: string, generator: email, unique: true, mask: email}
      age: {type: int, generator: integer, min: 18, max: 90}
  orders:
    description: placed orders
    rows: {per: customers, distribution: uniform, min: 0, max: 3}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
      total: {type: float, generator: float, min: 1, max: 500, round: 2}
"""
# Checked on the sealed version only (a row count): every batch passes, the version does not.
TOO_MANY_ORDERS = SPEC.replace(
    "description: placed orders",
    "expect: [{type: expect_table_row_count_to_be_between, min_value: 1, max_value: 10}]",
)

# dag.test() in-process (tasks one after another), then what the run did, as one JSON line.
RUN = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("tdm_airflow_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dataset_dag.test(run_conf=json.loads(sys.argv[2]))
tasks = {f"{ti.task_id}[{ti.map_index}]": ti.state for ti in run.get_task_instances()}
print("TDM-AIRFLOW " + json.dumps({"state": run.state, "tasks": tasks, "run_id": run.run_id}))
"""


@pytest.fixture(scope="module")
def airflow_db(tmp_path_factory) -> Path:
    """A migrated, empty Airflow metadata database, copied by each test."""
    if not PYTHON.exists():
        pytest.fail(f"{PYTHON} is missing: run `make airflow` (`make test` does) first")
    home = tmp_path_factory.mktemp("airflow_template")
    done = subprocess.run(
        [str(PYTHON.parent / "airflow"), "db", "migrate"],
        env=_airflow_env(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home / "airflow.db"


def _airflow_env(home: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAG_FILE),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        **more,
    )
    return env


def run_airflow(tmp_path: Path, db: Path, conf: dict, **env: str) -> dict:
    """The DAG run under `conf` (its params); its state and every task instance's."""
    home = tmp_path / "airflow"
    home.mkdir()
    shutil.copy(db, home / "airflow.db")
    done = subprocess.run(
        [str(PYTHON), "-c", RUN, str(DAG_FILE), json.dumps(conf)],
        cwd=ROOT,
        env=_airflow_env(home, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("TDM-AIRFLOW ")]
    assert done.returncode == 0 and lines, done.stdout[-5000:] + done.stderr[-5000:]
    return json.loads(lines[-1].removeprefix("TDM-AIRFLOW "))


def parquet_files(version_dir: Path) -> dict[str, str]:
    """<table>/<batch>.parquet -> sha256 of its bytes."""
    return {
        str(p.relative_to(version_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(version_dir.rglob("*.parquet"))
    }


def rows_in(database: Path, table: str) -> int:
    with sqlite3.connect(database) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_the_dag_makes_the_dagster_version_byte_for_byte(
    write_spec, tmp_path, airflow_db, monkeypatch
):
    spec = write_spec(SPEC, "shop.yaml")
    # Airflow: its own working state; the store placed elsewhere with TDM_STORE
    af_home, af_store = tmp_path / "af_home", tmp_path / "af_store"
    conf = {"spec": str(spec), "seed": SEED, "env": "local"}
    env = {"TDM_HOME": str(af_home), "TDM_STORE": str(af_store), "TDM_MASKING_KEY": KEY}
    result = run_airflow(tmp_path, airflow_db, conf, **env)
    assert result["state"] == "success", result
    tasks = result["tasks"]
    assert {t: s for t, s in tasks.items() if not t.startswith("batch[")} == {
        "plan[-1]": "success",
        "seal[-1]": "success",
        "load[-1]": "success",
    }
    assert sorted(t for t in tasks if t.startswith("batch[")) == [f"batch[{i}]" for i in range(4)]
    assert {tasks[f"batch[{i}]"] for i in range(4)} == {"success"}

    # Dagster: the same spec, seed and key, through the asset graph (what `tdm run` does)
    monkeypatch.setenv("TDM_MASKING_KEY", KEY)
    with dg.instance_for_test() as instance:
        summary = run_dataset(load_spec(spec, seed=SEED), env="local", inst=instance)
    dagster_version = settings.store_root() / "shop" / summary.version

    assert (af_store / "shop" / "LATEST").read_text().strip() == summary.version
    airflow_version = af_store / "shop" / summary.version
    made = parquet_files(airflow_version)
    assert len(made) == 7  # customers: 3 batches, orders: 4
    assert made == parquet_files(dagster_version)
    manifests = [
        json.loads((d / "manifest.json").read_text()) for d in (airflow_version, dagster_version)
    ]
    assert manifests[0]["seed"] == SEED and manifests[0]["tables"] == manifests[1]["tables"]
    assert manifests[0]["key_fingerprint"] == manifests[1]["key_fingerprint"] is not None
    # each names what made it: the DAG run, the Dagster run
    assert manifests[0]["airflow"] == {"dag_id": "tdm_dataset", "run_id": result["run_id"]}
    assert manifests[0]["dagster_run_id"] is None and "airflow" not in manifests[1]
    assert manifests[1]["dagster_run_id"] == summary.run_id
    reports = [
        json.loads((d / "validation.json").read_text()) for d in (airflow_version, dagster_version)
    ]
    assert reports[0]["success"] and reports[1]["success"]
    checks = [[(c["name"], c["success"], c["element_count"]) for c in r["checks"]] for r in reports]
    assert checks[0] == checks[1]
    # loaded into the `local` environment under the Airflow run's own TDM_HOME
    loaded = af_home / "local" / "shop.sqlite"
    assert rows_in(loaded, "customers") == 600
    assert rows_in(loaded, "orders") == summary.rows["orders"]


def test_a_version_that_fails_validation_is_not_loaded(write_spec, tmp_path, airflow_db):
    spec = write_spec(TOO_MANY_ORDERS, "shop.yaml")
    home = tmp_path / "af_home"
    conf = {"spec": str(spec), "env": "local"}
    env = {"TDM_HOME": str(home), "TDM_ALLOW_DEV_KEY": "1"}
    result = run_airflow(tmp_path, airflow_db, conf, **env)
    assert result["state"] == "failed", result
    tasks = result["tasks"]
    assert {tasks[f"batch[{i}]"] for i in range(4)} == {"success"}  # every batch passed
    assert (tasks["seal[-1]"], tasks["load[-1]"]) == ("failed", "upstream_failed")
    [version] = [d for d in (home / "store" / "shop").iterdir() if d.is_dir()]
    report = json.loads((version / "validation.json").read_text())
    assert not report["success"]
    assert any("expect_table_row_count_to_be_between" in f for f in report["failed"])
    assert not (home / "store" / "shop" / "LATEST").exists()  # never `latest`, never loaded
    assert not (home / "local" / "shop.sqlite").exists()
