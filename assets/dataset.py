"""The asset graph of one dataset spec.

    [ds, schema] ─► [ds, generate, <table>] (batch partitions) ─► [ds, version, <table>]
                                                                    └─► [ds, load] (per environment)

Generation writes Parquet batches straight into the version store; the version step checks every
batch is there and seals the manifest; the load step puts a sealed version into an environment.
"""

import hashlib
import logging
import time
import warnings
from pathlib import Path

import dagster as dg

from assets import names
from assets.metadata import column_schema, table_description
from resources import TdmResource
from tdm.environments import load_environments
from tdm.errors import TdmError
from tdm.plan import Plan
from tdm.targets import open_target
from tdm.versions import version_id

progress_log = logging.getLogger("tdm.progress")
# Single-run backfills over batch ranges are what we want; Dagster labels the parameter beta.
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy.*")


def _say(context: dg.AssetExecutionContext, message: str) -> None:
    context.log.info(message)
    progress_log.info(message)


def schema_asset(dataset: str, path: Path, error: str | None = None) -> dg.SourceAsset:
    about = (
        f"The spec file {path.name}. Its data version is the file's hash, so editing it marks "
        "everything downstream stale."
    )

    @dg.observable_source_asset(
        key=names.key(dataset, names.SCHEMA),
        group_name=dataset,
        description=about + (f"\n\nINVALID:\n\n{error}" if error else ""),
        metadata={"path": dg.MetadataValue.path(str(path))},
    )
    def _schema() -> dg.DataVersion:
        if error:
            raise dg.Failure(description=error)
        return dg.DataVersion(hashlib.sha256(path.read_bytes()).hexdigest()[:16])

    return _schema


def generate_asset(plan: Plan, table: str, batches: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    ds = plan.name
    index = {k: i for i, k in enumerate(plan.batch_keys())}

    @dg.asset(
        key=names.key(ds, names.GENERATE, table),
        deps=[names.key(ds, names.SCHEMA)],
        partitions_def=batches,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=ds,
        kinds={"parquet"},
        description=table_description(plan, table),
        metadata={
            "dagster/column_schema": column_schema(plan, table),
            "rows_planned": plan.rows[table],
        },
    )
    def _generate(context: dg.AssetExecutionContext, tdm: TdmResource) -> dg.MaterializeResult:
        store, version = tdm.store(), version_id(plan.spec)
        started, rows = time.perf_counter(), 0
        keys = context.partition_keys
        for key in keys:
            start, stop = plan.block(table, index[key])
            if start == stop:
                continue  # this table has no rows in this batch
            written = store.write_batch(ds, version, table, key, plan.generate(table, start, stop))
            rows += written.rows
            context.log.debug(f"{table} {key}: rows {start:,}..{stop:,} -> {written.path}")
        seconds = time.perf_counter() - started
        _say(context, f"{table}: {rows:,} rows in {len(keys)} batch(es), {seconds:.2f}s")
        metadata = {
            names.VERSION_META: version,
            "batches": len(keys),
            "rows": rows,
            "rows_per_second": round(rows / seconds) if seconds else rows,
            names.STORE_META: dg.MetadataValue.path(str(store.dir(ds, version) / table)),
        }
        if len(keys) == 1:
            metadata["dagster/row_count"] = rows
        return dg.MaterializeResult(metadata=metadata)

    return _generate


def version_asset(plan: Plan) -> dg.AssetsDefinition:
    ds = plan.name
    specs = [
        dg.AssetSpec(
            names.key(ds, names.VERSION, t),
            deps=[names.key(ds, names.GENERATE, t)],
            group_name=ds,
            kinds={"parquet"},
            description=f"{t} in the sealed dataset version (immutable Parquet + "
            "manifest.json); its history is the version history.",
            metadata={"dagster/column_schema": column_schema(plan, t)},
        )
        for t in plan.order
    ]

    @dg.multi_asset(specs=specs, name=f"{ds}_version", can_subset=False)
    def _version(context: dg.AssetExecutionContext, tdm: TdmResource):
        store, version = tdm.store(), version_id(plan.spec)
        reused = store.is_sealed(ds, version)
        manifest = store.seal(plan, version, dagster_run_id=context.run.run_id)
        store.mark_latest(ds, version)
        _say(
            context,
            f"version {version} of {ds} {'reused (already sealed)' if reused else 'sealed'}",
        )
        for t in plan.order:
            info = manifest["tables"][t]
            yield dg.MaterializeResult(
                asset_key=names.key(ds, names.VERSION, t),
                metadata={
                    names.VERSION_META: version,
                    "dagster/row_count": info["rows"],
                    "dagster/column_schema": column_schema(plan, t),
                    names.STORE_META: dg.MetadataValue.path(str(store.dir(ds, version))),
                    "spec_hash": manifest["spec_hash"],
                    "seed": manifest["seed"],
                    "created_at": manifest["created_at"],
                    "reused": reused,
                },
            )

    return _version


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
        description=f"{ds} loaded into a test environment (one partition per environment), all or "
        "nothing. Set `version` in the launchpad to load an older version.",
    )
    def _load(
        context: dg.AssetExecutionContext, config: LoadConfig, tdm: TdmResource
    ) -> dg.MaterializeResult:
        env = tdm.environment(context.partition_key)
        store = tdm.store()
        version = store.resolve(ds, config.version)
        started = time.perf_counter()
        try:
            report = open_target(env.url(ds)).load(store, ds, version)
        except TdmError as e:
            raise dg.Failure(description=str(e)) from None
        seconds = time.perf_counter() - started
        _say(context, f"loaded {ds} {version} into {env.name}: {report.total_rows:,} rows")
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


def dataset_definitions(plan: Plan, path: Path) -> dg.Definitions:
    ds = plan.name
    batches = dg.StaticPartitionsDefinition(plan.batch_keys())
    gens = [generate_asset(plan, t, batches) for t in plan.order]
    version = version_asset(plan)
    assets: list = [schema_asset(ds, path), *gens, version]
    jobs = [
        dg.define_asset_job(
            names.generate_job(ds),
            selection=[*gens, version],
            description=f"Generate every batch of {ds} and seal a version.",
        ),
        dg.define_asset_job(
            names.observe_job(ds),
            selection=[names.key(ds, names.SCHEMA)],
            description=f"Record the hash of {ds}'s spec file.",
        ),
    ]
    envs = {n: e for n, e in load_environments().items() if e.receives(ds)}
    if envs:
        kinds = {
            {"postgresql": "postgres", "mongodb": "mongodb"}.get(e.scheme, e.scheme)
            for e in envs.values()
        }
        load = load_asset(plan, list(envs), kinds)
        assets.append(load)
        jobs.append(
            dg.define_asset_job(
                names.load_job(ds),
                selection=[load],
                description=f"Load a version of {ds} into an environment.",
            )
        )
    return dg.Definitions(assets=assets, jobs=jobs)


def broken_dataset_definitions(path: Path, error: str) -> dg.Definitions:
    """A spec that does not load still shows up, with its error, instead of hiding the rest."""
    return dg.Definitions(assets=[schema_asset(path.stem, path, error)])
