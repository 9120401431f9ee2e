"""The embedded default environment: one SQLite file per dataset.

A load replaces the dataset's tables in a single transaction (SQLite DDL is transactional), with
foreign keys enforced and checked at commit: readers see the old or the new version, never a mix,
and a crash or a violated key leaves the previous version in place.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateTable

from tdm.core.errors import TdmError
from tdm.core.urls import hide_password
from tdm.spec.model import DatasetSpec
from tdm.store.versions import VersionStore
from tdm.targets.base import LoadReport, Target
from tdm.targets.ddl import metadata_for

META = "_tdm_meta"


def _python_column(arr: pa.ChunkedArray, kind: str) -> list:
    if kind == "bool":
        arr = pc.cast(arr, pa.int8())
    elif kind in ("date", "decimal"):
        arr = pc.cast(arr, pa.string())
    elif kind == "timestamp":
        arr = pc.strftime(arr, format="%Y-%m-%d %H:%M:%S")
    return arr.to_pylist()


class SqliteTarget(Target):
    kind = "sqlite"

    def __init__(self, url: str):
        if not url.startswith("sqlite:///"):
            raise TdmError(
                f"a SQLite URL looks like sqlite:///path/to/file.sqlite, got {hide_password(url)!r}"
            )
        self.path = Path(url[len("sqlite:///") :])

    def connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def current(self, dataset: str) -> dict | None:
        if not self.path.exists():
            return None
        with self.connect() as conn:
            exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name=?", (META,)).fetchone()
            if not exists:
                return None
            row = conn.execute(
                f"SELECT version, loaded_at, tables FROM {META} WHERE dataset=?", (dataset,)
            ).fetchone()
        if not row:
            return None
        return {"version": row[0], "loaded_at": row[1], "tables": json.loads(row[2])}

    def load(self, store: VersionStore, dataset: str, version: str) -> LoadReport:
        manifest = store.manifest(dataset, version)
        spec = DatasetSpec.model_validate(manifest["spec"])
        order = manifest["order"]
        md = metadata_for(spec, "sqlite", order=order)
        previous = self.current(dataset)
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("PRAGMA defer_foreign_keys=ON")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {META} (dataset TEXT PRIMARY KEY, "
                "version TEXT NOT NULL, loaded_at TEXT NOT NULL, tables TEXT NOT NULL)"
            )
            old_tables = previous["tables"] if previous else []
            owned = {
                t
                for (tables,) in conn.execute(f"SELECT tables FROM {META}")
                for t in json.loads(tables)
            }
            existing = {
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
                )
            }
            foreign = sorted((set(order) & existing) - owned)
            if foreign:  # never drop what tdm did not create
                raise TdmError(
                    f"{self.path} already has {', '.join(foreign)}, which tdm did not "
                    "load; use another database file or drop them yourself"
                )
            for name in [*reversed(order), *old_tables]:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
            rows = {}
            for name in order:
                conn.execute(
                    str(CreateTable(md.tables[name]).compile(dialect=sqlite_dialect.dialect()))
                )
                rows[name] = self._insert(conn, store, dataset, version, name, spec)
            conn.execute(
                f"INSERT OR REPLACE INTO {META} VALUES (?, ?, ?, ?)",
                (
                    dataset,
                    version,
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    json.dumps(order),
                ),
            )
            conn.execute("COMMIT")
        except TdmError:
            conn.execute("ROLLBACK")
            raise
        except sqlite3.DatabaseError as e:
            conn.execute("ROLLBACK")
            raise TdmError(
                f"loading {dataset} {version} into {self.path} failed and was rolled "
                f"back (the previous version is intact): {e}"
            ) from None
        finally:
            conn.close()
        return LoadReport(
            dataset, version, rows, str(self.path), previous["version"] if previous else None
        )

    def _insert(self, conn, store, dataset, version, name, spec) -> int:
        columns = spec.tables[name].columns
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{name}" ({names}) VALUES ({marks})'
        total = 0
        for batch in store.batches(dataset, version, name):
            values = [_python_column(batch.column(c), columns[c].logical.kind) for c in columns]
            conn.executemany(sql, zip(*values, strict=True))
            total += batch.num_rows
        return total
