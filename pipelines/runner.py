"""Running a dataset's Dagster jobs in-process: what `tdm run` and `tdm load` call.

The CLI goes through the same asset graph as the UI, recorded in the same Dagster instance, so a
run started from a terminal shows up in `make ui` with its lineage and metadata.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.defs_state.base import set_defs_state_storage
from dagster._utils.interrupts import check_captured_interrupt

from assets import names
from pipelines.build import build_definitions
from resources import TdmResource
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.core.memory import keep_loaded, use_jemalloc
from tdm.plan.model import Plan
from tdm.produce.production import Production
from tdm.produce.streams import BatchSink, Opener, streaming
from tdm.targets.postgres.early import EarlyLoad, discard_early
from tdm.targets.postgres.target import PostgresTarget

# Failures reach the user as one clear message (see _failure), not as Dagster's log lines.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# A terminal's runs keep no copy of the process's stdout and stderr: capturing it would route the
# CLI's own output through a file and `tail` processes (which a Ctrl-C would reach too); what
# the steps say is in each run's event log, in the UI.
NO_CAPTURE = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}
STORAGE_KEYS = {"storage", "run_storage", "event_log_storage", "schedule_storage"}
# The steps a user stopped fail with one of these errors (Dagster's own handler catches Ctrl-C).
INTERRUPTED = {"DagsterExecutionInterruptedError", "KeyboardInterrupt"}
# Told of each event of a run as it happens: (the job, "generate" or "load"; the event).
Listener = Callable[[str, dg.EventLogEntry], None]
# A terminal user cannot act on Dagster's notes about its own beta/preview APIs we rely on.
for _category in (dg.BetaWarning, dg.PreviewWarning):
    warnings.filterwarnings("ignore", category=_category)


def instance() -> dg.DagsterInstance:
    """The persistent instance in DAGSTER_HOME (default .tdm/dagster), created on first use."""
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not os.access(home, os.W_OK):  # Dagster's SQLite storage would fail, less clearly
        raise TdmError(
            f"the Dagster instance in {home} is not writable (a run records itself there); "
            "set DAGSTER_HOME (or TDM_HOME) to a writable directory"
        )
    config = home / "dagster.yaml"
    if not config.exists():  # default local storage; telemetry off for a tool's own instance
        config.write_text("telemetry:\n  enabled: false\n")
    os.environ.setdefault("DAGSTER_HOME", str(home))
    overrides = {**NO_CAPTURE, **_local_storage(home, config)}
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=overrides))


def _local_storage(home: Path, config: Path) -> dict:
    """Dagster's default SQLite storage in `home` (the same files and layout), its event log
    keeping connections between events (pipelines.event_log); nothing when dagster.yaml
    configures a storage itself."""
    try:
        configured = yaml.safe_load(config.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}  # Dagster says what is wrong with the file
    if not isinstance(configured, dict) or STORAGE_KEYS & configured.keys():
        return {}

    def storage(module: str, cls: str, base_dir: Path) -> dict:
        return {"module": module, "class": cls, "config": {"base_dir": str(base_dir)}}

    return {
        "run_storage": storage("dagster._core.storage.runs", "SqliteRunStorage", home / "history"),
        "event_log_storage": storage(
            "pipelines.event_log", "PooledSqliteEventLogStorage", home / "history" / "runs"
        ),
        "schedule_storage": storage(
            "dagster._core.storage.schedules", "SqliteScheduleStorage", home / "schedules"
        ),
    }


class ChecksFailed(TdmError):
    """The run's data failed its checks: not an input error (the CLI exits with 1, not 2)."""

    exit_code = 1


@contextmanager
def _resolving_with(inst: dg.DagsterInstance) -> Iterator[None]:
    """Definitions resolve against the instance the run records into. Dagster otherwise reads
    the definitions state of a process-wide current instance (set by `with instance:`), which
    may be one already closed when instances were opened and closed out of order (as a
    long-lived process or a test session does): 'undefined DagsterInstance weakref'."""
    with set_defs_state_storage(inst.defs_state_storage):
        yield


def _execute(
    job: dg.JobDefinition, inst: dg.DagsterInstance, listen: Listener | None, kind: str, **kw
) -> dg.ExecuteInProcessResult:
    """Run a job in-process; Ctrl-C (which Dagster turns into a failed step) is KeyboardInterrupt
    again, so the caller can say what state it left."""
    run_id, stopped = str(uuid.uuid4()), []

    def hear(entry: dg.EventLogEntry) -> None:
        if check_captured_interrupt():  # seen here even if no step is left to fail with it
            stopped.append(entry)
        if listen:
            listen(kind, entry)

    inst.add_event_listener(run_id, hear)
    result = job.execute_in_process(instance=inst, raise_on_error=False, run_id=run_id, **kw)
    if stopped or (not result.success and _interrupted(result)):
        raise KeyboardInterrupt
    return result


def _interrupted(result: dg.ExecuteInProcessResult) -> bool:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            while error is not None:
                if error.cls_name in INTERRUPTED:
                    return True
                error = error.cause
        if event.is_run_failure and event.event_specific_data is not None:
            reason = getattr(event.event_specific_data, "failure_reason", None)
            if reason is not None and reason.value == "UNEXPECTED_TERMINATION":
                return True
    return False


@dataclass(frozen=True)
class RunSummary:
    dataset: str
    version: str
    rows: dict[str, int]
    run_id: str
    loaded_into: str | None = None
    load_run_id: str | None = None


def _failure(result: dg.ExecuteInProcessResult, what: str) -> TdmError:
    """One error saying what failed: ChecksFailed when only checks failed, else TdmError."""
    messages, other = [], False
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            said = check.metadata.get("messages")
            detail = said.value if said is not None else ""
            messages.append(
                f"check {check.asset_key.to_user_string()} {check.check_name} failed:\n{detail}"
            )
    for event in result.all_events:
        if event.is_step_failure:
            data = event.step_failure_data
            user = data.user_failure_data
            if user and user.description:
                messages.append(user.description)
                other = True
                continue
            error = data.error
            while error.cause is not None:  # the engine's own error, not Dagster's wrapper
                error = error.cause
            if error.cls_name != "DagsterAssetCheckFailedError":  # already told above
                messages.append(f"{event.step_key}: {error.message}")
                other = True
    text = f"{what} failed:\n" + ("\n".join(m.strip() for m in messages) or "the run failed")
    return TdmError(text) if other or not messages else ChecksFailed(text)


def run_dataset(
    plan: Plan,
    env: str | None = None,
    inst: dg.DagsterInstance | None = None,
    dev_key: bool = False,
    listen: Listener | None = None,
) -> RunSummary:
    """Generate (or extract), mask and seal a version; load it into `env` if given.
    dev_key allows the public demo key when $TDM_MASKING_KEY is not set (insecure); `listen`
    hears the runs' events as they happen."""
    keep_loaded()  # what this process loaded, before the run (tdm.core.memory)
    use_jemalloc()
    inst = inst or instance()
    tdm = TdmResource(allow_dev_key=dev_key)
    defs = build_definitions(paths=[], plans=[plan], tdm=tdm)
    keys = plan.batch_keys()
    try:
        with _resolving_with(inst), streaming(plan.name, _early_load(plan, env, tdm)):
            result = _execute(
                defs.resolve_job_def(names.generate_job(plan.name)),
                inst,
                listen,
                "generate",
                run_config=QUIET,
                tags={names.RANGE_START: keys[0], names.RANGE_END: keys[-1]},
            )
        for made in [plan, *plan.runs.values()]:
            made.kept.clear()  # rows kept for computed columns: this run is done with them
        if not result.success:
            raise _failure(result, f"generating {plan.name}")
        rows, version = {}, ""
        for event in result.get_asset_materialization_events():
            key = event.asset_key.path
            if key[1] == names.VERSION:
                meta = event.materialization.metadata
                rows[key[2]] = meta["dagster/row_count"].value
                version = meta[names.VERSION_META].value
        summary = RunSummary(plan.name, version, {t: rows[t] for t in plan.order}, result.run_id)
        if env:
            load_run = load_version(plan, env, version, inst, defs, listen=listen)
            summary = RunSummary(
                **{**summary.__dict__, "loaded_into": env, "load_run_id": load_run}
            )
    finally:
        discard_early(plan.name)  # a staging schema the load did not adopt
    return summary


def _no_sink(prod: Production) -> None:
    return None


def _early_load(plan: Plan, env: str | None, tdm: TdmResource) -> Opener:
    """For a run that ends in a load into a PostgreSQL environment (managed tables): what opens
    the sink that builds the version's tables in a staging schema while the batches are made
    (tdm.targets.postgres.early; the load adopts them behind the gate, else builds them from the
    files). PostgreSQL's ingest then runs beside generation (bench/end_to_end.py: 1.12-1.17x
    `psql \\copy` with it, 0.96-1.11x without, on 2 idle cores). TDM_EARLY_LOAD=0 turns it off.
    A version sealed before (its files are not written again) always loads from the files."""
    if env is None or os.environ.get("TDM_EARLY_LOAD", "1").strip() == "0":
        return _no_sink
    try:
        target = tdm.environment(env).target(plan.name)
    except TdmError:  # the load says what is wrong with the environment
        return _no_sink
    if type(target) is not PostgresTarget:  # `tables: existing` fills the application's own
        return _no_sink

    def open_early(prod: Production) -> BatchSink | None:
        if tdm.store().is_sealed(plan.name, prod.version):
            return None
        early = EarlyLoad(target, prod.plan.name, prod.version, prod.plan.spec, prod.plan.order)
        return early if early.start() else None

    return open_early


def load_version(
    plan: Plan,
    env: str,
    version: str = "latest",
    inst: dg.DagsterInstance | None = None,
    defs: dg.Definitions | None = None,
    *,
    force: bool = False,
    listen: Listener | None = None,
) -> str:
    """Load a sealed version into an environment through the load asset; returns the run id."""
    inst = inst or instance()
    defs = defs or build_definitions(paths=[], plans=[plan])
    try:
        with _resolving_with(inst):
            job = defs.resolve_job_def(names.load_job(plan.name))
    except dg.DagsterInvariantViolationError:
        raise TdmError(
            f"no environment receives dataset {plan.name}; add it to {settings.environments_file()}"
        ) from None
    partitions = job.partitions_def.get_partition_keys() if job.partitions_def else []
    if env not in partitions:
        raise TdmError(
            f"environment {env!r} does not receive {plan.name} "
            f"(environments that do: {', '.join(partitions) or 'none'})"
        )
    op = "__".join(names.key(plan.name, names.LOAD).path)
    with _resolving_with(inst):
        result = _execute(
            job,
            inst,
            listen,
            "load",
            partition_key=env,
            run_config={**QUIET, "ops": {op: {"config": {"version": version, "force": force}}}},
        )
    if not result.success:
        raise _failure(result, f"loading {plan.name} into {env}")
    return result.run_id
