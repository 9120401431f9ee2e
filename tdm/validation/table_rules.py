"""Computed columns that read other tables (the parent row's columns, aggregates over child rows:
tdm.plan.computed), checked over the whole version. No batch holds the rows they read, so they
run with the keys, after every batch: each row's stored value against its expression evaluated on
the stored rows of the tables it reads, matched by the foreign key the rows are counted per (the
keys masked or not: masks follow parents). A rule reading a masked column is left out, as row
rules are; where a `when:` condition is not true the column is NULL, which its own rule checks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.checks import columns_of, computed
from tdm.core.errors import TdmError
from tdm.plan.computed import Expression, spec_table
from tdm.validation.results import EXAMPLES, CheckResult

EXPECTATION = "expect_column_values_to_follow_rule_across_tables"


def validate_table_rules(store, plan, dataset: str, version: str) -> list[CheckResult]:
    def read(table: str, columns: list[str]) -> pa.Table:
        data = store.read_table(dataset, version, table, columns)
        return data if data.num_rows else plan.schema(table).empty_table().select(columns)

    out = []
    for table in plan.order:
        for name, gen in plan.gens.get(table, {}).items():
            if isinstance(gen, Expression) and gen.tables() and not _masked(plan, table, gen):
                out.append(_rule(plan, table, name, gen, read))
    return out


def _masked(plan, table: str, gen: Expression) -> bool:
    """Whether the rule reads a masked column (or its column is masked)."""
    own, other = gen.reads()
    spec = plan.spec.tables[table]
    when = spec.columns[gen.info.name].when
    read = {(table, c) for c in [gen.info.name, *own, *(columns_of(when) if when else [])]}
    read |= {(spec_table(plan.spec, t), c) for t, c in other}
    read |= {(spec_table(plan.spec, a.table), c) for a in gen.children() for c in a.columns}
    return any(c in plan.masks.get(t, {}) for t, c in read)


def _positions(left: pa.Table, keys: list[str], right: pa.Table, right_keys: list[str]):
    """For each row of `left`, the position of the row of `right` whose `right_keys` equal its
    `keys` (null where none)."""
    names = [f"__k{i}" for i in range(len(keys))]
    a = pa.table([left[c] for c in keys], names=names)
    a = a.append_column("__l", pa.array(np.arange(left.num_rows, dtype=np.int64)))
    b = pa.table([right[c] for c in right_keys], names=names)
    b = b.append_column("__r", pa.array(np.arange(right.num_rows, dtype=np.int64)))
    joined = a.join(b, keys=names, join_type="left outer", use_threads=False).sort_by("__l")
    return joined["__r"].combine_chunks()


def _rule(plan, table: str, name: str, gen: Expression, read) -> CheckResult:
    spec = plan.spec.tables[table]
    own, other = gen.reads()
    when = spec.columns[name].when
    keys: list[str] = []
    fk = spec.per_parent_fk()
    if other and fk is not None:
        keys += fk.columns
    kids = {t: spec_table(plan.spec, t) for t in dict.fromkeys(a.table for a in gen.children())}
    for child in kids.values():
        child_fk = plan.spec.tables[child].per_parent_fk()
        keys += child_fk.references.columns or spec.primary_key
    needed = [name, *own, *keys, *(columns_of(when) if when else [])]
    data = read(table, list(dict.fromkeys(needed)))
    n = data.num_rows
    parent = {}
    if other and fk is not None:
        ptable = fk.references.table
        target = fk.references.columns or plan.spec.tables[ptable].primary_key
        prows = read(ptable, list(dict.fromkeys([*target, *(c for _, c in other)])))
        at = _positions(data, fk.columns, prows, target)
        parent = {c: prows[c].take(at) for _, c in other}
    children = {}
    for lower, child in kids.items():
        child_fk = plan.spec.tables[child].per_parent_fk()
        target = child_fk.references.columns or spec.primary_key
        read_cols = {c for a in gen.children() if a.table == lower for c in a.columns}
        crows = read(child, list(dict.fromkeys([*child_fk.columns, *sorted(read_cols)])))
        of = _positions(crows, child_fk.columns, data, target)
        found = pc.is_valid(of)
        children[lower] = (crows.filter(found), of.filter(found).to_numpy())
    try:
        expected = gen.evaluate(n, {c: data[c].combine_chunks() for c in own}, parent, children)
    except TdmError as error:
        return _result(table, name, gen, n, None, str(error))
    actual = data[name].combine_chunks()
    if actual.type != expected.type:
        expected = expected.cast(actual.type)
    same = pc.fill_null(pc.equal(actual, expected), False)
    same = pc.or_(same, pc.and_(pc.is_null(actual), pc.is_null(expected)))
    if when:
        holds = computed(data, f"({when}) IS TRUE", f"{table}.{name}")
        same = pc.or_(same, pc.invert(holds))
    bad = np.flatnonzero(~same.to_numpy(zero_copy_only=False))
    return _result(table, name, gen, n, bad, None)


def _result(table, name, gen, n: int, bad: np.ndarray | None, error: str | None) -> CheckResult:
    reads = sorted(gen.tables())
    details = {"rule": gen.p.sql, "reads": reads, "engine": "duckdb"}
    if error is not None:
        details["error"] = error
    count = n if bad is None else len(bad)
    return CheckResult(
        f"{name} computed across tables",
        table,
        name,
        EXPECTATION,
        bad is not None and count == 0,
        count,
        n,
        [] if bad is None else [int(r) for r in bad[:EXAMPLES]],
        details,
    )
