"""Per-table batch assets: generate (or extract) a batch, mask it in memory, write it, and
check it (its blocking checks run here, on the batches in memory: assets/checks.py)."""

import dagster as dg

from assets import names
from assets.checks import MASKING, SUITE, check_result, suite_spec
from assets.common import failing, observe_spec, production, run_plan, say
from assets.metadata import column_schema, table_description
from assets.metrics import batch_figures
from resources import TdmResource
from tdm.plan.model import Plan
from tdm.produce.batches import produce_table


def batch_asset(plan: Plan, table: str, batches: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    ds = plan.name
    key = names.batches(plan, table)
    extracted = plan.extracted(table)
    checks = [suite_spec(key, table)]
    if extracted:
        checks.append(
            dg.AssetCheckSpec(
                MASKING,
                asset=key,
                blocking=True,
                description="No masked value equals its source value (compared in memory while "
                "extracting; only counts and row indices are reported).",
            )
        )

    @dg.asset(
        key=key,
        deps=[names.key(ds, names.PII_SCAN if extracted else names.SCHEMA)],
        partitions_def=batches,
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name=ds,
        # masking and validation run inside this step (unmasked rows never reach a disk, and
        # no second pass over the files): the kinds and the blocking checks show them
        kinds={
            "postgres" if extracted else "python",
            "parquet",
            "great_expectations",
            *(["masking"] if plan.masks.get(table) else []),
        },
        description=table_description(plan, table),
        metadata={
            "dagster/column_schema": column_schema(plan, table),
            "rows_planned": plan.rows[table],
        },
        check_specs=checks,
    )
    def _batches(context: dg.AssetExecutionContext, tdm: TdmResource):
        observe_spec(context, plan)
        prod = production(run_plan(context, plan, tdm), tdm)
        store, keys = tdm.store(), context.partition_keys
        if prod.plan.subset is not None:
            say(context, "subset " + next(
                line for line in prod.plan.subset.describe() if line.startswith(f"{table}:")
            ))  # fmt: skip
        with failing():  # no line per batch: each would be an event the run stores
            made = produce_table(prod, store, table, keys)
        say(
            context,
            f"{table}: {made.rows:,} rows in {len(keys)} batch(es), {made.seconds:.2f}s; "
            f"validated in {made.validation_seconds:.2f}s"
            + (
                "; rows drawn again until their checks held: "
                + ", ".join(f"{c} {n:,}" for c, n in made.redrawn.items())
                if made.redrawn
                else ""
            ),
            dataset=ds,
            table=table,
            rows=made.rows,
            seconds=round(made.seconds, 3),
        )
        figures = batch_figures(ds, table, made)  # rows, rows/s, bytes, seconds per stage
        metadata = {
            **figures.metadata[""],
            names.VERSION_META: prod.version,
            "seed": prod.plan.spec.seed,
            "batches": len(keys),
            names.STORE_META: dg.MetadataValue.path(str(store.dir(ds, prod.version) / table)),
            "masked_columns": dg.MetadataValue.json(prod.masker.describe(table)),
            "masking_key": prod.masker.fingerprint or "",
            "rows_drawn_again": dg.MetadataValue.json(made.redrawn),  # per check: tdm.plan.repair
        }
        if prod.plan.subset is not None:  # rows chosen of the table's rows, and why
            chosen = next(r for r in prod.plan.subset.report() if r["table"] == table)
            metadata["subset"] = dg.MetadataValue.json(chosen)
        if len(keys) == 1:
            metadata["dagster/row_count"] = made.rows
        yield dg.MaterializeResult(metadata=metadata)
        figures.push(context)
        yield check_result(SUITE, made.suite)
        if extracted:
            yield check_result(MASKING, made.masking)

    return _batches
