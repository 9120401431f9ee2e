"""The sound part of a spec with mistakes: what row counts and masks can still be checked on.

Once a part of a spec is wrong, what depends on it cannot be checked without reporting problems
that only follow from the mistake. So the later stages run on a copy of the spec without the
parts that were left out or have problems, and without whatever depends on them: a foreign key
whose column or parent is gone, a table counted per a parent that is gone, a key or a unique
group with a column gone. What is left is closed: every reference in it points inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tdm.core.errors import Problem
from tdm.generators import Generator
from tdm.spec.model import DatasetSpec, RowsPerParent, TableSpec
from tdm.spec.salvage import Damage

Gens = dict[str, dict[str, Generator]]


@dataclass
class _Unsound:
    tables: set[str] = field(default_factory=set)
    columns: dict[str, set[str]] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)  # tables whose primary key is unsound
    groups: set[tuple[str, int]] = field(default_factory=set)  # unique groups with a problem
    fk_entries: set[tuple[str, int]] = field(default_factory=set)  # by position in the file
    counts: set[str] = field(default_factory=set)  # tables whose row count has a problem

    def column(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, ())

    def drop_columns(self, table: str, columns: list[str]) -> bool:
        mine = self.columns.setdefault(table, set())
        new = set(columns) - mine
        mine |= new
        return bool(new)


def sound_part(
    spec: DatasetSpec,
    gens: Gens,
    damage: Damage,
    problems: list[Problem],
    counting: bool,
) -> tuple[DatasetSpec, Gens]:
    """The spec without its unsound parts, and the generators of the columns kept. `counting`:
    for row counts (tables whose rows could not be read, or that are extracted, are left out
    too, so that no source database is opened for a spec with mistakes)."""
    bad = _unsound(spec, gens, damage, problems)
    if counting:
        bad.tables |= bad.counts | {
            t for t, table in spec.tables.items() if damage.lost(t, "rows") or table.source
        }
    while _spread(spec, bad, counting):
        pass
    tables = {t: _kept(t, table, bad) for t, table in spec.tables.items() if t not in bad.tables}
    kept_gens = {t: {c: g for c, g in gens[t].items() if c in tables[t].columns} for t in tables}
    locales = {k: w for k, w in spec.locales.items() if ("locales", k) not in _places(problems)}
    return (
        spec.model_copy(update={"tables": tables, "locales": locales or {"en_US": 1.0}}),
        kept_gens,
    )


def _places(problems: list[Problem]) -> set[tuple]:
    return {p.at[:2] for p in problems if p.at}


def _unsound(spec: DatasetSpec, gens: Gens, damage: Damage, problems: list[Problem]) -> _Unsound:
    """What the problems found so far are about, and the columns that have no generator."""
    bad = _Unsound(tables=set(damage.tables))
    for t, table in spec.tables.items():
        bad.drop_columns(t, [c for c in table.columns if c not in gens.get(t, {})])
        bad.drop_columns(t, [c for (t2, c) in damage.column_fields if t2 == t])
        bad.drop_columns(t, list(damage.columns.get(t, ())))
        if damage.lost(t, "primary_key"):
            bad.keys.add(t)
    for p in problems:
        at = p.at
        if len(at) < 2 or at[0] != "tables":
            continue
        t = str(at[1])
        part = at[2] if len(at) > 2 else None
        if part == "columns" and len(at) > 3:
            bad.drop_columns(t, [str(at[3])])
        elif part in (None, "columns", "source"):
            bad.tables.add(t)
        elif part == "primary_key":
            bad.keys.add(t)
        elif part == "unique" and len(at) > 3 and isinstance(at[3], int):
            bad.groups.add((t, at[3]))
        elif part == "foreign_keys" and len(at) > 3 and isinstance(at[3], int):
            bad.fk_entries.add((t, at[3]))
        elif part == "rows":
            bad.counts.add(t)
    for t, table in spec.tables.items():
        kept = damage.fk_positions.get(t)
        for i, fk in enumerate(table.foreign_keys):
            if (t, kept[i] if kept is not None else i) in bad.fk_entries:
                bad.drop_columns(t, fk.columns)
    return bad


def _spread(spec: DatasetSpec, bad: _Unsound, counting: bool) -> bool:
    """One round of leaving out what depends on what is left out; True if anything more was."""
    more = False
    for t, table in spec.tables.items():
        if t in bad.tables:
            continue
        for fk in table.all_foreign_keys:
            parent = fk.references.table
            target = fk.references.columns or (
                spec.tables[parent].primary_key if parent in spec.tables else []
            )
            broken = (
                parent not in spec.tables
                or parent in bad.tables
                or (not fk.references.columns and parent in bad.keys)
                or any(bad.column(t, c) for c in fk.columns)
                or any(
                    bad.column(parent, c) or c not in spec.tables[parent].columns for c in target
                )
            )
            if broken:
                more |= bad.drop_columns(t, fk.columns)
        per = table.rows.per if isinstance(table.rows, RowsPerParent) else None
        gone = set(table.columns) <= bad.columns.get(t, set())
        if gone or (counting and per is not None and (per in bad.tables or per not in spec.tables)):
            bad.tables.add(t)
            more = True
    return more


def _kept(t: str, table: TableSpec, bad: _Unsound) -> TableSpec:
    """`table` without its unsound columns, and the keys and foreign keys that name them (or
    columns that were left out before)."""
    gone = bad.columns.get(t, set())
    columns = {c: col for c, col in table.columns.items() if c not in gone}

    def whole(names: list[str]) -> bool:
        return all(c in columns for c in names)

    return table.model_copy(
        update={
            "columns": columns,
            "primary_key": table.primary_key
            if t not in bad.keys and whole(table.primary_key)
            else [],
            "unique": [
                g for i, g in enumerate(table.unique) if (t, i) not in bad.groups and whole(g)
            ],
            "foreign_keys": [fk for fk in table.foreign_keys if whole(fk.columns)],
        }
    )
