"""Computed columns that read other tables (tdm.plan.computed): the parent row's columns
(`orders.ordered_at` in a table counted per orders) and aggregates over child rows
(`sum(order_items.line_total)` in orders, whose order_items are counted per it). Generating such
a column generates those rows again, so the tables a table reads may not read it back, directly
or through others: a cycle would generate forever."""

from __future__ import annotations

from tdm.core.errors import Problem, did_you_mean, problem_at
from tdm.generators import Generator
from tdm.plan.computed import Expression, spec_table
from tdm.spec.model import DatasetSpec, RowsPerParent

Gens = dict[str, dict[str, Generator]]
At = tuple


def table_read_problems(spec: DatasetSpec, gens: Gens) -> list[Problem]:
    out: list[Problem] = []
    reads: dict[str, dict[str, At]] = {}  # table -> table it generates again -> first column
    for tname, columns in gens.items():
        for cname, gen in columns.items():
            if not isinstance(gen, Expression):
                continue
            at = ("tables", tname, "columns", cname, "sql")
            found = _parent_reads(spec, tname, gen, at) + _child_reads(spec, tname, gen, at)
            out += found
            if not found:
                for other in sorted(gen.tables()):
                    reads.setdefault(tname, {}).setdefault(spec_table(spec, other) or other, at)
    return out + _cycles(reads)


def _per(spec: DatasetSpec, tname: str) -> str | None:
    rows = spec.tables[tname].rows
    return rows.per if isinstance(rows, RowsPerParent) else None


def _parent_reads(spec: DatasetSpec, tname: str, gen: Expression, at: At) -> list[Problem]:
    """parent.column only of the table its rows are counted per."""
    other = gen.reads()[1]
    if not other:
        return []
    parent, column = other[0]
    per = _per(spec, tname)
    if per is None or per.lower() != parent:
        return [
            problem_at(
                at,
                f"the expression reads {parent}.{column}, but {tname} rows are "
                + (f"counted per {per}" if per else "not counted per parent rows"),
                f"read columns of {tname} and of the table its rows are counted per only "
                f"(rows: {{per: {parent}, ...}}), or aggregate a child table's rows "
                f"(sum({parent}.{column}))",
            )
        ]
    columns = spec.tables[per].columns if per in spec.tables else {}
    return [
        problem_at(
            at,
            f"the expression reads {parent}.{c}, which {per} does not have",
            did_you_mean(c, columns),
        )
        for _, c in other
        if c not in columns
    ]


def _child_reads(spec: DatasetSpec, tname: str, gen: Expression, at: At) -> list[Problem]:
    """Aggregates only over tables counted per this one, and only over their columns."""
    out = []
    for agg in gen.children():
        child = spec_table(spec, agg.table)
        if child is None or _per(spec, child) != tname:
            counted = [t for t in spec.tables if _per(spec, t) == tname]
            out.append(
                problem_at(
                    at,
                    f"{agg.text} aggregates "
                    + (f"{child}, whose rows are not counted per {tname}" if child else
                       f"rows of {agg.table}, which the spec does not have"),
                    "aggregate a table whose rows are counted per this one "
                    f"(rows: {{per: {tname}, ...}})"
                    + (f": {', '.join(counted)}" if counted else ""),
                )
            )  # fmt: skip
            continue
        columns = spec.tables[child].columns
        out += [
            problem_at(
                at,
                f"{agg.text} reads {child}.{c}, which {child} does not have",
                did_you_mean(c, columns),
            )
            for c in agg.columns
            if c not in columns
        ]
    return out


def _cycles(reads: dict[str, dict[str, At]]) -> list[Problem]:
    """A problem per cycle of tables generating each other again (each found by a depth-first
    walk, at its first column): linear in the tables and their reads."""
    out: list[Problem] = []
    path: list[str] = []
    finished: set[str] = set()

    def visit(t: str) -> None:
        path.append(t)
        for nxt in reads.get(t, {}):
            if nxt in path:
                cycle = path[path.index(nxt) :]
                loop = " -> ".join([*cycle, nxt])
                out.append(
                    problem_at(
                        reads[cycle[-1]][nxt],
                        f"computed columns read tables in a cycle: {loop} (each would "
                        "generate the other's rows again, forever)",
                        "compute one side from its own columns, not from the table that reads it",
                    )
                )
            elif nxt not in finished:
                visit(nxt)
        path.pop()
        finished.add(t)

    for t in list(reads):
        if t not in finished:
            visit(t)
    return out
