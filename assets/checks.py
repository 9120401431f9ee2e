"""Blocking asset checks and what they report.

The checks of a batch asset run in its own step, on the batches it has just made, in memory:
`batch_suite` (the table's expectation suite, tdm.validation.runner.SuiteRun) and, for extracted
tables, `masked_values_changed`. A separate check step would pay a process, the GX import and a
re-read of every batch file for each table. The version's `integrity` check is in assets/version.py.
Results are kept beside the version for its full report; metadata shows failed expectations,
counts and example row indices, never values.
"""

import dagster as dg

from tdm.validation.results import CheckResult

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


def check_result(name: str, results: list[CheckResult], **kwargs) -> dg.AssetCheckResult:
    """The check `name` passed if every one of `results` passed."""
    return dg.AssetCheckResult(
        check_name=name,
        passed=all(r.success for r in results),
        metadata=check_metadata(results),
        **kwargs,
    )
