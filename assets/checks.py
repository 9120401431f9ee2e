"""Blocking asset checks and what they report.

The checks of a batch asset run in its own step, on the batches it has just made, in memory:
`batch_suite` (the table's expectation suite, BatchSuite) and, for extracted tables,
`masked_values_changed`. A separate check step would pay a process, the GX import and a re-read
of every batch file for each table. The version's `integrity` check is in assets/version.py.
Results are kept beside the version for its full report; metadata shows failed expectations,
counts and example row indices, never values.
"""

import time

import dagster as dg
import pyarrow as pa

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


def suite_spec(key: dg.AssetKey, table: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SUITE,
        asset=key,
        blocking=True,
        description=f"The expectation suite derived from the spec for {table} (types, not-null, "
        "ranges, allowed values, patterns, the spec's own `expect:`), run with Great "
        "Expectations on the batches this run made, in memory as they are written (consecutive "
        "ones together). Keys are checked unique over all batches by the version's integrity "
        "check.",
    )


class BatchSuite:
    """The suite over the batches one run makes: consecutive batches validated together (GX has
    a fixed cost per call), up to CHUNK_ROWS rows a call; each group's results are kept beside
    the version with its first batch, which says which batches they cover."""

    def __init__(self, plan: Plan, table: str, store, version: str):
        self.plan, self.table, self.store, self.version = plan, table, store, version
        self.results: list[CheckResult] = []
        self.seconds = 0.0
        self._reset()

    def _reset(self) -> None:
        self.keys: list[str] = []
        self.starts: list[int] = []
        self.parts: list[pa.Table] = []
        self.rows = 0

    def add(self, batch: str, start: int, stop: int, data: pa.Table) -> None:
        if self.parts and (
            start != self.starts[0] + self.rows or self.rows + stop - start > CHUNK_ROWS
        ):
            self.flush()
        self.keys.append(batch)
        self.starts.append(start)
        self.parts.append(data)
        self.rows += stop - start

    def flush(self) -> None:
        started = time.perf_counter()
        for indices, data in combine(self.parts):
            found = validate_batch(self.plan, self.table, data, self.starts[indices[0]])
            keys = [self.keys[i] for i in indices]
            for i, batch in enumerate(keys):
                save_batch_results(
                    self.store,
                    self.plan.name,
                    self.version,
                    self.table,
                    batch,
                    found if i == 0 else [],
                    covers=keys if i == 0 else [],
                )
            self.results += found
        self.seconds += time.perf_counter() - started
        self._reset()

    def result(self) -> dg.AssetCheckResult:
        self.flush()
        merged = merge(self.results)
        return dg.AssetCheckResult(
            check_name=SUITE,
            passed=all(r.success for r in merged),
            metadata=check_metadata(merged),
        )
