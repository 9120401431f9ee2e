"""PostgreSQL environments: DDL from the spec, binary COPY, an all-or-nothing swap.

Where a dataset lives
    The environment's `schema:` (environments.yaml) names the PostgreSQL schema that holds the
    dataset's tables; when it is not set, every dataset gets a schema of its own name
    (`retail.customers`), so datasets never collide. Several datasets may share one named schema
    (even `public`) as long as their table names differ; a table that belongs to another dataset,
    or that tdm did not create, is never dropped: the load stops with an error naming it. The
    schema also holds `_tdm_meta` (dataset, version, loaded_at, tables, rows, spec_hash, spec):
    which version each dataset there is at, and the spec it was built from (for drift checks).

How a load works
    1. A session advisory lock per (schema, dataset) serialises loads of the same dataset into
       the same schema (a second one waits, then fails with a clear error). Staging schemas left
       by loads that died (their advisory lock is free) are dropped.
    2. A fresh staging schema `_tdm_stage_<random>` is created (its comment names the schema and
       dataset it is for). Every table is built there in its own transaction, several tables in
       parallel, each on its own connection: CREATE TABLE (types, NOT NULL, CHECK), then
       `COPY ... FROM STDIN (FORMAT binary, FREEZE)` of every batch of the version, Arrow encoded
       by pgpq (never row by row), then its primary key and unique constraints (one index build
       each, after the rows are in), indexes on its foreign-key columns, and ANALYZE.
    3. Foreign keys are added (and so validated against the loaded rows) in one transaction.
    4. The swap, ONE short transaction: lock `_tdm_meta` and the dataset's live tables (ACCESS
       EXCLUSIVE); write the new `_tdm_meta` (every dataset's row, this one's updated) into a
       fresh table in the staging schema, with COPY FREEZE too; carry the grants of the old
       tables over to the new ones; drop the old tables and the old `_tdm_meta`; move the new
       ones into the schema (ALTER TABLE ... SET SCHEMA keeps their indexes, constraints and
       statistics); drop the now empty staging schema; commit.

What readers see
    A transaction that touched the dataset's tables (or `_tdm_meta`) before the swap keeps them:
    the swap waits for it to finish, so it never sees a mix of old and new tables. The swap
    waits for its locks with a lock_timeout below deadlock_timeout and retries with backoff (up
    to `swap_timeout`), so it never queues for long in front of readers and a reader is never
    picked as a deadlock victim; if it cannot get them in time the load fails, naming the
    sessions that held them, and the previous version stays. All rows, `_tdm_meta`'s included,
    are written with FREEZE: a REPEATABLE READ transaction whose snapshot predates the swap but
    that first touches the tables after it (for instance one that was waiting for the swap's
    locks) sees the complete new tables and the new `_tdm_meta` (never empty tables, never the
    old version's row next to the new tables). Grants made on the tables (GRANT SELECT ... TO a
    reader role) are carried over to each new version; default privileges of the schema
    (ALTER DEFAULT PRIVILEGES IN SCHEMA) do not apply, the tables being created in staging.

Crashes
    Killed at any point before the swap commits, a load leaves the live tables and `_tdm_meta`
    as they were (the server rolls back its open transactions); only the staging schema may be
    left, and the next load of any dataset into the database drops it. Killed after the commit,
    the new version is complete.

Errors are TdmErrors naming the environment by its URL with the password hidden; the password
never appears in a message.

Permissions: the environment's user needs CREATE on the database (staging schemas), and must own
(or be able to create) the target schema and the dataset's tables.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import pgpq
import psycopg
import psycopg.errors
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from pgpq import encoders as pg_encoders
from pgpq import schema as pg_schema
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.schema import AddConstraint, CreateIndex, SetColumnComment, SetTableComment

from tdm.environments import hide_password, without_secret
from tdm.errors import TdmError
from tdm.spec import DatasetSpec
from tdm.targets.base import LoadReport, Target
from tdm.targets.ddl import metadata_for
from tdm.versions import VersionStore

META = "_tdm_meta"
STAGE_PREFIX = "_tdm_stage_"
CONNECT_TIMEOUT = 10  # seconds, unless the URL sets connect_timeout
APPLICATION = "tdm-load"
_DIALECT = pg_dialect.dialect()


def _q(name: str) -> str:
    """An always-quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def lock_key(schema: str, dataset: str) -> int:
    """The advisory-lock key (signed 64-bit) of loads of `dataset` into `schema`."""
    digest = hashlib.sha256(f"tdm-load\0{schema}\0{dataset}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresTarget(Target):
    kind = "postgresql"

    def __init__(
        self,
        url: str,
        schema: str | None = None,
        *,
        workers: int = 4,
        swap_timeout: float = 60.0,
        wait_timeout: float = 600.0,
    ):
        """`schema`: the PostgreSQL schema of the environment (None: one per dataset, named like
        it). `workers`: tables built at once. `swap_timeout`: how long the swap may wait for
        readers to release the live tables. `wait_timeout`: how long a load waits for another
        load of the same dataset into the same schema to finish."""
        self.url = url
        self.schema = schema
        self.workers = max(1, workers)
        self.swap_timeout = swap_timeout
        self.wait_timeout = wait_timeout
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise TdmError(
                f"the environment URL is not a database URL: {hide_password(url)}; write e.g. "
                "postgresql://user:${PASSWORD}@host:5432/database"
            ) from None
        self._password = parsed.password or ""
        if parsed.get_backend_name() not in ("postgresql", "postgres"):
            raise TdmError(f"not a PostgreSQL URL: {self.display_url}")
        params: dict[str, Any] = {
            k: v
            for k, v in parsed.translate_connect_args(username="user", database="dbname").items()
            if v is not None
        }
        params.update({k: v if isinstance(v, str) else v[-1] for k, v in parsed.query.items()})
        params.setdefault("connect_timeout", CONNECT_TIMEOUT)
        params.setdefault("application_name", APPLICATION)
        self._params = params
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
        conn = self.connect(head)
        state = {"previous": None, "swapped": False, "staged": False}
        try:
            with self._failing(head, state):
                self._lock_dataset(conn, schema, dataset)
                self._drop_stale_stages(conn, schema, dataset)
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
                    conn.execute(
                        f"COMMENT ON SCHEMA {_q(stage)} IS {_literal(json.dumps(comment))}"
                    )
                state["staged"] = True
                rows = self._build_tables(md, stage, store, manifest, spec)
                built = time.perf_counter()
                self._add_foreign_keys(conn, md)
                self._swap(conn, schema, stage, dataset, manifest, rows, state)
        except BaseException:
            if state["staged"] and not state["swapped"]:
                self._drop_stage(conn, stage)
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
                "rows_per_second": round(total / seconds) if seconds > 0 else None,
            },
        )

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

    def live_schema(self, dataset: str) -> dict:
        from tdm.introspect import live_schema

        return live_schema(self.url, self.schema_for(dataset))

    def drift(self, dataset: str) -> list[dict]:
        """Differences between the live tables of `dataset` and the spec of the version the
        environment holds (see tdm.introspect.drift); [] when they match."""
        from tdm.introspect import drift, expected_schema, live_schema

        schema = self.schema_for(dataset)
        head = f"checking {dataset} in {self.location(dataset)} for drift"
        with self._failing(head), self.connect() as conn:
            rows = (
                conn.execute(f"SELECT dataset, tables, spec FROM {_q(schema)}.{META}").fetchall()
                if self._meta_exists(conn, schema)
                else []
            )
        mine = next((r for r in rows if r[0] == dataset), None)
        if mine is None:
            raise TdmError(f"{head}: no version of {dataset} is loaded there")
        spec = DatasetSpec.model_validate(mine[2])
        expected = expected_schema(spec, schema, order=list(mine[1]))
        live = live_schema(self.url, schema)
        # only this dataset's tables can drift: others', and tables tdm did not create, are
        # someone else's business (in a shared schema such as public they must not block loads)
        mine_tables = set(mine[1])
        return drift(expected, live, ignore={META, *(set(live.get("tables", {})) - mine_tables)})

    # -- connections and errors ----------------------------------------------------------------

    @property
    def display_url(self) -> str:
        return self._safe(self.url)

    def _safe(self, text: str) -> str:
        return without_secret(text, getattr(self, "_password", ""))

    def connect(self, doing: str = "") -> psycopg.Connection:
        """A new autocommit connection; a TdmError naming host and database when it fails."""
        try:
            return psycopg.connect(**self._params, autocommit=True)
        except psycopg.Error as e:
            msg = self._safe(_one_line(str(e)))
            low = msg.lower()
            if "password" in low or "authentication" in low:
                hint = "check the user and password of the environment URL (its variable)"
            elif "does not exist" in low:
                hint = "check the database and user names in the environment URL"
            elif "resolve host" in low or "translate host" in low:
                hint = "check the host name in the environment URL"
            elif "refused" in low or "timeout" in low or "timed out" in low or "no route" in low:
                hint = "is the server running and reachable from here? check host and port"
            else:
                hint = "check the environment URL"
            where = f"{doing}: " if doing else ""
            raise TdmError(
                f"{where}cannot connect to the environment database {self.display_url}: "
                f"{msg} ({hint})"
            ) from None

    @contextmanager
    def _failing(self, head: str, state: dict | None = None) -> Iterator[None]:
        """Driver errors -> one TdmError: what was done, where, why, and what is left."""
        try:
            yield
        except TdmError as e:
            raise TdmError(self._safe(f"{head}: {e}{_aftermath(state)}")) from None
        except psycopg.Error as e:
            raise TdmError(self._safe(f"{head}: {describe(e)}{_aftermath(state)}")) from None

    # -- the steps of a load ---------------------------------------------------------------------

    def _lock_dataset(self, conn: psycopg.Connection, schema: str, dataset: str) -> None:
        key = lock_key(schema, dataset)
        wait_ms = f"{max(1, round(self.wait_timeout * 1000))}ms"
        conn.execute("SELECT set_config('lock_timeout', %s, false)", [wait_ms])
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", [key])
        except psycopg.errors.LockNotAvailable:
            holder = conn.execute(
                "SELECT a.pid, a.client_addr, a.backend_start FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.granted AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                [(key & 0xFFFFFFFFFFFFFFFF) >> 32, key & 0xFFFFFFFF],
            ).fetchone()
            who = (
                f" (server pid {holder[0]}, since {holder[2]:%Y-%m-%d %H:%M:%S})" if holder else ""
            )
            raise TdmError(
                f"another load of {dataset} into schema {schema} is still running{who}; "
                f"waited {self.wait_timeout:g} s for it"
            ) from None
        finally:
            conn.execute("SET lock_timeout TO DEFAULT")

    def _drop_stale_stages(self, conn: psycopg.Connection, schema: str, dataset: str) -> None:
        """Drop staging schemas of loads that are gone: ours (we hold its lock now) and any other
        whose advisory lock is free."""
        found = conn.execute(
            "SELECT nspname, obj_description(oid, 'pg_namespace') FROM pg_namespace "
            "WHERE nspname LIKE %s",
            [STAGE_PREFIX.replace("_", r"\_") + "%"],
        ).fetchall()
        for name, comment in found:
            try:
                about = json.loads(comment or "")
                key = lock_key(about["schema"], about["dataset"])
            except (ValueError, KeyError, TypeError):
                continue
            if (about["schema"], about["dataset"]) == (schema, dataset):
                self._drop_stage(conn, name, wait="10s")
                continue
            if conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
                try:
                    self._drop_stage(conn, name, wait="2s")
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    def _drop_stage(self, conn: psycopg.Connection, stage: str, wait: str = "10s") -> None:
        """Best effort: a staging schema that cannot be dropped now is dropped by a later load."""
        try:
            if conn.closed or conn.broken:
                return
            with conn.transaction():
                conn.execute("SELECT set_config('lock_timeout', %s, true)", [wait])
                conn.execute(f"DROP SCHEMA IF EXISTS {_q(stage)} CASCADE")
        except psycopg.Error:
            pass

    def _prepare_schema(self, conn: psycopg.Connection, schema: str) -> None:
        for attempt in range(3):
            try:
                with conn.transaction():
                    exists = conn.execute(
                        "SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]
                    ).fetchone()
                    if not exists:
                        conn.execute(f"CREATE SCHEMA {_q(schema)}")
                    conn.execute(_meta_ddl(f"{_q(schema)}.{META}", if_not_exists=True))
                return
            except (
                psycopg.errors.UniqueViolation,
                psycopg.errors.DuplicateSchema,
                psycopg.errors.DuplicateTable,
            ):
                if attempt == 2:  # a concurrent first load made them: look again
                    raise

    def _meta_exists(self, conn: psycopg.Connection, schema: str) -> bool:
        found = conn.execute("SELECT to_regclass(%s)", [f"{_q(schema)}.{META}"]).fetchone()
        return found[0] is not None

    def _meta_row(self, conn: psycopg.Connection, schema: str, dataset: str) -> tuple | None:
        return conn.execute(
            f"SELECT version, tables FROM {_q(schema)}.{META} WHERE dataset = %s", [dataset]
        ).fetchone()

    def _existing(self, conn: psycopg.Connection, schema: str, names: list[str]) -> list[str]:
        """Which of `names` are relations in `schema`, in the order given."""
        found = {
            r[0]
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname = ANY(%s) "
                "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
                [schema, names],
            )
        }
        return [n for n in names if n in found]

    def _build_tables(
        self,
        md: sa.MetaData,
        stage: str,
        store: VersionStore,
        manifest: dict,
        spec: DatasetSpec,
    ) -> dict[str, int]:
        order = manifest["order"]
        expected = {t: manifest["tables"][t]["rows"] for t in order}
        stop = threading.Event()

        def build(name: str) -> int:
            try:
                return self._build_table(md.tables[f"{stage}.{name}"], store, manifest, spec, stop)
            except BaseException:
                stop.set()
                raise

        biggest_first = sorted(order, key=lambda t: -expected[t])
        errors: list[TdmError] = []
        rows: dict[str, int] = {}
        with ThreadPoolExecutor(min(self.workers, max(1, len(order)))) as pool:
            try:
                futures = {name: pool.submit(build, name) for name in biggest_first}
                for name in biggest_first:
                    try:
                        rows[name] = futures[name].result()
                    except _Cancelled:
                        pass
                    except psycopg.Error as e:
                        errors.append(TdmError(f"table {name}: {describe(e)}"))
                    except (TdmError, pa.ArrowException, ValueError) as e:
                        errors.append(TdmError(f"table {name}: {e}"))
            except BaseException:  # interrupted: the other tables stop at their next batch
                stop.set()
                raise
        if errors:
            raise errors[0]
        for name in order:
            if rows[name] != expected[name]:
                raise TdmError(
                    f"table {name}: COPY stored {rows[name]} rows, the version holds "
                    f"{expected[name]}"
                )
        return {name: rows[name] for name in order}

    def _build_table(
        self,
        table: sa.Table,
        store: VersionStore,
        manifest: dict,
        spec: DatasetSpec,
        stop: threading.Event,
    ) -> int:
        name = table.name
        columns = spec.tables[name].columns
        kinds = {c: col.logical for c, col in columns.items()}
        ddl = _DIALECT.ddl_compiler(_DIALECT, None)
        parts = [ddl.get_column_specification(c) for c in table.columns]
        parts += [ddl.process(c) for c in table.constraints if isinstance(c, sa.CheckConstraint)]
        create = f"CREATE TABLE {ddl.preparer.format_table(table)} ({', '.join(parts)})"
        after = [
            str(AddConstraint(c).compile(dialect=_DIALECT))
            for c in [table.primary_key, *table.constraints]
            if isinstance(c, sa.UniqueConstraint)
            or (isinstance(c, sa.PrimaryKeyConstraint) and c.columns)
        ]
        after = list(dict.fromkeys(after))  # the primary key is listed twice
        after += [str(CreateIndex(ix).compile(dialect=_DIALECT)) for ix in table.indexes]
        if table.comment:
            after.append(str(SetTableComment(table).compile(dialect=_DIALECT)))
        after += [
            str(SetColumnComment(c).compile(dialect=_DIALECT)) for c in table.columns if c.comment
        ]
        after.append(f"ANALYZE {ddl.preparer.format_table(table)}")
        schema = pa.schema([pa.field(c, _wire_type(kinds[c])) for c in columns])
        encoders = {
            f.name: pg_encoders.StringEncoderBuilder.new_with_output(f, pg_schema.Jsonb())
            if kinds[f.name].kind == "json"
            else pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(f)
            for f in schema
        }
        copy_sql = (
            f"COPY {ddl.preparer.format_table(table)} "
            f"({', '.join(_q(c) for c in columns)}) FROM STDIN (FORMAT binary, FREEZE)"
        )
        dataset, version = manifest["dataset"], manifest["version"]
        with self.connect() as conn, conn.transaction():
            conn.execute(create)
            encoder = pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(schema, encoders)
            with conn.cursor() as cur:
                with cur.copy(copy_sql) as copy:
                    copy.write(encoder.write_header())
                    for part in _prefetch(store.batches(dataset, version, name)):
                        if stop.is_set():
                            raise _Cancelled
                        for batch in _wire_batches(part, schema, kinds, name):
                            copy.write(encoder.write_batch(batch))
                    copy.write(encoder.finish())
                rows = cur.rowcount
            for sql in after:
                if stop.is_set():
                    raise _Cancelled
                conn.execute(sql)
        return rows

    def _add_foreign_keys(self, conn: psycopg.Connection, md: sa.MetaData) -> None:
        with conn.transaction():
            for table in md.tables.values():
                for fk in sorted(table.foreign_key_constraints, key=lambda c: c.name):
                    try:
                        conn.execute(str(AddConstraint(fk).compile(dialect=_DIALECT)))
                    except psycopg.Error as e:
                        raise TdmError(f"table {table.name}: {describe(e)}") from None

    def _swap(
        self,
        conn: psycopg.Connection,
        schema: str,
        stage: str,
        dataset: str,
        manifest: dict,
        rows: dict[str, int],
        state: dict,
    ) -> None:
        order: list[str] = manifest["order"]
        setting = conn.execute(
            "SELECT setting::int FROM pg_settings WHERE name = 'deadlock_timeout'"
        ).fetchone()
        attempt_ms = max(20, min((setting[0] if setting else 1000) // 2, 1000))
        deadline = time.monotonic() + self.swap_timeout
        delay = 0.05
        meta = f"{_q(schema)}.{META}"
        while True:
            try:
                with conn.transaction():
                    conn.execute("SELECT set_config('lock_timeout', %s, true)", [f"{attempt_ms}ms"])
                    conn.execute(f"LOCK TABLE {meta} IN ACCESS EXCLUSIVE MODE")
                    entries = conn.execute(
                        "SELECT dataset, version, loaded_at, tables, rows, spec_hash, "
                        f"spec::text, loaded_by FROM {meta}"
                    ).fetchall()
                    held = {r[0]: (r[1], list(r[3])) for r in entries}
                    state["previous"] = held[dataset][0] if dataset in held else None
                    old = held[dataset][1] if dataset in held else []
                    self._check_names(conn, schema, dataset, order, old, held)
                    present = self._existing(conn, schema, old)
                    if present:
                        names = ", ".join(f"{_q(schema)}.{_q(t)}" for t in present)
                        conn.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
                    # the new _tdm_meta is made and filled (FREEZE) here, like the tables: a
                    # reader whose snapshot predates this commit still sees the new version
                    conn.execute(_meta_ddl(f"{_q(stage)}.{META}"))
                    mine = (
                        dataset,
                        manifest["version"],
                        conn.execute("SELECT now()").fetchone()[0],
                        json.dumps(order),
                        json.dumps(rows),
                        manifest.get("spec_hash"),
                        json.dumps(manifest["spec"]),
                        f"{socket.gethostname()} pid {os.getpid()}",
                    )
                    kept = [_meta_text(r) for r in entries if r[0] != dataset]
                    with conn.cursor() as cur:
                        columns = ", ".join(c for c, _ in META_COLUMNS)
                        with cur.copy(
                            f"COPY {_q(stage)}.{META} ({columns}) FROM STDIN (FREEZE)"
                        ) as copy:
                            for row in [*kept, mine]:
                                copy.write_row(row)
                    for t in [*[t for t in order if t in present], META]:
                        self._copy_grants(conn, f"{_q(schema)}.{_q(t)}", f"{_q(stage)}.{_q(t)}")
                    names = ", ".join(f"{_q(schema)}.{_q(t)}" for t in [*present, META])
                    conn.execute(f"DROP TABLE {names}")
                    for t in [*order, META]:
                        conn.execute(f"ALTER TABLE {_q(stage)}.{_q(t)} SET SCHEMA {_q(schema)}")
                    conn.execute(f"DROP SCHEMA {_q(stage)}")
                state["swapped"] = True
                return
            except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
                if time.monotonic() + delay > deadline:
                    raise TdmError(self._blocked(conn, schema, dataset)) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _check_names(self, conn, schema, dataset, order, old, held) -> None:
        owners = {t: d for d, (_, tables) in held.items() if d != dataset for t in tables}
        taken = [(t, owners[t]) for t in order if t in owners]
        if taken:
            t, other = taken[0]
            raise TdmError(
                f"table {schema}.{t} belongs to dataset {other}, loaded in the same schema; "
                "give the environment no schema (each dataset then gets a schema named after it) "
                "or rename the table"
            )
        foreign = [t for t in self._existing(conn, schema, order) if t not in old]
        if foreign:
            raise TdmError(
                f"schema {schema} already has {', '.join(foreign)}, which tdm did not load there; "
                "it is never dropped: drop or rename it yourself, or load into another schema"
            )

    def _blocked(self, conn: psycopg.Connection, schema: str, dataset: str) -> str:
        try:
            conn.rollback()
            held = self._meta_row(conn, schema, dataset)
            names = [META, *(held[1] if held else [])]
            sessions = conn.execute(
                "SELECT DISTINCT a.pid, a.usename, a.application_name, a.state, a.xact_start "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE l.granted AND n.nspname = %s AND c.relname = ANY(%s) "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND a.pid <> pg_backend_pid() ORDER BY a.pid",
                [schema, names],
            ).fetchall()
        except psycopg.Error:
            sessions = []
        who = "; ".join(
            f"pid {pid} (user {user}, {app or 'no application name'}, {st}"
            + (f" in a transaction since {since:%H:%M:%S}" if since else "")
            + ")"
            for pid, user, app, st, since in sessions
        )
        return (
            f"could not swap the new version in: other sessions kept using the live tables for "
            f"{self.swap_timeout:g} s" + (f" ({who})" if who else "")
        )

    def _copy_grants(self, conn: psycopg.Connection, source: str, target: str) -> None:
        """Grant on `target` what others were granted on `source` (readers keep their access)."""
        grants = conn.execute(
            "SELECT a.privilege_type, a.is_grantable, "
            "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END "
            "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
            "LEFT JOIN pg_roles r ON r.oid = a.grantee "
            "WHERE c.oid = %s::regclass AND a.grantee <> c.relowner",
            [source],
        ).fetchall()
        for privilege, grantable, grantee in grants:
            option = " WITH GRANT OPTION" if grantable else ""
            conn.execute(f"GRANT {privilege} ON {target} TO {grantee}{option}")


# The columns of _tdm_meta: which version each dataset of the schema is at, and its spec.
META_COLUMNS = [
    ("dataset", "text PRIMARY KEY"),
    ("version", "text NOT NULL"),
    ("loaded_at", "timestamptz NOT NULL"),
    ("tables", "jsonb NOT NULL"),
    ("rows", "jsonb NOT NULL"),
    ("spec_hash", "text"),
    ("spec", "json"),  # json, not jsonb: keeps the order of tables and columns
    ("loaded_by", "text"),
]


def _meta_ddl(table: str, if_not_exists: bool = False) -> str:
    columns = ", ".join(f"{c} {t}" for c, t in META_COLUMNS)
    return f"CREATE TABLE {'IF NOT EXISTS ' if if_not_exists else ''}{table} ({columns})"


def _meta_text(row: tuple) -> tuple:
    """A _tdm_meta row as read, ready to be written back by COPY."""
    dataset, version, loaded_at, tables, rows, spec_hash, spec, loaded_by = row
    return (
        dataset,
        version,
        loaded_at,
        json.dumps(tables),
        json.dumps(rows),
        spec_hash,
        spec,
        loaded_by,
    )


class _Cancelled(Exception):
    """Another table failed: stop building this one."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _aftermath(state: dict | None) -> str:
    if state is None:
        return ""
    if state.get("swapped"):
        return ""
    previous = state.get("previous")
    if previous:
        return f" (nothing changed: the previous version {previous} is intact)"
    return " (nothing changed in the environment)"


def describe(e: psycopg.Error) -> str:
    """A driver error as one line: the message, its detail, and a hint for the usual causes."""
    diag = getattr(e, "diag", None)
    message = _one_line((diag.message_primary if diag else None) or str(e))
    detail = _one_line(diag.message_detail) if diag and diag.message_detail else ""
    state = getattr(e, "sqlstate", None) or ""
    if len(detail) > 300:
        detail = detail[:300] + "..."
    text = message + (f" ({detail})" if detail else "")
    if (isinstance(e, psycopg.OperationalError) and not state) or state.startswith("08"):
        return f"lost the connection to the server: {text}"
    if state == "42501":
        return (
            f"{text} (the environment's user needs CREATE on the database for staging schemas, "
            "and must own the target schema and the dataset's tables)"
        )
    if state == "2BP01":
        return f"{text} (drop the objects that depend on the dataset's tables, then load again)"
    if state == "23505":
        return f"a unique key is violated: {text}"
    if state == "23503":
        return f"a foreign key is violated: {text}"
    if state in ("23514", "23502"):
        return f"a value breaks a constraint: {text}"
    if state.startswith("22"):
        return f"a value does not fit its column: {text}"
    return text


# -- Arrow on the wire -----------------------------------------------------------------------


def _wire_type(t) -> pa.DataType:
    """The Arrow type sent for a logical type: UUIDs travel as their 16 bytes (uuid_recv reads
    exactly those), everything else as its logical Arrow type."""
    return pa.binary(16) if t.kind == "uuid" else t.arrow


def _wire_batches(
    part: pa.Table, schema: pa.Schema, kinds: dict, table: str
) -> list[pa.RecordBatch]:
    arrays = []
    for field in schema:
        if field.name not in part.column_names:
            raise TdmError(f"the stored batch has no column {field.name}")
        arr = part.column(field.name)
        if kinds[field.name].kind == "uuid":
            arr = uuid_bytes(arr, f"{table}.{field.name}")
        elif arr.type != field.type:
            arr = arr.cast(field.type)
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=schema).to_batches()


_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i
_UUID_HEX = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
_ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def uuid_bytes(arr: pa.Array | pa.ChunkedArray, where: str = "") -> pa.Array:
    """Canonical UUID strings -> fixed_size_binary(16), vectorised (other spellings one by
    one); a value that is not a UUID is a TdmError naming `where`."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_fixed_size_binary(arr.type) and arr.type.byte_width == 16:
        return arr
    arr = arr.cast(pa.string())
    n = len(arr)
    filled = pc.fill_null(arr, _ZERO_UUID) if arr.null_count else arr
    lengths = pc.binary_length(filled)
    if n and pc.all(pc.equal(lengths, 36)).as_py():
        offsets = np.frombuffer(filled.buffers()[1], dtype=np.int32)[filled.offset :]
        data = np.frombuffer(filled.buffers()[2], dtype=np.uint8)
        chars = data[offsets[0] : offsets[0] + 36 * n].reshape(n, 36)
        dashes = chars[:, [8, 13, 18, 23]]
        nibbles = _HEX[chars[:, _UUID_HEX]]
        if (dashes == ord("-")).all() and not (nibbles == 255).any():
            raw = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
            out = pa.Array.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw.tobytes())])
            if arr.null_count:
                out = pc.if_else(arr.is_valid(), out, pa.scalar(None, pa.binary(16)))
            return out
    values = []
    for v in arr.to_pylist():
        try:
            values.append(None if v is None else uuid.UUID(v).bytes)
        except ValueError:
            raise TdmError(f"{where}: {v!r} is not a UUID") from None
    return pa.array(values, pa.binary(16))


def _prefetch(parts: Iterator[pa.Table]) -> Iterator[pa.Table]:
    """Read the next batch file in a thread while the current one is sent."""
    with ThreadPoolExecutor(1) as reader:
        it = iter(parts)
        pending = reader.submit(next, it, None)
        while True:
            part = pending.result()
            if part is None:
                return
            pending = reader.submit(next, it, None)
            yield part
