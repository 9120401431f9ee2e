"""Scheduled refreshes and the schema-change sensor, evaluated against a real instance."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from assets import names
from assets.common import REFRESH_TAG, SEED_TAG
from pipelines.build import build_definitions
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.store.versions import VersionStore
from tdm.targets import open_target
from tests.conftest import SMALL

ENVS = """
environments:
  qa:
    url: sqlite:///${TDM_HOME}/qa/{dataset}.sqlite
    refresh: "0 6 * * *"
  staging:
    url: sqlite:///${TDM_HOME}/staging/{dataset}.sqlite
    refresh: "0 7 * * 1"
    seed: 1234
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "environments.yaml").write_text(ENVS)
    spec = schemas / "shop.yaml"
    spec.write_text(SMALL.replace("rows: 1500", "rows: 300"))
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    return spec


def test_schedules_request_a_new_seed_per_tick_unless_pinned(project):
    seeds = []
    for day in (1, 2):
        when = dt.datetime(2026, 3, day, 6, tzinfo=dt.UTC)
        with dg.instance_for_test() as instance:
            defs = build_definitions()
            qa = defs.resolve_schedule_def("refresh_qa_shop")
            staging = defs.resolve_schedule_def("refresh_staging_shop")
            assert qa.cron_schedule == "0 6 * * *" and qa.job_name == "shop_generate"
            ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
            [request] = qa.evaluate_tick(ctx).run_requests
            pinned = staging.evaluate_tick(ctx).run_requests[0]
        seeds.append(request.tags[SEED_TAG])
        assert request.tags[REFRESH_TAG] == "qa" and pinned.tags[SEED_TAG] == "1234"
    assert seeds[0] != seeds[1]


def test_a_scheduled_refresh_generates_then_loads_that_version(project):
    when = dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        defs = build_definitions()
        schedule = defs.resolve_schedule_def("refresh_qa_shop")
        ctx = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        [request] = schedule.evaluate_tick(ctx).run_requests
        result = defs.resolve_job_def("shop_generate").execute_in_process(
            instance=instance, tags=request.tags
        )
        assert result.success
        store = VersionStore(settings.store_root())
        version = store.latest("shop")
        assert store.manifest("shop", version)["seed"] == int(request.tags[SEED_TAG])

        sensor = defs.resolve_sensor_def("shop_load_after_refresh")
        [record] = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS
        ).records
        success = record.event_log_entry.dagster_event
        sensor_ctx = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_event=success,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        )
        [load] = sensor(sensor_ctx)
        assert load.partition_key == "qa"
        op = "__".join(names.key("shop", names.LOAD).path)
        assert load.run_config["ops"][op]["config"]["version"] == version
        loaded = defs.resolve_job_def("shop_load").execute_in_process(
            instance=instance, partition_key=load.partition_key, run_config=load.run_config
        )
        assert loaded.success
    held = open_target(f"sqlite:///{settings.home()}/qa/shop.sqlite").current("shop")
    assert held["version"] == version


def test_schema_sensor_regenerates_on_edit_with_file_hash_cursor(project):
    with dg.instance_for_test() as instance:
        defs = build_definitions()
        sensor = defs.resolve_sensor_def("shop_schema_change")
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert not first.run_requests and first.cursor
        same = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=first.cursor))
        assert not same.run_requests and same.skip_message.endswith("unchanged")
        project.write_text(project.read_text().replace("lam: 3", "lam: 4"))
        changed = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=first.cursor)
        )
        [request] = changed.run_requests
        assert request.tags[REFRESH_TAG] == "qa,staging" and changed.cursor != first.cursor
        [observation] = changed.asset_events
        assert observation.asset_key == names.key("shop", names.SCHEMA)
        # the run re-reads the edited spec although the code location still has the old plan
        result = defs.resolve_job_def("shop_generate").execute_in_process(
            instance=instance, tags=request.tags
        )
        assert result.success
        manifest = VersionStore(settings.store_root()).manifest(
            "shop", VersionStore(settings.store_root()).latest("shop")
        )
        assert manifest["spec"]["tables"]["orders"]["rows"]["lam"] == 4
        project.write_text(project.read_text().replace("generator: sequence}", "generator: nope}"))
        broken = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=changed.cursor)
        )
        assert not broken.run_requests and "does not load" in broken.skip_message


def test_schema_sensor_regenerates_when_a_template_the_spec_uses_changes(project):
    """The cursor covers the templates a spec `use:`s (tdm.spec.digest): editing one changes
    the spec as read, and the run re-reads it."""
    money = project.parent / "templates" / "money.yaml"
    money.parent.mkdir()
    money.write_text('column: {type: "decimal(10,2)", generator: decimal, min: 0, max: 5000}\n')
    project.write_text(
        project.read_text().replace(
            'balance: {type: "decimal(10,2)", generator: decimal, min: 0, max: 5000}',
            "balance: {use: money}",
        )
    )
    with dg.instance_for_test() as instance:
        defs = build_definitions()
        sensor = defs.resolve_sensor_def("shop_schema_change")
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        money.write_text(money.read_text().replace("max: 5000", "max: 10"))
        changed = sensor.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=first.cursor)
        )
        [request] = changed.run_requests
        result = defs.resolve_job_def("shop_generate").execute_in_process(
            instance=instance, tags=request.tags
        )
        assert result.success
        store = VersionStore(settings.store_root())
        balance = store.read_table("shop", store.latest("shop"), "customers", ["balance"])
        assert max(balance.column("balance").to_pylist()) <= 10


def _statuses(defs: dg.Definitions) -> set[str]:
    schedules = {s.default_status.value for s in defs.schedules or []}
    return schedules | {s.default_status.value for s in defs.sensors or []}


def test_automation_starts_stopped_unless_the_deployment_turns_it_on(project, monkeypatch):
    monkeypatch.delenv("TDM_AUTOMATION", raising=False)
    assert _statuses(build_definitions()) == {"STOPPED"}
    monkeypatch.setenv("TDM_AUTOMATION", "on")
    defs = build_definitions()
    assert _statuses(defs) == {"RUNNING"}
    assert {s.name for s in defs.schedules} == {"refresh_qa_shop", "refresh_staging_shop"}


def test_a_wrong_automation_setting_is_a_clear_error(project, monkeypatch):
    monkeypatch.setenv("TDM_AUTOMATION", "yes please")
    with pytest.raises(TdmError, match="TDM_AUTOMATION='yes please': expected 'on' or 'off'"):
        build_definitions()
