"""A snapshot of the whole Definitions: every asset key, dependency, partitions definition,
check, kind, group, job, schedule and sensor, and the metadata keys each materialisation and
check records, for the example spec (schemas/retail.yaml) and an extracted dataset.

Behaviour-preserving changes must leave it as it is. After a deliberate change, write the new
snapshot with `TDM_UPDATE_SNAPSHOT=1 pytest tests/dagster/test_definitions_snapshot.py` and
review its diff.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import dagster as dg
import pytest

from pipelines.build import build_definitions
from pipelines.runner import run_dataset
from tdm.plan.loading import load_spec
from tests.conftest import RETAIL

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")

EXTRACTED = """
dataset: crm
source: {{url: "sqlite:///{db}"}}
batch_size: 50
reference_date: 2026-01-01
tables:
  people:
    source: true
    primary_key: id
    columns:
      id: {{type: int, mask: pseudonymize}}
      email: {{type: string, mask: email}}
      city: {{type: string, allow: a city alone identifies nobody here}}
"""


def _partitions(p: dg.PartitionsDefinition | None) -> dict | None:
    if p is None:
        return None
    keys = p.get_partition_keys()
    return {"type": type(p).__name__, "count": len(keys), "first": keys[0], "last": keys[-1]}


def _static(defs: dg.Definitions) -> dict:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": _partitions(node.partitions_def),
            "observable": node.is_observable,
            "metadata": sorted(node.metadata),
            "description": bool(node.description),
            "checks": {
                k.name: {
                    "blocking": graph.get(k).blocking,
                    "partitioned": graph.get(k).partitions_def is not None,
                }
                for k in sorted(node.check_keys, key=lambda k: k.name)
            },
        }
    jobs = {
        job.name: sorted(k.to_user_string() for k in job.asset_layer.selected_asset_keys)
        for job in sorted(repo.get_all_jobs(), key=lambda j: j.name)
        if not job.name.startswith("__")
    }
    schedules = {
        s.name: {"cron": s.cron_schedule, "job": s.job_name, "status": s.default_status.value}
        for s in repo.schedule_defs
    }
    sensors = {
        s.name: {
            "jobs": sorted(t.job_name for t in s.targets) if s.has_jobs else [],
            "type": s.sensor_type.value,
            "status": s.default_status.value,
        }
        for s in repo.sensor_defs
    }
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def _recorded(instance: dg.DagsterInstance) -> dict:
    """The metadata keys of every materialisation and check evaluation in the instance."""
    out: dict[str, list[str]] = {}
    kinds = (dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    for run in instance.get_runs():
        for kind in kinds:
            for record in instance.get_records_for_run(run.run_id, of_type=kind).records:
                event = record.event_log_entry.dagster_event
                data = event.event_specific_data
                if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
                    name, keys = event.asset_key.to_user_string(), data.materialization.metadata
                else:
                    name = f"{data.asset_key.to_user_string()}:{data.check_name}"
                    keys = data.metadata
                out[name] = sorted(set(out.get(name, [])) | set(keys))
    return dict(sorted(out.items()))


@pytest.fixture
def crm(tmp_path, write_spec) -> Path:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, city TEXT)")
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?)",
            [(100_000 + i, f"person{i}@mail{i % 5}.com", "Springfield") for i in range(120)],
        )
    return write_spec(EXTRACTED.format(db=db), "crm.yaml")


def test_the_definitions_and_what_runs_record_match_the_snapshot(crm, monkeypatch, _live_instance):
    monkeypatch.setenv("TDM_MASKING_KEY", "5e" * 32)
    monkeypatch.setenv("MONGODB_URL", "mongodb://127.0.0.1:1/catalog")
    current = {
        "static": _static(build_definitions(paths=[RETAIL, crm])),
    }
    for path, scale in ((RETAIL, 0.02), (crm, None)):
        run_dataset(load_spec(path, scale=scale), env="local", inst=_live_instance)
    current["recorded"] = _recorded(_live_instance)
    text = json.dumps(current, indent=1, sort_keys=True) + "\n"
    if os.environ.get("TDM_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.exists(), "no snapshot yet: run with TDM_UPDATE_SNAPSHOT=1"
    assert json.loads(text) == json.loads(SNAPSHOT.read_text())
