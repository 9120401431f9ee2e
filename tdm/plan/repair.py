"""Rows made to hold what the database will check: strings cut to their `sql_type` length, and
rows that break a table's `check:` drawn again.

A failing row's checked columns (and the columns computed from them) are drawn again from a
stream salted with the attempt number, until every check holds or MAX_REDRAWS attempts are used.
A row's values stay a pure function of (spec, seed, table, row index): whether a row is redrawn
depends on its own values only, never on the batch it is in. Keys, unique and foreign-key
columns are never redrawn (that would break what holds by construction).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.checks import columns_of, failing
from tdm.core.errors import TdmError
from tdm.generators.base import Generator
from tdm.generators.reference import ForeignKeyGen
from tdm.spec.model import TableSpec

MAX_REDRAWS = 64


def only_when(table: TableSpec, row: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Columns with `when:` made NULL on the rows where their condition is false or NULL. A
    condition may read another `when:` column: they are evaluated again on the NULLs made, until
    none is added (at most once per condition, as NULLs are only ever added)."""
    conditions = {c: col.when for c, col in table.columns.items() if col.when}
    nulls = {c: 0 for c in conditions}
    for _ in range(len(conditions)):
        data = pa.table(row)
        off = failing(data, {c: f"coalesce(({w}), false)" for c, w in conditions.items()})
        changed = False
        for c, rows in off.items():
            if len(rows) > nulls[c]:
                mask = np.zeros(data.num_rows, dtype=bool)
                mask[rows] = True
                row[c] = pc.if_else(pa.array(mask), pa.nulls(len(mask), row[c].type), row[c])
                nulls[c], changed = len(rows), True
        if not changed:
            break
    return row


def redrawable(table: TableSpec, gens: dict[str, Generator]) -> set[str]:
    """Columns a failing row may draw again: not keys (unique by construction), not foreign
    keys, and not `when:` columns or the columns their conditions read."""
    keys = set(table.primary_key) | {c for u in table.unique for c in u}
    for c, col in table.columns.items():
        if col.when:
            keys |= {c, *columns_of(col.when)}
    return {
        c
        for c, g in gens.items()
        if not isinstance(g, ForeignKeyGen) and not g.info.unique and c not in keys
    }


def repair(
    tname: str,
    table: TableSpec,
    gens: dict[str, Generator],
    row: dict[str, pa.Array],
    redraw: Callable[[str, int, dict[str, pa.Array]], pa.Array],
    failed: dict[str, np.ndarray] | None = None,
) -> dict[str, pa.Array]:
    """`row` with every failing row of the table's checks drawn again; `redraw(column, attempt,
    row)` gives a whole batch of the column from the salted stream. `failed` gets, per check,
    the rows (positions in the batch) that failed it at their first draw."""
    if not table.check:
        return row
    free = redrawable(table, gens)
    reads = {name: set(columns_of(expr)) for name, expr in table.check.items()}
    for attempt in range(1, MAX_REDRAWS + 1):
        bad = failing(pa.table(row), dict(table.check))
        bad = {name: rows for name, rows in bad.items() if len(rows)}
        if not bad:
            return row
        if failed is not None and attempt == 1:
            failed.update({name: np.asarray(rows, dtype=np.int64) for name, rows in bad.items()})
        n = len(next(iter(row.values())))
        masks: dict[str, np.ndarray] = {}  # per column: the rows failing a check that reads it
        for name, rows in bad.items():
            for c in reads[name] & free:
                masks.setdefault(c, np.zeros(n, dtype=bool))[rows] = True
        if not masks:
            break
        for c in [c for c in gens if c in _with_dependents(set(masks), gens)]:  # in order
            mask = masks.get(c)
            if mask is None:  # computed from redrawn columns: redrawn where they were
                mask = np.logical_or.reduce([masks[d] for d in gens[c].depends_on() if d in masks])
                masks[c] = mask
            row[c] = pc.if_else(pa.array(mask), redraw(c, attempt, row), row[c])
    broken = "; ".join(
        f"{len(rows)} rows still break check {name} ({table.check[name]})"
        for name, rows in sorted(bad.items(), key=lambda kv: -len(kv[1]))
    )
    raise TdmError(
        f"table {tname}: {broken}, after {MAX_REDRAWS} draws; give its columns generators "
        "whose values satisfy it (e.g. choice values, min/max within its bounds)"
    )


def _with_dependents(columns: set[str], gens: dict[str, Generator]) -> set[str]:
    out = set(columns)
    changed = True
    while changed:
        changed = False
        for c, g in gens.items():
            if c not in out and out & set(g.depends_on()) and not isinstance(g, ForeignKeyGen):
                out.add(c)
                changed = True
    return out
