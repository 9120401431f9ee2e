"""The PostgreSQL side of a subset: the tables and foreign keys of the catalog, and the row
questions of the closure (tdm.source.subset.graph) asked in one REPEATABLE READ, READ ONLY
transaction.

A row is identified by its ctid (block, offset) packed into an int64 (block << 16 | offset):
every heap table has one, with or without a primary key, and inside one snapshot it is stable.
Row ids travel to the server as a tid[] parameter, which PostgreSQL answers with a TID scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import psycopg

from tdm.source.names import _quote
from tdm.source.subset.graph import EMPTY, Edge, Ids

CHUNK = 20_000  # row ids sent in one query
FETCH = 100_000  # result rows fetched at once


def row_id(alias: str = "") -> str:
    """SQL for the int64 id of a row of `alias` (or of the only table in FROM)."""
    tid = f"({alias + '.' if alias else ''}ctid)::text::point"
    return f"((({tid})[0]::int8 << 16) | ({tid})[1]::int8)"


def tids(ids: Ids) -> str:
    """Row ids as the text of a tid[] value."""
    return "{" + ",".join(f'"({i >> 16},{i & 0xFFFF})"' for i in ids.tolist()) + "}"


@dataclass(frozen=True)
class PgTable:
    name: str  # the spec's table
    oid: int
    sql: str  # quoted schema.table
    display: str
    kind: str  # pg_class.relkind
    key: tuple[str, ...]  # the primary key, () if none


def find_table(conn: psycopg.Connection, name: str, parts: list[str]) -> PgTable | None:
    row = conn.execute(
        "SELECT c.oid, c.relkind, n.nspname, c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
        (".".join(_quote(p) for p in parts),),
    ).fetchone()
    if row is None:
        return None
    oid, kind, schema, rel = row
    key = conn.execute(
        "SELECT array_agg(a.attname::text ORDER BY k.i) FROM pg_constraint con "
        "CROSS JOIN unnest(con.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a "
        "ON a.attrelid = con.conrelid AND a.attnum = k.n "
        "WHERE con.contype = 'p' AND con.conrelid = %s",
        (oid,),
    ).fetchone()[0]
    return PgTable(name, oid, f"{_quote(schema)}.{_quote(rel)}", f"{schema}.{rel}", kind,
                   tuple(key or ()))  # fmt: skip


def declared_edges(conn: psycopg.Connection, tables: dict[str, PgTable]) -> list[Edge]:
    """The foreign keys the catalog declares between these tables."""
    by_oid: dict[int, str] = {}
    for t in tables.values():
        by_oid.setdefault(t.oid, t.name)
    names = "SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest({keys}) WITH ORDINALITY "
    names += "k(n, i) JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n"
    rows = conn.execute(
        "SELECT con.conname, con.conrelid, con.confrelid, "
        f"({names.format(keys='con.conkey', rel='con.conrelid')}), "
        f"({names.format(keys='con.confkey', rel='con.confrelid')}) FROM pg_constraint con "
        "WHERE con.contype = 'f' AND con.conrelid = ANY(%s) AND con.confrelid = ANY(%s) "
        "ORDER BY con.conrelid, con.conname",
        (list(by_oid), list(by_oid)),
    ).fetchall()
    return [
        Edge(by_oid[child], tuple(cols), by_oid[parent], tuple(pcols), conname)
        for conname, child, parent, cols, pcols in rows
    ]


def _cols(alias: str, cols: tuple[str, ...]) -> str:
    return ", ".join(f"{alias}.{_quote(c)}" for c in cols)


def _row(alias: str, cols: tuple[str, ...]) -> str:
    """A row value to compare: (a.x, a.y), or a.x alone (which PostgreSQL plans best)."""
    return f"({_cols(alias, cols)})"


class PgRows:
    """The closure's questions (`graph.Rows`), asked on `conn` (inside the subset's snapshot).

    A lookup of rows by key values goes through an index when one starts with those columns
    (a LATERAL join, kept from being flattened by OFFSET 0, so the planner cannot swap it for a
    hash join that scans the whole table: 0.3 s a chunk on 2M rows, more in a recursive query,
    which runs it once per level); without an index, PostgreSQL plans an IN (...) semi-join."""

    def __init__(self, conn: psycopg.Connection, tables: dict[str, PgTable]):
        self.conn, self.tables = conn, tables
        self._indexes: dict[int, list[list[str | None]]] = {}

    def ids(self, sql: str, params: tuple | None = None) -> Ids:
        """The int64 first column of a query, fetched in pieces."""
        parts = []
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            while rows := cur.fetchmany(FETCH):
                parts.append(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
        return np.concatenate(parts) if parts else EMPTY

    def indexed(self, t: PgTable, cols: tuple[str, ...]) -> bool:
        """Whether an index (btree or hash, not partial) starts with these columns."""
        if t.oid not in self._indexes:
            self._indexes[t.oid] = [r[0] for r in self.conn.execute(
                "SELECT array_agg(a.attname::text ORDER BY k.i) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam "
                "CROSS JOIN unnest(i.indkey::int2[]) WITH ORDINALITY k(n, i) LEFT JOIN "
                "pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n WHERE "
                "i.indrelid = %s AND i.indisvalid AND i.indpred IS NULL AND am.amname IN "
                "('btree', 'hash') GROUP BY i.indexrelid", (t.oid,)).fetchall()]  # fmt: skip
        return any(set(names[: len(cols)]) == set(cols) for names in self._indexes[t.oid])

    def _match(self, t: PgTable, cols: tuple, keys: str, names: tuple, limit: int | None) -> str:
        """Row ids of `t` whose `cols` equal a row of the query `keys` (columns `names`), at
        most `limit` per key value (the first by `t`'s key)."""
        order = f"{_cols('x', t.key)}, x.ctid" if t.key else "x::text, x.ctid"
        if self.indexed(t, cols):
            cut = f" ORDER BY {order} LIMIT {int(limit)}" if limit is not None else ""
            return (
                f"SELECT m.rid FROM (SELECT DISTINCT * FROM ({keys}) k0) k CROSS JOIN LATERAL "
                f"(SELECT {row_id('x')} AS rid FROM {t.sql} x WHERE {_row('x', cols)} = "
                f"{_row('k', names)}{cut} OFFSET 0) m"
            )
        wanted = f"{_row('x', cols)} IN (SELECT {_cols('k', names)} FROM ({keys}) k)"
        if limit is None:
            return f"SELECT {row_id('x')} FROM {t.sql} x WHERE {wanted}"
        return (
            f"SELECT rid FROM (SELECT {row_id('x')} AS rid, row_number() OVER (PARTITION BY "
            f"{_cols('x', cols)} ORDER BY {order}) AS n FROM {t.sql} x WHERE {wanted}) s "
            f"WHERE n <= {int(limit)}"
        )

    def _step(self, t: PgTable, cols: tuple, names: tuple, out: tuple) -> str:
        """The recursive term: `out` columns of the rows of `t` whose `cols` equal a row of the
        CTE r (columns `names`)."""
        if self.indexed(t, cols):
            return (
                f"SELECT {_cols('m', out)} FROM r CROSS JOIN LATERAL (SELECT {_cols('x', out)} "
                f"FROM {t.sql} x WHERE {_row('x', cols)} = {_row('r', names)} OFFSET 0) m"
            )
        return f"SELECT {_cols('x', out)} FROM {t.sql} x JOIN r ON {_row('x', cols)} = " + _row(
            "r", names
        )

    def parents(self, edge: Edge, ids: Ids) -> Ids:
        c, p = self.tables[edge.table], self.tables[edge.parent]
        fk, pk = edge.columns, edge.parent_columns
        set_ = " AND ".join(f"{_quote(k)} IS NOT NULL" for k in fk)
        keys = f"SELECT {_cols('c', fk)} FROM {c.sql} c WHERE c.ctid = ANY(%s::tid[]) AND {set_}"
        if c.oid == p.oid:  # a self-reference: all ancestors in one recursive query
            keys = (
                f"WITH RECURSIVE r AS ({keys} UNION SELECT * FROM ({self._step(c, pk, fk, fk)}) "
                f"s WHERE {set_}) SELECT * FROM r"
            )
        sql = self._match(p, pk, keys, fk, None)
        found = [self.ids(sql, (chunk,)) for chunk in self._chunked(ids)]
        return np.concatenate(found) if found else EMPTY

    def children(self, edge: Edge, ids: Ids, limit: int | None) -> Ids:
        c, p = self.tables[edge.table], self.tables[edge.parent]
        fk, pk = edge.columns, edge.parent_columns
        keys = f"SELECT {_cols('p', pk)} FROM {p.sql} p WHERE p.ctid = ANY(%s::tid[])"
        if c.oid == p.oid and limit is None:  # a self-reference: all descendants at once
            keys = f"WITH RECURSIVE r AS ({keys} UNION {self._step(c, fk, pk, pk)}) SELECT * FROM r"
        sql = self._match(c, fk, keys, pk, limit)
        found = [self.ids(sql, (chunk,)) for chunk in self._chunked(ids)]
        return np.concatenate(found) if found else EMPTY

    def _chunked(self, ids: Ids) -> Iterator[str]:
        for s in range(0, len(ids), CHUNK):
            yield tids(ids[s : s + CHUNK])

    def xmins(self, table: str, ids: Ids) -> Ids:
        """The xmin (the writing transaction) of each row `ids`, in their order; a row that is
        not there is -1."""
        t = self.tables[table]
        out = np.full(len(ids), -1, dtype=np.int64)
        sql = f"SELECT {row_id()}, xmin::text::int8 FROM {t.sql} WHERE ctid = ANY(%s::tid[])"
        for s in range(0, len(ids), CHUNK):
            part = ids[s : s + CHUNK]
            with self.conn.cursor() as cur:
                cur.execute(sql, (tids(part),))
                rows = np.array(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
            at = np.searchsorted(part, rows[:, 0])
            out[s + at] = rows[:, 1]
        return out
