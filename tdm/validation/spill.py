"""Columns of a whole version's table, for the checks across batches, in bounded memory: small
ones are read into memory (fast), bigger ones are streamed batch by batch into a DuckDB database
in a temporary directory, whose queries spill to disk past SPILL_MEMORY_MB (GROUP BY, joins, sorts).
Which path a check takes depends on the bytes its columns are estimated to hold (KEY_BUDGET),
from the manifest's row counts and the first rows of the table's first batch file: the estimate
is read before the columns are."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa

from tdm.core.databases import quote_identifier as quote

# The columns one check reads (with their global row index) are read into memory up to this
# size; checking them takes 4-5 times that (dictionary encoding, sorts, joins), about what the
# out-of-core path takes at any size (SPILL_MEMORY_MB, plus a batch of rows being checked).
KEY_BUDGET = 64 * 2**20
# DuckDB's memory_limit out of core, past which its operators spill; one thread, as each holds
# partitions of its own. The checks across tables of the retail example at 100M rows, replayed
# alone on its sealed version: the process peaks at 1,283 MB with 512 and 1,078 MB with 256, in
# 184 s and 189 s; in the run, the version step was then the highest peak of 100M, not of 10M
SPILL_MEMORY_MB = 256
SPILL_MEMORY_MAX_MB = 4096  # raised up to this, doubling, where DuckDB runs out of memory anyway
SPILL_THREADS = 1
SAMPLE_ROWS = 10_000  # rows of the first batch file read to estimate bytes per row
T = TypeVar("T")
ROW = "__tdm_row"  # each row's index over all the table's batches


def estimated_bytes(store, dataset: str, version: str, table: str, columns: list[str]) -> int:
    """The bytes `columns` of every batch of `table` take in memory (plus an int64 row index),
    estimated from the bytes per row of the first rows of its first batch file with rows."""
    files = store.manifest(dataset, version)["tables"][table]["files"]
    total = sum(f["rows"] for f in files)
    first = next((f for f in files if f["rows"]), None)
    if first is None:
        return 0
    sample = store.read_file(dataset, version, first, columns, rows=min(first["rows"], SAMPLE_ROWS))
    per_row = sample.nbytes / max(sample.num_rows, 1) + 8
    return int(total * per_row)


class Estimates:
    """estimated_bytes of the column sets a version's checks read, each estimated once (the key
    checks and the rules across tables ask for the same ones)."""

    def __init__(self, store, dataset: str, version: str):
        self.store, self.dataset, self.version = store, dataset, version
        self._bytes: dict[tuple[str, tuple[str, ...]], int] = {}

    def __call__(self, table: str, columns: Sequence[str]) -> int:
        key = (table, tuple(columns))
        if key not in self._bytes:
            self._bytes[key] = estimated_bytes(
                self.store, self.dataset, self.version, table, list(columns)
            )
        return self._bytes[key]


def plain(data: pa.Table) -> pa.Table:
    """`data` with extension-typed columns (e.g. uuid) as their storage, which DuckDB reads."""
    columns = [
        pa.chunked_array([c.storage for c in col.chunks], col.type.storage_type)
        if isinstance(col.type, pa.BaseExtensionType)
        else col
        for col in data.columns
    ]
    return pa.table(columns, names=data.column_names)


class Spill:
    """A DuckDB database in a temporary directory (removed on close) holding tables' columns
    streamed from a version's batches, each row with its global index (ROW)."""

    def __init__(self, store, dataset: str, version: str):
        import duckdb

        self.store, self.dataset, self.version = store, dataset, version
        self.dir = Path(tempfile.mkdtemp(prefix="tdm-spill-"))
        self.memory_mb = SPILL_MEMORY_MB
        spill_dir = str(self.dir / "tmp").replace("'", "''")
        try:
            self.con = duckdb.connect(str(self.dir / "spill.duckdb"))
            self.con.execute(f"SET memory_limit = '{self.memory_mb}MB'")
            self.con.execute(f"SET threads = {SPILL_THREADS}")
            self.con.execute(f"SET temp_directory = '{spill_dir}'")
            self.con.execute("SET preserve_insertion_order = false")
            self.con.execute("SET integer_division = true")  # as in PostgreSQL and tdm.checks
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.schemas: dict[tuple[str, tuple[str, ...]], pa.Schema] = {}
        self.loaded: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[str, int]] = {}
        self._names = 0

    def __enter__(self) -> Spill:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def name(self) -> str:
        self._names += 1
        return f"t{self._names}"

    def load(
        self, table: str, columns: list[str], empty: pa.Schema, not_null: Sequence[str] = ()
    ) -> tuple[str, int]:
        """The DuckDB table holding `columns` of every batch of `table` and ROW, rows with a
        null in a `not_null` column left out, and the table's rows (all of them); loaded once.
        Its columns have the types of the first batch (`empty`, the columns' schema, for a table
        without batches); `schemas` keeps them as Arrow types, to read values back as stored."""
        key = (table, tuple(columns), tuple(not_null))
        if key not in self.loaded:
            name, total = self.name(), 0
            keep = " AND ".join(f"{quote(c)} IS NOT NULL" for c in not_null)
            where = f"WHERE {keep}" if keep else ""
            for part in self.store.batches(self.dataset, self.version, table, columns):
                part = part.select(columns)
                if total == 0:
                    self._create(name, part.schema)
                    self.schemas.setdefault((table, tuple(columns)), part.schema)
                rows = np.arange(total, total + part.num_rows, dtype=np.int64)
                self.con.register("__part", plain(part).append_column(ROW, pa.array(rows)))
                self.execute(f"INSERT INTO {name} BY NAME SELECT * FROM __part {where}")
                total += part.num_rows
            if total == 0:
                self._create(name, empty)
                self.schemas.setdefault((table, tuple(columns)), empty)
            self.con.unregister("__part")
            self.loaded[key] = (name, total)
        return self.loaded[key]

    def _create(self, name: str, schema: pa.Schema) -> None:
        with_row = plain(schema.empty_table()).schema.append(pa.field(ROW, pa.int64()))
        self.con.register("__part", with_row.empty_table())
        self.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM __part")

    def drop(self, table: str, columns: list[str], not_null: Sequence[str] = ()) -> None:
        found = self.loaded.pop((table, tuple(columns), tuple(not_null)), None)
        if found is not None:
            self.execute(f"DROP TABLE {found[0]}")

    def execute(self, sql: str) -> None:
        self._retry(lambda: self.con.execute(sql).fetchall())

    def _retry(self, run: Callable[[], T]) -> T:
        """`run()`; where DuckDB runs out of memory even so (not every operator spills all it
        holds), again with twice the memory limit, up to SPILL_MEMORY_MAX_MB."""
        import duckdb

        while True:
            try:
                return run()
            except duckdb.OutOfMemoryException:
                if self.memory_mb * 2 > SPILL_MEMORY_MAX_MB:
                    raise
                self.memory_mb *= 2
                self.con.execute(f"SET memory_limit = '{self.memory_mb}MB'")

    def value(self, sql: str) -> int:
        return int(self._retry(lambda: self.con.execute(sql).fetchall())[0][0] or 0)

    def rows(self, sql: str) -> list[int]:
        return [int(r[0]) for r in self._retry(lambda: self.con.execute(sql).fetchall())]

    def arrow(self, sql: str) -> pa.Table:
        return self._retry(lambda: self.con.sql(sql).to_arrow_table())

    def types(self, name: str) -> dict[str, str]:
        """Column name -> DuckDB type of a loaded table."""
        return {r[0]: r[1] for r in self.con.execute(f"DESCRIBE {name}").fetchall()}
