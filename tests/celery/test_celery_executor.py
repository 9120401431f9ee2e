"""A partitioned dataset materialised by two real Celery workers seals the same version, byte for
byte, as an in-process run.

The code location itself is what the workers load (pipelines.definitions, TDM_EXECUTOR=celery),
the broker is RabbitMQ and the result backend Redis. Both workers run on this machine and share
the store directory and the PostgreSQL run storage: on several machines, those two must be shared
the same way (docs/deploy-scale.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable

import dagster as dg
import pytest

from assets import names
from pipelines.runner import run_dataset
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore

from ..conftest import SMALL
from .conftest import BACKEND, BROKER, ROOT, dagster_home

pytestmark = [
    pytest.mark.celery,
    pytest.mark.slow,
    pytest.mark.xdist_group("celery"),
    # dagster-celery registers its task once per run's app: Celery's note on it is harmless
    pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning"),
]

RUN_SECONDS = 240  # the whole celery run, in its own process; about 20s here


def step_workers(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """Which Celery worker ran each step, from the engine event each worker records."""
    ran = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.is_engine_event or not event.step_key:
            continue
        data = event.engine_event_data
        if data is not None and "Celery worker" in data.metadata:
            ran[event.step_key] = str(data.metadata["Celery worker"].value)
    return ran


def files(store: VersionStore, dataset: str, version: str) -> dict[str, bytes]:
    manifest = store.manifest(dataset, version)
    return {
        f["path"]: store.path(dataset, version, f["path"]).read_bytes()
        for info in manifest["tables"].values()
        for f in info["files"]
    }


def orchestrate(env: dict[str, str], dataset: str, keys: list[str], said: Callable[[], str]) -> str:
    """Run the generate job over all batches in its own process, bounded; the run's id."""
    command = [sys.executable, "-m", "tests.celery.orchestrate", dataset, keys[0], keys[-1]]
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_SECONDS
        )
    except subprocess.TimeoutExpired as e:  # the child is killed; its output so far is bytes
        out = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        pytest.fail(f"the celery run took over {RUN_SECONDS}s:\n{(out or '')[-8000:]}\n{said()}")
    if done.returncode != 0:
        pytest.fail(f"the celery run failed ({done.returncode}):\n{done.stderr[-8000:]}\n{said()}")
    return json.loads(done.stdout.strip().splitlines()[-1])["run_id"]


def test_two_celery_workers_seal_the_in_process_version(workers, tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    spec = schemas / "shop.yaml"
    spec.write_text(SMALL.lstrip())
    plan = load_spec(spec)
    keys = plan.batch_keys()
    assert len(keys) >= 3  # several batch partitions, one run over all of them
    shared_store = tmp_path / "celery-store"
    env = {
        "TDM_SCHEMAS": str(schemas),
        "TDM_STORE": str(shared_store),  # one directory for both workers: they share a disk
        "TDM_EXECUTOR": "celery",
        "TDM_CELERY_BROKER": BROKER,
        "TDM_CELERY_BACKEND": BACKEND,
    }
    with dagster_home(tmp_path) as home:
        env["DAGSTER_HOME"] = str(home)
        monkeypatch.setenv("TDM_SCHEMAS", str(schemas))  # as the workers see it, for both runs
        group = workers(env, 2)
        started = time.monotonic()
        run_id = orchestrate(group.env, plan.name, keys, group.said)
        seconds = time.monotonic() - started
        with dg.DagsterInstance.from_config(str(home)) as instance:
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
            events = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event]
            ran = step_workers(instance, run_id)
        print(f"celery run: {seconds:.1f}s; steps per worker: {ran}")

    succeeded = {e.step_key for e in events if e.is_step_success}
    assert len(succeeded) == len(plan.order) + 1  # a step per table over all batches, the seal
    assert set(ran) == succeeded, group.said()  # every step ran on a Celery worker
    assert set(ran.values()) == set(group.names), f"not both workers: {ran}\n{group.said()}"
    version = next(
        e.step_materialization_data.materialization.metadata[names.VERSION_META].value
        for e in events
        if e.is_step_materialization and e.asset_key.path[1] == names.VERSION
    )

    monkeypatch.setenv("TDM_STORE", str(tmp_path / "local-store"))
    with dg.instance_for_test() as instance:
        local = run_dataset(plan, inst=instance)  # in this process, one step after another

    assert local.version == version
    celery_store, local_store = VersionStore(shared_store), VersionStore(tmp_path / "local-store")
    by_celery = files(celery_store, plan.name, version)
    in_process = files(local_store, plan.name, local.version)
    assert len(by_celery) >= len(plan.order) * 2  # parquet files of several batches
    assert by_celery == in_process  # the same bytes, file for file
    celery_manifest = celery_store.manifest(plan.name, version)
    local_manifest = local_store.manifest(plan.name, version)
    assert celery_manifest["tables"] == local_manifest["tables"]  # rows, checksums, paths
