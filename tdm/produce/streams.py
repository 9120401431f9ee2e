"""Where a run's batches go as they are made, besides the version store: a sink a caller opens
for the run's version (pipelines.runner opens tdm.targets.postgres.early for a run that ends in
a PostgreSQL load). A sink only ever receives what is also written into the version, in the
order it is written; it must not fail production (a sink that cannot keep up with its work
gives up on its own, and whoever reads it checks it got everything)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import pyarrow as pa

from tdm.produce.production import Production


class BatchSink(Protocol):
    def begin_table(self, table: str) -> None: ...

    def add(self, table: str, key: str, data: pa.Table) -> None: ...

    def end_table(self, table: str) -> None: ...


Opener = Callable[[Production], BatchSink | None]  # None: nothing to stream this version to
_OPENERS: dict[str, Opener] = {}  # dataset -> opener
_OPENED: dict[tuple[str, str], BatchSink | None] = {}  # (dataset, version) -> its sink
_LOCK = threading.Lock()


@contextmanager
def streaming(dataset: str, opener: Opener) -> Iterator[None]:
    """While inside, the batches of `dataset` produced in this process also go to the sink
    `opener` returns for their version (opened once per version, on its first table)."""
    with _LOCK:
        _OPENERS[dataset] = opener
    try:
        yield
    finally:
        with _LOCK:
            _OPENERS.pop(dataset, None)
            for key in [k for k in _OPENED if k[0] == dataset]:
                del _OPENED[key]


def sink_for(prod: Production) -> BatchSink | None:
    key = (prod.plan.name, prod.version)
    with _LOCK:
        opener = _OPENERS.get(prod.plan.name)
        if opener is None:
            return None
        if key not in _OPENED:
            _OPENED[key] = opener(prod)
        return _OPENED[key]
