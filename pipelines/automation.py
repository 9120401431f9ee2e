"""Schedules and sensors: refreshes on cron, regeneration on spec edits, loads that follow.

A refresh (scheduled, or after the spec file changed) is two runs: the generate job produces a
version (tagged with the environments to refresh, and for schedules a new seed), then the
`<dataset>_load_after_refresh` sensor loads exactly that version into those environments.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import dagster as dg

from assets import names
from assets.common import REFRESH_TAG, SEED_TAG
from tdm.environments import Environment
from tdm.errors import TdmError
from tdm.plan import Plan
from tdm.spec_load import file_hash, replan


def refresh_seed(env: Environment, dataset: str, when: dt.datetime) -> int:
    """A new seed per scheduled tick (reproducible from the tick's time), unless pinned."""
    if env.spec.seed is not None:
        return env.spec.seed
    digest = hashlib.sha256(f"{env.name}/{dataset}/{when.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _range(plan: Plan) -> dict[str, str]:
    keys = plan.batch_keys()
    return {names.RANGE_START: keys[0], names.RANGE_END: keys[-1]}


def refresh_schedule(plan: Plan, env: Environment) -> dg.ScheduleDefinition:
    ds = plan.name

    @dg.schedule(
        name=f"refresh_{env.name}_{ds}",
        cron_schedule=env.spec.refresh,
        job_name=names.generate_job(ds),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Refresh {env.name} with a new version of {ds} "
        f"({'seed ' + str(env.spec.seed) if env.spec.seed is not None else 'new seed each time'}"
        "), then load it (see the load_after_refresh sensor).",
    )
    def _refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        seed = refresh_seed(env, ds, when)
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
        default_status=dg.DefaultSensorStatus.RUNNING,
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
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Watches {path.name}: when its content changes, regenerates {ds} and "
        f"reloads the environments that receive it ({', '.join(environments) or 'none'}). "
        "Cursor: the file's hash.",
    )
    def _watch(context: dg.SensorEvaluationContext):
        if not path.exists():
            return dg.SkipReason(f"{path} is gone")
        digest = file_hash(path)
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
    from assets.load import DRIFT
    from tdm.drift import DriftState
    from tdm.targets import open_target

    @dg.sensor(
        name="schema_drift",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Introspects the live schema of each PostgreSQL environment and compares it "
        "with the version it holds. Differences are recorded as a failed `schema_drift` check on "
        "the environment's load partition, and block further loads there until resolved.",
    )
    def _drift(context: dg.SensorEvaluationContext):
        events, notes = [], []
        for graph in graphs:
            ds = graph.plan.name
            for env in graph.environments.values():
                if env.scheme not in ("postgresql", "postgres"):
                    continue
                try:
                    target = open_target(env.url(ds), schema=env.spec.db_schema)
                    held = target.current(ds)
                    differences = target.drift(ds) if held else []
                except TdmError as e:
                    notes.append(f"{env.name}/{ds}: {str(e).splitlines()[0]}")
                    continue
                if held is None:
                    continue
                state = DriftState(env.name, ds)
                state.record(differences, held["version"]) if differences else state.clear()
                text = "\n".join(f"- {d['message']}" for d in differences) or "no drift"
                events.append(
                    dg.AssetCheckEvaluation(
                        asset_key=names.key(ds, names.LOAD),
                        check_name=DRIFT,
                        partition=env.name,
                        passed=not differences,
                        description=text,
                        metadata={
                            "version": held["version"],
                            "differences": len(differences),
                            "details": dg.MetadataValue.md(text),
                        },
                    )
                )
        if not events:
            return dg.SkipReason("; ".join(notes) or "no PostgreSQL environment holds data yet")
        return dg.SensorResult(asset_events=events)

    return _drift
