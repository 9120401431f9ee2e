"""Reading what can be read of a spec whose shape has mistakes.

Pydantic rejects a whole spec for one bad value. So that the checks after it still see the rest
in the same pass, each part that fails is left out (a table, a column, a foreign key, a table's
field) or replaced by a stand-in (a row count, the dataset name), the rest is validated again,
and `Damage` records what was left out: the checks that would need it stay silent, instead of
reporting what follows from a mistake already reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tdm.core.errors import KeyPath, Problem
from tdm.core.names import IDENTIFIER
from tdm.spec.model import DatasetSpec, TableSpec
from tdm.spec.problems import Found, errors_found, without_follow_ons

_ONE_EACH = {"distribution": "fixed", "value": 1}  # stands in for rows per a parent that failed
_PASSES = 6  # validate, repair, validate again: each pass leaves out what failed in the last


@dataclass
class Damage:
    """The parts of a spec that could not be read, so were left out or stood in for."""

    fields: set[str] = field(default_factory=set)  # top-level fields left at their default
    tables: set[str] = field(default_factory=set)  # tables left out
    table_fields: dict[str, set[str]] = field(default_factory=dict)  # rows, primary_key, ...
    columns: dict[str, set[str]] = field(default_factory=dict)  # columns left out, per table
    column_fields: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # per table whose foreign_keys lost entries: the position in the file of each entry kept
    fk_positions: dict[str, list[int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        parts = (self.fields, self.tables, self.table_fields, self.columns, self.column_fields)
        return any(parts) or bool(self.fk_positions)

    def lost(self, table: str, part: str) -> bool:
        """Whether a field of `table` (rows, primary_key, source, ...) could not be read."""
        return part in self.table_fields.get(table, ())

    def lost_column(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, ())

    def lost_column_field(self, table: str, column: str, part: str) -> bool:
        return part in self.column_fields.get((table, column), ())

    def whole(self, table: str) -> bool:
        """Nothing of `table` was left out."""
        return not (
            table in self.tables
            or self.table_fields.get(table)
            or self.columns.get(table)
            or any(t == table for t, _ in self.column_fields)
        )

    def maybe_references(self, table: str) -> bool:
        """Whether a foreign key of `table` may have been left out."""
        return bool(
            self.columns.get(table)
            or self.lost(table, "foreign_keys")
            or any(t == table and "references" in f for (t, _), f in self.column_fields.items())
        )

    def file_path(self, at: KeyPath) -> KeyPath:
        """`at` with the position of a foreign_keys entry as it is in the file."""
        if len(at) > 3 and at[0] == "tables" and at[2] == "foreign_keys":
            kept = self.fk_positions.get(str(at[1]))
            if kept is not None and isinstance(at[3], int) and at[3] < len(kept):
                return (*at[:3], kept[at[3]], *at[4:])
        return at


def salvage(
    data: dict[str, Any], lines: dict[KeyPath, int]
) -> tuple[DatasetSpec | None, Damage, list[Problem]]:
    """The spec validated from `data`, its damage and its shape problems. The spec is None when
    nothing sound is left to check (no tables, or a mistake this cannot leave out)."""
    damage, problems, typos = Damage(), [], set()
    for _ in range(_PASSES):
        try:
            return DatasetSpec.model_validate(data), damage, problems
        except ValidationError as err:
            found = errors_found(err, DatasetSpec, lines)
            shown = without_follow_ons(found, typos)
            problems += [f.problem for f in shown if not _follows(f, damage)]
            repaired = _Repair(data, damage)
            for f in sorted(found, key=_later_first):  # list entries: the last one first
                if not repaired.leave_out(f):
                    return None, damage, problems
            data = repaired.data
    return None, damage, problems


def _later_first(f: Found) -> list[tuple[bool, str | int]]:
    return [(isinstance(p, int), -p if isinstance(p, int) else p) for p in f.loc]


def _follows(f: Found, damage: Damage) -> bool:
    """Whether an error found once parts were left out only follows from leaving them out."""
    loc = f.loc
    if loc == ("tables",) and f.kind == "too_short":
        return bool(damage.tables)  # all its tables were left out
    if len(loc) == 3 and loc[0] == "tables" and loc[2] == "columns" and f.kind == "too_short":
        return bool(damage.columns.get(str(loc[1])))  # all its columns were left out
    if len(loc) == 2 and loc[0] == "tables" and f.missing == "rows":
        return damage.lost(str(loc[1]), "rows")  # `rowz:` for instance
    return False


class _Repair:
    """Leaves failing parts out of a copy of the data (containers are copied on write: YAML
    anchors share them between places)."""

    def __init__(self, data: dict[str, Any], damage: Damage):
        self.data = dict(data)
        self.damage = damage
        self.dropped: set[tuple[str, int]] = set()  # foreign_keys entries left out

    def leave_out(self, f: Found) -> bool:
        """Leave out or stand in for the part `f` is about; False when there is no such part."""
        loc, d = f.loc, self.damage
        if not loc or (loc[0] == "tables" and len(loc) == 1):
            return False
        if loc[0] != "tables":
            name = str(loc[0])
            if name == "dataset":
                self.data["dataset"] = "dataset"
            else:
                self._drop((name,))
            d.fields.add(f.typo_of or name)
            return True
        table = str(loc[1])
        value = self._get(("tables", table))
        if len(loc) == 2 and isinstance(value, dict) and f.missing == "rows":
            return self._stand_in(table, "rows", 0)
        if len(loc) == 2 and isinstance(value, dict) and f.kind == "value_error":
            self._drop(("tables", table, "rows"))  # rows and source: source wins
            d.table_fields.setdefault(table, set()).add("rows")
            return True
        if len(loc) == 2 or loc[2] == "[key]" or (loc[2] == "columns" and len(loc) == 3):
            self._drop(("tables", table))
            d.tables.add(table)
            return True
        return self._table_part(table, loc[2:], f)

    def _table_part(self, table: str, loc: KeyPath, f: Found) -> bool:
        d, part = self.damage, str(loc[0])
        if part == "columns":
            column = str(loc[1])
            if len(loc) == 2 or loc[2] in ("[key]", "type", "references"):
                self._drop(("tables", table, "columns", column))
                d.columns.setdefault(table, set()).add(column)
            else:
                self._drop(("tables", table, "columns", column, str(loc[2])))
                d.column_fields.setdefault((table, column), set()).add(str(loc[2]))
            return True
        if part == "rows":
            rows = self._get(("tables", table, "rows"))
            per = rows.get("per") if isinstance(rows, dict) else None
            if isinstance(per, str) and _is_name(per):
                return self._stand_in(table, "rows", {"per": per, **_ONE_EACH})
            return self._stand_in(table, "rows", 0)
        if part == "source":
            return self._stand_in(table, "source", True)
        if part == "foreign_keys" and len(loc) > 1 and isinstance(loc[1], int):
            return self._drop_foreign_key(table, loc[1])
        self._drop(("tables", table, part))
        if part in TableSpec.model_fields or f.typo_of:  # an unknown field: nothing needs it
            d.table_fields.setdefault(table, set()).add(f.typo_of or part)
        return True

    def _drop_foreign_key(self, table: str, i: int) -> bool:
        entries = self._get(("tables", table, "foreign_keys"))
        if not isinstance(entries, list) or i >= len(entries):
            return False
        if (table, i) in self.dropped:
            return True  # another mistake of the same entry
        self.dropped.add((table, i))
        kept = self.damage.fk_positions.setdefault(table, list(range(len(entries))))
        columns = entries[i].get("columns") if isinstance(entries[i], dict) else None
        for name in [columns] if isinstance(columns, str) else columns or []:
            if isinstance(name, str):
                self.damage.column_fields.setdefault((table, name), set()).add("references")
        self._set(("tables", table, "foreign_keys"), entries[:i] + entries[i + 1 :])
        del kept[i]
        return True

    def _stand_in(self, table: str, part: str, value: Any) -> bool:
        self._set(("tables", table, part), value)
        self.damage.table_fields.setdefault(table, set()).add(part)
        return True

    def _get(self, at: KeyPath) -> Any:
        current: Any = self.data
        for key in at:
            found = isinstance(current, dict) and key in current
            found = found or (
                isinstance(current, list) and isinstance(key, int) and key < len(current)
            )
            if not found:
                return None
            current = current[key]
        return current

    def _set(self, at: KeyPath, value: Any, drop: bool = False) -> None:
        parent: Any = self.data
        for key in at[:-1]:
            child = parent.get(key) if isinstance(parent, dict) else None
            if not isinstance(child, dict):
                return
            parent[key] = child = dict(child)  # copy on write
            parent = child
        if drop:
            parent.pop(at[-1], None)
        else:
            parent[at[-1]] = value

    def _drop(self, at: KeyPath) -> None:
        self._set(at, None, drop=True)


def _is_name(text: str) -> bool:
    return re.fullmatch(IDENTIFIER, text) is not None
