"""Blocking asset checks: each batch's expectation suite, beside the batch asset it checks.

A check reads only the batch files of its own run's partitions from the store (consecutive ones
validated together), never the others; its results are kept beside the version for the
version's full report. Metadata shows
failed expectations, counts and example row indices, never values.
"""

import dagster as dg
import pyarrow.parquet as pq

from assets import names
from assets.common import run_plan
from resources import TdmResource
from tdm.plan import Plan
from tdm.validation import combine, validate_batch
from tdm.validation_results import CheckResult, merge, save_batch_results

SUITE = "batch_suite"
MASKING = "masked_values_changed"
INTEGRITY = "integrity"


def check_metadata(results: list[CheckResult]) -> dict:
    failed = [r for r in results if not r.success]
    rows = [
        dg.TableRecord(
            {
                "check": r.expectation,
                "column": r.column or "",
                "unexpected": r.unexpected_count,
                "of": r.element_count,
                "example_rows": ", ".join(map(str, r.examples)),
            }
        )
        for r in failed[:50]
    ]
    schema = dg.TableSchema(
        columns=[dg.TableColumn(c) for c in ("check", "column", "unexpected", "of", "example_rows")]
    )
    return {
        "checks": len(results),
        "failed": len(failed),
        "failures": dg.MetadataValue.table(rows, schema=schema),
        "messages": dg.MetadataValue.md(
            "\n".join(f"- {r.message}" for r in failed[:50]) or "all passed"
        ),
    }


CHUNK_ROWS = 1_000_000


def _runs_of_batches(plan, table, keys, index, store, ds, version):
    """(batch keys, first row, data) of consecutive non-empty batches, up to CHUNK_ROWS rows."""
    group, parts, starts, rows = [], [], [], 0
    for key in keys:
        start, stop = plan.block(table, index[key])
        if start == stop:
            continue
        if parts and (start != starts[0] + rows or rows + stop - start > CHUNK_ROWS):
            yield from _joined(group, starts, parts)
            group, parts, starts, rows = [], [], [], 0
        rows += stop - start
        group.append(key)
        starts.append(start)
        parts.append(pq.read_table(store.batch_path(ds, version, table, key)))
    if parts:
        yield from _joined(group, starts, parts)


def _joined(keys, starts, parts):
    for indices, data in combine(parts):
        yield [keys[i] for i in indices], starts[indices[0]], data


def _written_version(context, key: dg.AssetKey, partition: str) -> str:
    """The version the batch was last written to (its materialization's metadata): the checks
    validate what was written, without producing the version id again (for extracted data that
    would scan the source once more, and a source changed since would give another id)."""
    found = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
    ).records
    meta = found[0].asset_materialization.metadata if found else {}
    if names.VERSION_META not in meta:
        raise dg.Failure(
            description=f"batch {partition} of {key.to_user_string()} has not been produced yet: "
            "materialize it (its check runs with it)"
        )
    return meta[names.VERSION_META].value


def batch_suite_check(
    plan: Plan, table: str, batches: dg.PartitionsDefinition
) -> dg.AssetChecksDefinition:
    ds = plan.name
    index = {k: i for i, k in enumerate(plan.batch_keys())}
    key = names.key(ds, names.stage(plan, table), table)

    @dg.asset_check(
        asset=key,
        name=SUITE,
        blocking=True,
        partitions_def=batches,
        description=f"The expectation suite derived from the spec for {table} (types, not-null, "
        "ranges, allowed values, patterns, the spec's own `expect:`), run with Great "
        "Expectations on the batches of this run only (consecutive ones together). Keys are "
        "checked unique over all batches by the version's integrity check.",
    )
    def _check(context: dg.AssetCheckExecutionContext, tdm: TdmResource) -> dg.AssetCheckResult:
        run = run_plan(context, plan)
        store = tdm.store()
        version = _written_version(context, key, context.partition_keys[0])
        results = []
        for keys, start, data in _runs_of_batches(
            run, table, context.partition_keys, index, store, ds, version
        ):
            found = validate_batch(run, table, data, start)
            # one GX validation for consecutive batches (GX has a fixed cost per call); the
            # results are kept with the first batch, which says which batches they cover
            for i, batch in enumerate(keys):
                save_batch_results(
                    store,
                    ds,
                    version,
                    table,
                    batch,
                    found if i == 0 else [],
                    covers=keys if i == 0 else [],
                )
            results += found
        merged = merge(results)
        passed = all(r.success for r in merged)
        return dg.AssetCheckResult(passed=passed, metadata=check_metadata(merged))

    return _check
