"""Logs off a terminal: `tdm run` with stderr on a pipe says one JSON object per line, and
neither its output nor the run's Dagster event log holds a value of a masked column or the
masking key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from tdm.core.logs import FORMAT_VAR
from tdm.plan.loading import load_spec
from tests.conftest import ROOT

pytestmark = pytest.mark.xdist_group("cli")

KEY = "structured-logs-KEY-8d41c2f7a9e0b3"
SPEC = """
dataset: contacts
seed: 5
batch_size: 150
reference_date: 2026-01-01
tables:
  people:
    rows: 300
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      email: {type: string, generator: email, unique: true, mask: email}
      phone: {type: string, generator: phone, mask: phone}
      city: {type: string, generator: city}
"""
MASKED = ("email", "phone")


def tdm(*args: object, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tdm.cli", *map(str, args)],
        capture_output=True,  # stderr on a pipe: not a terminal
        text=True,
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=600,
    )


def said_by_the_runs(dagster_home: Path) -> str:
    """Every message and metadata value the instance's runs recorded, as one text."""
    out = []
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        runs = instance.get_runs()
        assert runs, f"no run recorded in {dagster_home}"
        for run in runs:
            for record in instance.all_logs(run.run_id):
                out.append(record.user_message or "")
                event = record.dagster_event
                if event is not None and event.is_step_materialization:
                    mat = event.step_materialization_data.materialization
                    out += [f"{k}={v.value}" for k, v in mat.metadata.items()]
    return "\n".join(map(str, out))


def test_run_logs_json_lines_without_values_or_key(write_spec, tdm_home, monkeypatch):
    monkeypatch.delenv(FORMAT_VAR, raising=False)
    spec = write_spec(SPEC, "contacts.yaml")
    result = tdm("run", spec, "--env", "local", TDM_MASKING_KEY=KEY)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) >= 3, result.stderr  # the plan, each table, the sealing, the load
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in parsed:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
    people = next(e for e in parsed if e.get("table") == "people")
    assert people["dataset"] == "contacts" and people["rows"] == 300, people
    assert "version " in result.stdout and "loaded contacts" in result.stdout

    plan = load_spec(spec)
    raw = plan.generate("people", 0, plan.rows["people"])
    values = {str(v) for c in MASKED for v in raw.column(c).to_pylist() if v}
    assert len(values) > 500  # 300 emails and 300 phone numbers, as generated before masking
    said = result.stdout + result.stderr + said_by_the_runs(tdm_home / "dagster")
    assert "people" in said and "masking_key" in said  # the run's log and metadata are there
    leaked = sorted(v for v in values if v in said)
    assert not leaked, f"{len(leaked)} raw values of masked columns, e.g. {leaked[:3]}"
    assert KEY not in said


def test_text_lines_when_asked(write_spec, tmp_path):
    spec = write_spec(SPEC, "contacts.yaml")
    result = tdm("generate", spec, "--out", tmp_path / "out", TDM_MASKING_KEY=KEY, **{
        FORMAT_VAR: "text"
    })  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "  people: 300 rows\n" in result.stderr and "{" not in result.stderr
