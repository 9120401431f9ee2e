"""The bookkeeping of a PostgreSQL environment: `_tdm_meta`, the per-dataset advisory lock and
the staging schemas.

Where a dataset lives
    The environment's `schema:` (environments.yaml) names the PostgreSQL schema that holds the
    dataset's tables; when it is not set, every dataset gets a schema of its own name
    (`retail.customers`), so datasets never collide. Several datasets may share one named schema
    (even `public`) as long as their table names differ; a table that belongs to another dataset,
    or that tdm did not create, is never dropped: the load stops with an error naming it. The
    schema also holds `_tdm_meta` (dataset, version, loaded_at, tables, rows, spec_hash, spec):
    which version each dataset there is at, and the spec it was built from (for drift checks).
"""

from __future__ import annotations

import hashlib
import json

import psycopg
import psycopg.errors

from tdm.core.databases import quote_identifier as _q
from tdm.core.errors import TdmError
from tdm.spec.model import DatasetSpec
from tdm.targets.postgres.introspection import drift, expected_schema, live_schema

META = "_tdm_meta"
STAGE_PREFIX = "_tdm_stage_"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def lock_key(schema: str, dataset: str) -> int:
    """The advisory-lock key (signed 64-bit) of loads of `dataset` into `schema`."""
    digest = hashlib.sha256(f"tdm-load\0{schema}\0{dataset}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


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


class _Bookkeeping:
    """The advisory lock, staging schemas and `_tdm_meta` of a PostgresTarget."""

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

    def _try_lock_dataset(self, conn: psycopg.Connection, schema: str, dataset: str) -> bool:
        key = lock_key(schema, dataset)
        return bool(conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0])

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
                self.drop_stage(conn, name, wait="10s")
                continue
            if conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
                try:
                    self.drop_stage(conn, name, wait="2s")
                finally:
                    conn.execute("SELECT pg_advisory_unlock(%s)", [key])

    def drop_stage(self, conn: psycopg.Connection, stage: str, wait: str = "10s") -> None:
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


class _DriftChecks:
    """What a PostgresTarget's environment holds, against the spec it was loaded from."""

    def live_schema(self, dataset: str) -> dict:

        return live_schema(self.url, self.schema_for(dataset))

    def drift(self, dataset: str) -> list[dict]:
        """Differences between the live tables of `dataset` and the spec of the version the
        environment holds (see introspection.drift); [] when they match."""

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
