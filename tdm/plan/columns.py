"""The generator of each column of a spec: read from the source, drawn from a parent's keys, or
made by the generator the column names, with the problems that stop it being built. A column
whose generator depends on a part of the spec that could not be read (`Damage`) is not built,
and says nothing."""

from __future__ import annotations

import difflib

from pydantic import ValidationError

from tdm.core.errors import Problem, did_you_mean, one_of, problem_at
from tdm.generators import REGISTRY, ColumnInfo, Generator
from tdm.generators.extracted import Extracted
from tdm.generators.reference import ForeignKeyGen
from tdm.plan.references import per_parent_unsure
from tdm.spec.model import COLUMN_FIELDS, ColumnSpec, DatasetSpec, ForeignKeySpec, TableSpec
from tdm.spec.problems import pydantic_problems
from tdm.spec.salvage import Damage

Built = tuple[Generator | None, list[Problem]]  # None when a problem stops the column
NOTHING: Built = (None, [])  # not built, for a reason already reported


def generators_for(kind: str) -> list[str]:
    return sorted(n for n, g in REGISTRY.items() if kind in g.types and not g.internal)


def build_generator(
    spec: DatasetSpec, tname: str, table: TableSpec, cname: str, damage: Damage | None = None
) -> Built:
    """The generator of one column, or None and the problems that stop it being built."""
    damage = Damage() if damage is None else damage
    info = _column_info(spec, tname, table, cname, damage)
    if damage.lost(tname, "source") or (
        table.source and ("source" in damage.fields or damage.lost(tname, "rows"))
    ):
        return NOTHING  # whether it is extracted, or where from, could not be read
    if table.source is not None:
        return _extracted(spec, tname, table, cname, info)
    fk = table.foreign_key_of(cname)
    if fk is not None:
        return _foreign_key(tname, table, cname, fk, info, damage)
    lost = damage.column_fields.get((tname, cname), set())
    if table.columns[cname].generator is None and (
        lost & {"generator", "references"} or tname in damage.fk_positions
    ):
        return NOTHING  # its generator, or a foreign key that may hold it, could not be read
    return _generated(spec, tname, table, cname, info, damage)


def _column_info(
    spec: DatasetSpec, tname: str, table: TableSpec, cname: str, damage: Damage
) -> ColumnInfo:
    known = isinstance(table.rows, int) and not damage.lost(tname, "rows")
    return ColumnInfo(
        table=tname,
        name=cname,
        type=table.columns[cname].logical,
        seed=spec.seed,
        unique=_is_unique(table, cname),
        today=spec.today,
        locales=tuple(spec.locales),
        rows=table.rows if known else None,
    )


def _is_unique(table: TableSpec, cname: str) -> bool:
    col = table.columns[cname]
    return bool(col.unique) or table.primary_key == [cname] or [cname] in table.unique


def _extracted(
    spec: DatasetSpec, tname: str, table: TableSpec, cname: str, info: ColumnInfo
) -> Built:
    """A column of an extracted table is read from the source, so it takes no generator."""
    col = table.columns[cname]
    at = ("tables", tname, "columns", cname)
    if col.generator is not None:
        return None, [
            problem_at(
                (*at, "generator"),
                f"{tname} is extracted from the source, so {cname!r} is read, not generated",
                "remove the generator",
            )
        ]
    if not spec.source:
        return None, [
            problem_at(
                ("tables", tname, "source"),
                f"{tname} is extracted but the dataset has no source",
                'add `source: {url: "${SOURCE_URL}"}` at the top of the spec',
            )
        ]
    if col.params:  # extracted columns have no generator, so no other keys
        name = next(iter(col.params))
        return None, [
            problem_at((*at, name), f"unknown field {name!r}", did_you_mean(name, COLUMN_FIELDS))
        ]
    return Extracted(None, info), []


def _foreign_key(
    tname: str, table: TableSpec, cname: str, fk: ForeignKeySpec, info: ColumnInfo, damage: Damage
) -> Built:
    """A foreign key column takes its values from the parent's keys, drawn as its mode says."""
    col = table.columns[cname]
    at = ("tables", tname, "columns", cname)
    refused = _refused_foreign_key_field(at, cname, col, fk)
    if refused is not None:
        return None, [refused]
    parent = fk.references.table
    mode = _foreign_key_mode(tname, table, fk)
    if mode == "per_parent" and col.null_ratio:
        return None, [
            problem_at(
                (*at, "null_ratio"),
                f"rows are counted per {parent}, so {cname!r} cannot be null",
                "remove null_ratio",
            )
        ]
    one_each = (  # at most one row per parent row
        mode == "per_parent"
        and (
            (table.rows.distribution == "fixed" and table.rows.value == 1)
            or (table.rows.max is not None and table.rows.max <= 1)
        )
        and len(fk.columns) == 1
    )
    if info.unique and not one_each:
        if damage.lost(tname, "rows"):
            return NOTHING  # whether it is one row per parent row is unknown
        if mode in ("sample", "distinct") and len(fk.columns) == 1:
            # one parent row each, never twice: a keyed permutation of the parent rows
            return ForeignKeyGen(fk, info, "unique", col.null_ratio), []
        return None, [
            problem_at(
                (*at, "unique") if col.unique else ("tables", tname, "primary_key"),
                f"foreign key {cname!r} repeats parent keys, so it cannot be unique on its own",
                f"for one row per {parent} row use rows: "
                f"{{per: {parent}, distribution: fixed, value: 1}} (at most one: "
                "distribution: uniform, min: 0, max: 1); otherwise "
                "add a sequence column to the key",
            )
        ]
    return ForeignKeyGen(fk, info, mode, col.null_ratio), []


def _refused_foreign_key_field(
    at: tuple, cname: str, col: ColumnSpec, fk: ForeignKeySpec
) -> Problem | None:
    """A generator or a parameter on a foreign key column: its values come from the parent."""
    if col.generator not in (None, ForeignKeyGen.name):
        return problem_at(
            (*at, "generator"),
            f"{cname!r} is a foreign key to "
            f"{fk.references.table}; it takes its values from the parent",
            "remove the generator (or the reference)",
        )
    if not col.params:
        return None
    name = next(iter(col.params))
    fk_options = set(ForeignKeySpec.model_fields) - {"columns", "references"}
    hint = (
        f"{name} belongs to the foreign key: write it under the table's foreign_keys "
        f"(- {{columns: {cname}, references: {fk.references.table}, {name}: ...}})"
        if name in fk_options
        else did_you_mean(name, ["null_ratio", "description", "references"])
    )
    return problem_at((*at, name), f"unknown field {name!r} on a foreign key column", hint)


def _foreign_key_mode(tname: str, table: TableSpec, fk: ForeignKeySpec) -> str:
    """How a foreign key picks its parent rows: one of the modes of tdm.generators.reference."""
    if fk.references.table == tname:
        return "self"
    if fk == table.per_parent_fk():
        return "per_parent"
    return "distinct" if fk.distinct_per_parent else "sample"


def _generated(
    spec: DatasetSpec, tname: str, table: TableSpec, cname: str, info: ColumnInfo, damage: Damage
) -> Built:
    """A generated column: the generator it names, built from its parameters and checked."""
    col = table.columns[cname]
    at = ("tables", tname, "columns", cname)
    cls, refused = _generator_class(at, cname, col)
    if cls is None:
        return None, refused
    try:
        params = cls.Params.model_validate(col.params)
    except ValidationError as err:
        return None, pydantic_problems(err, cls.Params, {}, at, COLUMN_FIELDS)
    gen = cls(params, info)
    if getattr(params, "per_parent", False) and table.per_parent_fk() is None:
        if per_parent_unsure(spec, tname, table, damage):
            return NOTHING
        return None, [
            problem_at(
                (*at, "per_parent"),
                f"per_parent numbering needs {tname}'s rows counted per a parent",
                "use rows: {per: <parent>, ...}, or drop per_parent",
            )
        ]
    found = [
        problem_at((*at, param) if param else at, msg, hint) for param, msg, hint in gen.problems()
    ]
    if info.unique and not cls.can_be_unique:
        found.append(
            problem_at(
                (*at, "unique"),
                f"generator {cls.name!r} cannot produce unique values by construction",
                "use sequence, uuid, pattern or another unique-capable generator",
            )
        )
    return gen, found


def _generator_class(
    at: tuple, cname: str, col: ColumnSpec
) -> tuple[type[Generator] | None, list[Problem]]:
    """The generator class a column names, or the problems when it names none that fits: then
    its keys that look like misspelt column fields are reported too (and a misspelt `generator`
    or `references` is the mistake, not the missing generator)."""
    kind = col.logical.kind
    misspelt = _misspelt_fields(col)
    said = [
        problem_at((*at, name), f"unknown field {name!r}", f'did you mean "{field}"?')
        for name, field in misspelt.items()
    ]
    if col.generator is None:
        if {"generator", "references"} & set(misspelt.values()):
            return None, said
        return None, [
            problem_at(
                at,
                f"column {cname!r} has no generator",
                f"add `generator:` — for {kind}: " + one_of(generators_for(kind)),
            ),
            *said,
        ]
    cls = REGISTRY.get(col.generator)
    if cls is None or cls.internal:
        return None, [
            problem_at(
                (*at, "generator"),
                f"unknown generator {col.generator!r}",
                did_you_mean(col.generator, REGISTRY) or one_of(generators_for(kind)),
            ),
            *said,
        ]
    if kind not in cls.types:
        return None, [
            problem_at(
                (*at, "type"),
                f"generator {cls.name!r} makes "
                f"{'/'.join(cls.types)} values, but the column type is {col.type}",
                f"change the type, or use {one_of(generators_for(kind))}",
            )
        ]
    return cls, []


def _misspelt_fields(col: ColumnSpec) -> dict[str, str]:
    """Keys of a column that no generator takes and that look like a column field: the field."""
    out = {}
    for name in col.params:
        close = difflib.get_close_matches(name, COLUMN_FIELDS, n=1, cutoff=0.6)
        if close and not any(name in g.Params.model_fields for g in REGISTRY.values()):
            out[name] = close[0]
    return out
