"""Checks of a spec's references: foreign keys and their targets, and cycles that cannot load."""

from __future__ import annotations

from tdm.core.errors import Problem, did_you_mean, one_of, problem_at
from tdm.generators import Generator
from tdm.spec.model import DatasetSpec, ForeignKeySpec, RowsPerParent, TableSpec

Gens = dict[str, dict[str, Generator]]


def check_references(spec: DatasetSpec, gens: Gens) -> list[Problem]:
    out = []
    for tname, table in spec.tables.items():
        for i, fk in enumerate(table.all_foreign_keys):
            out += _check_fk(spec, gens, tname, table, fk, i)
    return out


def _fk_at(table: TableSpec, fk: ForeignKeySpec, tname: str, i: int) -> tuple:
    if i < len(table.foreign_keys):
        return ("tables", tname, "foreign_keys", i)
    return ("tables", tname, "columns", fk.columns[0], "references")


def _check_fk(
    spec: DatasetSpec, gens: Gens, tname: str, table: TableSpec, fk: ForeignKeySpec, i: int
) -> list[Problem]:
    """The problems of one foreign key: the first mistake in what it points at, else those of
    its column pairs and its options."""
    at = _fk_at(table, fk, tname, i)
    if not set(fk.columns) <= set(table.columns):
        return []  # reported by _check_keys
    wrong = _parent_problem(spec, tname, table, fk, at)
    if wrong is not None:
        return [wrong]
    parent = spec.tables[fk.references.table]
    wrong = _target_problem(parent, fk, at)
    if wrong is not None:
        return [wrong]
    return [
        *_column_pair_problems(gens, tname, table, parent, fk, at),
        *_option_problems(table, fk, at),
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
            f"{len(fk.columns)} column(s) {fk.columns} reference {len(target)} "
            f"column(s) {target} of {ref.table}",
            "list as many columns on each side",
        )
    keyed = [parent.primary_key, *parent.unique] + [
        [c] for c in parent.columns if parent.columns[c].unique
    ]
    if sorted(target) not in [sorted(k) for k in keyed]:
        return problem_at(
            at,
            f"{ref.table}({', '.join(target)}) is neither its primary key nor unique",
            f"reference {ref.table}'s primary key {parent.primary_key}",
        )
    return None


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
                    "referenced: its values are not derived from the row index",
                    "reference a key made by sequence, uuid, or a unique pattern",
                )
            )
    return out


def _option_problems(table: TableSpec, fk: ForeignKeySpec, at: tuple) -> list[Problem]:
    """Options of the key as a whole: one null_ratio for all its columns, distinct_per_parent."""
    out = []
    ratios = {table.columns[c].null_ratio for c in fk.columns}
    if len(ratios) > 1:
        out.append(
            problem_at(
                at,
                "columns of one foreign key have different null_ratio",
                "give them all the same null_ratio",
            )
        )
    if fk.distinct_per_parent:
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
