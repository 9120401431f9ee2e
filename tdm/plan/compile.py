"""Compiling a checked spec into a Plan: table order (parents first, cycles broken at nullable
references), column order (dependencies first), row counts (per-parent ones sampled in blocks),
and the capacity checks that need them."""

from __future__ import annotations

import heapq
from pathlib import Path

import numpy as np

from tdm.core.errors import Problem, SpecError, problem_at
from tdm.core.rand import stream_key
from tdm.generators.base import Generator
from tdm.plan.capacity import capacity_problems
from tdm.plan.model import MAX_COUNTED_PARENTS, Gens, Plan
from tdm.plan.per_parent import BLOCK, ParentCounts, PerParent
from tdm.spec.model import MAX_ROWS, DatasetSpec, RowsPerParent

_COUNT_BLOCK = 1 << 20  # parents sampled at once while counting (rounded to per_parent.BLOCK)


def build_plan(
    spec: DatasetSpec,
    gens: Gens,
    source: Path | None = None,
    counts: dict[str, int] | None = None,
) -> tuple[Plan | None, list[Problem]]:
    """`counts`: known row counts of extracted tables (from a manifest), instead of asking the
    source."""
    problems: list[Problem] = []
    order = _table_order(spec)
    columns = {}
    for tname in spec.tables:
        cols, cycle = _column_order(gens[tname])
        columns[tname] = cols
        if cycle:
            at = ("tables", tname, "columns", cycle[0])
            problems.append(
                problem_at(
                    at,
                    "columns read each other in a cycle: " + " -> ".join(cycle),
                    "break the cycle",
                )
            )
    plan = Plan(spec, gens, order, {}, columns, source=source)
    uncounted: set[str] = set()  # tables whose rows could not be counted: a problem says why
    if spec.subset is not None and spec.source is not None and counts is None:
        from tdm.source.subset import choose_subset  # only for extracted data (drivers)

        try:
            plan.subset = choose_subset(plan.reader(), spec, str(source or spec.dataset))
        except SpecError as e:  # a root's `where` or a relationship the source refuses
            return None, problems + e.problems
        plan.exported_snapshot = plan.subset.snapshot
    elif counts is None and any(t.source is not None for t in spec.tables.values()):
        plan.exported_snapshot = plan.reader().hold_snapshot()  # None unless one_snapshot()
    if plan.exported_snapshot is not None:
        plan.reader().use_snapshot(plan.exported_snapshot)
    for tname in order:
        rows = spec.tables[tname].rows
        if spec.tables[tname].source is not None:
            plan.rows[tname] = (counts or {}).get(tname)
            if plan.rows[tname] is None and plan.subset is not None:
                plan.rows[tname] = plan.subset.rows(tname)
            elif plan.rows[tname] is None:
                plan.rows[tname] = plan.reader().count(tname, spec.tables[tname])
        elif isinstance(rows, RowsPerParent):
            if rows.per not in plan.rows:
                uncounted.add(tname)
                if rows.per not in uncounted:
                    problems.append(_counted_in_a_cycle(tname, rows.per))
                continue
            per, problem = _count_per_parent(spec, tname, rows, plan.rows[rows.per])
            if problem is not None:
                problems.append(problem)
                uncounted.add(tname)
                continue
            plan.per_parent[tname] = per
            plan.rows[tname] = per.total
        else:
            plan.rows[tname] = rows
    problems += capacity_problems(plan)
    return (plan if not problems else None), problems


def _counted_in_a_cycle(table: str, parent: str) -> Problem:
    return problem_at(
        ("tables", table, "rows", "per"),
        f"rows of {table} are counted per {parent}, whose own rows depend on {table}'s",
        f"give {table} or {parent} a whole number of rows",
    )


def _count_per_parent(
    spec: DatasetSpec, table: str, rows: RowsPerParent, parents: int
) -> tuple[PerParent | None, Problem | None]:
    """The child rows of each parent row, sampled in blocks of _COUNT_BLOCK parents and kept
    as running totals per BLOCK (tdm.plan.per_parent); a Problem when they cannot be counted or
    exceed MAX_ROWS."""
    at = ("tables", table, "rows")

    def problem(message: str, hint: str) -> tuple[None, Problem]:
        return None, problem_at(at, message, hint)

    if parents > MAX_COUNTED_PARENTS:
        return problem(
            f"counts rows per {rows.per} row, but {rows.per} has {parents:,} rows; rows can be "
            f"counted per at most {MAX_COUNTED_PARENTS:,} parent rows",
            f"give {table} a whole number of rows (its foreign key to {rows.per} still picks "
            f"parents), or fewer {rows.per} rows",
        )
    counts_of = ParentCounts(rows, stream_key(spec.seed, table, "__rows__"))
    marks: list[int] = []  # the running total at the end of each BLOCK of parents
    total = largest = 0
    step = BLOCK * max(1, _COUNT_BLOCK // BLOCK)
    for start in range(0, parents, step):
        stop = min(parents, start + step)
        try:
            counts = counts_of(start, stop)
        except ValueError as e:  # numpy refuses some parameters, e.g. a huge poisson lam
            return problem(f"cannot draw rows per {rows.per} row: {e}", "lower the parameters")
        if total + float(counts.sum(dtype=np.float64)) > MAX_ROWS:
            return problem(
                f"rows per {rows.per} row add up to more than {MAX_ROWS:,} rows",
                "lower the distribution's parameters or set its max",
            )
        ends = np.cumsum(counts) + total
        marks += ends[BLOCK - 1 :: BLOCK].tolist()
        if (stop - start) % BLOCK:
            marks.append(int(ends[-1]))
        total = int(ends[-1])
        largest = max(largest, int(counts.max()))
    marks_array = np.array(marks, dtype=np.int64)
    return PerParent(marks_array, parents, counts_of, largest, block=BLOCK), None


def _table_order(spec: DatasetSpec) -> list[str]:
    """Parents first, each time the first ready table in spec order (Kahn's algorithm with a
    heap: O((tables + references) log tables)); nullable references are dropped only if needed
    to break a cycle, and a cycle of non-nullable ones is entered at its first table in spec
    order (every target loads such a cycle in one step: FKs checked after all its rows)."""
    position = {t: i for i, t in enumerate(spec.tables)}
    for all_refs in (True, False, None):
        waiting = {t: 0 for t in spec.tables}  # parents not placed yet
        children: dict[str, list[str]] = {t: [] for t in spec.tables}
        for tname, table in spec.tables.items():
            nullable = {c for c in table.columns if table.nullable(c)}
            parents = {
                fk.references.table
                for fk in table.all_foreign_keys
                if fk.references.table != tname
                and (all_refs or not any(c in nullable for c in fk.columns))
            }
            waiting[tname] = len(parents)
            for parent in parents:
                children[parent].append(tname)
        ready = [position[t] for t, n in waiting.items() if n == 0]
        heapq.heapify(ready)
        order: list[str] = []
        names = list(spec.tables)
        placed: set[str] = set()
        while ready or (all_refs is None and len(order) < len(names)):
            if not ready:  # only cycles of non-nullable references are left: enter one
                ready = [min(position[t] for t in names if t not in placed)]
            table = names[heapq.heappop(ready)]
            if table in placed:
                continue
            placed.add(table)
            order.append(table)
            for child in children[table]:
                waiting[child] -= 1
                if waiting[child] == 0:
                    heapq.heappush(ready, position[child])
        if len(order) == len(spec.tables):
            return order
    raise AssertionError("the last pass places every table")


def _column_order(gens: dict[str, Generator]) -> tuple[list[str], list[str]]:
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> list[str]:
        if name in order:
            return []
        if name in visiting:
            return [*visiting[visiting.index(name) :], name]
        visiting.append(name)
        for dep in gens[name].depends_on():
            if dep in gens and (cycle := visit(dep)):
                return cycle
        visiting.pop()
        order.append(name)
        return []

    for name in gens:
        if cycle := visit(name):
            return list(gens), cycle
    return order, []
