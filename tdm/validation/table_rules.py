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

from tdm.checks import columns_of
from tdm.core.errors import TdmError
from tdm.core.memory import release_freed
from tdm.plan.computed import Expression, spec_table
from tdm.validation.results import EXAMPLES, CheckResult
from tdm.validation.rule_reads import RuleReads, off_rule, rule_reads
from tdm.validation.spill import KEY_BUDGET, Estimates, Spill
from tdm.validation.table_rules_out_of_core import RuleError, rule_out_of_core

EXPECTATION = "expect_column_values_to_follow_rule_across_tables"


def _rules(plan):
    """(table, column, its expression, what it reads) of every rule across tables."""
    for table in plan.order:
        for name, gen in plan.gens.get(table, {}).items():
            if isinstance(gen, Expression) and gen.tables() and not _masked(plan, table, gen):
                yield table, name, gen, rule_reads(plan, table, name, gen)


def _size(reads: RuleReads, estimates: Estimates) -> int:
    return sum(estimates(t, cols) for t, cols in reads.tables())


def rules_fit(plan, estimates: Estimates, budget: int = KEY_BUDGET) -> bool:
    """Whether every rule's columns are estimated to fit `budget` (none runs out of core)."""
    return all(_size(reads, estimates) <= budget for *_, reads in _rules(plan))


def validate_table_rules(
    store,
    plan,
    dataset: str,
    version: str,
    budget: int = KEY_BUDGET,
    estimates: Estimates | None = None,
) -> list[CheckResult]:
    """Every rule across tables; one whose columns (of its table, the parent's and the children's
    it reads) are estimated above `budget` bytes runs out of core, a batch of its table at a time
    (tdm.validation.table_rules_out_of_core)."""

    def read(table: str, columns: list[str]) -> pa.Table:
        data = store.read_table(dataset, version, table, columns)
        return data if data.num_rows else plan.schema(table).empty_table().select(columns)

    estimates = estimates or Estimates(store, dataset, version)
    out = []
    spill: Spill | None = None
    found: dict[tuple, pa.Array] = {}  # the positions the last rules of one table looked up
    try:
        for table, name, gen, reads in _rules(plan):
            release_freed()  # the last rule's columns
            if found and next(iter(found))[0] != table:
                found.clear()
            if _size(reads, estimates) <= budget:
                out.append(_rule(plan, table, name, gen, reads, read, found))
                continue
            spill = spill or Spill(store, dataset, version)
            try:
                n, count, examples = rule_out_of_core(spill, plan, table, name, gen, reads)
            except RuleError as error:
                out.append(_result(table, name, gen, error.rows, None, str(error.error)))
            else:
                out.append(_result(table, name, gen, n, (count, examples), None))
    finally:
        if spill is not None:
            spill.close()
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
    `keys` (null where none). `right_keys` are a key of `right` (no two rows share them)."""
    if len(keys) == 1:  # a hash lookup, ~10x a join and a sort
        values, targets = left[keys[0]].combine_chunks(), right[right_keys[0]].combine_chunks()
        if targets.type != values.type:
            targets = targets.cast(values.type, safe=False)
        return pc.index_in(values, value_set=targets, skip_nulls=True)
    names = [f"__k{i}" for i in range(len(keys))]
    a = pa.table([left[c] for c in keys], names=names)
    a = a.append_column("__l", pa.array(np.arange(left.num_rows, dtype=np.int64)))
    b = pa.table([right[c] for c in right_keys], names=names)
    b = b.append_column("__r", pa.array(np.arange(right.num_rows, dtype=np.int64)))
    joined = a.join(b, keys=names, join_type="left outer", use_threads=False).sort_by("__l")
    return joined["__r"].combine_chunks()


def _rule(
    plan, table: str, name: str, gen: Expression, reads: RuleReads, read, found: dict
) -> CheckResult:
    """`found`: positions looked up by the rules before, of this table (keyed by table, foreign
    key, parent, target): rules reading the same parent look its rows up once."""

    def positions(left, keys, right, right_keys, key: tuple) -> pa.Array:
        if key not in found:
            found[key] = _positions(left, keys, right, right_keys)
        return found[key]

    data = read(table, reads.own)
    parent = {}
    if reads.parent is not None:
        prows = read(reads.parent, reads.parent_columns)
        fk = (table, *reads.fk_columns, ">", reads.parent, *reads.target)
        at = positions(data, reads.fk_columns, prows, reads.target, fk)
        parent = {c: prows[c].take(at) for c in reads.parent_values}
    children = {}
    for kid in reads.children:
        crows = read(kid.table, kid.columns)
        fk = (table, "<", kid.table, *kid.fk_columns, ">", *kid.target)
        of = positions(crows, kid.fk_columns, data, kid.target, fk)
        matched = pc.is_valid(of)  # (not `found`: the lookups this rule may still add to)
        children[kid.lower] = (crows.filter(matched), of.filter(matched).to_numpy())
    try:
        bad = off_rule(plan, table, name, gen, data, parent, children)
    except TdmError as error:
        return _result(table, name, gen, data.num_rows, None, str(error))
    found = (len(bad), [int(r) for r in bad[:EXAMPLES]])
    return _result(table, name, gen, data.num_rows, found, None)


def _result(
    table, name, gen, n: int, bad: tuple[int, list[int]] | None, error: str | None
) -> CheckResult:
    """`bad`: the rows off the rule and the first few; None when it cannot be evaluated."""
    reads = sorted(gen.tables())
    details = {"rule": gen.p.sql, "reads": reads, "engine": "duckdb"}
    if error is not None:
        details["error"] = error
    count = n if bad is None else bad[0]
    return CheckResult(
        f"{name} computed across tables",
        table,
        name,
        EXPECTATION,
        bad is not None and count == 0,
        count,
        n,
        [] if bad is None else bad[1],
        details,
    )
