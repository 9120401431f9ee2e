"""Blocking checks in the graph: a defect stops the version and every load after it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import dagster as dg
import pytest

from assets import names
from pipelines.build import build_definitions
from pipelines.runner import load_version, run_dataset
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.store.ids import version_id
from tdm.store.versions import VersionStore
from tests.conftest import ROOT

SPEC = """
dataset: shop
seed: 5
batch_size: 300
reference_date: 2026-01-01
tables:
  customers:
    rows: 900
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      age: {type: int, generator: integer, min: 18, max: 90, EXPECT}
  orders:
    rows: {per: customers, distribution: poisson, lam: 2}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
"""


def spec_with(write_spec, expect: str = "description: ok"):
    return write_spec(SPEC.replace("EXPECT", expect), "shop.yaml")


def test_a_failing_expectation_stops_the_version_and_the_load(write_spec):
    spec = spec_with(
        write_spec,
        "expect: [{type: expect_column_values_to_be_between, min_value: 18, max_value: 30}]",
    )
    with dg.instance_for_test() as instance:
        with pytest.raises(TdmError) as err:
            run_dataset(load_spec(spec), env="local", inst=instance)
        text = str(err.value)
        assert "customers" in text and "age" in text
        assert "expect_column_values_to_be_between" in text
        # the failed check is recorded in the instance, visible in the UI
        key = dg.AssetCheckKey(
            names.key("shop", names.GENERATE, "customers_batches"), "batch_suite"
        )
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]
        assert record.status.value == "FAILED"  # evaluated, and did not pass
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.passed is False and evaluation.blocking
        assert evaluation.metadata["failed"].value == 1
        [failure] = evaluation.metadata["failures"].records
        assert (failure.data["check"], failure.data["column"]) == (
            "expect_column_values_to_be_between",
            "age",
        )
        assert failure.data["of"] == 900 and 0 < failure.data["unexpected"] < 900
    assert not (settings.store_root() / "shop").exists() or not VersionStore(
        settings.store_root()
    ).versions("shop")
    assert not (settings.home() / "local" / "shop.sqlite").exists()


def test_a_corrupted_batch_fails_integrity_and_is_never_loaded(write_spec):
    spec = spec_with(write_spec)
    plan = load_spec(spec)
    defs = build_definitions(paths=[spec])
    job = defs.resolve_job_def(names.generate_job("shop"))
    tables = [k for k in job.asset_layer.selected_asset_keys if k.path[1] == names.GENERATE]
    keys = plan.batch_keys()
    with dg.instance_for_test() as instance:
        tags = {names.RANGE_START: keys[0], names.RANGE_END: keys[-1]}
        assert job.execute_in_process(
            instance=instance, tags=tags, asset_selection=tables, raise_on_error=False
        ).success
        store = VersionStore(settings.store_root())
        version = version_id(plan.spec)
        # batch 1 of customers replaced by batch 0: every id of batch 0 now appears twice,
        # which no single batch can see, and batch 1's ids are gone (orphan orders)
        shutil.copy(
            store.batch_path("shop", version, "customers", keys[0]),
            store.batch_path("shop", version, "customers", keys[1]),
        )
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            asset_selection=[names.key("shop", names.VERSION, t) for t in plan.order],
        )
        failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
        assert {e.asset_key.path[2] for e in failed} == {"customers", "orders"}
        report = store.dir("shop", version) / "validation.json"
        text = report.read_text()
        assert '"success": false' in text
        assert "expect_column_values_to_be_unique" in text and "foreign_key" in text
        with pytest.raises(TdmError, match="failed validation, so it is not loaded"):
            load_version(plan, "local", version, instance, defs)
    assert not (settings.home() / "local" / "shop.sqlite").exists()
    cli = subprocess.run(
        [sys.executable, "-m", "tdm.cli", "validate", "shop"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert cli.returncode == 1 and "FAILED" in cli.stdout
    assert "customers.id: expect_column_values_to_be_unique FAILED" in cli.stdout
