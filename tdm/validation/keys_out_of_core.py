"""The key checks of tdm.validation.keys on tables too big for memory: over the key columns
streamed into a Spill (tdm.validation.spill: DuckDB, spilling to disk past its memory limit),
rows with a null key already left out. Uniqueness by GROUP BY ... HAVING count(*) > 1, foreign
keys by an anti-join; the figures are those of the in-memory path: every row of a repeated key
counted, and the smallest global row indices as examples."""

from __future__ import annotations

from tdm.core.databases import quote_identifier as quote
from tdm.validation.results import EXAMPLES
from tdm.validation.spill import ROW, Spill


def duplicates(spill: Spill, name: str, columns: list[str]) -> tuple[int, list[int]]:
    """Rows of the loaded table `name` whose key occurs more than once, and a few of them."""
    keys = ", ".join(quote(c) for c in columns)
    repeated = spill.name()
    spill.execute(
        f"CREATE TABLE {repeated} AS SELECT {keys}, count(*) AS n FROM {name} "
        f"GROUP BY {keys} HAVING count(*) > 1"
    )
    try:
        count = spill.value(f"SELECT sum(n) FROM {repeated}")
        if count == 0:
            return 0, []
        on = " AND ".join(f"k.{quote(c)} = r.{quote(c)}" for c in columns)
        examples = spill.rows(
            f"SELECT k.{ROW} FROM {name} AS k SEMI JOIN {repeated} AS r ON {on} "
            f"ORDER BY k.{ROW} LIMIT {EXAMPLES}"
        )
        return count, examples
    finally:
        spill.execute(f"DROP TABLE {repeated}")


def orphans(
    spill: Spill, child: str, columns: list[str], parent: str, target: list[str]
) -> tuple[int, list[int]]:
    """Rows of the loaded table `child` whose `columns` match no row's `target` in the loaded
    table `parent` (a single-column parent key compared as the child's type, as is_in does),
    and a few of them."""
    child_types, parent_types = spill.types(child), spill.types(parent)
    terms = []
    for c, t in zip(columns, target, strict=True):
        right = f"p.{quote(t)}"
        if len(columns) == 1 and parent_types[t] != child_types[c]:
            right = f"TRY_CAST({right} AS {child_types[c]})"
        terms.append(f"c.{quote(c)} = {right}")
    found = spill.name()
    spill.execute(
        f"CREATE TABLE {found} AS SELECT c.{ROW} FROM {child} AS c "
        f"ANTI JOIN {parent} AS p ON {' AND '.join(terms)}"
    )
    try:
        count = spill.value(f"SELECT count(*) FROM {found}")
        if count == 0:
            return 0, []
        return count, spill.rows(f"SELECT {ROW} FROM {found} ORDER BY {ROW} LIMIT {EXAMPLES}")
    finally:
        spill.execute(f"DROP TABLE {found}")
