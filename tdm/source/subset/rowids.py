"""Row ids of a subset, and the SQL that reads rows by them.

A row of a table is its ctid (block, offset) packed into an int64, `block << 16 | offset`
(block < 2**32): every heap table has one, with or without a primary key, and inside one
snapshot it is stable. A ctid is unique only inside one relation, so a row of a partitioned table
also carries the index of its leaf partition in the table's leaves (every level of
sub-partitioning, ordered by oid, read once in the subset's snapshot):
`leaf << 48 | block << 16 | offset`, at most 2**15 leaves, so ids stay positive and sort by leaf.

Ids travel to the server as tid[] values, which PostgreSQL answers with a TID scan: of the table,
or of each leaf partition the ids are in (a UNION ALL, one query per chunk of CHUNK ids), never
`ctid = ANY(...)` on a partitioned parent, which would match that ctid in every partition. A
query over the parent (roots, lookups by key) gets the leaf from `tableoid`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg

from tdm.source.names import _quote

CHUNK = 20_000  # row ids sent in one query
SHIFT = 48  # a partitioned table's row id: leaf << SHIFT | block << 16 | offset
MAX_LEAVES = 1 << 15
LOW = (1 << SHIFT) - 1

Piece = tuple[str, int | None, np.ndarray]  # relation (quoted), leaf index or None, row ids


@dataclass(frozen=True)
class Leaf:
    """A leaf partition of a partitioned table."""

    oid: int
    sql: str  # quoted schema.table
    display: str
    kind: str  # pg_class.relkind: 'r' has rows with a ctid; 'f' (a foreign table) has none
    readable: bool  # the source user may SELECT from it (rows are read from each leaf)


def leaves_of(conn: psycopg.Connection, oid: int) -> tuple[Leaf, ...]:
    """The leaf partitions of partitioned table `oid`, at every level, by oid; read in the
    transaction's snapshot (pg_inherits, not the catalog cache)."""
    rows = conn.execute(
        "WITH RECURSIVE tree(oid) AS (SELECT inhrelid FROM pg_inherits WHERE inhparent = %s "
        "UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree ON i.inhparent = tree.oid) "
        "SELECT c.oid::int8, c.relkind::text, n.nspname, c.relname, "
        "has_table_privilege(c.oid, 'SELECT') FROM tree JOIN pg_class c ON c.oid = tree.oid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind <> 'p' ORDER BY c.oid",
        (oid,),
    ).fetchall()
    return tuple(
        Leaf(o, f"{_quote(s)}.{_quote(r)}", f"{s}.{r}", kind, bool(ok))
        for o, kind, s, r, ok in rows
    )


def row_id(alias: str = "", leaves: Sequence[Leaf] = (), leaf: int | None = None) -> str:
    """SQL for the int64 id of a row of `alias` (or of the only table in FROM): of a plain
    table; of a partitioned one read through its parent (`leaves`: the leaf index from tableoid,
    a binary search of the oids, NULL for a partition not among them); of leaf number `leaf`."""
    at = f"{alias}." if alias else ""
    tid = f"({at}ctid)::text::point"
    low = f"((({tid})[0]::int8 << 16) | ({tid})[1]::int8)"
    if leaf is not None:
        return f"({leaf << SHIFT}::int8 | {low})"
    if not leaves:
        return low
    oids = "'{" + ",".join(str(x.oid) for x in leaves) + "}'::oid[]"
    n = f"width_bucket({at}tableoid, {oids})"
    return f"((CASE WHEN ({oids})[{n}] = {at}tableoid THEN ({n} - 1)::int8 << {SHIFT} END) | {low})"


def tids(ids: np.ndarray) -> str:
    """Row ids as the text of a tid[] value (the ctids: leaves left out)."""
    return "{" + ",".join(f'"({(i & LOW) >> 16},{i & 0xFFFF})"' for i in ids.tolist()) + "}"


def pieces(
    sql: str, leaves: Sequence[str], ids: np.ndarray, size: int = CHUNK
) -> Iterator[list[Piece]]:
    """Sorted `ids` of table `sql` in chunks of `size` ids: each chunk the relations to read
    them from, the table itself, or (`leaves`: a partitioned table's leaves) each leaf its ids
    are in, with the leaf's index."""
    if leaves and len(ids) and (ids[0] < 0 or ids[-1] >> SHIFT >= len(leaves)):
        raise AssertionError(f"{sql}: row ids out of range for {len(leaves)} partitions")
    for s in range(0, len(ids), size):
        part = ids[s : s + size]
        if not leaves:
            yield [(sql, None, part)]
            continue
        found = np.unique(part >> SHIFT)
        starts = np.searchsorted(part, found << SHIFT)
        ends = np.searchsorted(part, (found + 1) << SHIFT)
        yield [
            (leaves[i], i, part[a:b])
            for i, a, b in zip(found.tolist(), starts.tolist(), ends.tolist(), strict=True)
        ]


def by_ids(
    chunk: list[Piece], what: Callable[[str], str], alias: str, where: str = "", inline=False
) -> tuple[str, list[str]]:
    """A query of the rows of `chunk` (from `pieces`) and its tid[] parameters: SELECT
    `what(<row id SQL>)` FROM each relation AS `alias` by TID scan (`where`: more conditions,
    `inline`: ids written into the SQL, no parameters); several relations: a UNION ALL under
    the alias `alias`, with the first one's column names."""
    parts, params = [], []
    for rel, leaf, ids in chunk:
        value = f"'{tids(ids)}'" if inline else "%s"
        parts.append(
            f"SELECT {what(row_id(alias, leaf=leaf))} FROM {rel} {alias} "
            f"WHERE {alias}.ctid = ANY({value}::tid[]){where}"
        )
        if not inline:
            params.append(tids(ids))
    if len(parts) == 1:
        return parts[0], params
    return f"SELECT * FROM ({' UNION ALL '.join(parts)}) {alias}", params
