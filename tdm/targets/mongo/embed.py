"""Embedding children in their parents' documents for `MongoTarget` (see tdm.targets.mongo).

The plan (`embeddings`: which child goes into which parent, through which foreign key) and the
memory-bounded group-by (`_Spill`): child documents spilled to an on-disk SQLite index keyed by
their parent's key, then taken back as the parents stream past.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import bson
import pyarrow as pa
from bson.codec_options import CodecOptions

from tdm.core.errors import TdmError
from tdm.spec.model import DatasetSpec, ForeignKeySpec

_IN = 500  # keys per SQLite IN (...) look-up
_BSON = CodecOptions(tz_aware=True)


def _key_texts(part: pa.Table, columns: list[str]) -> list[str | None]:
    """Join keys as text, equal for equal values of the same type; None where any part is null."""
    cols = [part.column(c).to_pylist() for c in columns]
    return [
        None if any(v is None for v in row) else json.dumps(row, default=str, separators=(",", ":"))
        for row in zip(*cols, strict=True)
    ]


# -- the embedding plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class Embedding:
    child: str
    parent: str
    fk: ForeignKeySpec
    parent_columns: list[str]  # the parent's columns the child's fk.columns match, in order


def embeddings(spec: DatasetSpec) -> dict[str, Embedding]:
    """child -> how it is embedded; checks every `embed:` entry."""
    out: dict[str, Embedding] = {}
    for parent, table in spec.tables.items():
        for child in table.embed:
            where = f"tables.{parent}.embed"
            if child not in spec.tables:
                raise TdmError(f"{where}: no table {child!r} to embed")
            if child == parent:
                raise TdmError(f"{where}: a table cannot embed itself")
            if child in out:
                raise TdmError(
                    f"{where}: {child} is already embedded in {out[child].parent}; "
                    "a table can be embedded in one parent only"
                )
            if child in table.columns:
                raise TdmError(f"{where}: {child} is also a column of {parent}; rename one")
            cspec = spec.tables[child]
            fks = [fk for fk in cspec.all_foreign_keys if fk.references.table == parent]
            if len(fks) > 1:
                per = cspec.per_parent_fk()
                fks = [per] if per in fks else fks
            if len(fks) != 1:
                raise TdmError(
                    f"{where}: {child} must reference {parent} through exactly one foreign key "
                    f"to be embedded in it (found {len(fks)})"
                )
            fk = fks[0]
            columns = fk.references.columns or table.primary_key
            if len(columns) != len(fk.columns):
                raise TdmError(
                    f"{where}: {child}'s foreign key {fk.columns} does not name the columns of "
                    f"{parent} it matches (give `references: {parent}(...)` or a primary key)"
                )
            out[child] = Embedding(child, parent, fk, list(columns))
    for start in out:
        seen, table = [start], start
        while table in out:
            table = out[table].parent
            if table in seen:
                raise TdmError(f"embed: a cycle {' -> '.join([*seen, table])}")
            seen.append(table)
    for name, table in spec.tables.items():
        if "_id" in table.columns:
            raise TdmError(
                f"tables.{name}.columns._id: a column named _id clashes with MongoDB's document "
                "id; rename it"
            )
    return out


def embedded_paths(spec: DatasetSpec, table: str, prefix: str = "") -> list[tuple[str, str]]:
    """(array path, child table) of every table embedded in `table`, at any depth."""
    out = []
    for child in spec.tables[table].embed:
        path = f"{prefix}{child}"
        out.append((path, child))
        out.extend(embedded_paths(spec, child, f"{path}."))
    return out


class _Spill:
    """Child documents on disk, keyed by their parent's key: a memory-bounded group-by."""

    def __init__(self, conn: sqlite3.Connection, embedding: Embedding):
        self.conn, self.e = conn, embedding
        self.table = f"spill_{embedding.child}"
        self.stored = self.taken = 0
        conn.execute(
            f'CREATE TABLE "{self.table}" (seq INTEGER PRIMARY KEY, k TEXT NOT NULL, doc BLOB)'
        )

    def add(self, part: pa.Table, docs: list[dict]) -> None:
        keys = _key_texts(part, self.e.fk.columns)
        missing = sum(k is None for k in keys)
        if missing:
            raise TdmError(
                f"{missing} rows of {self.e.child} have a null {', '.join(self.e.fk.columns)}: "
                f"they have no {self.e.parent} row to be embedded in"
            )
        self.conn.executemany(
            f'INSERT INTO "{self.table}" (k, doc) VALUES (?, ?)',
            zip(keys, (bson.encode(d) for d in docs), strict=True),
        )
        self.stored += len(docs)

    def index(self) -> None:
        self.conn.execute(f'CREATE INDEX "{self.table}_k" ON "{self.table}" (k, seq)')

    def take(self, keys: list[str | None]) -> dict[str, list[dict]]:
        wanted = [k for k in keys if k is not None]
        found: dict[str, list[dict]] = {}
        for i in range(0, len(wanted), _IN):
            some = wanted[i : i + _IN]
            marks = ", ".join("?" for _ in some)
            rows = self.conn.execute(
                f'SELECT k, doc FROM "{self.table}" WHERE k IN ({marks}) ORDER BY seq', some
            )
            for k, doc in rows:
                found.setdefault(k, []).append(bson.decode(doc, codec_options=_BSON))
                self.taken += 1
        return found

    def check(self) -> None:
        if self.taken != self.stored:
            raise TdmError(
                f"{self.stored - self.taken} rows of {self.e.child} reference no row of "
                f"{self.e.parent} ({', '.join(self.e.fk.columns)} -> "
                f"{', '.join(self.e.parent_columns)}) and cannot be embedded in it"
            )
