"""Reading extracted tables from a source database, in independent batches.

A spec may declare `source: {url: "${SOURCE_URL}"}` and, per table, `source: {table, where, key}`
instead of generators. `SourceReader` reads such a table the way generation partitions a
generated one: batch k holds rows [k*batch_size, (k+1)*batch_size) in key order, and every batch
is read on its own, in any order, on any process, with no cursor shared between batches:

    probe:  SELECT key FROM t WHERE (where) ORDER BY key LIMIT 2 OFFSET start-1
    read:   SELECT cols FROM t WHERE (where) AND (key) >= (<key of row start>)
            ORDER BY key LIMIT stop-start

The probe walks the key index only (an index-only scan once the table is vacuumed; with a
`where` on other columns it must visit those rows too); the read is a range scan of that index.
The probe costs O(start): about 0.1 s at row 1,000,000 here, so batch k of n costs more than
batch 0, and many small batches of a big table cost O(rows**2 / batch_size) in probes: prefer
large batches for big extracted tables. Composite keys use row-value comparison,
`(a, b) >= (x, y)`, which PostgreSQL and SQLite answer from a btree on (a, b). ORDER BY names the
source columns (qualified), so rows come in the source's key order whatever the spec types.

The key is `source.key`, else the table's primary key; it must be unique and not null in the
source (a duplicate or a NULL is reported as soon as a count or a batch meets it, instead of
silently duplicating or losing rows at a batch boundary).

PostgreSQL 11+ (postgresql://, postgresql+psycopg://, ...) is read through psycopg 3 with
`COPY (SELECT ...) TO STDOUT (FORMAT csv)`, parsed by `pyarrow.csv` with explicit column types: no
Python object per value. Each column is cast in SQL to its declared logical type (int -> int8,
decimal(p,s) -> numeric(p,s), timestamp -> UTC, uuid/json -> canonical text, ...), so the cast
rules are PostgreSQL's: a value that does not fit is an error naming the table. The session is
read-only, UTC, ISO dates and shortest-exact floats. SQLite (sqlite:///path) is supported for
small local sources (for instance a file a tdm SQLite environment holds); it goes through Python
rows.

`where` is trusted SQL written by the spec author: it is pasted into the queries as it stands
(in parentheses, on a read-only session), like the rest of the spec it is not user input.

Batches read at different times see the source as it is at that time: nothing makes them one
consistent snapshot. `snapshot()` fingerprints the source state, so a caller compares it before
and after a run (and keys versions by it) to know the rows did not move under it.

Errors are `TdmError`s that name the table; a URL is shown only through `hide_password`, and
the password is scrubbed from every message taken from a driver.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg.sql
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy.dialects import postgresql as _pg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tdm.environments import without_secret
from tdm.errors import TdmError, did_you_mean
from tdm.spec import TableSpec
from tdm.types import LogicalType

# Always-quoted identifiers ("a""b"): standard SQL, valid for PostgreSQL and SQLite alike.
_quote = _pg_dialect.dialect().identifier_preparer.quote_identifier
_NAME_PART = re.compile(r'\s*("(?:[^"]|"")+"|[^".]+)\s*(?:\.|$)')
PIECE_BYTES = 8 << 20  # CSV parsed per piece while the next arrives
CONNECT_TIMEOUT = 10  # seconds, unless the URL sets connect_timeout
SAMPLE_SEED = 20260101  # TABLESAMPLE ... REPEATABLE(seed): the same sample for the same rows

# The type each logical kind is parsed as from CSV (timestamps are UTC text, tagged afterwards).
_PARSE_TYPE = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "uuid": pa.string(),
    "json": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}
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


@dataclass(frozen=True)
class _Column:
    name: str
    type: str  # as the source declares it, e.g. "numeric(10,2)"
    category: str  # PostgreSQL "typcategory:typname" of the (base) type; "" for SQLite
    notnull: bool


@dataclass(frozen=True)
class _Relation:
    sql: str  # quoted, e.g. "public"."customers"
    display: str  # for messages, e.g. public.customers
    kind: str  # table, view, ...
    columns: dict[str, _Column]
    heap: bool  # PostgreSQL: rows carry xmin


@dataclass(frozen=True)
class _Target:
    """A spec table resolved against the source: what every query about it needs."""

    name: str
    rel: _Relation
    key: tuple[str, ...]
    where: str | None

    @property
    def about(self) -> str:
        return f"table {self.name} (source {self.rel.kind} {self.rel.display})"

    def filter(self, *extra: str) -> str:
        conds = ([f"({self.where})"] if self.where else []) + list(extra)
        return f" WHERE {' AND '.join(conds)}" if conds else ""

    def order(self, descending: bool = False) -> str:
        """ORDER BY the source's key columns, qualified: a bare name would mean the output
        column of that name, which is the column cast to its spec type, whose order may differ
        from the key's (text vs number) and which no index serves."""
        return ", ".join(
            f"{self.rel.sql}.{_quote(k)}" + (" DESC" if descending else "") for k in self.key
        )

    def key_list(self) -> str:
        return ", ".join(_quote(k) for k in self.key)


def split_name(text: str) -> list[str]:
    """'schema.table' / '"My Schema"."Orders"' -> its parts, unquoted. Bare parts keep their case:
    the name is matched exactly as written."""
    parts, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _NAME_PART.match(text, pos)
        if not m or m.end() == pos:
            raise TdmError(
                f"cannot read the source table name {text!r}; write table, "
                'schema.table or "Quoted Name"'
            )
        part = m.group(1).strip()
        parts.append(part[1:-1].replace('""', '"') if part.startswith('"') else part)
        pos = m.end()
    if not 1 <= len(parts) <= 2 or text.endswith("."):
        raise TdmError(f"the source table name {text!r} should be table or schema.table")
    return parts


def _key_of(name: str, table: TableSpec) -> tuple[str, ...]:
    key = (table.source.key if table.source else None) or table.primary_key
    if not key:
        raise TdmError(
            f"table {name}: an extracted table needs a key to read it in batches (keyset "
            "pagination); declare primary_key, or source.key with columns unique in the source"
        )
    return tuple(key)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class SourceReader:
    """Reads extracted tables from the source database; one connection, opened on first use.

    Picklable (only the URL travels, a copy opens its own connection), usable as a context
    manager. A reader is cheap: make one per process.
    """

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.RLock()
        self._relations: dict[str, _Relation] = {}
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise TdmError(
                f"source.url is not a database URL: {self._safe(url)}; write e.g. "
                "postgresql+psycopg://user:${PASSWORD}@host:5432/database or sqlite:///file.sqlite"
            ) from None
        self._password = parsed.password or ""
        backend = parsed.get_backend_name()
        if backend in ("postgresql", "postgres"):
            self._db: _Backend = _Postgres(parsed, self)
        elif backend == "sqlite":
            self._db = _Sqlite(parsed, self)
        else:
            raise TdmError(
                f"cannot extract from {self.display_url}: source databases can be PostgreSQL "
                "(postgresql://, postgresql+psycopg://) or SQLite (sqlite:///path)"
            )

    # -- what others call ------------------------------------------------------------------

    def count(self, name: str, table: TableSpec) -> int:
        """Rows of the source table meeting `where`. Also checks the key has no NULLs."""
        with self._lock:
            target = self._target(name, table, list(table.columns))
            nullable = [k for k in target.key if not target.rel.columns[k].notnull]
            nulls = ""
            if nullable:
                cond = " OR ".join(f"{_quote(k)} IS NULL" for k in nullable)
                nulls = f", SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"
            sql = f"SELECT COUNT(*){nulls} FROM {target.rel.sql}{target.filter()}"
            with self._failing(target, "counting rows"):
                row = self._db.fetch(sql)[0]
            if nullable and row[1]:
                raise TdmError(
                    f"{target.about}: {row[1]} row(s) have a NULL in the key "
                    f"({', '.join(target.key)}); the key must be unique and not null to read the "
                    "table in batches: choose another source.key, or exclude them in source.where"
                )
            return int(row[0])

    def read(
        self, name: str, table: TableSpec, start: int, stop: int, schema: pa.Schema
    ) -> pa.Table:
        """Rows [start, stop) in key order, typed exactly as `schema`, columns in its order."""
        if start < 0 or stop < start:
            raise ValueError(f"bad row range [{start}, {stop})")
        with self._lock:
            target = self._target(name, table, schema.names)
            if stop == start:
                return schema.empty_table()
            cond = []
            if start > 0:
                bound = self._probe(target, start)
                if bound is None:
                    return schema.empty_table()
                cond = [self._db.keyset(target.key, bound)]
            sql_from = (
                f" FROM {target.rel.sql}{target.filter(*cond)} ORDER BY {target.order()} "
                f"LIMIT {stop - start}"
            )
            out = self._select(target, table, schema, sql_from, check_keys=True)
            if out.num_rows < stop - start:
                self._check_no_null_keys(target)  # they sort last, past every keyset bound
            return out

    def sample(self, name: str, table: TableSpec, schema: pa.Schema, limit: int = 1000) -> pa.Table:
        """Up to `limit` rows for PII detection, in key order; the same rows while the source
        does not change. PostgreSQL tables: a Bernoulli sample spread over the whole table
        (TABLESAMPLE ... REPEATABLE with a fixed seed); otherwise the first rows by key."""
        with self._lock:
            target = self._target(name, table, schema.names)
            if limit <= 0:
                return schema.empty_table()
            with self._failing(target, "sampling rows"):
                sampled = self._db.tablesample(target, limit)
            if sampled is None:
                return self.read(name, table, 0, limit, schema)
            sql_from = (
                f" FROM {target.rel.sql} {sampled}{target.filter()} ORDER BY {target.order()} "
                f"LIMIT {limit}"
            )
            return self._select(target, table, schema, sql_from, check_keys=False)

    def snapshot(self, tables: dict[str, TableSpec]) -> str:
        """A 16-hex-digit fingerprint of the rows these tables would read now.

        Per table it covers: the source relation, key, `where` and the declared types of the
        columns read; the row count; the first and last key; and an order-independent sum of a
        64-bit hash per row meeting `where`. For PostgreSQL tables (and partitioned tables and
        materialized views) the hash is of the row's xmin, the id of the transaction that wrote
        that row version: every committed INSERT, UPDATE (even one writing the same values) and
        DELETE changes the multiset of xmins, and one scan with no per-column work computes it
        (about the cost of COUNT(*)). VACUUM, FREEZE, VACUUM FULL and row locks leave xmin as it
        is. For views, foreign tables and SQLite sources the hash is of the row's text (the
        columns read), which costs a full read.

        It misses: changes to rows outside `where` (they are not read) and to columns of a view's
        underlying tables that are not read; changes still uncommitted; and a 2**-64 hash
        collision. A table rewritten with new xmins but the same rows (dump and restore, a copy
        into a new table) reads as changed: the fingerprint errs on the side of change. Schema
        changes show only through the declared types of the columns read.
        """
        with self._lock:
            state = {}
            for name in sorted(tables):
                table = tables[name]
                target = self._target(name, table, list(table.columns), fresh=True)
                with self._failing(target, "fingerprinting rows"):
                    state[name] = {
                        "relation": target.rel.display,
                        "key": target.key,
                        "where": target.where,
                        "types": {c: target.rel.columns[c].type for c in table.columns},
                        **self._db.state(target, list(table.columns)),
                    }
            text = json.dumps(state, sort_keys=True, default=str)
            return hashlib.sha256(text.encode()).hexdigest()[:16]

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._relations.clear()

    # -- plumbing --------------------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return self._safe(self.url)

    def _safe(self, text: str) -> str:
        return without_secret(text, getattr(self, "_password", ""))

    def __getstate__(self) -> dict:
        return {"url": self.url}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["url"])

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _target(self, name: str, table: TableSpec, columns: list[str], fresh: bool = False):
        key = _key_of(name, table)
        src = table.source.table if table.source and table.source.table else name
        where = table.source.where if table.source and table.source.where else None
        parts = split_name(src)
        cache = "\x00".join(parts)
        rel = None if fresh else self._relations.get(cache)
        if rel is None:
            with self._failing(name, f"looking up source table {src!r}"):
                rel = self._db.relation(parts)
            if rel is None:
                known = self._db.relation_names()
                hint = did_you_mean(src, known)
                raise TdmError(
                    f"table {name}: source table {src!r} does not exist in {self.display_url}"
                    + (f"; {hint}" if hint else "")
                    + " (set source.table to the name in the source, schema.table if needed)"
                )
            self._relations[cache] = rel
        for col in dict.fromkeys([*key, *columns]):
            if col not in rel.columns:
                what = "key column" if col in key and col not in columns else "column"
                hint = did_you_mean(col, rel.columns) or next(
                    (f'did you mean "{c}"?' for c in rel.columns if c.lower() == col.lower()), None
                )
                raise TdmError(
                    f"table {name}: {what} {col!r} is not in source {rel.kind} {rel.display}"
                    + (f"; {hint}" if hint else "")
                    + f" (its columns: {', '.join(rel.columns)})"
                )
        target = _Target(name, rel, key, where)
        for col, spec in table.columns.items():
            if col in columns:
                self._db.check_type(target, col, spec.logical)
        return target

    def _check_no_null_keys(self, target: _Target) -> None:
        nullable = [k for k in target.key if not target.rel.columns[k].notnull]
        if not nullable:
            return
        cond = "(" + " OR ".join(f"{_quote(k)} IS NULL" for k in nullable) + ")"
        with self._failing(target, "looking for NULL keys"):
            found = self._db.fetch(f"SELECT 1 FROM {target.rel.sql}{target.filter(cond)} LIMIT 1")
        if found:
            raise self._null_key(target)

    def _probe(self, target: _Target, start: int) -> tuple | None:
        """The key of row `start` (None past the end), checking it differs from row start-1."""
        sql = (
            f"SELECT {target.key_list()} FROM {target.rel.sql}{target.filter()} "
            f"ORDER BY {target.order()} LIMIT 2 OFFSET {start - 1}"
        )
        with self._failing(target, f"finding the key of row {start}"):
            rows = self._db.fetch(sql)
        if len(rows) < 2:
            return None
        before, bound = tuple(rows[0]), tuple(rows[1])
        if any(v is None for v in bound):
            raise self._null_key(target)
        if before == bound:
            raise self._duplicate_key(target, bound)
        return bound

    def _select(
        self, target: _Target, table: TableSpec, schema: pa.Schema, sql_from: str, check_keys: bool
    ) -> pa.Table:
        kinds = [_logical(table, f) for f in schema]
        # Key columns the caller did not ask for are read too, to check them, then dropped.
        extra = [k for k in target.key if k not in schema.names] if check_keys else []
        kinds += [LogicalType("string")] * len(extra)
        names = [*schema.names, *extra]
        with self._failing(target, "reading rows"):
            columns = self._db.select(sql_from, names, kinds)
        arrays = dict(zip(names, columns, strict=True))
        if check_keys:
            self._check_keys(target, [arrays[k] for k in target.key])
        try:
            out = [_conform(arrays[f.name], f.type) for f in schema]
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise TdmError(
                f"{target.about}: cannot convert values to the spec types: {e}"
            ) from None
        return pa.Table.from_arrays(out, schema=schema)

    def _check_keys(self, target: _Target, keys: list[pa.Array]) -> None:
        if any(k.null_count for k in keys):
            raise self._null_key(target)
        n = len(keys[0]) if keys else 0
        if n < 2:
            return
        same = None
        for k in keys:
            eq = pc.equal(k.slice(1), k.slice(0, n - 1))
            same = eq if same is None else pc.and_(same, eq)
        if pc.any(same).as_py():
            at = pc.index(same, True).as_py()
            raise self._duplicate_key(target, tuple(k[at + 1].as_py() for k in keys))

    def _null_key(self, target: _Target) -> TdmError:
        return TdmError(
            f"{target.about}: the key ({', '.join(target.key)}) has NULL values; it must be "
            "unique and not null to read the table in batches: choose another source.key, or "
            "exclude those rows in source.where"
        )

    def _duplicate_key(self, target: _Target, value: tuple) -> TdmError:
        shown = value[0] if len(value) == 1 else value
        return TdmError(
            f"{target.about}: the key ({', '.join(target.key)}) is not unique in the source "
            f"(value {shown!r} occurs more than once), so batches would overlap; set source.key "
            "to columns that are unique"
        )

    @contextmanager
    def _failing(self, about: _Target | str, doing: str) -> Iterator[None]:
        """Turn driver and parsing errors into one clear TdmError naming the table (`about`: the
        resolved table, or the spec table's name before it is resolved)."""
        target = about if isinstance(about, _Target) else None
        head = target.about if target else f"table {about}"
        try:
            yield
        except _ConnectError as e:
            raise TdmError(f"{head}: {e}") from None
        except TdmError:
            raise
        except Exception as e:
            described = self._db.describe(e)
            if described is None:
                raise
            kind, message = described
            message = self._safe(message)
            where = f" {target.where!r}" if target and target.where else ""
            if kind == "connection":
                text = f"lost the connection to {self.display_url} while {doing}: {message}"
            elif kind == "where" and where:
                text = f"the source.where condition{where} is not valid here: {message}"
            elif kind == "missing":
                text = f"{message} (was it dropped or renamed?)"
            elif kind == "privilege":
                text = f"the source user may not read it: {message}"
            elif kind == "data":
                text = f"{doing} failed on a value: {message} (does a source value not fit its " + (
                    f"column's declared type, or fail in source.where{where}?)"
                    if where
                    else "column's declared type?)"
                )
            else:
                text = f"{doing} failed: {message}" + (
                    f" (source.where is{where})" if where else ""
                )
            raise TdmError(f"{head}: {text}") from None


class _ConnectError(TdmError):
    """The source database cannot be reached; `_failing` adds the table it was wanted for."""


def _logical(table: TableSpec, field: pa.Field) -> LogicalType:
    col = table.columns.get(field.name)
    if col is not None:
        return col.logical
    for kind, arrow in _PARSE_TYPE.items():
        if field.type == arrow and kind not in ("uuid", "json"):
            return LogicalType(kind)
    if pa.types.is_decimal(field.type):
        return LogicalType("decimal", field.type.precision, field.type.scale)
    if pa.types.is_timestamp(field.type):
        return LogicalType("timestamp")
    return LogicalType("string")


def _conform(arr: pa.Array | pa.ChunkedArray, typ: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr if arr.type == typ else arr.cast(typ)


# -- backends --------------------------------------------------------------------------------


class _Backend:
    def __init__(self, url, reader: SourceReader):
        self.url = url
        self.reader = reader

    def fetch(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def select(self, sql_from: str, names: list[str], kinds: list[LogicalType]) -> list[pa.Array]:
        raise NotImplementedError

    def keyset(self, key: tuple[str, ...], bound: tuple) -> str:
        raise NotImplementedError

    def relation(self, parts: list[str]) -> _Relation | None:
        raise NotImplementedError

    def relation_names(self) -> list[str]:
        raise NotImplementedError

    def check_type(self, target: _Target, column: str, logical: LogicalType) -> None:
        return None

    def tablesample(self, target: _Target, limit: int) -> str | None:
        return None

    def state(self, target: _Target, columns: list[str]) -> dict:
        raise NotImplementedError

    def describe(self, error: Exception) -> tuple[str, str] | None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _Postgres(_Backend):
    def __init__(self, url, reader: SourceReader):
        super().__init__(url, reader)
        params: dict[str, Any] = {
            k: v
            for k, v in url.translate_connect_args(username="user", database="dbname").items()
            if v is not None
        }
        params.update({k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()})
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        params.setdefault("application_name", "tdm-extract")
        self.params = params
        self._conn = None
        self._pid = None

    def conn(self):
        c = self._conn
        if c is not None and self._pid == os.getpid() and not c.closed and not c.broken:
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
        self._conn, self._pid = c, os.getpid()
        return c

    def _connect_failure(self, e: Exception) -> str:
        msg = self.reader._safe(_one_line(str(e)))
        low = msg.lower()
        if "password" in low or "authentication" in low:
            hint = "check the user and password of source.url (its environment variable)"
        elif "does not exist" in low:
            hint = "check the database and user names in source.url"
        elif "resolve host" in low or "translate host" in low:
            hint = "check the host name in source.url"
        elif "refused" in low or "timeout" in low or "timed out" in low or "no route" in low:
            hint = "is the server running and reachable from here? check host and port"
        elif "invalid" in low and "option" in low:
            hint = "remove or fix the ?options of source.url"
        else:
            hint = "check source.url"
        return f"cannot connect to the source database {self.reader.display_url}: {msg} ({hint})"

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
                return "data", _one_line(str(error))
            return None
        diag = getattr(error, "diag", None)
        message = _one_line((diag.message_primary if diag else None) or str(error))
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


def _pg_expr(col: str, t: LogicalType) -> str:
    """A column cast in SQL to the text form the CSV parser reads as t."""
    return {
        "int": f"({col})::int8",
        "float": f"({col})::float8",
        "decimal": f"({col})::numeric({t.precision},{t.scale})",
        "bool": f"({col})::bool",
        "string": f"({col})::text",
        "date": f"({col})::date",
        # naive timestamps are UTC (the session time zone), aware ones are converted to UTC
        "timestamp": f"(({col})::timestamptz AT TIME ZONE 'UTC')",
        "uuid": f"({col})::uuid::text",
        "json": f"({col})::jsonb::text",
    }[t.kind]


def _parse_csv(data: bytes, kinds: list[LogicalType]) -> list[pa.ChunkedArray]:
    """PostgreSQL CSV (NULL unquoted empty, '' quoted, t/f booleans) -> one array per column."""
    if not data:
        return [pa.chunked_array([], type=_parse_type(k)) for k in kinds]
    names = [f"c{i}" for i in range(len(kinds))]
    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=any(k.kind in ("string", "json") for k in kinds),
            ignore_empty_lines=False,  # a one-column row holding NULL is an empty line
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: _parse_type(k) for n, k in zip(names, kinds, strict=True)},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    return [table.column(n) for n in names]


def _parse_type(t: LogicalType) -> pa.DataType:
    return pa.decimal128(t.precision, t.scale) if t.kind == "decimal" else _PARSE_TYPE[t.kind]


class _Sqlite(_Backend):
    def __init__(self, url, reader: SourceReader):
        super().__init__(url, reader)
        if not url.database or url.database == ":memory:":
            raise TdmError(
                f"a SQLite source needs a file: sqlite:///path/to/file.sqlite, got "
                f"{reader.display_url}"
            )
        self.path = Path(url.database)
        self._conn: sqlite3.Connection | None = None

    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.is_file():
                raise _ConnectError(
                    f"cannot open the source database "
                    f"{self.reader.display_url}: no file {self.path}"
                )
            uri = self.path.resolve().as_uri() + "?mode=ro"
            try:
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
            except sqlite3.Error as e:
                raise _ConnectError(
                    f"cannot open the source database {self.reader.display_url}: {e}"
                ) from None
        return self._conn

    def fetch(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn().execute(sql, params).fetchall()

    def keyset(self, key: tuple[str, ...], bound: tuple) -> str:
        values = ", ".join(_sqlite_literal(v) for v in bound)
        cols = ", ".join(_quote(k) for k in key)
        return f"({cols}) >= ({values})" if len(key) > 1 else f"{cols} >= {values}"

    def select(self, sql_from: str, names: list[str], kinds: list[LogicalType]) -> list[pa.Array]:
        rows = self.fetch(f"SELECT {', '.join(_quote(n) for n in names)}{sql_from}")
        values = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        out = []
        for name, kind, column in zip(names, kinds, values, strict=True):
            convert = _FROM_PY[kind.kind]
            try:
                out.append(convert(list(column), kind))
            except (ValueError, TypeError, ArithmeticError, pa.ArrowException) as e:
                raise _SqliteValueError(f"column {name!r} as {kind}: {e}") from None
        return out

    def relation(self, parts: list[str]) -> _Relation | None:
        schema = _quote(parts[0]) + "." if len(parts) == 2 else ""
        master = f"{schema}sqlite_master"
        found = self.fetch(
            f"SELECT type, name FROM {master} WHERE type IN ('table', 'view') AND name = ?",
            (parts[-1],),
        )
        if not found:
            return None
        kind, name = found[0]
        cols = self.fetch(f"PRAGMA {schema}table_info({_quote(name)})")
        columns = {c[1]: _Column(c[1], c[2] or "", "", bool(c[3])) for c in cols}
        display = ".".join(parts)
        return _Relation(f"{schema}{_quote(name)}", display, kind, columns, heap=False)

    def relation_names(self) -> list[str]:
        try:
            rows = self.fetch("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        except sqlite3.Error:
            return []
        return [r[0] for r in rows]

    def state(self, target: _Target, columns: list[str]) -> dict:
        digest = hashlib.sha256()
        cur = self.conn().execute(
            f"SELECT {', '.join(_quote(c) for c in columns)} FROM {target.rel.sql}"
            f"{target.filter()} ORDER BY {target.order()}"
        )
        count = 0
        first = last = None
        key_at = [columns.index(k) if k in columns else None for k in target.key]
        while rows := cur.fetchmany(10_000):
            for row in rows:
                digest.update(repr(row).encode())
            count += len(rows)
            if first is None:
                first = [str(rows[0][i]) if i is not None else None for i in key_at]
            last = [str(rows[-1][i]) if i is not None else None for i in key_at]
        return {"rows": count, "first": first, "last": last, "hash": digest.hexdigest()}

    def describe(self, error: Exception) -> tuple[str, str] | None:
        if isinstance(error, _SqliteValueError):
            return "data", str(error)
        if not isinstance(error, sqlite3.Error):
            return None
        message = _one_line(str(error))
        if "no such table" in message:
            return "missing", message
        if "no such column" in message or "syntax error" in message:
            return "where", message
        if isinstance(error, sqlite3.DatabaseError) and "not a database" in message:
            return "connection", message
        return "other", message

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


class _SqliteValueError(Exception):
    """A SQLite value that cannot be read as its column's logical type."""


def _sqlite_literal(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, bytes):
        return f"X'{v.hex()}'"
    return "'" + str(v).replace("'", "''") + "'"


def _py_ints(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            return int(v.strip())
        return v

    return pa.array([None if v is None else conv(v) for v in values], type=pa.int64())


def _py_floats(values: list, t: LogicalType) -> pa.Array:
    return pa.array([None if v is None else float(v) for v in values], type=pa.float64())


def _py_decimals(values: list, t: LogicalType) -> pa.Array:
    quantum = decimal.Decimal(1).scaleb(-t.scale)

    def conv(v):
        d = decimal.Decimal(str(v).strip()) if not isinstance(v, decimal.Decimal) else v
        return d.quantize(quantum, rounding=decimal.ROUND_HALF_EVEN)

    return pa.array([None if v is None else conv(v) for v in values], type=_parse_type(t))


_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}


def _py_bools(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        s = str(v).strip().lower()
        if s in _TRUE or s == "1.0":
            return True
        if s in _FALSE or s == "0.0":
            return False
        raise ValueError(f"{v!r} is not a boolean")

    return pa.array([None if v is None else conv(v) for v in values], type=pa.bool_())


def _py_strings(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return v if isinstance(v, str) else v.decode() if isinstance(v, bytes) else str(v)

    return pa.array([None if v is None else conv(v) for v in values], type=pa.string())


def _py_dates(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return dt.date.fromisoformat(str(v).strip()[:10])

    return pa.array([None if v is None else conv(v) for v in values], type=pa.date32())


def _py_timestamps(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        ts = dt.datetime.fromisoformat(str(v).strip())
        return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)

    return pa.array(
        [None if v is None else conv(v) for v in values], type=pa.timestamp("us", tz="UTC")
    )


def _py_uuids(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return str(uuid.UUID(bytes=v) if isinstance(v, bytes) else uuid.UUID(str(v).strip()))

    return pa.array([None if v is None else conv(v) for v in values], type=pa.string())


def _jsonb_order(value: Any) -> Any:
    """Objects with keys in PostgreSQL jsonb order (shorter first, then bytewise)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_order(v) for v in value]
    return value


def _py_json(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return json.dumps(_jsonb_order(json.loads(v)), ensure_ascii=False)

    return pa.array([None if v is None else conv(v) for v in values], type=pa.string())


_FROM_PY: dict[str, Callable[[list, LogicalType], pa.Array]] = {
    "int": _py_ints,
    "float": _py_floats,
    "decimal": _py_decimals,
    "bool": _py_bools,
    "string": _py_strings,
    "date": _py_dates,
    "timestamp": _py_timestamps,
    "uuid": _py_uuids,
    "json": _py_json,
}
