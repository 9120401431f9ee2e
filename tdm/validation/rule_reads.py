"""What a rule across tables (tdm.validation.table_rules) reads, and its check on a set of rows:
the same for the whole table in memory and for one batch at a time out of core."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.checks import columns_of, computed
from tdm.plan.computed import Expression, spec_table


@dataclass(frozen=True)
class ChildReads:
    lower: str  # the table as the expression names it
    table: str
    fk_columns: list[str]  # the child's per-parent foreign key
    target: list[str]  # the columns of the rule's table it references
    columns: list[str]  # the foreign key and the columns aggregated


@dataclass(frozen=True)
class RuleReads:
    table: str
    own: list[str]  # columns of the rule's table: its column, inputs, keys, `when` columns
    parent: str | None = None  # the table whose row's columns it reads
    fk_columns: list[str] = field(default_factory=list)  # the per-parent foreign key
    target: list[str] = field(default_factory=list)  # the parent's columns it references
    parent_columns: list[str] = field(default_factory=list)  # the target and the values read
    parent_values: list[str] = field(default_factory=list)
    children: tuple[ChildReads, ...] = ()

    def tables(self) -> list[tuple[str, list[str]]]:
        """(table, columns) of every table it reads."""
        return [
            (self.table, self.own),
            *([(self.parent, self.parent_columns)] if self.parent else []),
            *((kid.table, kid.columns) for kid in self.children),
        ]


def _unique(names) -> list[str]:
    return list(dict.fromkeys(names))


def rule_reads(plan, table: str, name: str, gen: Expression) -> RuleReads:
    spec = plan.spec.tables[table]
    own, other = gen.reads()
    when = spec.columns[name].when
    keys: list[str] = []
    fk = spec.per_parent_fk()
    parent = {}
    if other and fk is not None:
        keys += fk.columns
        ptable = fk.references.table
        target = list(fk.references.columns or plan.spec.tables[ptable].primary_key)
        values = _unique(c for _, c in other)
        parent = {
            "parent": ptable,
            "fk_columns": list(fk.columns),
            "target": target,
            "parent_columns": _unique([*target, *values]),
            "parent_values": values,
        }
    children = []
    for lower in dict.fromkeys(a.table for a in gen.children()):
        child = spec_table(plan.spec, lower)
        child_fk = plan.spec.tables[child].per_parent_fk()
        target = list(child_fk.references.columns or spec.primary_key)
        keys += target
        read = {c for a in gen.children() if a.table == lower for c in a.columns}
        columns = _unique([*child_fk.columns, *sorted(read)])
        children.append(ChildReads(lower, child, list(child_fk.columns), target, columns))
    needed = _unique([name, *own, *keys, *(columns_of(when) if when else [])])
    return RuleReads(table, needed, **parent, children=tuple(children))


def off_rule(
    plan,
    table: str,
    name: str,
    gen: Expression,
    data: pa.Table,
    parent: dict[str, pa.Array],
    children: dict[str, tuple[pa.Table, np.ndarray]],
) -> np.ndarray:
    """Positions of the rows of `data` whose `name` differs from the rule evaluated on their
    own columns, their parent row's values (`parent`, by column, aligned with `data`) and their
    child rows (lower-case table -> rows and each one's position in `data`); TdmError when the
    rule cannot be evaluated."""
    own, _ = gen.reads()
    when = plan.spec.tables[table].columns[name].when
    n = data.num_rows
    expected = gen.evaluate(n, {c: data[c].combine_chunks() for c in own}, parent, children)
    actual = data[name].combine_chunks()
    if actual.type != expected.type:
        expected = expected.cast(actual.type)
    same = pc.fill_null(pc.equal(actual, expected), False)
    same = pc.or_(same, pc.and_(pc.is_null(actual), pc.is_null(expected)))
    if when:
        holds = computed(data, f"({when}) IS TRUE", f"{table}.{name}")
        same = pc.or_(same, pc.invert(holds))
    return np.flatnonzero(~same.to_numpy(zero_copy_only=False))
