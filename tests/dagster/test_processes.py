"""The same version, byte for byte, whether batches run in one process or in several."""

from __future__ import annotations

import dagster as dg
import pytest

from assets import names
from pipelines.runner import run_dataset
from tdm.core import settings
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore

from .reconstructable_jobs import generate_job

pytestmark = pytest.mark.xdist_group("processes")


def checksums(manifest: dict) -> dict:
    return {
        (t, f["batch"]): f["sha256"]
        for t, info in manifest["tables"].items()
        for f in info["files"]
    }


def test_multiprocess_run_matches_in_process_run(small_spec, tmp_path, monkeypatch):
    plan = load_spec(small_spec)
    keys = plan.batch_keys()
    with dg.instance_for_test() as instance:
        in_process = run_dataset(plan, inst=instance)
        first = VersionStore(settings.store_root()).manifest("shop", in_process.version)

    monkeypatch.setenv("TDM_HOME", str(tmp_path / "second"))
    monkeypatch.setenv("TDM_TEST_SPEC", str(small_spec))
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        result = dg.execute_job(
            dg.reconstructable(generate_job),
            instance=instance,
            run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
            tags={names.RANGE_START: keys[0], names.RANGE_END: keys[-1]},
        )
        assert result.success
        steps = {e.step_key for e in result.all_events if e.is_step_success}
        assert len(steps) == len(plan.order) + 1  # one step per table, plus sealing
        suites = [e for e in result.get_asset_check_evaluations() if e.check_name == "batch_suite"]
        assert len(suites) == len(plan.order) and all(e.passed for e in suites)  # run in them
    second = VersionStore(settings.store_root()).manifest("shop", in_process.version)
    assert second["version"] == first["version"]
    assert checksums(second) == checksums(first)
