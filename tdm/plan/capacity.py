"""Checks that need the plan's row counts: unique columns with too few possible values,
references to empty tables, distinct-per-parent groups, and composite keys that are not unique by
construction."""

from __future__ import annotations

from tdm.core.errors import Problem, problem_at
from tdm.core.postgres_types import int_limit
from tdm.generators.base import Generator
from tdm.generators.reference import ForeignKeyGen
from tdm.spec.model import TableSpec


def capacity_problems(plan) -> list[Problem]:
    out = []
    for tname, table in plan.spec.tables.items():
        if table.source is not None or tname not in plan.rows:
            continue  # extracted values are what they are (validation checks them), or uncounted
        rows = plan.rows[tname]
        for cname, gen in plan.gens[tname].items():
            at = ("tables", tname, "columns", cname)
            cap = gen.capacity()
            if gen.info.unique and cap is not None and cap < rows:
                out.append(
                    problem_at(
                        at,
                        f"unique column {cname!r} can take only {cap:,} "
                        f"distinct values, but {tname} has {rows:,} rows",
                        "widen its range or pool, drop `unique`, or lower rows",
                    )
                )
            out += _width_problems(table, tname, cname, gen, rows)
            if isinstance(gen, ForeignKeyGen) and rows and gen.fk.references.table in plan.rows:
                parent = gen.fk.references.table
                if gen.mode == "unique" and rows > plan.rows[parent]:
                    out.append(
                        problem_at(
                            ("tables", tname, "rows"),
                            f"{cname!r} is a unique reference to {parent}, which has "
                            f"{plan.rows[parent]:,} rows; {tname} has {rows:,}: give it at most "
                            f"{plan.rows[parent]:,} rows",
                            f"count its rows per {parent} (rows: {{per: {parent}, ...}})",
                        )
                    )
                if plan.rows[parent] == 0 and gen.mode != "self":
                    out.append(
                        problem_at(
                            at, f"references {parent}, which has 0 rows", f"give {parent} rows"
                        )
                    )
                elif gen.mode == "distinct" and plan.per_parent[tname].total:
                    biggest = plan.per_parent[tname].largest
                    if biggest > plan.rows[parent]:
                        out.append(
                            problem_at(
                                at,
                                f"a group of {biggest} rows needs distinct "
                                f"{parent} rows but {parent} has {plan.rows[parent]}",
                                "lower the rows per parent or add parent rows",
                            )
                        )
        out += _composite_key_problems(plan, tname, table)
    return out


def _width_problems(table: TableSpec, tname: str, cname: str, gen, rows: int) -> list[Problem]:
    """A sequence must stay inside the column's smallint/integer `sql_type`."""
    limit = int_limit(table.columns[cname].sql_type)
    if limit is None or gen.name != "sequence" or gen.p.per_parent or not rows:
        return []
    last = gen.p.start + (rows - 1) * gen.p.step
    if -limit - 1 <= last <= limit:
        return []
    fits = max(0, (limit - gen.p.start) // gen.p.step + 1) if gen.p.step > 0 else 0
    return [
        problem_at(
            ("tables", tname, "rows"),
            f"{cname!r} ({table.columns[cname].sql_type}) would reach {last:,}, beyond its "
            f"largest value {limit:,}: give {tname} at most {fits:,} rows",
            "lower the rows (or per-parent counts)",
        )
    ]


def _unique_alone(gen: Generator) -> bool:
    if gen.info.unique or gen.name == "uuid":
        return True
    return gen.name == "sequence" and not gen.p.per_parent


def _composite_key_problems(plan, tname: str, table: TableSpec) -> list[Problem]:
    """Composite primary keys and unique groups must be unique by construction."""
    out = []
    groups = [(("tables", tname, "primary_key"), "primary key", table.primary_key)]
    groups += [
        (("tables", tname, "unique", i), "unique group", g) for i, g in enumerate(table.unique)
    ]
    for at, what, key in groups:
        if len(key) > 1 and not _unique_by_construction(plan, tname, table, key):
            out.append(
                problem_at(
                    at,
                    f"composite {what} ({', '.join(key)}) is not unique by construction",
                    "count rows per a parent and number them with `sequence` + `per_parent: true` "
                    "(or `distinct_per_parent` on a second key), or make one column unique",
                )
            )
    return out


def _unique_by_construction(plan, tname: str, table: TableSpec, key: list[str]) -> bool:
    gens = plan.gens[tname]
    if any(_unique_alone(gens[c]) for c in key):
        return True
    group = table.per_parent_fk()
    grouped = set(group.columns) if group else set()
    within = {
        c
        for c in key
        if (gens[c].name in ("sequence", "date") and getattr(gens[c].p, "per_parent", False))
        or (isinstance(gens[c], ForeignKeyGen) and gens[c].mode == "distinct")
    }
    return bool(grouped and grouped <= set(key) and within)
