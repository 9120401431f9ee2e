"""Engine-only generation: a whole dataset into Parquet files, in one or many processes.

The output does not depend on the batch size or the number of workers: batches are rebuffered into
row groups of a fixed size, so the files are byte-identical for the same spec and seed (and key).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tdm.masking.apply import Masker
from tdm.masking.keys import MaskingKey
from tdm.plan import Plan
from tdm.versions import spec_hash

ROW_GROUP = 65_536
_MASKERS: dict[tuple, Masker] = {}  # per plan and process: strategies hold ciphers


def blocks(rows: int, batch_size: int) -> list[tuple[int, int]]:
    return [(s, min(rows, s + batch_size)) for s in range(0, rows, batch_size)]


def _produce(args: tuple[Plan, MaskingKey | None, tuple, str, int, int]) -> pa.Table:
    plan, key, which, table, start, stop = args
    masker = _MASKERS.get(which) or _MASKERS.setdefault(which, Masker(plan, key))
    return masker.apply(table, plan.generate(table, start, stop), start)


def batches(
    plan: Plan,
    key: MaskingKey | None,
    table: str,
    batch_size: int,
    pool: ProcessPoolExecutor | None,
) -> Iterator[pa.Table]:
    which = (spec_hash(plan.spec), key.fingerprint if key else None)  # the masker to reuse
    work = [(plan, key, which, table, s, e) for s, e in blocks(plan.rows[table], batch_size)]
    yield from (pool.map(_produce, work) if pool else map(_produce, work))


def write_fixed_row_groups(path: Path, schema: pa.Schema, parts: Iterator[pa.Table]) -> int:
    """Write `parts` as one Parquet file whose row groups hold exactly ROW_GROUP rows."""
    pending: list[pa.Table] = []
    buffered = total = 0
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:

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
    Masker(plan, key)  # fail before writing anything when masks need a key
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    size = batch_size or plan.spec.batch_size
    counts = {}
    pool = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        for table in plan.order:
            counts[table] = write_fixed_row_groups(
                out / f"{table}.parquet", plan.schema(table), batches(plan, key, table, size, pool)
            )
            if progress:
                progress(table, counts[table])
    finally:
        if pool:
            pool.shutdown()
    return counts
