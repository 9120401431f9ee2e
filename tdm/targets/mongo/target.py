"""The MongoDB target: a collection per table (or parents embedding their children), loaded
into staging collections and renamed into place; docs/targets.md#mongodb has the design."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import tempfile
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tdm.core.errors import TdmError
from tdm.core.urls import without_secret
from tdm.spec.model import DatasetSpec
from tdm.store.versions import VersionStore
from tdm.targets.base import LoadReport, Target
from tdm.targets.mongo.clients import _current, mock_client, redact
from tdm.targets.mongo.documents import CHUNK as CHUNK
from tdm.targets.mongo.documents import _Documents, index_plan, mongo_values
from tdm.targets.mongo.embed import Embedding as Embedding
from tdm.targets.mongo.embed import embedded_paths as embedded_paths
from tdm.targets.mongo.embed import embeddings

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

    def _load(
        self, db, docs: _Documents, dataset: str, version: str, order: list[str], roots: list[str]
    ) -> LoadReport:
        """Stage the new collections beside the live ones, then swap them in; docs/targets.md
        says what readers see meanwhile and what a failure at each step leaves behind."""
        from pymongo.errors import PyMongoError

        where = self._where(dataset)
        failed = f"loading {dataset} {version} into {where} failed"
        token = uuid.uuid4().hex[:8]
        staging = {t: f"{STAGING}{dataset}_{t}_{token}" for t in roots}
        try:
            before = self._begin(db, dataset, version, token, staging)
        except PyMongoError as e:
            why = without_secret(str(e), self.url)
            raise TdmError(f"{failed} before anything changed: {why}") from None
        previous = before.get("version")
        try:
            self._stage(db, docs, roots, staging)
        except BaseException as e:
            self._undo_staging(db, dataset, token, staging)
            if isinstance(e, PyMongoError | TdmError):
                why = without_secret(str(e), self.url)
                raise TdmError(
                    f"{failed} while staging and was undone; the live collections were not "
                    f"touched (version {previous or 'none'} is intact): {why}"
                ) from None
            raise
        try:
            self._swap(db, dataset, version, roots, staging, before)
            self._record_loaded(db, docs, dataset, version, order, roots)
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
            extra={"database": db.name, "collections": roots, "embedded": _parents(docs)},
        )

    def _begin(self, db, dataset: str, version: str, token: str, staging: dict[str, str]) -> dict:
        """Record this load's staging collections in the meta document before they exist, so a
        load that dies is cleaned up by the next one; returns the meta document as it was."""
        meta = db[META]
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
        return before

    def _undo_staging(self, db, dataset: str, token: str, staging: dict[str, str]) -> None:
        """Drop this load's staging collections and its mark in the meta document, as far as
        the database still answers (the error that got us here is the one to report)."""
        for name in staging.values():
            with contextlib.suppress(Exception):
                db.drop_collection(name)
        with contextlib.suppress(Exception):
            db[META].update_one(
                {"_id": dataset, "loading.token": token}, {"$unset": {"loading": ""}}
            )

    def _swap(
        self,
        db,
        dataset: str,
        version: str,
        roots: list[str],
        staging: dict[str, str],
        before: dict,
    ) -> None:
        """Rename each staging collection onto its live name, then drop the live collections the
        new version no longer has. From the first write here on, a failure can leave a mix of
        versions, which `swap` in the meta document records."""
        earlier_swap = (before.get("swap") or {}).get("collections", [])
        old_live = set(before.get("collections", [])) | set(earlier_swap)
        db[META].update_one(
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

    def _record_loaded(
        self, db, docs: _Documents, dataset: str, version: str, order: list[str], roots: list[str]
    ) -> None:
        """The meta document names the new version as complete, with its collections and rows."""
        db[META].update_one(
            {"_id": dataset},
            {
                "$set": {
                    "dataset": dataset,
                    "version": version,
                    "loaded_at": dt.datetime.now(dt.UTC),
                    "collections": roots,
                    "tables": list(order),
                    "embedded": _parents(docs),
                    "rows": {t: docs.rows[t] for t in order},
                },
                "$unset": {"swap": "", "loading": ""},
            },
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


def _parents(docs: _Documents) -> dict[str, str]:
    """Each embedded table and the table whose documents hold it."""
    return {child: e.parent for child, e in docs.embedded.items()}


__all__ = ["MongoTarget", "embeddings", "index_plan", "mock_client", "mongo_values", "redact"]
