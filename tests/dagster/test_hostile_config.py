"""The launchpad and run tags as entry points: a `version:` that would leave the store, or a
seed tag that is not a number, fail the run with one clear message and touch nothing."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from assets import names
from assets.common import SEED_TAG
from pipelines.build import build_definitions
from pipelines.runner import load_version, run_dataset
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore
from tests.conftest import snapshot


@pytest.fixture
def produced(small_spec, tmp_path, _live_instance):
    plan = load_spec(small_spec)
    summary = run_dataset(plan, inst=_live_instance)
    store = VersionStore(settings.store_root())
    outside = tmp_path / "elsewhere"
    shutil.copytree(store.dir("shop", summary.version), outside / "vcopy")
    return plan, store, outside, _live_instance


@pytest.mark.parametrize(
    "version", ["../../../elsewhere/vcopy", "/etc", "..", "v1/../../../elsewhere/vcopy"]
)
def test_a_launchpad_version_outside_the_store_fails_the_load(produced, version):
    plan, store, outside, instance = produced
    before = snapshot(store.root, outside)
    with pytest.raises(TdmError, match="not a valid version name"):
        load_version(plan, "local", version, instance)
    assert snapshot(store.root, outside) == before
    assert not (settings.home() / "local" / "shop.sqlite").exists()


def test_a_seed_tag_that_is_not_a_number_fails_the_run_clearly(small_spec, _live_instance):
    plan = load_spec(small_spec)
    defs = build_definitions(paths=[], plans=[plan])
    keys = plan.batch_keys()
    result = defs.resolve_job_def(names.generate_job("shop")).execute_in_process(
        instance=_live_instance,
        raise_on_error=False,
        tags={SEED_TAG: "../1", names.RANGE_START: keys[0], names.RANGE_END: keys[-1]},
    )
    assert not result.success
    failures = [e.step_failure_data for e in result.all_events if e.is_step_failure]
    assert failures and all(
        f.user_failure_data
        and "tdm/seed='../1' is not a whole number" in f.user_failure_data.description
        for f in failures
    )
    assert not VersionStore(settings.store_root()).root.exists() or not list(
        VersionStore(settings.store_root()).root.rglob("*.parquet")
    )


def test_a_seed_tag_out_of_range_fails_the_run_clearly(small_spec, _live_instance):
    plan = load_spec(small_spec)
    defs = build_definitions(paths=[], plans=[plan])
    keys = plan.batch_keys()
    result = defs.resolve_job_def(names.generate_job("shop")).execute_in_process(
        instance=_live_instance,
        raise_on_error=False,
        tags={SEED_TAG: str(2**64), names.RANGE_START: keys[0], names.RANGE_END: keys[-1]},
    )
    assert not result.success
    messages = [
        e.step_failure_data.user_failure_data.description
        for e in result.all_events
        if e.is_step_failure and e.step_failure_data.user_failure_data
    ]
    assert messages and all("0 <= seed < 2**63" in m for m in messages)


def test_dagster_is_not_left_without_the_definitions_of_a_too_large_spec(write_spec):
    """A spec with more batches than a run takes shows up broken in the UI, with the fix."""
    path = write_spec(
        "dataset: huge\ntables:\n  t:\n    rows: 1000000000\n    columns:\n"
        "      id: {type: int, generator: sequence}\n",
        "huge.yaml",
    )
    defs = build_definitions(paths=[path])
    assert isinstance(defs, dg.Definitions)
    text = str(defs.resolve_all_asset_specs())
    assert "batch partitions" in text or "batch_size" in text
