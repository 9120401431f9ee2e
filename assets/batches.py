"""Per-table batch assets: generate (or extract) a batch, mask it in memory, write it, and
check it (its blocking checks run here, on the batches in memory: assets/checks.py)."""

import time
from functools import partial

import dagster as dg

from assets import names
from assets.checks import MASKING, SUITE, check_result, suite_spec
from assets.common import production, run_plan, say
from assets.metadata import column_schema, table_description
from resources import TdmResource
from tdm.plan import Plan
from tdm.validation import SuiteRun
from tdm.validation_cross import validate_masking
from tdm.validation_results import merge, save_batch_results, save_group_results


def batch_asset(plan: Plan, table: str, batches: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    ds = plan.name
    key = names.key(ds, names.stage(plan, table), table)
    index = {k: i for i, k in enumerate(plan.batch_keys())}
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
        kinds={"postgres" if extracted else "python", "parquet"},
        description=table_description(plan, table),
        metadata={
            "dagster/column_schema": column_schema(plan, table),
            "rows_planned": plan.rows[table],
        },
        check_specs=checks,
    )
    def _batches(context: dg.AssetExecutionContext, tdm: TdmResource):
        run = run_plan(context, plan)
        prod = production(run, tdm)
        store, version = tdm.store(), prod.version
        started, rows, masking = time.perf_counter(), 0, []
        suite = SuiteRun(run, table, partial(save_group_results, store, ds, version, table))
        keys = context.partition_keys
        for key_ in keys:
            start, stop = run.block(table, index[key_])
            if start == stop:
                continue  # this table has no rows in this batch
            raw = run.generate(table, start, stop)
            data = prod.masker.apply(table, raw, start)
            if extracted:
                found = validate_masking(run, ds, data, raw, table, prod.masker.key, start=start)
                save_batch_results(store, ds, version, table, key_, found, kind="masking")
                masking += found
            written = store.write_batch(ds, version, table, key_, data)
            rows += written.rows
            context.log.debug(f"{table} {key_}: rows {start:,}..{stop:,} -> {written.path}")
            suite.add(key_, start, data)
        checked = check_result(SUITE, merge(suite.flush()))
        seconds = time.perf_counter() - started - suite.seconds
        say(
            context,
            f"{table}: {rows:,} rows in {len(keys)} batch(es), {seconds:.2f}s; "
            f"validated in {suite.seconds:.2f}s",
        )
        metadata = {
            names.VERSION_META: version,
            "batches": len(keys),
            "rows": rows,
            "rows_per_second": round(rows / seconds) if seconds else rows,
            names.STORE_META: dg.MetadataValue.path(str(store.dir(ds, version) / table)),
            "masked_columns": dg.MetadataValue.json(prod.masker.describe(table)),
            "masking_key": prod.masker.fingerprint or "",
            "validation_seconds": round(suite.seconds, 3),
        }
        if len(keys) == 1:
            metadata["dagster/row_count"] = rows
        yield dg.MaterializeResult(metadata=metadata)
        yield checked
        if extracted:
            yield check_result(MASKING, merge(masking))

    return _batches
