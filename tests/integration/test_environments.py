"""A PostgreSQL environment end to end: load through the graph, drift, block, force, roll back."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from assets import names
from pipelines.build import build_definitions
from pipelines.runner import load_version, run_dataset
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tests.conftest import SMALL

pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture
def project(tmp_path, monkeypatch, postgres_db):
    url = postgres_db()
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "environments.yaml").write_text(
        "environments:\n  qa:\n    url: ${QA_URL}\n    schema: qa\n"
    )
    (schemas / "shop.yaml").write_text(SMALL.replace("rows: 1500", "rows: 400"))
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    monkeypatch.setenv("QA_URL", url)
    return schemas / "shop.yaml", url.replace("+psycopg", "")


def test_drift_is_recorded_blocks_loads_and_a_forced_load_resolves_it(project):
    spec, url = project
    with dg.instance_for_test() as instance:
        first = run_dataset(load_spec(spec), env="qa", inst=instance)
        second = run_dataset(load_spec(spec, seed=77), env="qa", inst=instance)
        defs = build_definitions()
        sensor = defs.resolve_sensor_def("schema_drift")
        clean = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        [ok] = clean.asset_events
        assert ok.passed and ok.partition == "qa" and ok.check_name == "schema_drift"

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER TABLE qa.customers ADD COLUMN nickname text")
            conn.execute("ALTER TABLE qa.orders DROP COLUMN total")
        drifted = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        [bad] = drifted.asset_events
        assert not bad.passed and bad.asset_key == names.key("shop", names.LOAD)
        assert "nickname" in bad.description and "total" in bad.description

        plan = load_spec(spec)
        with pytest.raises(TdmError, match="qa is blocked: its live schema drifted"):
            load_version(plan, "qa", first.version, instance)
        op = "__".join(names.key("shop", names.LOAD).path)
        forced = defs.resolve_job_def("shop_load").execute_in_process(
            instance=instance,
            partition_key="qa",
            run_config={"ops": {op: {"config": {"version": first.version, "force": True}}}},
        )
        assert forced.success  # the rollback to the first version rebuilds the schema
        after = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert after.asset_events[0].passed
    with psycopg.connect(url) as conn:
        held = conn.execute("SELECT version FROM qa._tdm_meta WHERE dataset = 'shop'").fetchone()
        count = conn.execute("SELECT count(*) FROM qa.customers").fetchone()[0]
    assert held[0] == first.version != second.version and count == 400
