"""The masking key: required, never logged, never stored; a different key, a different version."""

from __future__ import annotations

import json
import logging

import dagster as dg
import pyarrow.compute as pc
import pytest

from pipelines.runner import run_dataset
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore

KEY = "unit-test-secret-KEY-5f1c0e9a77d2"
SPEC = """
dataset: people
seed: 3
reference_date: 2026-01-01
tables:
  people:
    rows: 400
    primary_key: id
    columns:
      id: {type: int, generator: sequence, mask: pseudonymize}
      email: {type: string, generator: email, unique: true, mask: email}
      phone: {type: string, generator: phone, mask: phone}
  visits:
    rows: {per: people, distribution: poisson, lam: 2}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      person_id: {type: int, references: people}
"""


def everything_said(instance, run_id: str) -> str:
    """Every log message and metadata value the run recorded, as one text."""
    out = []
    for record in instance.all_logs(run_id):
        out.append(record.user_message or "")
        event = record.dagster_event
        if event is None:
            continue
        if event.is_step_materialization:
            mat = event.step_materialization_data.materialization
            out += [f"{k}={v.value}" for k, v in mat.metadata.items()]
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            out += [f"{k}={v.value}" for k, v in event.event_specific_data.metadata.items()]
    return "\n".join(map(str, out))


def test_key_never_appears_in_logs_metadata_or_manifests(write_spec, monkeypatch, caplog):
    monkeypatch.setenv("TDM_MASKING_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    plan = load_spec(write_spec(SPEC))
    with dg.instance_for_test() as instance:
        summary = run_dataset(plan, env="local", inst=instance)
        said = everything_said(instance, summary.run_id)
        said += everything_said(instance, summary.load_run_id)
    assert "masking_key" in said  # the fingerprint is reported...
    assert KEY not in said and KEY not in caplog.text  # ...the key never
    store = VersionStore(settings.store_root())
    version_dir = store.dir("people", summary.version)
    scanned = sorted(p.relative_to(version_dir).as_posix() for p in version_dir.rglob("*.json"))
    assert {"manifest.json", "validation.json"} <= set(scanned), scanned
    assert any(name.startswith("checks/people/") for name in scanned), scanned
    for name in scanned:
        assert KEY not in (version_dir / name).read_text(), name
    manifest = store.manifest("people", summary.version)
    assert len(manifest["key_fingerprint"]) == 16
    assert KEY not in json.dumps(manifest)


def test_a_different_key_gives_other_values_and_another_version(write_spec, monkeypatch):
    spec = write_spec(SPEC)
    versions, emails = [], []
    with dg.instance_for_test() as instance:
        for key in (KEY, KEY + "-other"):
            monkeypatch.setenv("TDM_MASKING_KEY", key)
            summary = run_dataset(load_spec(spec), inst=instance)
            versions.append(summary.version)
            table = VersionStore(settings.store_root()).read_table(
                "people", summary.version, "people"
            )
            emails.append(table.column("email"))
    assert versions[0] != versions[1]
    assert pc.sum(pc.equal(emails[0], emails[1])).as_py() == 0


def test_no_key_no_run_and_the_dev_key_is_labelled(write_spec, monkeypatch):
    monkeypatch.delenv("TDM_MASKING_KEY", raising=False)
    plan = load_spec(write_spec(SPEC))
    with dg.instance_for_test() as instance:
        with pytest.raises(TdmError, match="needs a key: set TDM_MASKING_KEY"):
            run_dataset(plan, inst=instance)
        assert not (settings.store_root() / "people").exists()
        summary = run_dataset(plan, inst=instance, dev_key=True)
    manifest = VersionStore(settings.store_root()).manifest("people", summary.version)
    assert manifest["key_fingerprint"].startswith("dev-")
