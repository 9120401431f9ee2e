"""Arrow batches -> MongoDB documents for `MongoTarget` (see tdm.targets.mongo for the mapping).

Column values as BSON-ready Python values, documents with their `_id` and embedded children,
and the indexes of a top-level collection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
from bson.decimal128 import Decimal128

from tdm.core.errors import TdmError
from tdm.spec.model import DatasetSpec, TableSpec
from tdm.store.versions import VersionStore
from tdm.targets.mongo.embed import _key_texts, _Spill, embedded_paths, embeddings

CHUNK = 1000  # rows converted and inserted at a time


# -- Arrow -> BSON-ready Python values ---------------------------------------------------------


def _decimals(arr: pa.ChunkedArray | pa.Array, where: str) -> list:
    out = []
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
            continue
        try:
            out.append(Decimal128(v))
        except Exception:
            raise TdmError(
                f"{where}: {v} does not fit MongoDB's Decimal128 (34 significant digits)"
            ) from None
    return out


def mongo_values(arr: pa.ChunkedArray | pa.Array, kind: str, where: str = "") -> list:
    """One column as Python values pymongo stores natively (see the module docstring)."""
    if kind == "decimal":
        return _decimals(arr, where)
    if kind == "date":
        return pc.cast(arr, pa.timestamp("ms", tz="UTC")).to_pylist()
    if kind == "json":
        return [None if v is None else json.loads(v) for v in arr.to_pylist()]
    return arr.to_pylist()


class _Documents:
    """Arrow batches of a version -> MongoDB documents, with embedded children attached."""

    def __init__(self, store: VersionStore, dataset: str, version: str, manifest: dict):
        self.store, self.dataset, self.version = store, dataset, version
        self.spec = spec = DatasetSpec.model_validate(manifest["spec"])
        self.expected = {t: info["rows"] for t, info in manifest["tables"].items()}
        self.embedded = embeddings(spec)
        self.rows: dict[str, int] = {}

    def convert(self, part: pa.Table, name: str, with_id: bool) -> list[dict]:
        table: TableSpec = self.spec.tables[name]
        names = list(table.columns)
        values = [
            mongo_values(part.column(c), table.columns[c].logical.kind, f"{name}.{c}")
            for c in names
        ]
        docs = [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]
        nullable = [c for c in names if part.column(c).null_count]
        if nullable:
            for d in docs:
                for c in nullable:
                    if d[c] is None:
                        del d[c]
        pk = table.primary_key
        if with_id and len(pk) == 1:
            docs = [{"_id": d[pk[0]], **d} for d in docs]
        elif with_id and pk:
            docs = [{"_id": {c: d[c] for c in pk}, **d} for d in docs]
        return docs

    def stream(self, name: str, spills: sqlite3.Connection, top: bool) -> Iterator[tuple]:
        """(Arrow slice, its documents) of `name` in row order, children attached."""
        children = []
        for child in self.spec.tables[name].embed:
            spill = _Spill(spills, self.embedded[child])
            for part, docs in self.stream(child, spills, top=False):
                spill.add(part, docs)
            spill.index()
            children.append(spill)
        self.rows[name] = 0
        for batch in self.store.batches(self.dataset, self.version, name):
            for offset in range(0, batch.num_rows, CHUNK):
                part = batch.slice(offset, CHUNK)
                docs = self.convert(part, name, with_id=top)
                for spill in children:
                    keys = _key_texts(part, spill.e.parent_columns)
                    found = spill.take(keys)
                    for doc, key in zip(docs, keys, strict=True):
                        doc[spill.e.child] = found.get(key, []) if key is not None else []
                self.rows[name] += part.num_rows
                yield part, docs
        for spill in children:
            spill.check()


def index_plan(spec: DatasetSpec, table: str) -> list[tuple[str, list[str], bool]]:
    """(index name, fields, unique) for a top-level collection."""
    tspec = spec.tables[table]
    out: list[tuple[str, list[str], bool]] = []
    seen: set[tuple[str, ...]] = set()

    def add(name: str, columns: list[str], unique: bool) -> None:
        if tuple(columns) not in seen:
            seen.add(tuple(columns))
            out.append((name, columns, unique))

    if tspec.primary_key:
        add("pk", list(tspec.primary_key), True)
    for c, col in tspec.columns.items():
        if col.unique:
            add(f"uq_{c}", [c], True)
    for group in tspec.unique:
        add(f"uq_{'_'.join(group)}", list(group), True)
    for path, child in embedded_paths(spec, table):
        pk = spec.tables[child].primary_key
        if pk:  # the key's first column: one path through the arrays, nothing to go parallel
            add(f"ix_{path.replace('.', '_')}_{pk[0]}", [f"{path}.{pk[0]}"], False)
    return out
