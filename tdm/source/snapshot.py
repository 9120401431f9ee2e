"""One exported snapshot for a whole run (docs/source.md, "One snapshot, and what holds across
processes").

Inside `one_snapshot()`, the transaction that plans a run from a PostgreSQL source (the one that
chooses a `subset:`, or for whole tables one opened to count them) stays open, READ ONLY, and
exports its snapshot (`pg_export_snapshot()`); every reader connection, in this process or in a
worker, begins REPEATABLE READ READ ONLY and imports it (`SET TRANSACTION SNAPSHOT`), so all of
them see exactly the source the plan was made from. The block's end closes the holding
transaction and this process's reader connections; a worker's close when the worker exits.

Outside it (the Dagster code location and its steps) nothing is held: readers use their own
transactions and a subset relies on its xmin check.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from multiprocessing import util
from typing import Any

from tdm.source.backend import _ConnectError

_ID = re.compile(r"[0-9A-Fa-f]+(-[0-9A-Fa-f]+)+")  # what pg_export_snapshot() returns


@dataclass
class _Scope:
    pid: int = field(default_factory=os.getpid)
    closers: list[Callable[[], None]] = field(default_factory=list)


_SCOPE: ContextVar[_Scope | None] = ContextVar("tdm_snapshot_scope", default=None)


@contextmanager
def one_snapshot() -> Iterator[None]:
    """Plans made inside hold their source snapshot open until the block ends (any way)."""
    scope = _Scope()
    token = _SCOPE.set(scope)
    try:
        yield
    finally:
        _SCOPE.reset(token)
        for close in reversed(scope.closers):
            with suppress(Exception):  # closing ends the transaction: nothing to keep
                close()


def _scope() -> _Scope | None:
    scope = _SCOPE.get()
    return scope if scope is not None and scope.pid == os.getpid() else None


def holding() -> bool:
    """Whether a plan made now should hold its snapshot for the run."""
    return _scope() is not None


def export(conn: Any) -> str:
    """Export the snapshot of `conn`'s open REPEATABLE READ transaction and keep `conn` until
    the `one_snapshot()` block ends (the caller must not close it)."""
    scope = _scope()
    if scope is None:
        raise AssertionError("export() outside one_snapshot()")
    scope.closers.append(conn.close)
    return str(conn.execute("SELECT pg_export_snapshot()").fetchone()[0])


def hold(params: dict) -> str:
    """Open a REPEATABLE READ READ ONLY transaction on a new connection (`params`: psycopg
    keywords) and export its snapshot; closed when the `one_snapshot()` block ends."""
    import psycopg

    conn = psycopg.connect(**params)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        return export(conn)
    except BaseException:
        conn.close()
        raise


def adopt(conn: Any) -> None:
    """A reader connection that imported a snapshot: closed when the `one_snapshot()` block of
    this process ends, or (a worker process) when the process exits, never left idle in a
    transaction."""
    scope = _scope()
    if scope is not None:
        scope.closers.append(conn.close)
    else:
        util.Finalize(None, conn.close, exitpriority=10)


def begin(conn: Any, snapshot: str) -> None:
    """Begin, on an autocommit connection, a REPEATABLE READ READ ONLY transaction that sees
    exactly the exported `snapshot`; a _ConnectError (a TdmError) when its holder is gone."""
    import psycopg

    if not _ID.fullmatch(snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    except psycopg.Error as e:
        conn.execute("ROLLBACK")
        if getattr(e, "sqlstate", None) != "22023":  # invalid_parameter_value
            raise
        raise _ConnectError(
            f"the snapshot {snapshot} exported by the process that planned this run (tdm "
            f"generate) is gone: {str(e).strip()}; the planning process or its connection ended "
            "before every batch was read; run again"
        ) from None
