"""Deterministic randomness addressed by row index.

Every value is a pure function of (seed, table, column, row index): rows are grouped in fixed
chunks of CHUNK rows, and each (stream key, chunk) gets its own counter-based Philox generator. A
batch draws whole chunks and keeps the rows it covers, so any batching of a table draws exactly the
same numbers for the same rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

_WORD = 2**64 - 1
CHUNK = 4096  # changing it changes every generated value: it is part of the engine fingerprint


def stream_key(*parts: object) -> int:
    """A 128-bit key for a named stream, e.g. stream_key(seed, 'customers', 'email')."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "little")


def key64(*parts: object, count: int = 1) -> np.ndarray:
    """`count` 64-bit keys derived from a name (round keys for permutations)."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8 * count)
    return np.frombuffer(digest.digest(), dtype=np.uint64).copy()


class RowRandom:
    """Draws for rows [start, stop) of one stream; each draw call returns one value per row.

    Callers must make the same sequence of draw calls for every batch (fixed shapes per row),
    which holds for vectorised generators that never branch on drawn values between calls.
    """

    def __init__(self, key: int, start: int, stop: int):
        self.start, self.stop = start, stop
        if not 0 <= key < 2**128:
            raise ValueError("a stream key is a 128-bit number (stream_key)")
        first, last = start // CHUNK, max(start, stop - 1) // CHUNK
        # the key and counters as uint64 words (little-endian): Philox parses them ~1.6x faster
        # than Python ints; counter c << 192 is the words (0, 0, 0, c)
        words = np.array([key & _WORD, (key >> 64) & _WORD], dtype=np.uint64)
        counter = np.zeros(4, dtype=np.uint64)
        self._chunks = []
        for c in range(first, last + 1) if stop > start else ():
            counter[3] = c
            self._chunks.append(
                (np.random.Generator(np.random.Philox(key=words, counter=counter)), c * CHUNK)
            )

    @property
    def n(self) -> int:
        return self.stop - self.start

    def draw(self, fn: Callable[[np.random.Generator, int], np.ndarray]) -> np.ndarray:
        """`fn(rng, CHUNK)` returns an array whose first axis has CHUNK rows."""
        if not self._chunks:
            return fn(np.random.Generator(np.random.Philox(0)), 0)
        parts = []
        for rng, base in self._chunks:
            values = fn(rng, CHUNK)
            parts.append(values[max(self.start, base) - base : min(self.stop, base + CHUNK) - base])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def random(self) -> np.ndarray:
        return self.draw(lambda g, n: g.random(n))

    def integers(self, low: int, high: int, dtype: type = np.int64) -> np.ndarray:
        """Uniform integers in [low, high] inclusive."""
        return self.draw(lambda g, n: g.integers(low, high, n, dtype=dtype, endpoint=True))

    def index(self, size: int) -> np.ndarray:
        """Uniform indices into a pool of `size` items."""
        return self.draw(lambda g, n: g.integers(0, size, n, dtype=np.int64))

    def weighted_index(self, cumulative: np.ndarray) -> np.ndarray:
        """Indices drawn by weight; `cumulative` is the normalised cumulative weight array."""
        return np.searchsorted(cumulative, self.random(), side="right").clip(0, len(cumulative) - 1)

    def digits(self, width: int, low: int = 0, high: int = 9) -> np.ndarray:
        """A (rows, width) uint8 matrix of random digits in [low, high]."""
        return self.draw(
            lambda g, n: g.integers(low, high, (n, width), dtype=np.uint8, endpoint=True)
        )

    def mask(self, ratio: float) -> np.ndarray:
        """True for about `ratio` of the rows."""
        return self.random() < ratio
