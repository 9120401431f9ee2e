"""Keys across all batches, which no single batch can see: primary keys and unique groups unique
over the whole table, and every foreign key resolving to a parent row.

Keys are read column-wise from the version's Parquet files (only the key columns), concatenated,
and checked with Arrow kernels: uniqueness with a sort (integer-like keys) or a group-by,
single-column foreign keys with is_in against the parent's keys, composite ones with an
anti-join. Rows with a null in a key are skipped (a nullable foreign key may be null; not-null
is the per-batch suite's job).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.validation.results import EXAMPLES, CheckResult
from tdm.validation.suite import all_batches, columns_of, label, suite_for

ROW = "__tdm_row"


def _keys(store, dataset: str, version: str, table: str, columns: list[str], cache: dict):
    """The table's `columns` over all batches plus each row's global index; rows with a null key
    are dropped. Read once per (table, columns)."""
    key = (table, tuple(columns))
    if key not in cache:
        data = store.read_table(dataset, version, table, columns)
        data = data.append_column(ROW, pa.array(np.arange(data.num_rows, dtype=np.int64)))
        valid = None
        for c in columns:
            if data.column(c).null_count:  # no copy of the keys when none is null
                ok = pc.is_valid(data.column(c))
                valid = ok if valid is None else pc.and_(valid, ok)
        total = data.num_rows
        cache[key] = (data.filter(valid) if valid is not None else data, total)
    return cache[key]


def _examples(rows: pa.Array | pa.ChunkedArray) -> list[int]:
    values = np.sort(np.asarray(rows))
    return [int(v) for v in values[:EXAMPLES]]


def _key_array(data: pa.Table, columns: list[str]) -> np.ndarray | None:
    """The key as one int64 array: integer, date, time and timestamp columns as their values,
    any other column as the index of its value among the column's distinct values (Arrow's
    dictionary encoding: memory in proportion to the column, not a hash group-by's many times
    that); None when the ranges do not pack into 62 bits or a type cannot be encoded. (numpy
    sorts 1M int64 in ~7 ms, ~8x faster than a hash group-by.)"""
    packed, span = None, 1
    for c in columns:
        col = data.column(c).combine_chunks()
        if isinstance(col.type, pa.BaseExtensionType):
            col = col.storage
        t = col.type
        kinds = (pa.types.is_integer, pa.types.is_date, pa.types.is_timestamp, pa.types.is_time)
        if any(k(t) for k in kinds) and not pa.types.is_uint64(t):
            plain = pa.int32() if pa.types.is_date32(t) or pa.types.is_time32(t) else pa.int64()
            v = np.asarray(col.cast(plain)).astype(np.int64, copy=False)
            lo, hi = (int(v.min()), int(v.max())) if len(v) else (0, 0)
        else:
            try:
                encoded = col.dictionary_encode()
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
                return None
            v = np.asarray(encoded.indices).astype(np.int64)
            lo, hi = 0, max(len(encoded.dictionary) - 1, 0)
        if span * (hi - lo + 1) >= 2**62:
            return None
        packed = v - lo if packed is None else packed * (hi - lo + 1) + (v - lo)
        span *= hi - lo + 1
    return packed


def _duplicates(data: pa.Table, columns: list[str]) -> tuple[int, list[int]]:
    """Rows whose key occurs more than once (all of them, as GX counts) and a few of them."""
    if data.num_rows == 0:
        return 0, []
    key = _key_array(data, columns)
    if key is not None:
        if np.all(key[1:] > key[:-1]):
            return 0, []  # the usual case: keys made in order
        order = np.argsort(key, kind="stable")
        same = key[order[1:]] == key[order[:-1]]
        if not same.any():
            return 0, []
        repeated = np.zeros(len(key), dtype=bool)  # in sorted order: equal to a neighbour
        repeated[1:] |= same
        repeated[:-1] |= same
        rows = order[repeated]
        return len(rows), _examples(data.column(ROW).take(pa.array(rows)))
    counts = (
        data.select(columns).group_by(columns, use_threads=False).aggregate([([], "count_all")])
    )
    dup = counts.filter(pc.greater(counts.column("count_all"), 1))
    if dup.num_rows == 0:
        return 0, []
    total = int(pc.sum(dup.column("count_all")).as_py())
    if len(columns) == 1:
        hit = data.filter(pc.is_in(data.column(columns[0]), value_set=dup.column(columns[0])))
    else:
        hit = data.join(dup.select(columns), keys=columns, join_type="inner")
    return total, _examples(hit.column(ROW))


def unique_result(plan, table: str, cfg: dict, keys: pa.Table, total: int) -> CheckResult:
    """A derived uniqueness expectation over every batch of the table: `keys` holds its
    columns, nulls dropped, and ROW (global row indices); `total` counts the rows with nulls."""
    cols = list(columns_of(cfg))
    bad, examples = _duplicates(keys, cols)
    column, where = label(table, cfg)
    return CheckResult(
        f"{where} {cfg['type']}",
        table,
        column,
        cfg["type"],
        bad == 0,
        bad,
        total,
        examples,
        {
            "engine": "pyarrow",
            "scope": "all batches",
            "batches": plan.table_batches(table),
            "primary_key": cols == list(plan.spec.tables[table].primary_key),
            "null_keys_skipped": total - keys.num_rows,
        },
    )


def validate_cross(store, plan, dataset: str, version: str) -> list[CheckResult]:
    """Derived uniqueness (primary keys, unique columns and groups) over all batches; every
    foreign key, single and composite, resolves to a parent row in some batch of the parent."""
    cache: dict = {}
    out = []
    for table in plan.order:
        for cfg in filter(all_batches, suite_for(plan, table)):
            data, total = _keys(store, dataset, version, table, list(columns_of(cfg)), cache)
            out.append(unique_result(plan, table, cfg, data, total))
        for fk in plan.spec.tables[table].all_foreign_keys:
            out.append(_foreign_key(store, plan, dataset, version, table, fk, cache))
    return out


def _foreign_key(store, plan, dataset, version, table, fk, cache) -> CheckResult:
    parent = fk.references.table
    target = list(fk.references.columns or plan.spec.tables[parent].primary_key)
    child, total = _keys(store, dataset, version, table, list(fk.columns), cache)
    keys, _ = _keys(store, dataset, version, parent, target, cache)
    name = f"fk {table}({', '.join(fk.columns)}) -> {parent}({', '.join(target)})"
    if child.num_rows == 0:
        orphans = child
    elif len(target) == 1:
        values = child.column(fk.columns[0]).combine_chunks()
        parents = keys.column(target[0]).combine_chunks()
        if parents.type != values.type:
            parents = parents.cast(values.type, safe=False)
        orphans = child.filter(pc.invert(pc.is_in(values, value_set=parents)))
    else:
        right = keys.select(target).rename_columns(list(fk.columns))
        right = right.group_by(list(fk.columns), use_threads=False).aggregate([])
        orphans = child.join(right, keys=list(fk.columns), join_type="left anti")
    return CheckResult(
        name,
        table,
        ", ".join(fk.columns),
        "foreign_key",
        orphans.num_rows == 0,
        orphans.num_rows,
        total,
        _examples(orphans.column(ROW)),
        {
            "parent": parent,
            "parent_columns": target,
            "checked": child.num_rows,
            "null_keys_skipped": total - child.num_rows,
        },
    )
