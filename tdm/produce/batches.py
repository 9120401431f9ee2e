"""A run's batches of one table: generated or extracted, masked in memory, compared with the raw
rows (extracted tables), written into the version, and checked by the table's suite as they go
(consecutive batches together), all in the step that makes them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import pyarrow as pa

from tdm.core.memory import release_freed
from tdm.produce.production import Production
from tdm.produce.streams import sink_for
from tdm.store.versions import VersionStore
from tdm.validation.privacy import validate_masking
from tdm.validation.results import CheckResult, merge, save_batch_results, save_group_results
from tdm.validation.runner import SuiteRun


@dataclass(frozen=True)
class TableBatches:
    rows: int
    seconds: float  # producing and writing, validation not counted
    validation_seconds: float
    suite: list[CheckResult]  # the table's suite on these batches
    masking: list[CheckResult]  # masked values compared with the raw ones (extracted tables)
    redrawn: dict[str, int] = field(default_factory=dict)  # rows drawn again, per check
    bytes: int = 0  # of the batch files written
    # seconds per stage: "generate" (or "extract"), "mask", "write", "validate" (the suite, and
    # the masked-against-raw comparison of extracted tables)
    stages: dict[str, float] = field(default_factory=dict)


def produce_table(
    prod: Production,
    store: VersionStore,
    table: str,
    keys: Sequence[str],
    log: Callable[[str], None] | None = None,
) -> TableBatches:
    """Make the batches `keys` (partition keys) of `table` into the run's version."""
    plan, ds, version = prod.plan, prod.plan.name, prod.version
    index = {k: i for i, k in enumerate(plan.batch_keys())}
    extracted = plan.extracted(table)
    started, rows, size, masking = time.perf_counter(), 0, 0, []
    stages: dict[str, float] = {"extract" if extracted else "generate": 0.0, "mask": 0.0}
    compared = written_in = 0.0
    before = dict(plan.redrawn.get(table, {}))
    suite = SuiteRun(plan, table, partial(save_group_results, store, ds, version, table))
    sink = sink_for(prod)  # a load building the version's tables as they come (streams)
    if sink is not None:
        sink.begin_table(table)

    def write(key: str, data: pa.Table) -> int:
        written = store.write_batch(ds, version, table, key, data)
        return store.files.size(written.path)

    # a batch file is written (Arrow, without the GIL) while the next batch is made
    writer, writing = ThreadPoolExecutor(1, thread_name_prefix="tdm-write"), None
    try:
        for key in keys:
            start, stop = plan.block(table, index[key])
            if start == stop:
                continue  # this table has no rows in this batch
            raw, data = prod.batch(table, start, stop, stages)
            clock = time.perf_counter()
            if extracted:
                found = validate_masking(plan, ds, data, raw, table, prod.masker.key, start=start)
                save_batch_results(store, ds, version, table, key, found, kind="masking")
                masking += found
                compared += time.perf_counter() - clock
                clock = time.perf_counter()
            if writing is not None:
                size += writing.result()
            writing = writer.submit(write, key, data)
            written_in += time.perf_counter() - clock
            rows += data.num_rows
            if sink is not None:
                sink.add(table, key, data)
            if log:
                path = store.batch_path(ds, version, table, key)
                log(f"{table} {key}: rows {start:,}..{stop:,} -> {path}")
            suite.add(key, start, data)
            del raw, data
            release_freed()  # what this batch freed, before the next one (tdm.core.memory)
        if sink is not None:
            sink.end_table(table)
        checked = merge(suite.flush())  # (while the last batch is written)
        if writing is not None:
            clock = time.perf_counter()
            size += writing.result()
            written_in += time.perf_counter() - clock
    finally:
        writer.shutdown()
    seconds = time.perf_counter() - started - suite.seconds
    after = plan.redrawn.get(table, {})
    redrawn = {c: n - before.get(c, 0) for c, n in after.items() if n > before.get(c, 0)}
    stages |= {"write": written_in, "validate": suite.seconds + compared}
    return TableBatches(
        rows, seconds, suite.seconds, checked, merge(masking), redrawn, size, stages
    )
