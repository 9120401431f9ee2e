"""Dagster's SQLite event log, with its connections kept between events.

Dagster's SqliteEventLogStorage opens a new SQLAlchemy engine for every event it stores (one
SQLite file per run, plus an index file), so every INSERT is compiled again and each event costs
6-18 ms of CPU here: ~3 s of a 12 s run of 171 events (bench/end_to_end.py, profiled). This
subclass keeps one engine per file for the few files a process writes, and so each engine's
statement cache: the same files, the same tables and transactions, read by an unchanged
`dagster dev` or webserver. Only tdm's own local instance uses it (pipelines.runner.instance);
a configured storage (PostgreSQL in the compose stack) is left as it is.

Dagster puts these files in WAL mode; its connections keep SQLite's default `synchronous=FULL`,
which flushes the log to disk at every commit (~1 ms, twice per asset event: ~0.2 s of a 1M-row
run). These connections use `synchronous=NORMAL`, SQLite's recommended setting in WAL mode: the
file cannot be corrupted, and a crash of the process loses nothing; only a power cut or an OS crash
may lose the last events written before it.

Each run gets a new file, which Dagster creates with its tables and stamps with its alembic
revision (~45 ms, twice for `tdm run --env`). A new run's file is instead copied from a template
of the same tables made once per Dagster version in the directory (`run-<version>.template`, not
a `*.db`: not a run), and linked into place only if no file of that run exists yet. The template
is made with the storage, as Dagster makes its index file then: the first run in a new
DAGSTER_HOME does not wait for it (~0.12 s).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import dagster as dg
import sqlalchemy as sa
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import ConfigurableClassData

# The index file and the runs a process writes at a time; older runs' engines are closed.
KEPT_ENGINES = 4


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._tables: set[str] = set()  # of the index file, found there already
        self._probe: sa.Engine | None = None  # has_table's
        self._probe_lock = threading.Lock()
        super().__init__(base_dir, inst_data)  # makes the index file, if missing
        self._template = os.path.join(self._base_dir, f"run-{dg.__version__}.template")
        self._make_template()  # and the runs' template, if missing: not in the first run

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:  # type: ignore[override]
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                if shard not in self._initialized_dbs and self._from_template(shard):
                    self._initialized_dbs.add(shard)
                engine = sa.create_engine(
                    self.conn_string_for_shard(shard),
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                sa.event.listen(engine, "connect", _flush_at_checkpoints)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
                while len(self._engines) > KEPT_ENGINES:
                    self._engines.popitem(last=False)[1].dispose()
            self._engines.move_to_end(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Dagster's opens an engine for each question (64 of them in a 1M-row run, ~1.2 ms
        each); one kept engine answers, and a table found is remembered (until wipe or
        upgrade). Not _connect's engine nor its lock: Dagster asks while it holds them."""
        if table_name not in self._tables:
            with self._probe_lock:
                if self._probe is None:
                    self._probe = sa.create_engine(
                        self.conn_string_for_shard(INDEX_SHARD_NAME),
                        poolclass=sa.pool.StaticPool,
                        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                    )
                probe = self._probe
            with probe.connect() as conn:
                if probe.dialect.has_table(conn, table_name):
                    self._tables.add(table_name)
        return table_name in self._tables

    def _from_template(self, shard: str) -> bool:
        """Create a new run's file as a copy of the template (made first if missing); False
        when the file exists already (or is the index), or the copy cannot be made."""
        path = self.path_for_shard(shard)
        if shard == INDEX_SHARD_NAME or os.path.exists(path):
            return False
        if not self._make_template():
            return False  # Dagster creates the file as usual
        partial = self._partial()
        try:
            shutil.copyfile(self._template, partial)
            os.link(partial, path)  # never over a file another process made meanwhile
            return True
        except OSError:
            return False
        finally:
            with suppress(FileNotFoundError):
                os.unlink(partial)

    def _partial(self) -> str:
        return os.path.join(self._base_dir, f".{uuid.uuid4().hex}.partial")

    def _make_template(self) -> bool:
        """Make the template unless it exists; False when it cannot be made (a read-only
        directory: runs' files are then made by Dagster, as without it)."""
        if os.path.exists(self._template):
            return True
        partial = self._partial()
        engine = sa.create_engine(
            f"sqlite:///{partial}",
            poolclass=sa.pool.NullPool,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        try:
            self._initdb(engine)  # Dagster's own tables, WAL mode and alembic stamp
            with engine.connect() as conn:  # everything into the file itself
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            with suppress(FileExistsError):  # another process made it meanwhile
                os.link(partial, self._template)
            return True
        except (OSError, sa.exc.SQLAlchemyError):
            return False
        finally:
            engine.dispose()
            for leftover in (partial, f"{partial}-wal", f"{partial}-shm"):
                with suppress(FileNotFoundError):
                    os.unlink(leftover)

    def _dispose_engines(self) -> None:
        with self._db_lock:
            self._tables.clear()
            with self._probe_lock:
                if self._probe is not None:
                    self._probe.dispose()
                    self._probe = None
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before the files go
        super().wipe()

    def upgrade(self) -> None:
        self._dispose_engines()
        super().upgrade()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


def _flush_at_checkpoints(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
