"""Checks that span fields of a spec: generators and their parameters, references, keys, cycles.

Returns every problem found plus the generator built for each column. A check that needs a part
of the spec that could not be read (`Damage`), or that only repeats what a problem already
reported implies (a table counted per a parent whose reference names an unknown table), stays
silent.
"""

from __future__ import annotations

import re

import pyarrow as pa
from faker.config import AVAILABLE_LOCALES

from tdm.checks import unsupported
from tdm.core.errors import Problem, did_you_mean, problem_at
from tdm.generators import Generator
from tdm.plan.columns import build_generator
from tdm.plan.references import check_references, per_parent_unsure
from tdm.plan.table_reads import table_read_problems
from tdm.spec.expectations import expectation_problems
from tdm.spec.model import DatasetSpec, RowsPerParent, TableSpec
from tdm.spec.privacy import privacy_problems
from tdm.spec.salvage import Damage
from tdm.spec.subset import subset_problems

Gens = dict[str, dict[str, Generator]]


def check_spec(spec: DatasetSpec, damage: Damage | None = None) -> tuple[list[Problem], Gens]:
    """`damage`: the parts of the spec left out because they could not be read."""
    damage = Damage() if damage is None else damage
    problems: list[Problem] = []
    gens: Gens = {}
    problems += _check_locales(spec)
    for tname, table in spec.tables.items():
        gens[tname] = {}
        problems += _check_keys(spec, tname, table, damage)
        for cname in table.columns:
            gen, found = build_generator(spec, tname, table, cname, damage)
            problems += found
            if gen is not None:
                gens[tname][cname] = gen
        problems += _check_dependencies(spec, tname, gens[tname], damage)
        problems += _check_conditions(tname, table, damage)
    problems += check_references(spec, gens, damage)
    problems += table_read_problems(spec, gens)
    problems += expectation_problems(spec)
    problems += privacy_problems(spec, damage)
    if spec.subset is not None:
        problems += subset_problems(spec.subset, spec.tables, spec.source is not None)
    return problems, gens


def _check_locales(spec: DatasetSpec) -> list[Problem]:

    return [
        problem_at(
            ("locales", loc),
            f"unknown locale {loc!r}",
            did_you_mean(loc, AVAILABLE_LOCALES) or "use a Faker locale such as en_US, de_DE",
        )
        for loc in spec.locales
        if loc not in AVAILABLE_LOCALES
    ]


def _check_keys(spec: DatasetSpec, tname: str, table: TableSpec, damage: Damage) -> list[Problem]:
    at = ("tables", tname)
    out = []
    cols = table.columns
    for i, c in enumerate(table.primary_key):
        if damage.lost_column(tname, c):
            continue
        if c not in cols:
            out.append(
                problem_at(
                    (*at, "primary_key", i),
                    f"primary key column {c!r} is not a column of {tname}",
                    did_you_mean(c, cols),
                )
            )
        elif cols[c].null_ratio > 0:
            out.append(
                problem_at(
                    (*at, "columns", c, "null_ratio"),
                    f"primary key column {c!r} cannot have null_ratio {cols[c].null_ratio:g}",
                    "remove null_ratio",
                )
            )
        elif cols[c].unique is False and len(table.primary_key) == 1:
            out.append(
                problem_at(
                    (*at, "columns", c, "unique"),
                    f"{c!r} is the primary key but says unique: false",
                    "remove `unique: false`",
                )
            )
    for i, group in enumerate(table.unique):
        for c in group:
            if c not in cols and not damage.lost_column(tname, c):
                out.append(
                    problem_at(
                        (*at, "unique", i),
                        f"unique column {c!r} is not a column of {tname}",
                        did_you_mean(c, cols),
                    )
                )
    for i, fk in enumerate(table.foreign_keys):
        for c in fk.columns:
            if c not in cols and not damage.lost_column(tname, c):
                out.append(
                    problem_at(
                        damage.file_path((*at, "foreign_keys", i, "columns")),
                        f"foreign key column {c!r} is not a column of {tname}",
                        did_you_mean(c, cols),
                    )
                )
    if isinstance(table.rows, RowsPerParent):
        per = table.rows.per
        if per in damage.tables:
            pass  # a table that could not be read
        elif per not in spec.tables:
            out.append(
                problem_at(
                    (*at, "rows", "per"),
                    f"rows per unknown table {per!r}",
                    did_you_mean(per, spec.tables),
                )
            )
        elif per == tname:
            out.append(
                problem_at(
                    (*at, "rows", "per"),
                    "a table cannot have rows per its own rows",
                    "give an absolute row count",
                )
            )
        elif table.per_parent_fk() is None and not per_parent_unsure(spec, tname, table, damage):
            out.append(
                problem_at(
                    (*at, "rows", "per"),
                    f"rows are per {per} but {tname} has no foreign key to {per}",
                    f"add e.g. `references: {per}` to the column that holds the parent key",
                )
            )
    return out


def _check_dependencies(
    spec: DatasetSpec, tname: str, gens: dict[str, Generator], damage: Damage
) -> list[Problem]:
    table = spec.tables[tname]
    out = []
    for cname, gen in gens.items():
        for dep in gen.depends_on():
            if dep not in table.columns and not damage.lost_column(tname, dep):
                out.append(
                    problem_at(
                        ("tables", tname, "columns", cname),
                        f"{gen.name} reads column {dep!r}, which {tname} does not have",
                        did_you_mean(dep, table.columns),
                    )
                )
    return out


def _check_conditions(tname: str, table: TableSpec, damage: Damage) -> list[Problem]:
    """`check:` entries and `when:` conditions must be SQL that reads this table's columns (a
    condition that names a column left out is not checked)."""
    found = [(("tables", tname, "check", name), expr) for name, expr in table.check.items()]
    found += [
        (("tables", tname, "columns", c, "when"), col.when)
        for c, col in table.columns.items()
        if col.when
    ]
    if not found:
        return []
    schema = pa.schema([pa.field(c, col.logical.arrow) for c, col in table.columns.items()])
    lost = damage.columns.get(tname, set())
    out = []
    for at, expr in found:
        if any(re.search(rf"\b{re.escape(c)}\b", expr) for c in lost):
            continue
        why = unsupported(expr, schema)
        if why:
            out.append(problem_at(at, why, "write a condition on this table's columns"))
    for c, col in table.columns.items():
        if col.when and c in table.primary_key:
            out.append(
                problem_at(
                    ("tables", tname, "columns", c, "when"),
                    f"{c!r} is in the primary key, so it cannot be NULL where `when` is false",
                    "remove `when`",
                )
            )
    return out
