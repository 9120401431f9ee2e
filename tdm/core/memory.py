"""Handing freed memory back to the system between batches.

A run makes batch after batch of the same size; what one batch freed is kept by the allocators
for the next (Arrow's mimalloc pool, glibc's heap for numpy's arrays), and their free lists
fragment as batches go. Over many batches that held memory grows, and each batch's peak stands
on it: the 100M-row retail run peaked higher than the 10M one with batches of the same size
(bench/scale.py). Returning it after each batch costs a few ms (4 ms after ~400 MB was freed).
"""

from __future__ import annotations

import ctypes
import sys
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


def release_freed() -> None:
    """Give memory freed by Arrow and by C's allocator back to the system."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
