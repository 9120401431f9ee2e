"""The SQLite backend: a read-only file connection, catalog lookups, keyset bounds with
literal values, reads through Python rows and fingerprints of the rows' text."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa

from tdm.core.databases import one_line
from tdm.core.errors import TdmError
from tdm.core.types import LogicalType
from tdm.source.backend import _Backend, _ConnectError
from tdm.source.names import _Column, _quote, _Relation, _Target
from tdm.source.pyrows import _FROM_PY


class _Sqlite(_Backend):
    def __init__(self, url, source_url: str):
        super().__init__(url, source_url)
        if not url.database or url.database == ":memory:":
            raise TdmError(
                f"a SQLite source needs a file: sqlite:///path/to/file.sqlite, got "
                f"{self.display_url}"
            )
        self.path = Path(url.database)
        self._conn: sqlite3.Connection | None = None

    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.is_file():
                raise _ConnectError(
                    f"cannot open the source database {self.display_url}: no file {self.path}"
                )
            uri = self.path.resolve().as_uri() + "?mode=ro"
            try:
                self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=30)
            except sqlite3.Error as e:
                raise _ConnectError(
                    f"cannot open the source database {self.display_url}: {e}"
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
        message = one_line(str(error))
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
