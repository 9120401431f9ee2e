"""Filling shapes like '###-##-####' or '(%##) ###-####' in bulk, straight in the UTF-8 buffer.

Placeholders: '#' any digit, '%' a digit 1-9, '?' an upper-case letter. Everything else is kept.
Shapes come from a spec pattern or from a locale's Faker formats (phone numbers, postcodes, street
addresses with their digits turned into placeholders), so the output keeps the locale's look.

Randomness comes as raw 64-bit draws cut into 16- or 32-bit values (random_u16): a uniform index
below n is floor(bits * n / 2**width) (index_below), without modulo bias or a float draw.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pyarrow as pa

from tdm.core.arrowstr import fixed_width
from tdm.core.rand import RowRandom

PLACEHOLDERS = {ord("#"): 10, ord("%"): 9, ord("?"): 26}
_BASE = {ord("#"): ord("0"), ord("%"): ord("1"), ord("?"): ord("A")}
GROUPED_ROWS = 256  # fill shape by shape when there are at most rows / GROUPED_ROWS shapes


def random_u16(rr: RowRandom, width: int) -> np.ndarray:
    """A (rows, width rounded up to a multiple of 4) matrix of uniform uint16, cut from raw 64-bit
    draws (several times cheaper than float draws); `.view(np.uint32)` pairs columns up."""
    words = max(1, -(-width // 4))
    return rr.draw(lambda g, n: g.bit_generator.random_raw((n, words))).view(np.uint16)


def index_below(bits: np.ndarray, size) -> np.ndarray:
    """floor(bits * size / 2**width): uniform int64 indices in [0, size) from uint16 or uint32
    bits (size < 2**31), with a bias of at most size / 2**width."""
    out = bits.astype(np.int64)
    out *= size
    out >>= 8 * bits.itemsize
    return out


@cache
def weighted(weights: tuple[float, ...]) -> np.ndarray:
    """A lookup table from 16 random bits to an index drawn by weight (weights to 1/65536)."""
    cumulative = np.cumsum(weights) / sum(weights) * 65536
    index = np.searchsorted(cumulative, np.arange(65536) + 0.5)
    return index.astype(np.uint8 if len(weights) <= 256 else np.int32)


def slot_count(shape: str) -> int:
    return sum(shape.count(chr(c)) for c in PLACEHOLDERS)


def to_shape(value: str) -> str:
    """'4738 Smith Forges Apt. 123' -> '%### Smith Forges Apt. %##' (no leading zeros)."""
    return re.sub(r"\d+", lambda m: "%" + "#" * (len(m.group()) - 1), value)


GROUP = 65536  # slots share a 32-bit draw while the product of their radices stays <= 2**16


@cache
def _decode(pattern: bytes) -> np.ndarray:
    """(product of the radices, 4) ASCII: row v spells v in the mixed radix of `pattern`'s
    placeholders (the last one least significant); unused columns 0."""
    radix = [PLACEHOLDERS[b] for b in pattern]
    out = np.zeros((int(np.prod(radix)), 4), dtype=np.uint8)
    rest = np.arange(len(out))
    for j in reversed(range(len(pattern))):
        out[:, j] = _BASE[pattern[j]] + rest % radix[j]
        rest //= radix[j]
    return out


def _groups(shape: bytes) -> list[bytes]:
    """The placeholders of a shape in groups of up to 4 with a radix product <= GROUP."""
    out, size = [], GROUP + 1
    for b in shape:
        if b in PLACEHOLDERS:
            if size * PLACEHOLDERS[b] > GROUP or len(out[-1]) == 4:
                out.append(b"")
                size = 1
            out[-1] += bytes([b])
            size *= PLACEHOLDERS[b]
    return out


class ShapePool:
    """A pool of shapes with each one's placeholder positions precomputed, for fast filling.

    Slots (placeholders) come in groups of up to 4 that share a 32-bit draw: the group's value
    index_below(bits, product of its radices) is spelled by a lookup table (all of them stacked
    in `self.table`, group g of shape i at row offset[i, g]). Two ways then give the same strings:
    with few distinct shapes, rows are grouped by shape and each group is a fixed-width byte
    matrix filled column-wise, then put back in order; otherwise shapes are taken per row and
    the slot characters scattered into the UTF-8 buffer.
    """

    def __init__(self, shapes: list[str]):
        self.shapes = pa.array(shapes, type=pa.string())
        distinct = list(dict.fromkeys(shapes))
        index = {s: i for i, s in enumerate(distinct)}
        self.distinct = pa.array(distinct, type=pa.string())
        self.group = np.array([index[s] for s in shapes], dtype=np.min_scalar_type(len(distinct)))
        encoded = [s.encode() for s in distinct]
        self.raw = [np.frombuffer(e, dtype=np.uint8) for e in encoded]
        self.lengths = np.array([len(e) for e in encoded], dtype=np.int32)
        groups = [_groups(e) for e in encoded]
        self.groups = max(1, max(map(len, groups), default=1))
        patterns = [*dict.fromkeys(p for g in groups for p in g), b""]
        starts = np.cumsum([0] + [len(_decode(p)) for p in patterns])
        self.table = np.concatenate([_decode(p) for p in patterns]).view(np.uint32).ravel()
        # per (shape, group): radix product (1 when unused) and table offset; per (shape, slot
        # column 4g + j): byte position in the shape (past any string when unused)
        self.radix = np.ones((len(distinct), self.groups), dtype=np.int32)
        self.offset = np.full((len(distinct), self.groups), starts[-2], dtype=np.int32)
        self.pos = np.full((len(distinct), 4 * self.groups), 2**30, dtype=np.int32)
        for i, (e, gs) in enumerate(zip(encoded, groups, strict=True)):
            slots = iter(j for j, b in enumerate(e) if b in PLACEHOLDERS)
            for g, p in enumerate(gs):
                self.radix[i, g] = len(_decode(p))
                self.offset[i, g] = starts[patterns.index(p)]
                self.pos[i, 4 * g : 4 * g + len(p)] = [next(slots) for _ in p]

    def __len__(self) -> int:
        return len(self.shapes)

    def fill(self, which: np.ndarray, rr: RowRandom) -> pa.StringArray:
        """Row i gets shape `which[i]` with its placeholders filled from a fixed-shape draw."""
        return self.fill_bits(which, random_u16(rr, 2 * self.groups).view(np.uint32))

    def fill_bits(self, which: np.ndarray, bits: np.ndarray) -> pa.StringArray:
        """Like fill, with the bits given: a (rows, >= groups) uint32 matrix."""
        shape = self.group.take(which)  # ndarray.take: much faster than fancy indexing
        if len(self.raw) * GROUPED_ROWS <= max(len(which), GROUPED_ROWS):
            return self._grouped(shape, bits)
        chars = self._chars(bits, lambda column: column.take(shape))
        arr = self.distinct.take(pa.array(shape))
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
        end = int(offsets[-1])
        data = np.empty(end + 1, dtype=np.uint8)  # unused slots all write the spare last byte
        data[:end] = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[:end]
        target = self.pos.take(shape, axis=0)
        target += offsets[:-1, None]
        data[np.minimum(target, end, out=target)] = chars
        return pa.StringArray.from_buffers(
            len(arr), pa.py_buffer(offsets), pa.py_buffer(data[:end])
        )

    def _row(self, bits: np.ndarray, g: int, per_row) -> np.ndarray:
        """Table rows of slot group g for 32 `bits` a row; per_row(column) spreads a per-shape
        column of radix or offset over the rows."""
        value = index_below(bits, per_row(self.radix[:, g]))
        value += per_row(self.offset[:, g])
        return value

    def rows(self, bits: np.ndarray, per_row=lambda column: column[0]) -> np.ndarray:
        """(rows, groups) table rows of each slot group (default: all rows of shape 0)."""
        out = np.empty((len(bits), self.groups), dtype=np.int64)
        for g in range(self.groups):  # column by column: numpy is slow on short inner axes
            out[:, g] = self._row(bits[:, g], g, per_row)
        return out

    def _chars(self, bits: np.ndarray, per_row, order: np.ndarray | None = None) -> np.ndarray:
        """(rows, 4 * groups) slot characters (4 per group, unused ones 0) of the rows in
        `order` if given: table.take(rows(...)) with less memory."""
        out = np.empty((len(bits), self.groups), dtype=np.uint32)
        for g in range(self.groups):
            column = bits[:, g] if order is None else bits[:, g].take(order)
            out[:, g] = self.table.take(self._row(column, g, per_row))
        return out.view(np.uint8)

    def _grouped(self, shape: np.ndarray, bits: np.ndarray) -> pa.StringArray:
        """Rows sorted by shape, each shape's rows filled as one byte matrix, order restored."""
        n, single = len(shape), len(self.raw) == 1
        counts = np.bincount(shape, minlength=len(self.raw))
        if single:
            chars = self._chars(bits, lambda column: column[0])
        else:
            order = np.argsort(shape, kind="stable").astype(np.int32)  # radix sort
            chars = self._chars(bits, lambda column: np.repeat(column, counts), order)
        data = np.empty(int(counts @ self.lengths), dtype=np.uint8)
        row = at = 0
        for i in np.flatnonzero(counts):
            block = data[at : at + counts[i] * self.lengths[i]].reshape(counts[i], -1)
            block[:] = self.raw[i]
            used = self.pos[i] < 2**30
            block[:, self.pos[i][used]] = chars[row : row + counts[i], used]
            row, at = row + counts[i], at + block.size
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum(np.repeat(self.lengths, counts), out=offsets[1:])
        arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
        if single:
            return arr
        back = np.empty(n, dtype=np.int32)
        back[order] = np.arange(n, dtype=np.int32)
        return arr.take(pa.array(back))


def domain(shape: str) -> int:
    """How many distinct strings a shape can produce."""
    size = 1
    for ch in shape.encode():
        size *= PLACEHOLDERS.get(ch, 1)
    return size


def fill_unique(shape: str, slots: np.ndarray) -> pa.StringArray:
    """Fill one fixed shape from distinct numbers in [0, domain(shape)): distinct in, out. The
    number's mixed-radix digits (the last placeholder least significant) are peeled off one slot
    group at a time and spelled by the group tables."""
    pool = _single(shape)
    rest = np.asarray(slots, dtype=np.uint64).copy()
    rows = np.empty((len(slots), pool.groups), dtype=np.int64)
    for g in reversed(range(pool.groups)):
        radix = np.uint64(pool.radix[0, g])
        rows[:, g] = rest % radix
        rows[:, g] += pool.offset[0, g]
        rest //= radix
    used = pool.pos[0] < 2**30
    chars = np.empty((len(slots), len(pool.raw[0])), dtype=np.uint8)
    chars[:] = pool.raw[0]
    chars[:, pool.pos[0][used]] = pool.table.take(rows).view(np.uint8)[:, used]
    return fixed_width(chars)


@cache
def _single(shape: str) -> ShapePool:
    return ShapePool([shape])


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
