"""Checks that span fields of a spec: generators and their parameters, references, keys, cycles.

Returns every problem found plus the generator built for each column.
"""

from __future__ import annotations

from pydantic import ValidationError

from tdm.errors import Problem, did_you_mean, one_of
from tdm.generators import REGISTRY, ColumnInfo, Generator
from tdm.generators.extracted import Extracted
from tdm.generators.reference import ForeignKeyGen
from tdm.spec import COLUMN_FIELDS, DatasetSpec, ForeignKeySpec, RowsPerParent, TableSpec
from tdm.spec_load import dotted, pydantic_problems
from tdm.spec_refs import check_cycles, check_references
from tdm.validation_suite import expectation_problems

Gens = dict[str, dict[str, Generator]]


def problem(at: tuple, message: str, hint: str | None = None) -> Problem:
    return Problem(dotted(at), message, hint, at=at)


def generators_for(kind: str) -> list[str]:
    return sorted(n for n, g in REGISTRY.items() if kind in g.types and not g.internal)


def check_spec(spec: DatasetSpec) -> tuple[list[Problem], Gens]:
    problems: list[Problem] = []
    gens: Gens = {}
    problems += _check_locales(spec)
    for tname, table in spec.tables.items():
        gens[tname] = {}
        problems += _check_keys(spec, tname, table)
        for cname in table.columns:
            gen, found = _build_generator(spec, tname, table, cname)
            problems += found
            if gen is not None:
                gens[tname][cname] = gen
        problems += _check_dependencies(tname, table, gens[tname])
    problems += check_references(spec, gens)
    problems += check_cycles(spec)
    problems += expectation_problems(spec)
    return problems, gens


def _check_locales(spec: DatasetSpec) -> list[Problem]:
    from faker.config import AVAILABLE_LOCALES

    return [
        problem(
            ("locales", loc),
            f"unknown locale {loc!r}",
            did_you_mean(loc, AVAILABLE_LOCALES) or "use a Faker locale such as en_US, de_DE",
        )
        for loc in spec.locales
        if loc not in AVAILABLE_LOCALES
    ]


def _check_keys(spec: DatasetSpec, tname: str, table: TableSpec) -> list[Problem]:
    at = ("tables", tname)
    out = []
    cols = table.columns
    for i, c in enumerate(table.primary_key):
        if c not in cols:
            out.append(
                problem(
                    (*at, "primary_key", i),
                    f"primary key column {c!r} is not a column of {tname}",
                    did_you_mean(c, cols),
                )
            )
        elif cols[c].null_ratio > 0:
            out.append(
                problem(
                    (*at, "columns", c, "null_ratio"),
                    f"primary key column {c!r} cannot have null_ratio {cols[c].null_ratio:g}",
                    "remove null_ratio",
                )
            )
        elif cols[c].unique is False and len(table.primary_key) == 1:
            out.append(
                problem(
                    (*at, "columns", c, "unique"),
                    f"{c!r} is the primary key but says unique: false",
                    "remove `unique: false`",
                )
            )
    for i, group in enumerate(table.unique):
        for c in group:
            if c not in cols:
                out.append(
                    problem(
                        (*at, "unique", i),
                        f"unique column {c!r} is not a column of {tname}",
                        did_you_mean(c, cols),
                    )
                )
    for i, fk in enumerate(table.foreign_keys):
        for c in fk.columns:
            if c not in cols:
                out.append(
                    problem(
                        (*at, "foreign_keys", i, "columns"),
                        f"foreign key column {c!r} is not a column of {tname}",
                        did_you_mean(c, cols),
                    )
                )
    if isinstance(table.rows, RowsPerParent):
        per = table.rows.per
        if per not in spec.tables:
            out.append(
                problem(
                    (*at, "rows", "per"),
                    f"rows per unknown table {per!r}",
                    did_you_mean(per, spec.tables),
                )
            )
        elif per == tname:
            out.append(
                problem(
                    (*at, "rows", "per"),
                    "a table cannot have rows per its own rows",
                    "give an absolute row count",
                )
            )
        elif not any(fk.references.table == per for fk in table.all_foreign_keys):
            out.append(
                problem(
                    (*at, "rows", "per"),
                    f"rows are per {per} but {tname} has no foreign key to {per}",
                    f"add e.g. `references: {per}` to the column that holds the parent key",
                )
            )
    return out


def _is_unique(table: TableSpec, cname: str) -> bool:
    col = table.columns[cname]
    return bool(col.unique) or table.primary_key == [cname] or [cname] in table.unique


def _build_generator(
    spec: DatasetSpec, tname: str, table: TableSpec, cname: str
) -> tuple[Generator | None, list[Problem]]:
    col = table.columns[cname]
    at = ("tables", tname, "columns", cname)
    info = ColumnInfo(
        table=tname,
        name=cname,
        type=col.logical,
        seed=spec.seed,
        unique=_is_unique(table, cname),
        today=spec.today,
        locales=tuple(spec.locales),
        rows=table.rows if isinstance(table.rows, int) else None,
    )
    if table.source is not None:
        if col.generator is not None:
            return None, [
                problem(
                    (*at, "generator"),
                    f"{tname} is extracted from the source, so {cname!r} is read, not generated",
                    "remove the generator",
                )
            ]
        if not spec.source:
            return None, [
                problem(
                    ("tables", tname, "source"),
                    f"{tname} is extracted but the dataset has no source",
                    'add `source: {url: "${SOURCE_URL}"}` at the top of the spec',
                )
            ]
        if col.params:  # extracted columns have no generator, so no other keys
            name = next(iter(col.params))
            return None, [
                problem((*at, name), f"unknown field {name!r}", did_you_mean(name, COLUMN_FIELDS))
            ]
        return Extracted(None, info), []
    fk = table.foreign_key_of(cname)
    if fk is not None:
        if col.generator not in (None, ForeignKeyGen.name):
            return None, [
                problem(
                    (*at, "generator"),
                    f"{cname!r} is a foreign key to "
                    f"{fk.references.table}; it takes its values from the parent",
                    "remove the generator (or the reference)",
                )
            ]
        if col.params:
            name = next(iter(col.params))
            fk_options = set(ForeignKeySpec.model_fields) - {"columns", "references"}
            hint = (
                f"{name} belongs to the foreign key: write it under the table's foreign_keys "
                f"(- {{columns: {cname}, references: {fk.references.table}, {name}: ...}})"
                if name in fk_options
                else did_you_mean(name, ["null_ratio", "description", "references"])
            )
            return None, [
                problem((*at, name), f"unknown field {name!r} on a foreign key column", hint)
            ]
        if fk.references.table == tname:
            mode = "self"
        elif fk == table.per_parent_fk():
            mode = "per_parent"
            if col.null_ratio:
                return None, [
                    problem(
                        (*at, "null_ratio"),
                        f"rows are counted per {fk.references.table}, so {cname!r} cannot be null",
                        "remove null_ratio",
                    )
                ]
        else:
            mode = "distinct" if fk.distinct_per_parent else "sample"
        one_each = (
            mode == "per_parent"
            and table.rows.distribution == "fixed"
            and table.rows.value == 1
            and len(fk.columns) == 1
        )
        if info.unique and not one_each:
            return None, [
                problem(
                    (*at, "unique") if col.unique else ("tables", tname, "primary_key"),
                    f"foreign key {cname!r} repeats parent keys, so it cannot be unique on its own",
                    f"for one row per {fk.references.table} row use rows: "
                    f"{{per: {fk.references.table}, distribution: fixed, value: 1}}; otherwise "
                    "add a sequence column to the key",
                )
            ]
        return ForeignKeyGen(fk, info, mode, col.null_ratio), []
    if col.generator is None:
        return None, [
            problem(
                at,
                f"column {cname!r} has no generator",
                f"add `generator:` — for {col.logical.kind}: "
                + one_of(generators_for(col.logical.kind)),
            )
        ]
    cls = REGISTRY.get(col.generator)
    if cls is None or cls.internal:
        return None, [
            problem(
                (*at, "generator"),
                f"unknown generator {col.generator!r}",
                did_you_mean(col.generator, REGISTRY) or one_of(generators_for(col.logical.kind)),
            )
        ]
    if col.logical.kind not in cls.types:
        return None, [
            problem(
                (*at, "type"),
                f"generator {cls.name!r} makes "
                f"{'/'.join(cls.types)} values, but the column type is {col.type}",
                f"change the type, or use {one_of(generators_for(col.logical.kind))}",
            )
        ]
    try:
        params = cls.Params.model_validate(col.params)
    except ValidationError as err:
        return None, pydantic_problems(err, cls.Params, {}, at, COLUMN_FIELDS)
    gen = cls(params, info)
    if getattr(params, "per_parent", False) and table.per_parent_fk() is None:
        return None, [
            problem(
                (*at, "per_parent"),
                f"per_parent numbering needs {tname}'s rows counted per a parent",
                "use rows: {per: <parent>, ...}, or drop per_parent",
            )
        ]
    found = [
        problem((*at, param) if param else at, msg, hint) for param, msg, hint in gen.problems()
    ]
    if info.unique and not cls.can_be_unique:
        found.append(
            problem(
                (*at, "unique"),
                f"generator {cls.name!r} cannot produce unique values by construction",
                "use sequence, uuid, pattern or another unique-capable generator",
            )
        )
    return gen, found


def _check_dependencies(tname: str, table: TableSpec, gens: dict[str, Generator]) -> list[Problem]:
    out = []
    for cname, gen in gens.items():
        for dep in gen.depends_on():
            if dep not in table.columns:
                out.append(
                    problem(
                        ("tables", tname, "columns", cname),
                        f"{gen.name} reads column {dep!r}, which {tname} does not have",
                        did_you_mean(dep, table.columns),
                    )
                )
    return out
