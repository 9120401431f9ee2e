"""MongoDB environments: a collection per table, or parent documents embedding their children.

URLs: `mongodb://...` and `mongodb+srv://...` reach a server through pymongo. `mongomock://name`
is an in-process stand-in (the `mongomock` package, a dev dependency) for tests and demos only:
nothing is persisted, and every `MongoTarget` for the same `mongomock://<name>` in one process
shares one client, so a load and later reads see the same data. The database is the `database`
argument, else the URL's path (`mongodb://host/envdb`), else the dataset's name.

Documents. Every column becomes a field of the same name; a null is left out of the document
(in MongoDB `{field: null}` matches a missing field, so queries read the same). `_id` is the
primary key's value for a one-column key, a sub-document `{col: value, ...}` (in key order) for
a composite key, and a server-made ObjectId for a table without a key; the key columns stay
fields too. Types: int -> int, float -> double, decimal -> Decimal128, bool -> bool,
string -> string, date -> datetime at midnight UTC, timestamp -> datetime (UTC; BSON keeps
milliseconds, so microseconds are cut), uuid -> its canonical string (portable: no
`uuidRepresentation` setting needed by readers; a chosen trade-off against BSON's binary UUID),
json -> the parsed value (sub-document, array or scalar).

Embedding. A table listing children in `embed:` gets, in each of its documents, an array field
named after each child table holding that parent's child rows (in row order; `[]` when it has
none). The child has no collection of its own; its rows carry all their columns but no `_id`.
Children may embed their own children (customers -> orders -> order_items). Rows are matched to
their parent through the child's foreign key to it, whatever the order of the rows: children are
first spilled to a temporary on-disk SQLite index keyed by that foreign key, then attached while
the parents stream past, so memory holds one chunk of parents and their children, never a whole
table. A child row whose parent is missing (or whose key is null) fails the load. A document
must stay under MongoDB's 16 MB limit.

Indexes, built on the staging collections before they go live: a unique index `pk` on the key
fields (besides the implicit one on `_id`), a unique index per unique column / unique group
(columns that can be null are indexed sparse (one column) or with a partial filter (groups), so
several nulls are allowed as in SQL), and a plain multikey index on the first key column of
every embedded child (`orders.id`) for look-ups.

A load, and what readers observe (MongoDB cannot swap several collections atomically):
 1. Staging: each top-level collection is written to `_tdm_staging_<dataset>_<table>_<token>`
    with unordered `insert_many` bulk writes, indexed and counted. The live collections are not
    touched; readers see the previous version (plus the staging collections in a listing). A
    failure here drops the staging collections: the previous version stays, wholly.
 2. Swap: each staging collection is renamed onto its live name (`renameCollection` with
    `dropTarget`). Each rename is atomic for its collection, but between the first and the last
    rename (normally milliseconds) a reader may see new and old collections side by side, and a
    cursor open on a replaced collection is killed. Collections of the previous version that the
    new one no longer has (a table removed, or now embedded) are then dropped.
 3. Only then the `_tdm_meta` document of the dataset (`_id` = dataset) is rewritten with the
    new version, load time, collections and row counts.

The meta document says which version is complete. While a swap is underway, or after a crash
in the middle of one, it carries `swap` ({version, started_at, collections}) and `current()`
reports `swap_in_progress`: the live collections may then be a mix of two versions until a load
completes. A crash during staging leaves the live version intact and staging collections behind;
their names are recorded in the meta document (`loading`) before they are created, and the next
load of the dataset drops them first. One load per dataset and database at a time: concurrent
loads of the same dataset are not coordinated here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import bson
import pyarrow as pa
import pyarrow.compute as pc
from bson.codec_options import CodecOptions
from bson.decimal128 import Decimal128

from tdm.errors import TdmError
from tdm.spec import DatasetSpec, ForeignKeySpec, TableSpec
from tdm.targets.base import LoadReport, Target
from tdm.versions import VersionStore

META = "_tdm_meta"
STAGING = "_tdm_staging_"
CHUNK = 1000  # rows converted and inserted at a time
_IN = 500  # keys per SQLite IN (...) look-up
_BSON = CodecOptions(tz_aware=True)

_MOCK_CLIENTS: dict[str, object] = {}
_MOCK_LOCK = threading.Lock()


def mock_client(url: str):
    """The process-wide mongomock client of a `mongomock://<name>` URL (a test stand-in)."""
    try:
        import mongomock
    except ImportError:  # pragma: no cover - a dev dependency
        raise TdmError(
            f"{url} asks for the in-process MongoDB stand-in, which needs the mongomock package "
            "(pip install mongomock); use a mongodb:// URL for a real server"
        ) from None
    key = urlsplit(url).netloc or "default"
    with _MOCK_LOCK:
        if key not in _MOCK_CLIENTS:
            _MOCK_CLIENTS[key] = mongomock.MongoClient(tz_aware=True)
        return _MOCK_CLIENTS[key]


def redact(url: str) -> str:
    """The URL without its password, for messages and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{parts.netloc.rsplit('@', 1)[1]}").geturl()


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


# -- the target --------------------------------------------------------------------------------


class MongoTarget(Target):
    kind = "mongodb"

    def __init__(self, url: str, database: str | None = None):
        scheme = url.split(":", 1)[0]
        if scheme not in ("mongodb", "mongodb+srv", "mongomock") or "://" not in url:
            raise TdmError(
                f"a MongoDB URL looks like mongodb://host:27017/database (or mongomock://name "
                f"for the in-process test stand-in), got {redact(url)!r}"
            )
        self.url = url
        self.mock = scheme == "mongomock"
        self.database = database or unquote(urlsplit(url).path.strip("/")) or None

    def database_name(self, dataset: str) -> str:
        return self.database or dataset

    @contextlib.contextmanager
    def connect(self):
        """A pymongo (or, for mongomock://, the shared stand-in) client, closed afterwards."""
        if self.mock:
            yield mock_client(self.url)
            return
        import pymongo

        options = {"tz_aware": True}
        if "serverselectiontimeoutms" not in self.url.lower():
            options["serverSelectionTimeoutMS"] = 15_000
        try:
            client = pymongo.MongoClient(self.url, **options)
        except pymongo.errors.PyMongoError as e:
            raise TdmError(f"cannot use MongoDB URL {redact(self.url)}: {e}") from None
        try:
            yield client
        finally:
            client.close()

    def current(self, dataset: str) -> dict | None:
        from pymongo.errors import PyMongoError

        try:
            with self.connect() as client:
                doc = client[self.database_name(dataset)][META].find_one({"_id": dataset})
        except PyMongoError as e:
            raise TdmError(f"cannot read {self._where(dataset)}: {e}") from None
        return _current(doc)

    def _where(self, dataset: str) -> str:
        return f"{redact(self.url)} database {self.database_name(dataset)}"

    def load(self, store: VersionStore, dataset: str, version: str) -> LoadReport:
        manifest = store.manifest(dataset, version)
        docs = _Documents(store, dataset, version, manifest)  # checks the embedding first
        roots = [t for t in manifest["order"] if t not in docs.embedded]
        with self.connect() as client:
            db = client[self.database_name(dataset)]
            return self._load(db, docs, dataset, version, manifest["order"], roots)

    def _load(self, db, docs: _Documents, dataset, version, order, roots) -> LoadReport:
        from pymongo.errors import PyMongoError

        where = self._where(dataset)
        failed = f"loading {dataset} {version} into {where} failed"
        meta = db[META]
        token = uuid.uuid4().hex[:8]
        staging = {t: f"{STAGING}{dataset}_{t}_{token}" for t in roots}
        try:
            before = meta.find_one({"_id": dataset}) or {}
            # Leftovers of an interrupted load go first: its staging collections, by name.
            for name in (before.get("loading") or {}).get("staging", []):
                db.drop_collection(name)
            meta.update_one(
                {"_id": dataset},
                {
                    "$set": {
                        "loading": {
                            "token": token,
                            "version": version,
                            "started_at": dt.datetime.now(dt.UTC),
                            "staging": list(staging.values()),
                        }
                    }
                },
                upsert=True,
            )
        except PyMongoError as e:
            raise TdmError(f"{failed} before anything changed: {e}") from None
        previous = before.get("version")
        earlier_swap = (before.get("swap") or {}).get("collections", [])
        old_live = set(before.get("collections", [])) | set(earlier_swap)

        try:
            self._stage(db, docs, roots, staging)
        except BaseException as e:
            for name in staging.values():
                with contextlib.suppress(Exception):
                    db.drop_collection(name)
            with contextlib.suppress(Exception):
                meta.update_one(
                    {"_id": dataset, "loading.token": token}, {"$unset": {"loading": ""}}
                )
            if isinstance(e, PyMongoError | TdmError):
                raise TdmError(
                    f"{failed} while staging and was undone; the live collections were not "
                    f"touched (version {previous or 'none'} is intact): {e}"
                ) from None
            raise

        # The swap: from here on a failure can leave a mix of versions, which `swap` records.
        embedded = {c: e.parent for c, e in docs.embedded.items()}
        try:
            meta.update_one(
                {"_id": dataset},
                {
                    "$set": {
                        "swap": {
                            "version": version,
                            "started_at": dt.datetime.now(dt.UTC),
                            "collections": sorted(set(roots) | set(earlier_swap)),
                        }
                    }
                },
            )
            for table in roots:
                self._rename(db[staging[table]], table)
            for name in sorted(old_live - set(roots)):
                db.drop_collection(name)
            meta.update_one(
                {"_id": dataset},
                {
                    "$set": {
                        "dataset": dataset,
                        "version": version,
                        "loaded_at": dt.datetime.now(dt.UTC),
                        "collections": roots,
                        "tables": list(order),
                        "embedded": embedded,
                        "rows": {t: docs.rows[t] for t in order},
                    },
                    "$unset": {"swap": "", "loading": ""},
                },
            )
        except PyMongoError as e:
            raise TdmError(
                f"{failed} while swapping the new collections in ({e}); some collections may "
                "hold the new version and others the old one (current() shows "
                "swap_in_progress): run the load again"
            ) from None
        return LoadReport(
            dataset,
            version,
            {t: docs.rows[t] for t in order},
            where,
            previous,
            extra={"database": db.name, "collections": roots, "embedded": embedded},
        )

    def _rename(self, coll, live: str) -> None:
        coll.rename(live, dropTarget=True)

    def _stage(self, db, docs: _Documents, roots: list[str], staging: dict[str, str]) -> None:
        with tempfile.TemporaryDirectory(prefix="tdm-mongo-") as tmp:
            spills = sqlite3.connect(Path(tmp) / "spill.sqlite", isolation_level=None)
            try:
                spills.execute("PRAGMA journal_mode=OFF")
                spills.execute("PRAGMA synchronous=OFF")
                for table in roots:
                    coll = db[staging[table]]
                    db.drop_collection(coll.name)
                    db.create_collection(coll.name)
                    for _, chunk in docs.stream(table, spills, top=True):
                        if chunk:
                            self._insert(coll, chunk)
                    self._index(coll, docs.spec, table)
                    held, expected = coll.count_documents({}), docs.expected[table]
                    if held != expected or docs.rows[table] != expected:
                        raise TdmError(
                            f"staging collection {coll.name} holds {held} documents of "
                            f"{docs.rows[table]} rows read; the version has {expected} (was "
                            "the collection changed by another load?)"
                        )
            finally:
                spills.close()

    def _insert(self, coll, chunk: list[dict]) -> None:
        coll.insert_many(chunk, ordered=False)

    def _index(self, coll, spec: DatasetSpec, table: str) -> None:
        tspec = spec.tables[table]
        for name, columns, unique in index_plan(spec, table):
            nullable = [c for c in columns if unique and tspec.nullable(c)]
            options: dict = {"name": name, "unique": unique}
            if nullable and len(columns) == 1:
                options["sparse"] = True
            elif nullable:
                options["partialFilterExpression"] = {c: {"$exists": True} for c in nullable}
            coll.create_index([(c, 1) for c in columns], **options)


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


def _current(doc: dict | None) -> dict | None:
    if not doc or (not doc.get("version") and not doc.get("swap")):
        return None

    def iso(v):
        if isinstance(v, dt.datetime):
            v = v if v.tzinfo else v.replace(tzinfo=dt.UTC)
            return v.isoformat(timespec="seconds")
        return v

    out = {
        "version": doc.get("version"),
        "loaded_at": iso(doc.get("loaded_at")),
        "collections": doc.get("collections", []),
        "tables": doc.get("tables", []),
        "embedded": doc.get("embedded", {}),
        "rows": doc.get("rows", {}),
    }
    if doc.get("swap"):
        swap = doc["swap"]
        out["swap_in_progress"] = {
            "version": swap.get("version"),
            "started_at": iso(swap.get("started_at")),
        }
    return out


__all__ = ["MongoTarget", "embeddings", "index_plan", "mock_client", "mongo_values", "redact"]
