"""Loading a version into a test environment: one partition per environment, all or nothing."""

import time

import dagster as dg

from assets import names
from assets.common import say
from resources import TdmResource
from tdm.errors import TdmError
from tdm.plan import Plan
from tdm.targets import open_target
from tdm.validation import load_report


class LoadConfig(dg.Config):
    version: str = "latest"  # or a version id, to roll an environment back


def load_asset(plan: Plan, environments: list[str], kinds: set[str]) -> dg.AssetsDefinition:
    ds = plan.name

    @dg.asset(
        key=names.key(ds, names.LOAD),
        deps=[names.key(ds, names.VERSION, t) for t in plan.order],
        partitions_def=dg.StaticPartitionsDefinition(environments),
        group_name=ds,
        kinds=kinds,
        description=f"{ds} loaded into a test environment (one partition per environment), all "
        "or nothing. Only versions that passed validation load. Set `version` in the launchpad "
        "to load an older version.",
    )
    def _load(
        context: dg.AssetExecutionContext, config: LoadConfig, tdm: TdmResource
    ) -> dg.MaterializeResult:
        env = tdm.environment(context.partition_key)
        store = tdm.store()
        try:
            version = store.resolve(ds, config.version)
            require_valid(store, ds, version)
            started = time.perf_counter()
            report = open_target(env.url(ds)).load(store, ds, version)
        except TdmError as e:
            raise dg.Failure(description=str(e)) from None
        seconds = time.perf_counter() - started
        say(context, f"loaded {ds} {version} into {env.name}: {report.total_rows:,} rows")
        return dg.MaterializeResult(
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
