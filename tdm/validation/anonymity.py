"""k-anonymity of a version: its quasi-identifier sets (declared in the spec's `privacy:`, or
detected by column name in extracted tables) and, per set, the equivalence classes of the
table's rows over all of its batches (rows with equal values in every column of the set; a
null is a value like any other)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tdm.masking.pii.names import name_evidence, normalize
from tdm.validation.results import CheckResult

# PII categories (tdm.masking.pii.names) that are quasi-identifiers rather than identifiers, and
# the name tokens of quasi-identifiers no PII category covers
QI_CATEGORIES = ("date_of_birth", "postcode", "city")
QI_TOKENS = frozenset({"sex", "gender", "age"})
COUNT = "count_all"


@dataclass(frozen=True)
class QuasiSet:
    table: str
    columns: tuple[str, ...]
    origin: str  # "declared" (the spec's privacy.quasi_identifiers) or "detected"


def detected(plan, table: str) -> list[str]:
    """The columns of `table` whose name marks them as quasi-identifiers, in table order: the
    PII name rules of QI_CATEGORIES at masking.min_confidence or above, or a QI_TOKENS token."""
    least = plan.spec.masking.min_confidence
    out = []
    for name, col in plan.spec.tables[table].columns.items():
        found = name_evidence(name, col.logical.kind)
        if any(found.get(c, 0.0) >= least for c in QI_CATEGORIES) or (
            QI_TOKENS & set(normalize(name))
        ):
            out.append(name)
    return out


def quasi_sets(plan) -> list[QuasiSet]:
    """Every table's sets: the declared ones where the spec names the table (even none), else
    for an extracted table one set of every detected column (generated data is synthetic)."""
    declared = plan.spec.privacy.quasi_identifiers if plan.spec.privacy else {}
    out = []
    for table in plan.order:
        if table in declared:
            out += [QuasiSet(table, tuple(c), "declared") for c in declared[table]]
        elif plan.extracted(table) and (found := detected(plan, table)):
            out.append(QuasiSet(table, tuple(found), "detected"))
    return out


def class_sizes(store, dataset: str, version: str, files: list[dict], columns) -> np.ndarray:
    """The size of every equivalence class of `columns` over the batch `files`: each batch read
    with only those columns and counted by a group-by, the counts then added up per class."""
    keys = [f"q{i}" for i in range(len(columns))]  # no clash with the count column
    parts = []
    for f in files:
        data = store.read_file(dataset, version, f, list(columns))
        data = pa.table(dict(zip(keys, data.columns, strict=True)))
        parts.append(data.group_by(keys, use_threads=False).aggregate([([], COUNT)]))
    if not parts:
        return np.zeros(0, dtype=np.int64)
    counted = pa.concat_tables(parts, promote_options="default")
    merged = counted.group_by(keys, use_threads=False).aggregate([(COUNT, "sum")])
    return np.asarray(merged.column(f"{COUNT}_sum"), dtype=np.int64)


def anonymity(
    store, dataset: str, version: str, manifest: dict, qs: QuasiSet, required: int | None
) -> dict:
    """The figures of one set: rows, classes, k (the smallest class; None without rows), the
    rows alone in their class and, when a k is `required`, the rows in smaller classes."""
    sizes = class_sizes(store, dataset, version, manifest["tables"][qs.table]["files"], qs.columns)
    out = {
        "columns": list(qs.columns),
        "origin": qs.origin,
        "rows": int(sizes.sum()),
        "classes": len(sizes),
        "k": int(sizes.min()) if len(sizes) else None,
        "unique_rows": int(np.count_nonzero(sizes == 1)),
    }
    if required is not None:
        out["rows_below_k"] = int(sizes[sizes < required].sum())
    return out


def k_check(table: str, figures: dict, required: int) -> CheckResult:
    """The blocking check of one set: its k at least `required` (a table without rows passes).
    Unexpected rows: those in classes smaller than `required`."""
    k = figures["k"]
    ok = k is None or k >= required
    columns = ", ".join(figures["columns"])
    return CheckResult(
        f"{table}({columns}) k_anonymity",
        table,
        columns,
        "k_anonymity",
        ok,
        figures["rows_below_k"],
        figures["rows"],
        [],
        {
            "k": k,
            "required": required,
            "classes": figures["classes"],
            "unique_rows": figures["unique_rows"],
            "origin": figures["origin"],
            "reason": f"k = {k} {'>=' if ok else '<'} {required}" if k is not None else "no rows",
        },
    )
