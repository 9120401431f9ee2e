"""Loading a version into a test environment: one partition per environment, all or nothing.

Only versions that passed validation load. An environment whose live schema drifted from what
was loaded (reported by the drift sensor) is blocked until the drift is resolved, or until a
load with `force: true` rebuilds it.
"""

import dagster as dg
from pydantic import Field

from assets import names
from assets.common import failing, say
from assets.metrics import load_figures
from resources import TdmResource
from tdm.environments.deploy import deploy
from tdm.plan.model import Plan

DRIFT = "schema_drift"


class LoadConfig(dg.Config):
    version: str = Field(
        default="latest",
        description="The version to load: `latest`, or a version id (`tdm versions DATASET`) "
        "to roll the environment back.",
    )
    force: bool = Field(
        default=False,
        description="Load although the environment's live schema drifted from what was loaded "
        "(managed tables are rebuilt; an application's own tables are never altered).",
    )


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
        description=f"{ds} loaded into a test environment, all or nothing: one partition per "
        f"environment ({', '.join(environments)}). Only versions that passed validation load. "
        "In the launchpad, pick the environment as the partition and set `version` to roll back "
        "to an older version.",
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
        with failing():
            env = tdm.environment(context.partition_key)
            done = deploy(env, tdm.store(), ds, config.version, force=config.force)
        report = done.report
        figures = load_figures(ds, env.name, report.rows, done.seconds)  # seconds, rows/s
        say(
            context,
            f"loaded {ds} {done.version} into {env.name}: {report.total_rows:,} rows",
            dataset=ds,
            version=done.version,
            environment=env.name,
            rows=report.total_rows,
        )
        yield dg.MaterializeResult(
            metadata={
                names.VERSION_META: done.version,
                "environment": env.name,
                "target": env.display_url(ds),
                "previous_version": report.previous or "",
                "dagster/row_count": report.total_rows,
                "rows_per_table": dg.MetadataValue.json(report.rows),
                # PostgreSQL: the tables were built in staging while the run made the batches
                "built_while_produced": bool(report.extra.get("built_while_produced")),
                **figures.metadata[""],
            }
        )
        figures.push(context)
        yield dg.AssetCheckResult(
            check_name=DRIFT, passed=True, metadata={"note": "schema rebuilt by this load"}
        )

    return _load
