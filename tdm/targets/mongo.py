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
import sqlite3
import tempfile
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tdm.environments import without_secret
from tdm.errors import TdmError
from tdm.spec import DatasetSpec
from tdm.targets.base import LoadReport, Target
from tdm.targets.mongo_clients import _current, mock_client, redact
from tdm.targets.mongo_documents import CHUNK as CHUNK
from tdm.targets.mongo_documents import _Documents, index_plan, mongo_values
from tdm.targets.mongo_embed import Embedding as Embedding
from tdm.targets.mongo_embed import embedded_paths as embedded_paths
from tdm.targets.mongo_embed import embeddings
from tdm.versions import VersionStore

META = "_tdm_meta"
STAGING = "_tdm_staging_"


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
        # the path of the URL as shown: a raw "/" in the password must not start the path
        self.database = database or unquote(urlsplit(redact(url)).path.strip("/")) or None

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
            why = without_secret(str(e), self.url)
            raise TdmError(f"cannot use MongoDB URL {redact(self.url)}: {why}") from None
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
            why = without_secret(str(e), self.url)
            raise TdmError(f"cannot read {self._where(dataset)}: {why}") from None
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
            why = without_secret(str(e), self.url)
            raise TdmError(f"{failed} before anything changed: {why}") from None
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
                why = without_secret(str(e), self.url)
                raise TdmError(
                    f"{failed} while staging and was undone; the live collections were not "
                    f"touched (version {previous or 'none'} is intact): {why}"
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
            why = without_secret(str(e), self.url)
            raise TdmError(
                f"{failed} while swapping the new collections in ({why}); some collections may "
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


__all__ = ["MongoTarget", "embeddings", "index_plan", "mock_client", "mongo_values", "redact"]
