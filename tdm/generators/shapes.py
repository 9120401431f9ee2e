"""Filling shapes like '###-##-####' or '(%##) ###-####' in bulk, straight in the UTF-8 buffer.

Placeholders: '#' any digit, '%' a digit 1-9, '?' an upper-case letter. Everything else is kept.
Shapes come from a spec pattern or from a locale's Faker formats (phone numbers, postcodes, street
addresses with their digits turned into placeholders), so the output keeps the locale's look.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from tdm.arrowstr import fixed_width
from tdm.rand import RowRandom

PLACEHOLDERS = {ord("#"): 10, ord("%"): 9, ord("?"): 26}
_BASE = {ord("#"): ord("0"), ord("%"): ord("1"), ord("?"): ord("A")}


def slot_count(shape: str) -> int:
    return sum(shape.count(chr(c)) for c in PLACEHOLDERS)


def to_shape(value: str) -> str:
    """'4738 Smith Forges Apt. 123' -> '%### Smith Forges Apt. %##' (no leading zeros)."""
    return re.sub(r"\d+", lambda m: "%" + "#" * (len(m.group()) - 1), value)


class ShapePool:
    """A pool of shapes with each one's placeholder positions precomputed, for fast filling."""

    def __init__(self, shapes: list[str]):
        self.shapes = pa.array(shapes, type=pa.string())
        encoded = [s.encode() for s in shapes]
        self.slots = max(1, max((sum(b in PLACEHOLDERS for b in e) for e in encoded), default=1))
        self.pos = np.full((len(shapes), self.slots), -1, dtype=np.int64)
        self.radix = np.ones((len(shapes), self.slots), dtype=np.uint8)
        self.base = np.zeros((len(shapes), self.slots), dtype=np.uint8)
        for i, e in enumerate(encoded):
            where = [j for j, b in enumerate(e) if b in PLACEHOLDERS]
            self.pos[i, : len(where)] = where
            self.radix[i, : len(where)] = [PLACEHOLDERS[e[j]] for j in where]
            self.base[i, : len(where)] = [_BASE[e[j]] for j in where]

    def __len__(self) -> int:
        return len(self.shapes)

    def fill(self, which: np.ndarray, rr: RowRandom) -> pa.StringArray:
        """Row i gets shape `which[i]` with its placeholders filled from a fixed-shape draw."""
        u = rr.draw(lambda g, n: g.random((n, self.slots), dtype=np.float32))
        arr = pa.concat_arrays([self.shapes.take(pa.array(which, type=pa.int64()))])
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
        data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[: offsets[-1]].copy()
        pos = self.pos[which]
        valid = pos >= 0
        target = (offsets[:-1, None] + pos)[valid]
        chars = self.base[which] + (u * self.radix[which]).astype(np.uint8)
        data[target] = chars[valid]
        return pa.StringArray.from_buffers(len(arr), pa.py_buffer(offsets), pa.py_buffer(data))


def domain(shape: str) -> int:
    """How many distinct strings a shape can produce."""
    size = 1
    for ch in shape.encode():
        size *= PLACEHOLDERS.get(ch, 1)
    return size


def fill_unique(shape: str, slots: np.ndarray) -> pa.StringArray:
    """Fill one fixed shape from distinct numbers in [0, domain(shape)): distinct in, out."""
    raw = np.frombuffer(shape.encode(), dtype=np.uint8)
    chars = np.tile(raw, (len(slots), 1))
    positions = [i for i, ch in enumerate(raw) if ch in PLACEHOLDERS]
    rest = np.asarray(slots, dtype=np.uint64).copy()
    for i in reversed(positions):
        r = np.uint64(PLACEHOLDERS[raw[i]])
        chars[:, i] = _BASE[raw[i]] + (rest % r).astype(np.uint8)
        rest //= r
    return fixed_width(chars)


def split_domain(shape: str, limit: int = 2**62) -> tuple[str, str]:
    """Split a shape into (random head, permuted tail) so the tail's domain fits in `limit`."""
    size, cut = 1, len(shape)
    for i in range(len(shape) - 1, -1, -1):
        r = PLACEHOLDERS.get(ord(shape[i]), 1)
        if size * r > limit:
            break
        size *= r
        cut = i
    return shape[:cut], shape[cut:]
