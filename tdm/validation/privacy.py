"""The privacy checks: masked values compared with their source values while extracting (the
raw rows exist only then, in memory: unchanged values and, as counts, the frequency leakage of
consistent masks), and the final data scanned again for personal data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.masking.pii.detect import detect_column
from tdm.masking.strategies import STRATEGIES
from tdm.validation.results import EXAMPLES, CheckResult

# How many values a mask may leave equal to their source (nulls are not compared):
# - bijective strategies (the Strategy class says `bijective`: email, phone, pseudonymize,
#   national_id, credit_card, iban, ip_address) are keyed permutations without fixed points: the
#   masking guarantees no pseudonym equals its input, so a single unchanged value is a defect.
# - date_shift never shifts by 0, hash, redact and null never give the value back: none may stay.
# - substitute picks from a pool, so a value meets itself about 1 / pool size: 2%.
# - partial, generalize and noise keep part of a value by design (short values, values already on
#   the grid, small integers): 50%. shuffle keeps every value (only moves it), scrub and json leave
#   text without PII as it is: counted and reported, never failing.
UNCHANGED_TOLERANCE = {
    **dict.fromkeys(("date_shift", "hash", "redact", "null"), 0.0),
    "substitute": 0.02,
    **dict.fromkeys(("partial", "generalize", "noise"), 0.5),
    **dict.fromkeys(("shuffle", "scrub", "json", "keep"), 1.0),
}
DEFAULT_TOLERANCE = 0.0
PII_SAMPLE = 1000
TOP = 10  # frequency leakage: the most frequent values compared


def tolerance(strategy: str) -> float:
    """The share of compared values `strategy` may leave unchanged (see above)."""
    cls = STRATEGIES.get(strategy)
    if cls is not None and cls.bijective and strategy != "keep":  # keep: the identity, on purpose
        return 0.0
    return UNCHANGED_TOLERANCE.get(strategy, DEFAULT_TOLERANCE)


def consistent(resolved, column: str) -> bool:
    """Whether the mask gives a value the same output in every row (so the source's frequencies
    carry over): not shuffle (moves values between rows), nor a date_shift keyed by another
    column (the shift follows that column's value)."""
    spec = resolved.spec
    entity = spec.params.get("entity")
    return spec.strategy != "shuffle" and not (
        spec.strategy == "date_shift" and entity not in (None, column)
    )


def _top(values: pa.ChunkedArray, n: int) -> tuple[pa.Array, list[int]]:
    """The `n` most frequent values occurring at least twice (a value seen once carries no
    frequency), most frequent first, and their counts; ties keep the order of first appearance."""
    counted = pc.value_counts(values.drop_null())
    counts = counted.field("counts")
    often = pc.greater(counts, 1)
    found, counts = counted.field("values").filter(often), counts.filter(often)
    order = pc.array_sort_indices(counts, order="descending")[:n]  # a stable sort
    return found.take(order), [int(c) for c in counts.take(order).to_pylist()]


def frequency_leakage(raw: pa.ChunkedArray, masked: pa.ChunkedArray, n: int = TOP) -> dict:
    """Counts only: the top-`n` frequencies of the source and of the masked values, and how many
    of the masked top values are the masked values of rows holding a top source value."""
    source, source_counts = _top(raw, n)
    top, masked_counts = _top(masked, n)
    overlap = 0
    if len(source) and len(top):
        images = pc.unique(masked.filter(pc.fill_null(pc.is_in(raw, value_set=source), False)))
        overlap = int(pc.sum(pc.is_in(top, value_set=images)).as_py() or 0)
    return {"source_top": source_counts, "masked_top": masked_counts, "overlap": overlap}


def validate_masking(
    plan, dataset: str, masked: pa.Table, raw: pa.Table, table: str, key=None, start: int = 0
) -> list[CheckResult]:
    """Every masked column of a batch against its source batch, row by row: how many non-null
    values stayed equal (see UNCHANGED_TOLERANCE for what fails), and for consistent masks the
    frequency leakage (`details.frequency`). Compared in memory, exactly; nothing but counts and
    row indices leaves this function. `key` is accepted for callers that hold it: equality of the
    values themselves needs no keyed hash, which would cost ~1000x more."""
    out = []
    for column, resolved in plan.masks.get(table, {}).items():
        strategy = resolved.spec.strategy
        allowed = tolerance(strategy)
        m, r = masked.column(column), raw.column(column)
        if m.type != r.type:
            m, r = m.cast(pa.string()), r.cast(pa.string())
        same = np.asarray(pc.fill_null(pc.equal(m, r), False), dtype=bool)
        compared = masked.num_rows - int(pc.sum(pc.or_(pc.is_null(m), pc.is_null(r))).as_py() or 0)
        hits = np.flatnonzero(same)
        share = len(hits) / compared if compared else 0.0
        details = {
            "strategy": strategy,
            "unchanged_share": round(share, 6),
            "tolerance": allowed,
            "dataset": dataset,
        }
        if consistent(resolved, column):
            details["frequency"] = frequency_leakage(r, m)
        out.append(
            CheckResult(
                f"{table}.{column} masked_values_changed",
                table,
                column,
                "masked_values_changed",
                share <= allowed,
                len(hits),
                compared,
                [start + int(i) for i in hits[:EXAMPLES]],
                details,
            )
        )
    return out


def validate_pii(plan, table: str, data: pa.Table) -> list[CheckResult]:
    """The PII gate again, on final data: an extracted column with no mask and no `allow:` whose
    name or sampled values look personal fails. Generated tables are synthetic: not gated."""
    if not plan.extracted(table):
        return []

    spec = plan.spec.tables[table]
    masked = plan.masks.get(table, {})
    n = data.num_rows
    sample = (
        data.take(np.unique(np.linspace(0, n - 1, min(n, PII_SAMPLE)).astype(np.int64)))
        if n
        else data
    )
    out, checked = [], []
    for name, col in spec.columns.items():
        keep = col.mask is not None and col.mask.strategy == "keep"
        if name in masked or col.allow or keep:
            continue
        checked.append(name)
        values = sample.column(name) if name in sample.column_names else None
        found = [
            f
            for f in detect_column(
                name, col.logical, values, tuple(plan.spec.locales), today=plan.spec.today
            )
            if f.confidence >= plan.spec.masking.min_confidence
        ]
        if found:
            top = found[0]
            out.append(
                CheckResult(
                    f"{table}.{name} pii_gate",
                    table,
                    name,
                    "pii_gate",
                    False,
                    0,
                    sample.num_rows,
                    [],
                    {
                        "category": top.category,
                        "confidence": top.confidence,
                        "reason": top.reason,
                        "by": top.by,
                        "hint": "add a mask: to the column, or allow: <why it is safe>",
                    },
                )
            )
    if not out:
        out.append(
            CheckResult(
                f"{table} pii_gate",
                table,
                None,
                "pii_gate",
                True,
                0,
                sample.num_rows,
                [],
                {"columns_checked": checked},
            )
        )
    return out
