"""The privacy report in the graph: `privacy.k` blocks a version whose quasi-identifiers are too
identifying, the UI shows k per set, and `tdm validate` prints it."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg
import pytest

from assets import names
from pipelines.runner import load_version, run_dataset
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore
from tests.conftest import ROOT

SPEC = """
dataset: clinic
seed: 4
batch_size: 300
reference_date: 2026-01-01
tables:
  patients:
    rows: 900
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      born: {type: date, generator: date, start: -80y, end: -18y}
      zip: {type: string, generator: choice, values: ["10115", "20095", "80331"]}
      sex: {type: string, generator: choice, values: [F, M]}
  visits:
    rows: {per: patients, distribution: fixed, value: 1}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      patient_id: {type: int, references: patients}
privacy:
  quasi_identifiers:
    patients: [[born, zip, sex], [zip, sex]]
  k: K
"""


def validate_cli(version: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tdm.cli", "validate", "clinic", "--version", version],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_a_k_below_the_specs_fails_the_version_and_no_load_takes_it(write_spec, instance):
    plan = load_spec(write_spec(SPEC.replace("K", "5"), "clinic.yaml"))
    with pytest.raises(TdmError) as err:
        run_dataset(plan, env="local", inst=instance)
    text = str(err.value)
    assert "integrity failed" in text and "patients(born, zip, sex): k_anonymity FAILED" in text
    key = dg.AssetCheckKey(names.key("clinic", names.VERSION, "patients"), "integrity")
    record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed is False and evaluation.blocking
    assert "k_anonymity FAILED" in evaluation.metadata["messages"].value
    # the version is sealed but failed: never `latest`, never loaded
    store = VersionStore(settings.store_root())
    [version] = [m["version"] for m in store.versions("clinic")]
    assert not (store.dataset_dir("clinic") / "LATEST").exists()
    assert not (settings.home() / "local" / "clinic.sqlite").exists()
    with pytest.raises(TdmError, match="failed validation, so it is not loaded"):
        load_version(plan, "local", version, instance)
    privacy = json.loads((store.dir("clinic", version) / "privacy.json").read_text())
    full, coarse = privacy["tables"]["patients"]["quasi_identifiers"]
    assert privacy["k_required"] == 5 and not privacy["success"]
    assert full["k"] == 1 and full["unique_rows"] > 800 and full["rows"] == 900
    assert coarse["classes"] == 6 and coarse["k"] >= 5 and coarse["unique_rows"] == 0
    # the UI: the version asset's materialisation shows k per set
    [mat] = instance.fetch_materializations(
        names.key("clinic", names.VERSION, "patients"), limit=5
    ).records
    meta = mat.asset_materialization.metadata
    assert meta["privacy_k"].value == 1
    assert "k = 1 over (born, zip, sex, declared)" in meta["privacy"].value
    assert (
        "privacy"
        not in instance.fetch_materializations(
            names.key("clinic", names.VERSION, "visits"), limit=5
        )
        .records[0]
        .asset_materialization.metadata
    )
    cli = validate_cli(version)
    assert cli.returncode == 1, cli.stderr
    assert "patients(born, zip, sex): k_anonymity FAILED" in cli.stdout
    assert "privacy of patients:\n  k = 1 over (born, zip, sex, declared)" in cli.stdout


def test_a_k_that_holds_passes_and_versions_without_privacy_json_still_load(write_spec, instance):
    plan = load_spec(write_spec(SPEC.replace("K", "5").replace("[born, zip, sex], ", ""), "c.yaml"))
    summary = run_dataset(plan, env="local", inst=instance)
    store = VersionStore(settings.store_root())
    assert store.latest("clinic") == summary.version
    report = json.loads((store.dir("clinic", summary.version) / "validation.json").read_text())
    [check] = [c for c in report["checks"] if c["expectation"] == "k_anonymity"]
    assert check["success"] and check["name"] == "patients(zip, sex) k_anonymity"
    # a version validated before privacy.json existed: listed, shown and loaded as before
    (store.dir("clinic", summary.version) / "privacy.json").unlink()
    (settings.home() / "local" / "clinic.sqlite").unlink()
    load_version(plan, "local", summary.version, instance)
    assert (settings.home() / "local" / "clinic.sqlite").exists()
    cli = validate_cli(summary.version)
    assert cli.returncode == 0 and "validation passed" in cli.stdout
    assert "privacy of" not in cli.stdout
