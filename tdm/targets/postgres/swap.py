"""The swap: ONE short transaction that puts the new version of a dataset in place.

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
"""

from __future__ import annotations

import json
import os
import socket
import time

import psycopg
import psycopg.errors

from tdm.core.errors import TdmError
from tdm.targets.postgres.meta import META, META_COLUMNS, _meta_ddl, _meta_text, _q


class _Swapping:
    """The swap of a PostgresTarget load, its checks, and what it says when it is blocked."""

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
                "it is never dropped: to fill the application's own tables give the environment "
                "`tables: existing`; otherwise load into another schema"
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
