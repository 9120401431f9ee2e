"""The privacy checks: masked values compared with their source values while extracting (the
raw rows exist only then, in memory), and the final data scanned again for personal data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.masking.pii.detect import detect_column
from tdm.validation.results import EXAMPLES, CheckResult

# How many values a mask may leave equal to their source (nulls are not compared):
# - keyed permutations (FPE) keep a value only by chance, about 1 / the size of its domain: 1 in
#   100 for a 2-character value, under 1 in 10**6 from 6 characters on. So an unchanged value of
#   FPE_SHORT characters or more fails at once; shorter ones only beyond 1% of the values.
# - date_shift never shifts by 0, hash, redact and null never give the value back: none may stay.
# - substitute picks from a pool, so a value meets itself about 1 / pool size: 2%.
# - partial, generalize and noise keep part of a value by design (short values, values already on
#   the grid, small integers): 50%. shuffle keeps every value (only moves it), scrub and json leave
#   text without PII as it is: counted and reported, never failing.
FPE = {"email", "phone", "pseudonymize", "national_id", "credit_card"}
FPE_SHORT = 6
UNCHANGED_TOLERANCE = {
    **dict.fromkeys(FPE, 0.01),
    **dict.fromkeys(("date_shift", "hash", "redact", "null"), 0.0),
    "substitute": 0.02,
    **dict.fromkeys(("partial", "generalize", "noise"), 0.5),
    **dict.fromkeys(("shuffle", "scrub", "json"), 1.0),
}
DEFAULT_TOLERANCE = 0.0
PII_SAMPLE = 1000


def validate_masking(
    plan, dataset: str, masked: pa.Table, raw: pa.Table, table: str, key=None, start: int = 0
) -> list[CheckResult]:
    """Every masked column of a batch against its source batch, row by row: how many non-null
    values stayed equal (see UNCHANGED_TOLERANCE for what fails). Compared in memory, exactly;
    nothing but counts and row indices leaves this function. `key` is accepted for callers that
    hold it: equality of the values themselves needs no keyed hash, which would cost ~1000x more
    (tdm.masking.fpe.keyed_u64 HMACs each distinct value in Python: 2 s per 1M)."""
    out = []
    for column, resolved in plan.masks.get(table, {}).items():
        strategy = resolved.spec.strategy
        tolerance = UNCHANGED_TOLERANCE.get(strategy, DEFAULT_TOLERANCE)
        m, r = masked.column(column), raw.column(column)
        if m.type != r.type:
            m, r = m.cast(pa.string()), r.cast(pa.string())
        same = np.asarray(pc.fill_null(pc.equal(m, r), False), dtype=bool)
        compared = masked.num_rows - int(pc.sum(pc.or_(pc.is_null(m), pc.is_null(r))).as_py() or 0)
        hits = np.flatnonzero(same)
        share = len(hits) / compared if compared else 0.0
        long_ = 0
        if strategy in FPE and len(hits):
            text = r.take(pa.array(hits)).cast(pa.string())
            long_ = int(np.count_nonzero(np.asarray(pc.utf8_length(text)) >= FPE_SHORT))
        ok = share <= tolerance and long_ == 0
        out.append(
            CheckResult(
                f"{table}.{column} masked_values_changed",
                table,
                column,
                "masked_values_changed",
                ok,
                len(hits),
                compared,
                [start + int(i) for i in hits[:EXAMPLES]],
                {
                    "strategy": strategy,
                    "unchanged_share": round(share, 6),
                    "tolerance": tolerance,
                    "unchanged_long_values": long_,
                    "dataset": dataset,
                },
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
