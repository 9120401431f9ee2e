"""Engine-only generation: a whole dataset into Parquet files, in one or many processes.

The output does not depend on the batch size or the number of workers: batches are rebuffered into
row groups of a fixed size, so the files are byte-identical for the same spec and seed (and key).
Memory does not depend on the row count: batches are enumerated lazily and at most a few per
worker are in flight. Files are written into a staging directory beside them and moved in place
only when every table is done, so a failed or interrupted run leaves `out` as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tdm.core.errors import TdmError
from tdm.core.files import PARQUET_OPTIONS
from tdm.masking.apply import Masker
from tdm.masking.keys import MaskingKey
from tdm.plan.model import Plan
from tdm.produce.production import masked_batch

ROW_GROUP = 65_536
IN_FLIGHT = 2  # batches per worker submitted ahead of the writer
Block = tuple[str, int, int]  # table, first row, row after the last


def blocks(rows: int, batch_size: int) -> Iterator[tuple[int, int]]:
    return ((s, min(rows, s + batch_size)) for s in range(0, rows, batch_size))


class _Producer:
    """Generates and masks one block; built once per process (strategies hold ciphers)."""

    def __init__(self, plan: Plan, key: MaskingKey | None):
        self.plan, self.masker = plan, Masker(plan, key)

    def __call__(self, block: Block) -> pa.Table:
        table, start, stop = block
        return masked_batch(self.plan, self.masker, table, start, stop)[1]


_WORKER: list[_Producer] = []  # the producer of a pool process, sent once at its start


def _start_worker(plan: Plan, key: MaskingKey | None) -> None:
    _WORKER[:] = [_Producer(plan, key)]


def _produce_in_worker(block: Block) -> pa.Table:
    return _WORKER[0](block)


def _bounded_map(
    pool: ProcessPoolExecutor, items: Iterable[Block], window: int
) -> Iterator[pa.Table]:
    """pool.map, in order, but submitting only `window` items ahead (Executor.map submits every
    item up front, which for a 10^12-row table is the whole list of batches in memory)."""
    pending: deque[Future] = deque()
    try:
        for item in items:
            pending.append(pool.submit(_produce_in_worker, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def write_fixed_row_groups(path: Path, schema: pa.Schema, parts: Iterable[pa.Table]) -> int:
    """Write `parts` as one Parquet file whose row groups hold exactly ROW_GROUP rows."""
    pending: list[pa.Table] = []
    buffered = total = 0
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with pq.ParquetWriter(tmp, schema, **PARQUET_OPTIONS) as writer:

            def flush(final: bool) -> None:
                nonlocal pending, buffered
                data = pa.concat_tables(pending) if pending else schema.empty_table()
                cut = len(data) if final else len(data) - len(data) % ROW_GROUP
                for s in range(0, cut, ROW_GROUP):
                    writer.write_table(data.slice(s, ROW_GROUP).combine_chunks(), ROW_GROUP)
                pending, buffered = [data.slice(cut)], len(data) - cut

            for part in parts:
                pending.append(part)
                buffered += part.num_rows
                total += part.num_rows
                if buffered >= ROW_GROUP:
                    flush(final=False)
            flush(final=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return total


def generate_to_dir(
    plan: Plan,
    out: str | Path,
    batch_size: int | None = None,
    workers: int = 1,
    progress: Callable[[str, int], None] | None = None,
    key: MaskingKey | None = None,
) -> dict[str, int]:
    """Write <out>/<table>.parquet for every table, masked with `key` where the spec says so;
    returns the row count of each."""
    produce = _Producer(plan, key)  # fails before writing anything when masks need a key
    out = Path(out)
    size = batch_size or plan.spec.batch_size
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tdm-generate-", dir=out))
    except OSError as e:
        raise TdmError(f"cannot write into {out}: {e.strerror or e}; pick another --out") from None
    pool = (
        ProcessPoolExecutor(workers, initializer=_start_worker, initargs=(plan, key))
        if workers > 1
        else None
    )
    counts = {}
    try:
        for table in plan.order:
            work = ((table, s, e) for s, e in blocks(plan.rows[table], size))
            parts = _bounded_map(pool, work, IN_FLIGHT * workers) if pool else map(produce, work)
            counts[table] = write_fixed_row_groups(
                staging / f"{table}.parquet", plan.schema(table), parts
            )
            if progress:
                progress(table, counts[table])
        for table in plan.order:
            os.replace(staging / f"{table}.parquet", out / f"{table}.parquet")
    except OSError as e:  # a full disk, a file where a table's file goes
        raise TdmError(f"cannot write into {out}: {e.strerror or e}") from None
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        shutil.rmtree(staging, ignore_errors=True)
    return counts
