"""Running validation: a batch's suite, the suites of a version's batches in groups, row counts,
and the version's whole report (keys across batches: tdm.validation.keys; privacy:
tdm.validation.privacy, privacy_report), written to <version dir>/validation.json and privacy.json.

The suite of a table is derived from its spec (tdm.validation.suite); great_expectations 1.x runs
it (tdm.validation.gx), except the Arrow type and not-null checks, computed here with pyarrow.
Results (tdm.validation.results) carry counts and global row indices, never values.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.validation.across_tables import validate_across_tables
from tdm.validation.gx import run
from tdm.validation.privacy import validate_pii
from tdm.validation.privacy_report import privacy_report, write_privacy
from tdm.validation.results import (
    EXAMPLES,
    REPORT,
    CheckResult,
    load_batch_results,
    merge,
    result_of,
)
from tdm.validation.rules import rule_results
from tdm.validation.suite import (
    SAMPLE_BLOCK,
    SAMPLE_ROWS,
    TABLE_LEVEL,
    columns_of,
    is_arrow,
    is_own,
    per_batch,
    suite_for,
)

CHUNK_ROWS = 1_000_000  # validate_version hands GX up to this many rows of a table at once


# ---- one batch -----------------------------------------------------------------------------------


def _own_check(table: str, cfg: dict, data: pa.Table, start: int) -> CheckResult:
    """The checks computed with pyarrow: the Arrow type, and not-null (a null count is free)."""
    column, n = cfg["kwargs"]["column"], data.num_rows
    facts: dict[str, Any] = {"engine": "pyarrow"}
    if column not in data.column_names:
        bad, facts["error"] = list(range(n)), f"no column {column!r} in the data"
    elif cfg["type"] == "expect_column_values_to_be_of_type":
        facts["observed"] = str(data.schema.field(column).type)
        bad = [] if facts["observed"] == cfg["kwargs"]["type_"] else list(range(n))
    else:
        values = data.column(column)
        bad = np.flatnonzero(np.asarray(pc.is_null(values))) if values.null_count else []
    return result_of(
        table,
        cfg,
        len(bad) == 0,
        unexpected_count=len(bad),
        element_count=n,
        examples=[start + int(i) for i in bad[:EXAMPLES]],
        details=facts,
    )


def validate_batch(plan, table: str, data: pa.Table, start: int) -> list[CheckResult]:
    """The table's suite on one batch (rows [start, start + len)): GX runs all but the type and
    not-null checks (pyarrow). Row counts (validate_table_counts) and derived uniqueness
    (tdm.validation.keys, over all batches) are checked on the whole table instead."""

    configs = [c for c in suite_for(plan, table) if per_batch(c)]
    out = rule_results(table, configs, data, start)  # the row rules: one DuckDB query
    out.update({i: _own_check(table, c, data, start) for i, c in enumerate(configs) if is_arrow(c)})
    positions = _sample_positions(data.num_rows)
    for sampled in (False, True):
        picked = [
            i
            for i, c in enumerate(configs)
            if not is_own(c) and bool(c.get("meta", {}).get("sample")) == sampled
        ]
        rows = _sample(data, [configs[i] for i in picked], positions) if sampled else data
        for j, r in run(plan, table, [configs[i] for i in picked], rows, EXAMPLES).items():
            details = {"engine": "great_expectations"}
            details.update({k: r[k] for k in ("error", "observed_value") if r.get(k) is not None})
            if sampled and len(positions) < data.num_rows:
                details["sampled_rows"] = len(positions)
            at = positions if sampled else None
            out[picked[j]] = result_of(
                table,
                configs[picked[j]],
                r["success"],
                unexpected_count=r["unexpected_count"],
                element_count=r["element_count"],
                examples=[
                    start + int(at[k] if at is not None else k) for k in r["index_list"][:EXAMPLES]
                ],
                details=details,
            )
    for i, c in enumerate(configs):
        if i not in out:  # an empty batch: nothing to check
            out[i] = result_of(table, c, True, details={"engine": "great_expectations"})
    return [out[i] for i in range(len(configs))]


def _sample_positions(rows: int) -> np.ndarray:
    """SAMPLE_ROWS rows of a batch, in SAMPLE_BLOCK-row runs spread evenly from first to last
    (runs are zero-copy slices; evenly strided rows would need a take, costing more than the
    sampled checks, and could step over a defect that repeats every k rows)."""
    if rows <= SAMPLE_ROWS:
        return np.arange(rows)
    starts = np.linspace(0, rows - SAMPLE_BLOCK, SAMPLE_ROWS // SAMPLE_BLOCK).astype(np.int64)
    return (starts[:, None] + np.arange(SAMPLE_BLOCK)).ravel()


def _sample(data: pa.Table, configs: list[dict], positions: np.ndarray) -> pa.Table:
    """The runs of rows at `positions` (_sample_positions) of just the columns `configs` read."""
    if not configs or len(positions) == data.num_rows:
        return data
    wanted = [columns_of(c) for c in configs]
    if all(w is not None for w in wanted):
        names = dict.fromkeys(c for w in wanted for c in w if c in data.column_names)
        data = data.select(list(names))
    runs = [data.slice(int(s), SAMPLE_BLOCK) for s in positions[::SAMPLE_BLOCK]]
    return pa.concat_tables(runs)


def validate_table_counts(plan, table: str, rows: int) -> list[CheckResult]:
    """Row-count expectations (derived and the spec's own) against the table's row count; computed
    here from the count (GX would need the data for it)."""
    out = []
    for c in suite_for(plan, table):
        if c["type"] not in TABLE_LEVEL:
            continue
        k = c["kwargs"]
        if c["type"] == "expect_table_row_count_to_equal":
            ok, off = rows == k["value"], abs(rows - k["value"])
        else:
            lo, hi = k.get("min_value"), k.get("max_value")
            below = lo is not None and (rows <= lo if k.get("strict_min") else rows < lo)
            above = hi is not None and (rows >= hi if k.get("strict_max") else rows > hi)
            ok = not (below or above)
            off = 0 if ok else min(abs(rows - (lo or 0)), abs(rows - (hi or 0)))
        out.append(
            result_of(
                table,
                c,
                ok,
                unexpected_count=off,
                element_count=rows,
                details={"observed_value": rows, "engine": "tdm"},
            )
        )
    return out


# ---- a sealed version ----------------------------------------------------------------------------


def combine(parts: list[pa.Table]) -> list[tuple[list[int], pa.Table]]:
    """Consecutive batches as one table to validate: [(indices of `parts`, table)]; batches
    whose schemas cannot be combined (a defect the type checks will name) one by one."""
    try:
        return [(list(range(len(parts))), pa.concat_tables(parts, promote_options="default"))]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return [([i], part) for i, part in enumerate(parts)]


class SuiteRun:
    """A table's suite over batches handed in order: consecutive ones validated together (GX
    has a fixed cost per call), up to `limit` rows a call. `keep(batches, results)` is told each
    group's results (the batch checks store them beside the version)."""

    def __init__(self, plan, table: str, keep=None, limit: int = CHUNK_ROWS):
        self.plan, self.table, self.keep, self.limit = plan, table, keep, limit
        self.results: list[CheckResult] = []
        self.seconds = 0.0
        self._group: list[tuple[str, int, pa.Table]] = []
        self._rows = 0

    def add(self, batch: str, start: int, data: pa.Table) -> None:
        first = self._group[0][1] if self._group else start
        if self._group and (start != first + self._rows or self._rows + len(data) > self.limit):
            self.flush()
        self._group.append((batch, start, data))
        self._rows += len(data)

    def flush(self) -> list[CheckResult]:
        """Validates what is pending; returns every result so far."""
        started = time.perf_counter()
        group, self._group, self._rows = self._group, [], 0
        for indices, data in combine([data for _, _, data in group]):
            found = validate_batch(self.plan, self.table, data, group[indices[0]][1])
            if self.keep is not None:
                self.keep([group[i][0] for i in indices], found)
            self.results += found
        self.seconds += time.perf_counter() - started
        return self.results


def validate_version(
    store,
    plan,
    dataset: str,
    version: str,
    *,
    extra: list[CheckResult] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    batch_results: dict[str, list[CheckResult]] | None = None,
) -> dict:
    """Every check of a sealed version; writes privacy.json, then validation.json (returned).

    `extra`: results computed elsewhere (e.g. validate_masking while extracting, when the raw
    rows were at hand) to store with the rest. `batch_results`: per-table results of the batch
    suites already run (by the per-batch asset checks); those tables are not validated again."""
    manifest = store.manifest(dataset, version)
    started = time.perf_counter()
    checks: list[CheckResult] = []
    timing: dict[str, float] = {}
    rows_total = 0
    for table in plan.order:
        t0, rows, batch_checks = time.perf_counter(), 0, []
        files = manifest["tables"][table]["files"]
        done = (batch_results or {}).get(table)
        if done is not None:
            batch_checks += done
            rows = manifest["tables"][table]["rows"]
            if plan.extracted(table) and files:
                first = store.read_file(dataset, version, files[0])
                checks += validate_pii(plan, table, first)
            files = []
        suite = SuiteRun(plan, table, limit=chunk_rows)
        for i, f in enumerate(files):
            data = store.read_file(dataset, version, f)
            if i == 0 and plan.extracted(table):
                checks += validate_pii(plan, table, data)
            suite.add(f["batch"], rows, data)
            rows += data.num_rows
        batch_checks += suite.flush()
        if not files and done is None:
            empty = plan.schema(table).empty_table()
            batch_checks += validate_batch(plan, table, empty, 0)
        checks += merge(batch_checks) + validate_table_counts(plan, table, rows)
        rows_total += rows
        timing[table] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    checks += validate_across_tables(store, plan, dataset, version)
    timing["cross-table"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    privacy, k_checks = privacy_report(store, plan, dataset, version, manifest, extra or [])
    timing["privacy"] = round(time.perf_counter() - t0, 3)
    checks += k_checks + list(extra or [])
    failed = [c for c in checks if not c.success]
    report = {
        "format": 1,
        "dataset": dataset,
        "version": version,
        "success": not failed,
        "validated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "checks": [c.to_dict() for c in checks],
        "failed": [c.message for c in failed],
        "stats": {
            "tables": len(plan.order),
            "rows": rows_total,
            "batches": manifest.get("batches"),
            "checks": len(checks),
            "failed": len(failed),
            "seconds": round(time.perf_counter() - started, 3),
            "seconds_by_table": timing,
        },
    }
    write_privacy(store, dataset, version, privacy)  # first: a validation.json has its privacy.json
    text = json.dumps(report, indent=2, default=str) + "\n"
    store.write_text(dataset, version, REPORT, text=text)
    return report


def validate_stored(store, plan, version: str, reuse_suites: bool) -> dict:
    """The version's full report. The masking checks of extracted tables are the results stored
    while extracting (the raw rows are gone since); with `reuse_suites`, so are the batch suites
    the run computed (a re-run computes them again)."""
    ds, keys = plan.name, plan.batch_keys()
    suites, masking = {}, []
    for t in plan.order:
        mine = keys[: plan.table_batches(t)]
        found = load_batch_results(store, ds, version, t, mine) if reuse_suites else None
        if found is not None:
            suites[t] = found
        if plan.extracted(t):
            masking += load_batch_results(store, ds, version, t, mine, kind="masking") or []
    return validate_version(store, plan, ds, version, extra=masking, batch_results=suites)
