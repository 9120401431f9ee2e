"""The Dagster graph's stages as an Airflow 3 DAG, for teams that already run Airflow.

plan -> one mapped task per batch (dynamic task mapping: every table's rows of that batch,
generated or extracted, masked in memory, written, checked by the table's suite) -> seal and
validate the version -> load it into an environment (when one is given).

Each task makes the same engine calls as the Dagster assets (assets/batches.py, version.py,
load.py), so a spec and seed give the same version id and the same Parquet bytes either way.
Airflow lives in its own environment (`make airflow`, docs/airflow.md); this module imports
Airflow and the engine only, never Dagster (lint-imports holds it to that).

Params (`airflow dags test tdm_dataset -c '{"spec": ..., "seed": ..., "env": ...}'`): `spec`, a
file (relative to the project: $TDM_PROJECT, else the nearest directory upwards with schemas/),
`seed` and `scale` (empty: the spec's), `env` (empty: produce the version, load nothing). The
store is $TDM_STORE or $TDM_HOME/store; the masking key comes from $TDM_MASKING_KEY, or is the
public demo key when TDM_ALLOW_DEV_KEY=1, as for `tdm run --dev-key`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from tdm.core import settings
from tdm.core.errors import TdmError

if TYPE_CHECKING:
    from tdm.produce.production import Production
    from tdm.store.versions import VersionStore

# The engine (pyarrow, numpy, Faker, Great Expectations) is imported inside the tasks: Airflow
# parses this file again and again, and its top level should stay cheap.

DAG_ID = "tdm_dataset"
DEFAULT_SPEC = "schemas/retail.yaml"
SHOWN = 20  # failed checks named in a task's failure message

log = logging.getLogger(__name__)


@contextmanager
def failing() -> Iterator[None]:
    """An engine error fails the task with its one clear message and no retry: the same spec,
    seed and key fail the same way again (as assets.common.failing does for Dagster)."""
    try:
        yield
    except TdmError as e:
        raise AirflowFailException(str(e)) from None


def _params() -> dict[str, Any]:
    return dict(get_current_context()["params"])


def spec_path(spec: str) -> Path:
    path = Path(spec)
    return path if path.is_absolute() else settings.project_root() / path


def production(params: dict[str, Any], planned: str | None = None) -> Production:
    """The run's plan, masker and version id, made again in each task (tasks may run on other
    workers); `planned` is the version id the plan task fixed, which every later task must get
    too (an extracted source that changed in between would give another)."""
    from tdm.core.memory import use_jemalloc
    from tdm.masking.apply import Masker
    from tdm.masking.keys import key_from_env
    from tdm.plan.loading import load_spec
    from tdm.produce.production import Production

    use_jemalloc()  # Arrow's memory pool (tdm.core.memory)

    with failing():
        plan = load_spec(spec_path(params["spec"]), seed=params["seed"], scale=params["scale"])
        allow_dev = os.environ.get("TDM_ALLOW_DEV_KEY") == "1"
        key = key_from_env(allow_dev=allow_dev) if Masker.active(plan) else None
        prod = Production.start(plan, key)
    if planned is not None and prod.version != planned:
        raise AirflowFailException(
            f"{plan.name}: this task makes version {prod.version}, the plan task fixed "
            f"{planned}: the spec, the masking key or the source changed during the run; "
            "run the DAG again"
        )
    return prod


def store() -> VersionStore:
    from tdm.store.versions import VersionStore, store_location

    return VersionStore(store_location())


def _failed(kind: str, messages: list[str]) -> AirflowFailException:
    more = f"\n  ... and {len(messages) - SHOWN} more" if len(messages) > SHOWN else ""
    return AirflowFailException(f"{kind}:\n  " + "\n  ".join(messages[:SHOWN]) + more)


@task
def plan() -> list[str]:
    """Fix the version id (pushed as XCom `version`, the dataset as `dataset`) and return the
    batch keys to map over (the PII gate runs here for extracted datasets)."""
    prod = production(_params())
    p = prod.plan
    with failing():
        keys = p.batch_keys()
    log.info(
        "%s: %s rows in %d tables, %d batches (seed %s); version %s",
        p.name,
        f"{sum(p.rows.values()):,}",
        len(p.order),
        p.batches,
        p.spec.seed,
        prod.version,
    )
    ti = get_current_context()["ti"]
    ti.xcom_push(key="version", value=prod.version)
    ti.xcom_push(key="dataset", value=p.name)
    return keys


@task(map_index_template="{{ batch_key }}")
def batch(key: str, version: str) -> int:
    """Every table's rows of one batch, written into the version; fails (blocking, as the
    Dagster batch checks are) when a table's suite or the masking comparison fails."""
    from tdm.produce.batches import produce_table

    get_current_context()["batch_key"] = key  # type: ignore[typeddict-unknown-key]
    prod, where = production(_params(), version), store()
    rows, failed = 0, []
    for table in prod.plan.order:
        with failing():
            made = produce_table(prod, where, table, [key], log=log.info)
        rows += made.rows
        failed += [c.message for c in made.suite + made.masking if not c.success]
    if failed:
        raise _failed(f"batch {key} of version {version} failed its checks", failed)
    log.info("batch %s: %s rows", key, f"{rows:,}")
    return rows


@task
def seal(version: str) -> str:
    """Seal the batches into the version and validate the whole of it: keys and foreign keys
    across batches, row counts, privacy. A failed validation fails here: nothing loads."""
    from tdm.produce.version import seal_version

    prod, where = production(_params(), version), store()
    ctx = get_current_context()
    made_by = {"airflow": {"dag_id": ctx["dag"].dag_id, "run_id": ctx["run_id"]}}
    with failing():
        sealed = seal_version(prod, where, **made_by)  # the manifest names the DAG run
    report = sealed.report
    if not report["success"]:
        raise _failed(f"version {version} failed validation, so it is not loaded", report["failed"])
    log.info(
        "version %s of %s %s; validation passed (%d checks)",
        version,
        prod.plan.name,
        "reused (already sealed)" if sealed.reused else "sealed",
        report["stats"]["checks"],
    )
    return version


@task
def load(dataset: str, version: str) -> dict[str, Any]:
    """Load the version into the environment `env`, all or nothing, behind the load gate."""
    from tdm.environments.config import get_environment
    from tdm.environments.deploy import deploy

    name = _params()["env"]
    if not name:
        raise AirflowSkipException("no environment given (param env): the version is not loaded")
    with failing():
        env = get_environment(name)
        if not env.receives(dataset):
            raise TdmError(
                f"environment {name!r} does not receive {dataset} (its datasets: "
                f"{', '.join(env.spec.datasets)})"
            )
        done = deploy(env, store(), dataset, version)
    report = done.report
    log.info("loaded %s %s into %s: %s rows", dataset, done.version, name, report.total_rows)
    return {"environment": name, "version": done.version, "rows": report.rows}


@dag(
    dag_id=DAG_ID,
    schedule=None,
    catchup=False,
    max_active_runs=1,
    tags=["tdm"],
    doc_md=__doc__,
    params={
        "spec": Param(DEFAULT_SPEC, type="string", description="The dataset spec file."),
        "seed": Param(None, type=["null", "integer"], description="Empty: the spec's seed."),
        "scale": Param(None, type=["null", "number"], description="Row-count factor."),
        "env": Param(None, type=["null", "string"], description="Environment to load into."),
    },
)
def tdm_dataset() -> None:
    keys = plan()  # the batch keys; XComs `version` and `dataset` beside them
    version, dataset = keys["version"], keys["dataset"]
    sealed = seal(version)
    batch.partial(version=version).expand(key=keys) >> sealed
    load(dataset, sealed)


dataset_dag = tdm_dataset()
