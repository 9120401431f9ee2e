"""PostgreSQL environments: DDL from the spec, binary COPY, an all-or-nothing swap.

How a load works
    1. A session advisory lock per (schema, dataset) serialises loads of the same dataset into
       the same schema (a second one waits, then fails with a clear error). Staging schemas left
       by loads that died (their advisory lock is free) are dropped.
    2. A fresh staging schema `_tdm_stage_<random>` is created (its comment names the schema and
       dataset it is for). Every table is built there in its own transaction, several tables in
       parallel, each on its own connection: CREATE TABLE (types, NOT NULL, CHECK), then
       `COPY ... FROM STDIN (FORMAT binary, FREEZE)` of every batch of the version, Arrow encoded
       by pgpq (never row by row), then its primary key and unique constraints (one index build
       each, after the rows are in), indexes on its foreign-key columns, and ANALYZE of the
       columns of its keys and indexes (the rest by autovacuum: table_build._keyed).
    3. Foreign keys are added (and so validated against the loaded rows) in one transaction.
    4. The swap, ONE short transaction: lock `_tdm_meta` and the dataset's live tables (ACCESS
       EXCLUSIVE); write the new `_tdm_meta` (every dataset's row, this one's updated) into a
       fresh table in the staging schema, with COPY FREEZE too; carry the grants of the old
       tables over to the new ones; drop the old tables and the old `_tdm_meta`; move the new
       ones into the schema (ALTER TABLE ... SET SCHEMA keeps their indexes, constraints and
       statistics); drop the now empty staging schema; commit.

Where the parts are
    tdm/targets/pg_meta.py (where a dataset lives: `_tdm_meta`, the advisory lock, staging
    schemas; live_schema and drift), pg_load.py (building the tables: parallel COPY), pg_swap.py
    (the swap, what readers see, crashes), pg_errors.py (connections, errors, permissions).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from contextlib import suppress

import sqlalchemy as sa

from tdm.core.errors import TdmError
from tdm.spec.model import DatasetSpec
from tdm.store.versions import VersionStore
from tdm.targets.base import LoadReport, Target
from tdm.targets.ddl import metadata_for
from tdm.targets.postgres.early import take_early
from tdm.targets.postgres.errors import _Connections, describe
from tdm.targets.postgres.load import _prefetch, _Staging, uuid_bytes
from tdm.targets.postgres.meta import (
    META,
    META_COLUMNS,
    STAGE_PREFIX,
    _Bookkeeping,
    _DriftChecks,
    _literal,
    _q,
    lock_key,
)
from tdm.targets.postgres.swap import _Swapping
from tdm.targets.postgres.table_build import TableBuild

__all__ = ["META", "META_COLUMNS", "PostgresTarget", "describe", "lock_key", "uuid_bytes"]


class PostgresTarget(_Staging, _Swapping, _Bookkeeping, _DriftChecks, _Connections, Target):
    kind = "postgresql"

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        *,
        workers: int = 4,
        swap_timeout: float = 60.0,
        wait_timeout: float = 600.0,
        analyze_all: bool = False,
    ):
        """`schema`: the PostgreSQL schema of the environment (None: one per dataset, named like
        it). `workers`: tables built at once. `swap_timeout`: how long the swap may wait for
        readers to release the live tables. `wait_timeout`: how long a load waits for another
        load of the same dataset into the same schema to finish. `analyze_all`: statistics of
        every column at load, not only of the keys' (tdm.targets.postgres.table_build)."""
        self.url = url
        self.schema = schema
        self.workers = max(1, workers)
        self.swap_timeout = swap_timeout
        self.wait_timeout = wait_timeout
        self.analyze_all = analyze_all
        parsed = self._parse(url)
        self._sa_url = parsed.set(drivername="postgresql+psycopg")

    # -- what others call ----------------------------------------------------------------------

    def schema_for(self, dataset: str) -> str:
        return self.schema or dataset

    def location(self, dataset: str) -> str:
        return f"{self.display_url} (schema {self.schema_for(dataset)})"

    def current(self, dataset: str) -> dict | None:
        schema = self.schema_for(dataset)
        head = f"reading which version of {dataset} {self.location(dataset)} holds"
        with self._failing(head), self.connect() as conn:
            if not self._meta_exists(conn, schema):
                return None
            row = conn.execute(
                f"SELECT version, loaded_at, tables, rows FROM {_q(schema)}.{META} "
                "WHERE dataset = %s",
                [dataset],
            ).fetchone()
        if not row:
            return None
        return {
            "version": row[0],
            "loaded_at": row[1].astimezone(dt.UTC).isoformat(timespec="seconds"),
            "tables": list(row[2]),
            "rows": {t: row[3][t] for t in row[2] if t in row[3]},
            "schema": schema,
        }

    def load(self, store: VersionStore, dataset: str, version: str) -> LoadReport:
        started = time.perf_counter()
        manifest = store.manifest(dataset, version)
        spec = DatasetSpec.model_validate(manifest["spec"])
        order: list[str] = manifest["order"]
        schema = self.schema_for(dataset)
        stage = f"{STAGE_PREFIX}{uuid.uuid4().hex[:12]}"
        head = f"loading {dataset} {version} into {self.location(dataset)}"
        if META in order:
            raise TdmError(f"{head}: a table may not be called {META} (tdm keeps its notes there)")
        md = metadata_for(spec, "postgresql", schema=stage, order=order, checks=True, indexes=True)
        early = take_early(self, dataset, version)
        adopted = early.adopt(manifest, spec) if early is not None else None
        conn = adopted.conn if adopted else self.connect(head)
        stage = adopted.stage if adopted else stage
        state = {"previous": None, "swapped": False, "staged": bool(adopted)}
        try:
            with self._failing(head, state):
                if adopted:  # built while the run made the batches (tdm.targets.postgres.early)
                    state["previous"], rows = adopted.previous, adopted.rows
                    md = adopted.md
                else:
                    self.open_stage(conn, schema, dataset, version, order, stage, state)
                    rows = self._build_tables(md, stage, store, manifest, spec)
                built = time.perf_counter()
                if not adopted:
                    self.add_foreign_keys(conn, md)
                self._swap(conn, schema, stage, dataset, manifest, rows, state)
        except BaseException:
            if state["staged"] and not state["swapped"]:
                self.drop_stage(conn, stage)
            raise
        finally:
            with suppress(Exception):
                conn.close()  # ends the session: releases the advisory lock
        seconds = time.perf_counter() - started
        total = sum(rows.values())
        return LoadReport(
            dataset,
            version,
            rows,
            self.location(dataset),
            state["previous"],
            extra={
                "schema": schema,
                "seconds": round(seconds, 3),
                "build_seconds": round(built - started, 3),  # COPY, keys, indexes, ANALYZE
                "built_while_produced": bool(adopted),
                "rows_per_second": round(total / seconds) if seconds > 0 else None,
            },
        )

    def open_stage(
        self,
        conn,
        schema: str,
        dataset: str,
        version: str,
        order: list[str],
        stage: str,
        state: dict,
        wait: bool = True,
    ) -> bool:
        """Take the dataset's lock, drop stale staging schemas, refuse foreign tables, make the
        schema and `_tdm_meta`, then create `stage`. Without `wait`, False (and nothing done)
        when another load holds the lock."""
        if wait:
            self._lock_dataset(conn, schema, dataset)
        elif not self._try_lock_dataset(conn, schema, dataset):
            return False
        self._drop_stale_stages(conn, schema, dataset)
        if not self._meta_exists(conn, schema):  # refuse before creating anything
            self._check_names(conn, schema, dataset, order, [], {})
        self._prepare_schema(conn, schema)
        held = self._meta_row(conn, schema, dataset)
        state["previous"] = held[0] if held else None
        with conn.transaction():
            conn.execute(f"CREATE SCHEMA {_q(stage)}")
            comment = {
                "tdm": "staging",
                "schema": schema,
                "dataset": dataset,
                "version": version,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            conn.execute(f"COMMENT ON SCHEMA {_q(stage)} IS {_literal(json.dumps(comment))}")
        state["staged"] = True
        return True

    def drop(self, dataset: str) -> str | None:
        """Drop the dataset's tables and forget it; returns the version it held (or None)."""
        schema = self.schema_for(dataset)
        head = f"dropping {dataset} from {self.location(dataset)}"
        with self._failing(head), self.connect() as conn:
            if not self._meta_exists(conn, schema):
                return None
            with conn.transaction():
                conn.execute(f"LOCK TABLE {_q(schema)}.{META} IN ACCESS EXCLUSIVE MODE")
                row = conn.execute(
                    f"SELECT version, tables FROM {_q(schema)}.{META} WHERE dataset = %s",
                    [dataset],
                ).fetchone()
                if not row:
                    return None
                present = self._existing(conn, schema, list(row[1]))
                if present:
                    names = ", ".join(f"{_q(schema)}.{_q(t)}" for t in present)
                    conn.execute(f"DROP TABLE {names}")
                conn.execute(f"DELETE FROM {_q(schema)}.{META} WHERE dataset = %s", [dataset])
            return row[0]

    # -- the build of one table (tdm.targets.postgres.table_build) ----------------------------

    def _build_table(
        self,
        table: sa.Table,
        store: VersionStore,
        manifest: dict,
        spec: DatasetSpec,
        stop: threading.Event,
    ) -> int:
        build = TableBuild.of(table, spec, self.analyze_all)
        parts = _prefetch(store.batches(manifest["dataset"], manifest["version"], table.name))
        with self.connect() as conn:
            return build.run(conn, parts, stop)
