"""Building a version's tables in the staging schema: several tables in parallel, each on its
own connection, its rows sent by binary COPY of Arrow batches (pgpq), then the foreign keys."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.schema import AddConstraint

from tdm.core.errors import TdmError
from tdm.spec.model import DatasetSpec
from tdm.store.versions import VersionStore
from tdm.targets.postgres.errors import describe

_DIALECT = pg_dialect.dialect()


class _Cancelled(Exception):
    """Another table failed: stop building this one."""


class _Staging:
    """The build steps of a PostgresTarget load (each table is built by its _build_table)."""

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

    def add_foreign_keys(self, conn: psycopg.Connection, md: sa.MetaData) -> None:
        """The foreign keys of md's (staging) tables, in one transaction: PostgreSQL checks
        every row. Called by the load and by an early load (tdm.targets.postgres.early)."""
        with conn.transaction():
            for table in md.tables.values():
                for fk in sorted(table.foreign_key_constraints, key=lambda c: c.name):
                    try:
                        conn.execute(str(AddConstraint(fk).compile(dialect=_DIALECT)))
                    except psycopg.Error as e:
                        raise TdmError(f"table {table.name}: {describe(e)}") from None


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
