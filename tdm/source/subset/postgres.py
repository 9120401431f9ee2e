"""The PostgreSQL side of a subset: the tables and foreign keys of the catalog, and the row
questions of the closure (tdm.source.subset.graph) asked in one REPEATABLE READ, READ ONLY
transaction. Rows are identified by row ids (tdm.source.subset.rowids): ctids, and for a
partitioned table the leaf partition too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg

from tdm.core.errors import TdmError
from tdm.source.names import _quote
from tdm.source.subset.graph import EMPTY, Edge, Ids
from tdm.source.subset.rowids import Leaf, by_ids, leaves_of, pieces, row_id

FETCH = 100_000  # result rows fetched at once


@dataclass(frozen=True)
class PgTable:
    name: str  # the spec's table
    oid: int
    sql: str  # quoted schema.table
    display: str
    kind: str  # pg_class.relkind
    key: tuple[str, ...]  # the primary key, () if none
    leaves: tuple[Leaf, ...] = ()  # a partitioned table's leaf partitions, by oid

    @property
    def leaf_sql(self) -> tuple[str, ...]:
        return tuple(x.sql for x in self.leaves)


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
    leaves = leaves_of(conn, oid) if kind == "p" else ()
    return PgTable(name, oid, f"{_quote(schema)}.{_quote(rel)}", f"{schema}.{rel}", kind,
                   tuple(key or ()), leaves)  # fmt: skip


def declared_edges(conn: psycopg.Connection, tables: dict[str, PgTable]) -> list[Edge]:
    """The foreign keys the catalog declares between these tables: a partitioned table's own
    (not the copies PostgreSQL clones onto each partition, conparentid <> 0), and any declared
    on one of its leaf partitions alone, followed for the whole table."""
    by_oid: dict[int, str] = {}
    for t in tables.values():
        by_oid.setdefault(t.oid, t.name)
    for t in tables.values():
        for leaf in t.leaves:
            by_oid.setdefault(leaf.oid, t.name)
    names = "SELECT array_agg(a.attname::text ORDER BY k.i) FROM unnest({keys}) WITH ORDINALITY "
    names += "k(n, i) JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.n"
    rows = conn.execute(
        "SELECT con.conname, con.conrelid, con.confrelid, "
        f"({names.format(keys='con.conkey', rel='con.conrelid')}), "
        f"({names.format(keys='con.confkey', rel='con.confrelid')}) FROM pg_constraint con "
        "WHERE con.contype = 'f' AND con.conparentid = 0 AND con.conrelid = ANY(%s) "
        "AND con.confrelid = ANY(%s) "
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

    def ids(self, sql: str, params: tuple | list | None = None) -> Ids:
        """The int64 first column of a query, fetched in pieces."""
        parts = []
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            while rows := cur.fetchmany(FETCH):
                try:
                    got = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
                except TypeError:  # a NULL id: a row of a partition not among the leaves read
                    raise TdmError(
                        "a partition was attached while the subset was being chosen (a row of "
                        "a partition that was not in its snapshot's catalog); run again"
                    ) from None
                parts.append(got)
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
        rid, at = row_id("x", t.leaves), "x.tableoid, x.ctid" if t.leaves else "x.ctid"
        order = f"{_cols('x', t.key)}, {at}" if t.key else f"x::text, {at}"
        if self.indexed(t, cols):
            cut = f" ORDER BY {order} LIMIT {int(limit)}" if limit is not None else ""
            return (
                f"SELECT m.rid FROM (SELECT DISTINCT * FROM ({keys}) k0) k CROSS JOIN LATERAL "
                f"(SELECT {rid} AS rid FROM {t.sql} x WHERE {_row('x', cols)} = "
                f"{_row('k', names)}{cut} OFFSET 0) m"
            )
        wanted = f"{_row('x', cols)} IN (SELECT {_cols('k', names)} FROM ({keys}) k)"
        if limit is None:
            return f"SELECT {rid} FROM {t.sql} x WHERE {wanted}"
        return (
            f"SELECT rid FROM (SELECT {rid} AS rid, row_number() OVER (PARTITION BY "
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
        found = []
        for chunk in pieces(c.sql, c.leaf_sql, ids):
            keys, params = by_ids(chunk, lambda _: _cols("c", fk), "c", f" AND {set_}")
            if c.oid == p.oid:  # a self-reference: all ancestors in one recursive query
                keys = (
                    f"WITH RECURSIVE r AS ({keys} UNION SELECT * FROM "
                    f"({self._step(c, pk, fk, fk)}) s WHERE {set_}) SELECT * FROM r"
                )
            found.append(self.ids(self._match(p, pk, keys, fk, None), params))
        return np.concatenate(found) if found else EMPTY

    def children(self, edge: Edge, ids: Ids, limit: int | None) -> Ids:
        c, p = self.tables[edge.table], self.tables[edge.parent]
        fk, pk = edge.columns, edge.parent_columns
        found = []
        for chunk in pieces(p.sql, p.leaf_sql, ids):
            keys, params = by_ids(chunk, lambda _: _cols("p", pk), "p")
            if c.oid == p.oid and limit is None:  # a self-reference: all descendants at once
                keys = f"WITH RECURSIVE r AS ({keys} UNION {self._step(c, fk, pk, pk)}) " + (
                    "SELECT * FROM r"
                )
            found.append(self.ids(self._match(c, fk, keys, pk, limit), params))
        return np.concatenate(found) if found else EMPTY

    def xmins(self, table: str, ids: Ids) -> Ids:
        """The xmin (the writing transaction) of each row `ids`, in their order; a row that is
        not there is -1."""
        t = self.tables[table]
        out = np.full(len(ids), -1, dtype=np.int64)
        s = 0
        for chunk in pieces(t.sql, t.leaf_sql, ids):
            part = np.concatenate([piece[2] for piece in chunk])
            sql, params = by_ids(chunk, lambda rid: f"{rid}, x.xmin::text::int8", "x")
            with self.conn.cursor() as cur:
                cur.execute(sql, params)
                rows = np.array(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
            out[s + np.searchsorted(part, rows[:, 0])] = rows[:, 1]
            s += len(part)
        return out
