"""Checks of a spec's references: foreign keys and their targets. A reference to a part of the
spec that could not be read (`Damage`) is not checked: its mistake is reported already."""

from __future__ import annotations

from tdm.core.errors import Problem, did_you_mean, one_of, problem_at
from tdm.generators import Generator
from tdm.spec.model import DatasetSpec, ForeignKeySpec, RowsPerParent, TableSpec
from tdm.spec.salvage import Damage

Gens = dict[str, dict[str, Generator]]


def check_references(spec: DatasetSpec, gens: Gens, damage: Damage | None = None) -> list[Problem]:
    damage = Damage() if damage is None else damage
    out = []
    for tname, table in spec.tables.items():
        for i, fk in enumerate(table.all_foreign_keys):
            out += _check_fk(spec, gens, tname, table, fk, i, damage)
    return out


def per_parent_unsure(spec: DatasetSpec, tname: str, table: TableSpec, damage: Damage) -> bool:
    """Whether the parent a table is counted per, or its foreign key to it, may be hidden by a
    mistake reported already: rows that could not be read, a parent table that does not exist,
    a foreign key that could not be read or that names an unknown table, a misspelt
    `references`."""
    per = table.rows.per if isinstance(table.rows, RowsPerParent) else None
    return (
        damage.lost(tname, "rows")
        or (per is not None and per not in spec.tables)
        or damage.maybe_references(tname)
        or any(fk.references.table not in spec.tables for fk in table.all_foreign_keys)
        or any(did_you_mean(p, ["references"]) for c in table.columns.values() for p in c.params)
    )


def _fk_at(table: TableSpec, fk: ForeignKeySpec, tname: str, i: int, damage: Damage) -> tuple:
    if i < len(table.foreign_keys):
        return damage.file_path(("tables", tname, "foreign_keys", i))
    return ("tables", tname, "columns", fk.columns[0], "references")


def _check_fk(
    spec: DatasetSpec,
    gens: Gens,
    tname: str,
    table: TableSpec,
    fk: ForeignKeySpec,
    i: int,
    damage: Damage,
) -> list[Problem]:
    """The problems of one foreign key: the first mistake in what it points at, else those of
    its column pairs and its options."""
    at = _fk_at(table, fk, tname, i, damage)
    ptable = fk.references.table
    if not set(fk.columns) <= set(table.columns) or ptable in damage.tables:
        return []  # reported by _check_keys, or the parent could not be read
    wrong = _parent_problem(spec, tname, table, fk, at)
    if wrong is not None:
        return [wrong]
    parent = spec.tables[ptable]
    target = _target(parent, fk)
    if any(damage.lost_column(ptable, c) for c in target) or (
        not fk.references.columns and damage.lost(ptable, "primary_key")
    ):
        return []  # what it points at could not be read
    wrong = _target_problem(parent, fk, at)
    if wrong is not None:
        unsure = any(damage.lost_column_field(ptable, c, "unique") for c in target)
        return [] if unsure or damage.lost(ptable, "unique") else [wrong]
    return [
        *_column_pair_problems(gens, tname, table, parent, fk, at),
        *_option_problems(tname, table, fk, at, damage),
    ]


def _target(parent: TableSpec, fk: ForeignKeySpec) -> list[str]:
    """The parent's columns a foreign key points at: those it names, else the primary key."""
    return fk.references.columns or parent.primary_key


def _parent_problem(
    spec: DatasetSpec, tname: str, table: TableSpec, fk: ForeignKeySpec, at: tuple
) -> Problem | None:
    """An unknown parent table, or one extracted for a generated child (or the reverse)."""
    ref = fk.references
    parent = spec.tables.get(ref.table)
    if parent is None:
        return problem_at(
            at,
            f"references unknown table {ref.table!r}",
            did_you_mean(ref.table, spec.tables) or one_of(spec.tables),
        )
    if (table.source is None) != (parent.source is None):
        kinds = ("extracted", "generated") if table.source else ("generated", "extracted")
        return problem_at(
            at,
            f"{tname} is {kinds[0]} but {ref.table} is {kinds[1]}: their keys cannot match",
            "extract both tables or generate both",
        )
    return None


def _target_problem(parent: TableSpec, fk: ForeignKeySpec, at: tuple) -> Problem | None:
    """Parent columns that are missing, too few or too many, or not a key of the parent."""
    ref, target = fk.references, _target(parent, fk)
    if not target:
        return problem_at(
            at,
            f"{ref.table} has no primary key to reference",
            f"name the columns, e.g. {ref.table}.id, or give {ref.table} a primary key",
        )
    missing = [c for c in target if c not in parent.columns]
    if missing:
        return problem_at(
            at,
            f"{ref.table} has no column {missing[0]!r}",
            did_you_mean(missing[0], parent.columns),
        )
    if len(target) != len(fk.columns):
        return problem_at(
            at,
            f"{_columns(fk.columns)} reference {_columns(target)} of {ref.table}",
            "list as many columns on each side",
        )
    keyed = [parent.primary_key, *parent.unique] + [
        [c] for c in parent.columns if parent.columns[c].unique
    ]
    if sorted(target) not in [sorted(k) for k in keyed]:
        return problem_at(
            at,
            f"{ref.table}({', '.join(target)}) is neither its primary key nor unique",
            f"reference {ref.table}'s primary key ({', '.join(parent.primary_key)})"
            if parent.primary_key
            else f"make {ref.table}({', '.join(target)}) unique, or give {ref.table} a primary key",
        )
    return None


def _columns(names: list[str]) -> str:
    return f"{len(names)} column{'s' if len(names) != 1 else ''} ({', '.join(names)})"


def _column_pair_problems(
    gens: Gens, tname: str, table: TableSpec, parent: TableSpec, fk: ForeignKeySpec, at: tuple
) -> list[Problem]:
    """Each child column against its parent column: the same type, a key made from the index."""
    ref, out = fk.references, []
    for child_col, parent_col in zip(fk.columns, _target(parent, fk), strict=True):
        ct, pt = table.columns[child_col].logical, parent.columns[parent_col].logical
        if ct != pt:
            out.append(
                problem_at(
                    ("tables", tname, "columns", child_col, "type"),
                    f"{child_col} is {ct} but references {ref.table}.{parent_col} of type {pt}",
                    f"declare {child_col} as {pt}",
                )
            )
        pgen = gens.get(ref.table, {}).get(parent_col)
        if (
            pgen is not None
            and not (pgen.index_based or pgen.reproducible)
            and table.source is None
        ):
            out.append(
                problem_at(
                    at,
                    f"{ref.table}.{parent_col} (generator {pgen.name}) cannot be "
                    f"referenced: a foreign key computes its parent's key for a chosen parent "
                    f"row, and {pgen.name} values cannot be computed that way",
                    "reference a key made by sequence, uuid, or a unique pattern",
                )
            )
    return out


def _option_problems(
    tname: str, table: TableSpec, fk: ForeignKeySpec, at: tuple, damage: Damage
) -> list[Problem]:
    """Options of the key as a whole: one null_ratio for all its columns, distinct_per_parent."""
    out = []
    ratios = {table.columns[c].null_ratio for c in fk.columns}
    lost = any(damage.lost_column_field(tname, c, "null_ratio") for c in fk.columns)
    if len(ratios) > 1 and not lost:
        out.append(
            problem_at(
                at,
                "columns of one foreign key have different null_ratio",
                "give them all the same null_ratio",
            )
        )
    if fk.distinct_per_parent and not damage.lost(tname, "rows"):
        rows = table.rows
        if not isinstance(rows, RowsPerParent) or rows.per == fk.references.table:
            out.append(
                problem_at(
                    at,
                    "distinct_per_parent needs rows per another parent",
                    "e.g. rows: {per: orders, ...} and this key distinct per order",
                )
            )
    return out
