"""Building a version's tables in a staging schema while the run still makes its batches.

A run that ends in a load into a PostgreSQL environment (`tdm run --env`, unless TDM_EARLY_LOAD=0,
pipelines.runner) can COPY each batch into a staging schema as soon as it is made: the server
ingests it on its own cores while the next batch is generated; a table's keys and indexes are
built once its last batch is in, and the foreign keys once every table is. Nothing of this is
visible in the environment: the load step (PostgresTarget.load, behind the load gate: the
version passed validation) adopts the staging schema and only then swaps it in, in its ONE
transaction. The staging schema is adopted only if it holds exactly the version's batches (every
batch of every table once, with the manifest's row counts) under the DDL the load would create;
anything else (a failed batch, a table made twice, another load holding the dataset's lock)
drops it and the load builds the tables from the version's files as usual. A run that does not
reach the load drops it (discard); a process that dies leaves it to the next load, which drops
staging schemas whose lock is free.
"""

from __future__ import annotations

import queue
import threading
import uuid
from contextlib import suppress
from dataclasses import dataclass

import psycopg
import pyarrow as pa
import sqlalchemy as sa

from tdm.core.errors import TdmError
from tdm.spec.model import DatasetSpec
from tdm.targets.ddl import metadata_for
from tdm.targets.postgres.meta import STAGE_PREFIX
from tdm.targets.postgres.table_build import TableBuild

IN_FLIGHT = 2  # batches of a table queued for its COPY: the producer waits beyond that
_OPEN: dict[tuple[str, str, str, str], EarlyLoad] = {}  # (url, schema, dataset, version)
_OPEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class Adopted:
    conn: psycopg.Connection  # holds the dataset's advisory lock
    stage: str
    md: sa.MetaData
    rows: dict[str, int]
    previous: str | None  # foreign keys are added (and so validated) already


class EarlyLoad:
    """The staging schema of one version, built batch by batch (a tdm.produce.streams sink)."""

    def __init__(self, target, dataset: str, version: str, spec: DatasetSpec, order: list[str]):
        self.target, self.dataset, self.version, self.order = target, dataset, version, order
        self.schema = target.schema_for(dataset)
        self.stage = f"{STAGE_PREFIX}{uuid.uuid4().hex[:12]}"
        self.md = metadata_for(
            spec, "postgresql", schema=self.stage, order=order, checks=True, indexes=True
        )
        self.builds = {
            t: TableBuild.of(self.md.tables[f"{self.stage}.{t}"], spec, target.analyze_all)
            for t in order
        }
        self.conn: psycopg.Connection | None = None
        self.previous: str | None = None
        self.batches: dict[str, dict[str, int]] = {}  # table -> batch key -> rows
        self.rows: dict[str, int] = {}  # tables whose build committed -> rows COPY stored
        self.failed: list[BaseException] = []
        self.stop = threading.Event()
        self._queues: dict[str, queue.Queue] = {}
        self._threads: list[threading.Thread] = []
        self._ended: set[str] = set()  # tables whose last batch was handed over
        self._keyed = False
        self._lock = threading.Lock()

    # -- the run's side ------------------------------------------------------------------------

    def start(self) -> bool:
        """Lock the dataset and create the staging schema; False (nothing made) when another
        load of the dataset holds the lock or the environment cannot be reached."""
        state: dict = {"previous": None, "staged": False}
        try:
            self.conn = self.target.connect()
            if not self.target.open_stage(
                self.conn, self.schema, self.dataset, self.version, self.order, self.stage,
                state, wait=False,
            ):  # fmt: skip
                self._close()
                return False
        except (TdmError, psycopg.Error):
            if state["staged"]:
                self.target.drop_stage(self.conn, self.stage)
            self._close()
            return False
        self.previous = state["previous"]
        with _OPEN_LOCK:
            _OPEN[(self.target.url, self.schema, self.dataset, self.version)] = self
        return True

    def begin_table(self, table: str) -> None:
        if self.conn is None:  # not started, or given up
            return
        if table not in self.builds or table in self._queues:  # made twice: give up
            self.failed.append(TdmError(f"table {table} was produced twice"))
            self.stop.set()
            return
        # at most `workers` tables building at once: wait for the oldest whose batches are all in
        # (still building its keys); one still taking batches never waits for the others
        ended = [t for t in self._threads if t.is_alive() and t.name in self._ended]
        if len(ended) >= max(1, self.target.workers - 1):
            ended[0].join()
        self.batches[table] = {}
        self._queues[table] = queue.Queue(IN_FLIGHT)
        thread = threading.Thread(target=self._build, args=(table,), name=table, daemon=True)
        self._threads.append(thread)
        thread.start()

    def add(self, table: str, key: str, data: pa.Table) -> None:
        if self.stop.is_set() or table not in self._queues:
            return
        self.batches[table][key] = self.batches[table].get(key, 0) + data.num_rows
        self._put(table, data)

    def end_table(self, table: str) -> None:
        if table in self._queues and table not in self._ended:
            self._ended.add(table)
            self._put(table, None)

    def _put(self, table: str, item: pa.Table | None) -> None:
        while not self.stop.is_set():  # a COPY that failed stops taking batches: never block
            with suppress(queue.Full):
                self._queues[table].put(item, timeout=0.1)
                return

    def _build(self, table: str) -> None:
        parts = iter(self._queues[table].get, None)
        try:
            with self.target.connect() as conn:
                rows = self.builds[table].run(conn, parts, self.stop)
            with self._lock:
                self.rows[table] = rows
                last = len(self.rows) == len(self.order)
            if last:  # every table is in: add the foreign keys now, still in staging
                self.target.add_foreign_keys(self.conn, self.md)
                self._keyed = True
        except BaseException as e:  # any failure only means the load builds the tables again
            self.failed.append(e)
            self.stop.set()

    # -- the load's side -----------------------------------------------------------------------

    def adopt(self, manifest: dict, spec: DatasetSpec) -> Adopted | None:
        """Wait for the builds; the staging schema if it holds exactly the version, else None
        (and the staging schema dropped)."""
        for table in self._queues:
            self.end_table(table)
        for thread in self._threads:
            thread.join()
        if self.failed or not self._matches(manifest, spec):
            self.discard()
            return None
        conn, self.conn = self.conn, None
        return Adopted(conn, self.stage, self.md, dict(self.rows), self.previous)

    def _matches(self, manifest: dict, spec: DatasetSpec) -> bool:
        if manifest["order"] != self.order or not self._keyed:
            return False
        md = metadata_for(
            spec, "postgresql", schema=self.stage, order=self.order, checks=True, indexes=True
        )
        for table in self.order:
            info = manifest["tables"][table]
            made = {f["batch"]: f["rows"] for f in info["files"]}
            if self.batches.get(table) != made or self.rows[table] != info["rows"]:
                return False
            build = TableBuild.of(md.tables[f"{self.stage}.{table}"], spec, self.target.analyze_all)
            if build != self.builds[table]:
                return False
        return True

    def discard(self) -> None:
        """Stop the builds and drop the staging schema; releases the dataset's lock."""
        self.stop.set()
        for waiting in self._queues.values():  # a build waiting for its next batch ends now
            with suppress(queue.Empty):
                while True:
                    waiting.get_nowait()
            with suppress(queue.Full):
                waiting.put_nowait(None)
        for thread in self._threads:
            thread.join()
        with _OPEN_LOCK:
            key = (self.target.url, self.schema, self.dataset, self.version)
            if _OPEN.get(key) is self:
                del _OPEN[key]
        if self.conn is not None:
            self.target.drop_stage(self.conn, self.stage)
        self._close()

    def _close(self) -> None:
        if self.conn is not None:
            with suppress(Exception):
                self.conn.close()
        self.conn = None


def take_early(target, dataset: str, version: str) -> EarlyLoad | None:
    """The early load of this version into this target's schema, if a run in this process
    started one (it is then the caller's to adopt or discard)."""
    with _OPEN_LOCK:
        return _OPEN.pop((target.url, target.schema_for(dataset), dataset, version), None)


def discard_early(dataset: str) -> None:
    """Drop the staging schemas of early loads of `dataset` that no load adopted (the run failed
    or stopped before its load)."""
    with _OPEN_LOCK:
        left = [e for k, e in _OPEN.items() if k[2] == dataset]
    for early in left:
        early.discard()
