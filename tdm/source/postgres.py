"""The PostgreSQL backend: psycopg 3 connections (read-only, UTC session), catalog lookups,
type checks, keyset bounds, COPY ... TO STDOUT (FORMAT csv) reads, sampling and fingerprints."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import psycopg
import psycopg.sql
import pyarrow as pa

from tdm.core.databases import connect_hint, one_line, psycopg_params
from tdm.core.errors import TdmError
from tdm.core.types import LogicalType
from tdm.source.backend import _Backend, _ConnectError
from tdm.source.copy_csv import _parse_csv, _parse_type, _pg_expr
from tdm.source.names import _Column, _quote, _Relation, _Target
from tdm.source.snapshot import adopt, begin, hold

PIECE_BYTES = 8 << 20  # CSV parsed per piece while the next arrives
SAMPLE_SEED = 20260101  # TABLESAMPLE ... REPEATABLE(seed): the same sample for the same rows
# PostgreSQL type categories (pg_type.typcategory) a logical kind can be read from. Strings can
# be read as anything (the cast checks each value); anything can be read as a string.
_PG_CATEGORIES = {
    "int": "NS",
    "float": "NS",
    "decimal": "NS",
    "bool": "BS",
    "date": "DS",
    "timestamp": "DS",
    "uuid": "S",
    "json": "S",
}
_PG_TYPES = {"uuid": ("uuid",), "json": ("json", "jsonb")}
# Relations that have xmin (rows are tuples of their own): tables, partitioned, materialized.
_PG_HEAP_KINDS = {"r": "table", "p": "partitioned table", "m": "materialized view"}
_PG_KINDS = {**_PG_HEAP_KINDS, "v": "view", "f": "foreign table"}


class _Postgres(_Backend):
    def __init__(self, url, source_url: str):
        super().__init__(url, source_url)
        self.params = psycopg_params(url, "tdm-extract")
        self._conn = None
        self._pid = None
        self.snapshot: str | None = None  # an exported snapshot every read sees (snapshot.py)

    def use_snapshot(self, snapshot_id: str | None) -> None:
        if snapshot_id != self.snapshot:
            self.close()
            self.snapshot = snapshot_id

    def hold(self) -> str:
        try:
            return hold(self.params)
        except psycopg.Error as e:
            raise _ConnectError(self._connect_failure(e)) from None

    def conn(self):
        c = self._conn
        if c is not None and self._pid == os.getpid() and not c.closed and not c.broken:
            if self.snapshot is None:
                return c
            status = c.info.transaction_status
            if status == psycopg.pq.TransactionStatus.INTRANS:
                return c
            if status == psycopg.pq.TransactionStatus.INERROR:  # a failed query: start again
                c.execute("ROLLBACK")
            begin(c, self.snapshot)
            return c
        if c is not None and self._pid != os.getpid():
            _ORPHANS.append(c)  # a forked copy: never close the parent's session from here
        self._conn = None
        try:
            c = psycopg.connect(**self.params, autocommit=True)
        except psycopg.Error as e:
            raise _ConnectError(self._connect_failure(e)) from None
        # Read-only, UTC, ISO dates, shortest exact floats: what the CSV parsing expects.
        c.execute(
            "SELECT set_config('default_transaction_read_only', 'on', false), "
            "set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false), "
            "set_config('extra_float_digits', '3', false), "
            "set_config('IntervalStyle', 'iso_8601', false)"
        )
        if self.snapshot is not None:
            try:
                begin(c, self.snapshot)
            except BaseException:
                c.close()
                raise
            adopt(c)
        self._conn, self._pid = c, os.getpid()
        return c

    def _connect_failure(self, e: Exception) -> str:
        msg = self.safe(one_line(str(e)))
        hint = connect_hint(msg, "source.url")
        return f"cannot connect to the source database {self.display_url}: {msg} ({hint})"

    def fetch(self, sql: str) -> list[tuple]:
        return self.conn().execute(sql).fetchall()

    def keyset(self, key: tuple[str, ...], bound: tuple) -> str:
        conn = self.conn()
        values = ", ".join(psycopg.sql.Literal(v).as_string(conn) for v in bound)
        cols = ", ".join(_quote(k) for k in key)
        return f"({cols}) >= ({values})" if len(key) > 1 else f"{cols} >= {values}"

    def select(self, sql_from: str, names: list[str], kinds: list[LogicalType]) -> list[pa.Array]:
        exprs = ", ".join(_pg_expr(_quote(n), k) for n, k in zip(names, kinds, strict=True))
        query = f"COPY (SELECT {exprs}{sql_from}) TO STDOUT (FORMAT csv)"
        # Each CopyData message from the server is one whole row, so the stream can be cut
        # between any two messages: parse full pieces on a thread (Arrow releases the GIL) while
        # the next piece arrives.
        parts, buf = [], bytearray()
        with ThreadPoolExecutor(1) as pool:
            with self.conn().cursor() as cur, cur.copy(query) as copy:
                for chunk in copy:
                    buf += chunk
                    if len(buf) >= PIECE_BYTES:
                        parts.append(pool.submit(_parse_csv, bytes(buf), kinds))
                        buf = bytearray()
            if buf or not parts:
                parts.append(pool.submit(_parse_csv, bytes(buf), kinds))
            pieces = [p.result() for p in parts]
        if len(pieces) == 1:
            return pieces[0]
        return [
            pa.chunked_array([c for p in pieces for c in p[i].chunks], type=_parse_type(k))
            for i, k in enumerate(kinds)
        ]

    def relation(self, parts: list[str]) -> _Relation | None:
        regname = ".".join(_quote(p) for p in parts)
        rows = self.fetch_params(
            "SELECT c.oid, c.relkind, n.nspname, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            (regname,),
        )
        if not rows or rows[0][1] not in _PG_KINDS:
            return None
        oid, relkind, schema, relname = rows[0]
        cols = self.fetch_params(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, t.typname, "
            "a.attnotnull FROM pg_attribute a JOIN pg_type d ON d.oid = a.atttypid "
            "JOIN pg_type t ON t.oid = CASE WHEN d.typtype = 'd' THEN d.typbasetype ELSE d.oid END "
            "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (oid,),
        )
        columns = {
            n: _Column(n, typ, f"{cat}:{tname}", bool(nn)) for n, typ, cat, tname, nn in cols
        }
        return _Relation(
            sql=f"{_quote(schema)}.{_quote(relname)}",
            display=f"{schema}.{relname}",
            kind=_PG_KINDS[relkind],
            columns=columns,
            heap=relkind in _PG_HEAP_KINDS,
        )

    def fetch_params(self, sql: str, params: tuple) -> list[tuple]:
        return self.conn().execute(sql, params).fetchall()

    def relation_names(self) -> list[str]:
        try:
            rows = self.fetch(
                "SELECT n.nspname, c.relname, pg_table_is_visible(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN "
                "('r','p','v','m','f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg_toast%'"
            )
        except Exception:  # only for a hint
            return []
        return [r for s, n, visible in rows for r in ([n, f"{s}.{n}"] if visible else [f"{s}.{n}"])]

    def check_type(self, target: _Target, column: str, logical: LogicalType) -> None:
        col = target.rel.columns[column]
        category, typname = col.category.split(":", 1)
        if logical.kind == "string" or typname in _PG_TYPES.get(logical.kind, ()):
            return
        if category in _PG_CATEGORIES[logical.kind]:
            return
        raise TdmError(
            f"{target.about}: column {column!r} is {col.type} in the source, which cannot be read "
            f"as {logical}; change its type in the spec (e.g. string) or cast it in a source view"
        )

    def tablesample(self, target: _Target, limit: int) -> str | None:
        if target.rel.kind not in ("table", "materialized view", "partitioned table"):
            return None
        total = self.fetch(f"SELECT COUNT(*) FROM {target.rel.sql}{target.filter()}")[0][0]
        if total <= limit:
            return None
        percent = min(100.0, 100.0 * limit * 1.5 / total + 0.01)
        return f"TABLESAMPLE BERNOULLI ({percent:.6f}) REPEATABLE ({SAMPLE_SEED})"

    def state(self, target: _Target, columns: list[str]) -> dict:
        if target.rel.heap:
            hashed = "xmin::text"
            basis = "xmin"
        else:
            hashed = "ROW(" + ", ".join(_quote(c) for c in columns) + ")::text"
            basis = "rows"
        rel = target.rel.sql
        count, total = self.fetch(
            f"SELECT COUNT(*), SUM(hashtextextended({hashed}, 0)) FROM {rel}{target.filter()}"
        )[0]
        first = self.fetch(
            f"SELECT {target.key_list()} FROM {rel}{target.filter()} ORDER BY {target.order()} "
            "LIMIT 1"
        )
        last = self.fetch(
            f"SELECT {target.key_list()} FROM {rel}{target.filter()} "
            f"ORDER BY {target.order(descending=True)} LIMIT 1"
        )
        return {
            "rows": count,
            "first": [str(v) for v in first[0]] if first else None,
            "last": [str(v) for v in last[0]] if last else None,
            "hash": f"{basis}:{total}",
        }

    def describe(self, error: Exception) -> tuple[str, str] | None:
        if not isinstance(error, psycopg.Error):
            if isinstance(error, pa.ArrowInvalid | pa.ArrowNotImplementedError):
                return "data", one_line(str(error))
            return None
        diag = getattr(error, "diag", None)
        message = one_line((diag.message_primary if diag else None) or str(error))
        state = getattr(error, "sqlstate", None) or ""
        if isinstance(error, psycopg.OperationalError) and not state:
            return "connection", message
        if state.startswith("08") or state.startswith("57P"):
            return "connection", message
        if state == "42P01":
            return "missing", message
        if state == "42501":
            return "privilege", message
        if state.startswith("22"):
            return "data", message
        if state.startswith("42") or state == "25006":
            return "where", message
        return "other", message

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None


_ORPHANS: list = []  # connections inherited through fork: kept alive, never closed by the child
