"""Handing freed memory back to the system between batches, and keeping what a process loaded
out of the garbage collector's way.

A run makes batch after batch of the same size; what one batch freed is kept by the allocators
for the next (Arrow's mimalloc pool, glibc's heap for numpy's arrays), and their free lists
fragment as batches go. Over many batches that held memory grows, and each batch's peak stands
on it: the 100M-row retail run peaked higher than the 10M one with batches of the same size
(bench/scale.py). Returning it costs a few ms (4 ms after ~400 MB was freed; up to 25 ms in a
1M-row run, bench/end_to_end.py), so it is done at most every MIN_INTERVAL seconds (a big run's
batches take seconds each and still hand back after every one), and by a thread of its own while
the caller goes on: glibc's malloc_trim and Arrow's pool release the GIL, and a run's main thread
waited 0.12 s for its 10 hand-backs.

Arrow's own pool is mimalloc on Linux, which hands the pages freed by a batch back to the system
~10 ms later, so that the next batch's buffers are fresh pages the kernel must clear: in a 1M-row
run (bench/end_to_end.py) the kernel zeroing pages took 16% of the process's CPU (perf). jemalloc,
which pyarrow's Linux wheels bundle, keeps freed pages for about a second and reuses them:
use_jemalloc() makes it Arrow's default pool (4-5% in that run; 0.5 s less system time).

What a process loads before its first run (modules, definitions, plans) lives as long as the
process. Python's full collections walk every object they track all the same: with Dagster, GX,
pandas and numba loaded, ~500k objects and ~0.3 s per walk, which stops every thread and came
once per 1M-row run (more in bigger ones) to find ~2k objects. keep_loaded() freezes them
(gc.freeze): collections then walk only what came after.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import os
import sys
import threading
import time
from functools import cache

import pyarrow as pa


@cache
def _malloc_trim():  # glibc only (Linux); None elsewhere (musl, macOS)
    if not sys.platform.startswith("linux"):
        return None
    try:  # the process's own symbols: glibc is loaded already, nothing to look up
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


MIN_INTERVAL = 0.25  # seconds between two hand-backs
_last = [-MIN_INTERVAL]  # when the last one was asked for (time.monotonic)


def _release() -> None:
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class _HandBack:
    """The thread that hands memory back when woken: one per process (a forked child, e.g. a
    Celery worker, starts its own)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="tdm-release", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            _release()


_hand_back: list[_HandBack] = []
_hand_back_lock = threading.Lock()


def release_freed(force: bool = False) -> None:
    """Have the memory freed by Arrow and by C's allocator given back to the system, in the
    background, unless that was asked less than MIN_INTERVAL seconds ago; `force`: now, by the
    caller, whenever asked."""
    now = time.monotonic()
    if force:
        _last[0] = now
        _release()
        return
    if now - _last[0] < MIN_INTERVAL:
        return
    _last[0] = now
    with _hand_back_lock:
        if not _hand_back or _hand_back[0].pid != os.getpid():
            _hand_back[:] = [_HandBack()]
        _hand_back[0].wake.set()


def use_jemalloc() -> None:
    """Make jemalloc Arrow's default memory pool, unless ARROW_DEFAULT_MEMORY_POOL names one or
    this pyarrow has no jemalloc (Windows, some builds): then Arrow's choice stays."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:
        return
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)


_kept = [False]


def keep_loaded() -> None:
    """Leave every object alive now out of later garbage collections (gc.freeze), once per
    process: its first call comes when what it loaded is in and its runs have not started, so
    the little garbage alive then (never reclaimed, being frozen) is only the loading's."""
    if not _kept[0]:
        _kept[0] = True
        gc.freeze()
        # back in view when the process ends, so that its last collections free them (native
        # extensions such as DuckDB's report objects never freed)
        atexit.register(gc.unfreeze)
