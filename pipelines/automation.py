"""Schedules and sensors: refreshes on cron, regeneration on spec edits, loads that follow.

A refresh (scheduled, or after the spec file changed) is two runs: the generate job produces a
version (tagged with the environments to refresh, and for schedules a new seed), then the
`<dataset>_load_after_refresh` sensor loads exactly that version into those environments.
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

from assets import names
from assets.common import REFRESH_TAG, SEED_TAG
from assets.load import DRIFT
from tdm.core.errors import TdmError
from tdm.environments.config import Environment
from tdm.environments.drift import check_drift
from tdm.plan.loading import replan
from tdm.plan.model import Plan
from tdm.spec.digest import spec_digest

AUTOMATION_ENV = "TDM_AUTOMATION"


def automation_on() -> bool:
    """Schedules and sensors start STOPPED (Dagster's default) unless the deployment says
    TDM_AUTOMATION=on (the compose stack does); either way they can be switched in the UI."""
    value = os.environ.get(AUTOMATION_ENV, "off").strip().lower()
    if value not in ("on", "off", ""):
        raise TdmError(
            f"{AUTOMATION_ENV}={value!r}: expected 'on' or 'off'\n"
            f"  hint: set {AUTOMATION_ENV}=on to start schedules and sensors running, or unset it"
        )
    return value == "on"


def _schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if automation_on() else dg.DefaultScheduleStatus.STOPPED


def _sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_on() else dg.DefaultSensorStatus.STOPPED


def _range(plan: Plan) -> dict[str, str]:
    keys = plan.batch_keys()
    return {names.RANGE_START: keys[0], names.RANGE_END: keys[-1]}


def refresh_schedule(plan: Plan, env: Environment) -> dg.ScheduleDefinition:
    ds = plan.name

    @dg.schedule(
        name=f"refresh_{env.name}_{ds}",
        cron_schedule=env.spec.refresh,
        job_name=names.generate_job(ds),
        default_status=_schedule_status(),
        description=f"Refresh {env.name} with a new version of {ds} "
        f"({'seed ' + str(env.spec.seed) if env.spec.seed is not None else 'new seed each time'}"
        "), then load it (see the load_after_refresh sensor).",
    )
    def _refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        seed = env.refresh_seed(ds, when)
        return dg.RunRequest(tags={SEED_TAG: str(seed), REFRESH_TAG: env.name, **_range(plan)})

    return _refresh


def produced_version(instance: dg.DagsterInstance, run_id: str, dataset: str) -> str | None:
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    for record in records:
        mat = record.asset_materialization
        if mat and mat.asset_key.path[:2] == [dataset, names.VERSION]:
            return mat.metadata[names.VERSION_META].value
    return None


def load_after_refresh(plan: Plan, generate_job, load_job) -> dg.SensorDefinition:
    ds = plan.name
    op = "__".join(names.key(ds, names.LOAD).path)

    @dg.run_status_sensor(
        name=f"{ds}_load_after_refresh",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[generate_job],
        request_job=load_job,
        default_status=_sensor_status(),
        description=f"When a refresh of {ds} succeeds, load the version it produced into the "
        "environments the refresh was for.",
    )
    def _chain(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        envs = [e for e in run.tags.get(REFRESH_TAG, "").split(",") if e]
        version = produced_version(context.instance, run.run_id, ds) if envs else None
        if not envs or version is None:
            return dg.SkipReason(f"run {run.run_id} was not a refresh of {ds}")
        return [
            dg.RunRequest(
                run_key=f"{run.run_id}:{env}",
                partition_key=env,
                run_config={"ops": {op: {"config": {"version": version}}}},
                tags={"tdm/refresh_of": run.run_id},
            )
            for env in envs
        ]

    return _chain


def schema_sensor(plan: Plan, environments: list[str]) -> dg.SensorDefinition:
    ds = plan.name
    path = plan.source

    @dg.sensor(
        name=f"{ds}_schema_change",
        job_name=names.generate_job(ds),
        minimum_interval_seconds=30,
        default_status=_sensor_status(),
        description=f"Watches {path.name} and the templates it uses: when their content "
        f"changes, regenerates {ds} and reloads the environments that receive it "
        f"({', '.join(environments) or 'none'}). Cursor: their hash (tdm.spec.digest).",
    )
    def _watch(context: dg.SensorEvaluationContext):
        if not path.exists():
            return dg.SkipReason(f"{path} is gone")
        digest = spec_digest(path)
        if context.cursor is None:
            context.update_cursor(digest)
            return dg.SkipReason(f"watching {path.name} ({digest[:12]})")
        if digest == context.cursor:
            return dg.SkipReason(f"{path.name} unchanged")
        previous = context.cursor
        try:
            replan(plan, reread=True)
        except TdmError as e:  # the cursor stays: fixed (or after a reload) it runs then
            return dg.SkipReason(f"{path.name} changed but does not load, nothing run:\n{e}")
        context.update_cursor(digest)
        observed = dg.AssetObservation(
            asset_key=names.key(ds, names.SCHEMA), tags={"dagster/data_version": digest[:16]}
        )
        request = dg.RunRequest(
            run_key=f"{ds}-spec-{previous[:12]}-{digest[:12]}",
            tags={REFRESH_TAG: ",".join(environments), **_range(plan)},
        )
        return dg.SensorResult(run_requests=[request], asset_events=[observed])

    return _watch


def drift_sensor(graphs: list) -> dg.SensorDefinition:
    """Every PostgreSQL environment, compared with the version it holds, on an interval."""

    @dg.sensor(
        name="schema_drift",
        minimum_interval_seconds=300,
        default_status=_sensor_status(),
        description="Introspects the live schema of each PostgreSQL environment and compares it "
        "with the version it holds. Differences are recorded as a failed `schema_drift` check on "
        "the environment's load partition, and block further loads there until resolved.",
    )
    def _drift(context: dg.SensorEvaluationContext):
        held = [(env, g.plan.name) for g in graphs for env in g.environments.values()]
        found, notes = check_drift(held)
        if not found:
            return dg.SkipReason("; ".join(notes) or "no PostgreSQL environment holds data yet")
        events = []
        for drift in found:
            text = "\n".join(f"- {d['message']}" for d in drift.differences) or "no drift"
            events.append(
                dg.AssetCheckEvaluation(
                    asset_key=names.key(drift.dataset, names.LOAD),
                    check_name=DRIFT,
                    partition=drift.environment,
                    passed=not drift.differences,
                    description=text,
                    metadata={
                        "version": drift.version,
                        "differences": len(drift.differences),
                        "details": dg.MetadataValue.md(text),
                    },
                )
            )
        return dg.SensorResult(asset_events=events)

    return _drift
