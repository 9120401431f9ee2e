"""Loading a version into a test environment: one partition per environment, all or nothing.

Only versions that passed validation load. An environment whose live schema drifted from what
was loaded (reported by the drift sensor) is blocked until the drift is resolved, or until a
load with `force: true` rebuilds it.
"""

import time

import dagster as dg

from assets import names
from assets.common import say
from resources import TdmResource
from tdm.drift import DriftState
from tdm.errors import TdmError
from tdm.plan import Plan
from tdm.targets import open_target
from tdm.validation_results import load_report

DRIFT = "schema_drift"


class LoadConfig(dg.Config):
    version: str = "latest"  # or a version id, to roll an environment back
    force: bool = False  # load even though the live schema drifted (the load rebuilds it)


def load_asset(plan: Plan, environments: list[str], kinds: set[str]) -> dg.AssetsDefinition:
    ds = plan.name
    key = names.key(ds, names.LOAD)
    envs = dg.StaticPartitionsDefinition(environments)

    @dg.asset(
        key=key,
        deps=[names.key(ds, names.VERSION, t) for t in plan.order],
        partitions_def=envs,
        group_name=ds,
        kinds=kinds,
        description=f"{ds} loaded into a test environment (one partition per environment), all "
        "or nothing. Only versions that passed validation load. Set `version` in the launchpad "
        "to roll back to an older version.",
        check_specs=[
            dg.AssetCheckSpec(
                DRIFT,
                asset=key,
                partitions_def=envs,
                description="The environment's live schema matches what was loaded (the drift "
                "sensor re-checks PostgreSQL environments on an interval).",
            )
        ],
    )
    def _load(context: dg.AssetExecutionContext, config: LoadConfig, tdm: TdmResource):
        env = tdm.environment(context.partition_key)
        store = tdm.store()
        drift = DriftState(env.name, ds)
        try:
            version = store.resolve(ds, config.version)
            require_valid(store, ds, version)
            store.verify(ds, version)
            if drift.blocked() and not config.force:
                raise TdmError(
                    f"{env.name} is blocked: its live schema drifted from the loaded "
                    f"version:\n  {drift.describe()}\nrevert the change, or load "
                    "with `force: true` to rebuild it"
                )
            started = time.perf_counter()
            target = open_target(env.url(ds), schema=env.spec.db_schema, database=env.spec.database)
            report = target.load(store, ds, version)
        except TdmError as e:
            raise dg.Failure(description=str(e)) from None
        drift.clear()
        seconds = time.perf_counter() - started
        say(context, f"loaded {ds} {version} into {env.name}: {report.total_rows:,} rows")
        yield dg.MaterializeResult(
            metadata={
                names.VERSION_META: version,
                "environment": env.name,
                "target": env.display_url(ds),
                "previous_version": report.previous or "",
                "dagster/row_count": report.total_rows,
                "rows_per_table": dg.MetadataValue.json(report.rows),
                "rows_per_second": round(report.total_rows / seconds) if seconds else 0,
            }
        )
        yield dg.AssetCheckResult(
            check_name=DRIFT, passed=True, metadata={"note": "schema rebuilt by this load"}
        )

    return _load


def require_valid(store, dataset: str, version: str) -> None:
    report = load_report(store, dataset, version)
    if report is None:
        raise TdmError(
            f"version {version} of {dataset} has no validation report; run "
            f"`tdm validate {dataset} --version {version}` first"
        )
    if not report["success"]:
        failed = "\n  ".join(report["failed"][:10])
        raise TdmError(
            f"version {version} of {dataset} failed validation, so it is not loaded:\n  {failed}"
        )
