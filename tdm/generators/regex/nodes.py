"""The regex generator's node tree: literal runs, one-character alphabets, sequences, bounded
repeats and alternations.

A row is a fixed set of decisions, so every node draws a fixed number of numbers per row whatever
was drawn before: a repeat draws its child for the maximum count and a count per row, an
alternation draws every branch and a branch index per row. Nodes return a (rows, ..., width) code
point matrix in which 0 pads unused places; the final matrix is squeezed into Arrow strings by
dropping the padding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tdm.core.arrowstr import fixed_width
from tdm.core.rand import RowRandom


def _below(rr: RowRandom, n: int, extra: tuple[int, ...], size: int) -> np.ndarray:
    """Uniform integers in [0, size), shape (n, *extra): 16 raw bits each for small sizes, 32
    otherwise, as floor(bits * size / 2**width) (bias at most size / 2**width)."""
    count = math.prod(extra)
    small = size <= 256
    per_word = 4 if small else 2
    words = max(1, -(-count // per_word))
    raw = rr.draw(lambda g, m: g.bit_generator.random_raw((m, words)))
    bits = raw.view(np.uint16 if small else np.uint32)[:, :count]
    out = bits.astype(np.uint32 if small else np.uint64)
    out *= size
    out >>= 16 if small else 32
    return out.reshape((n, *extra))


class Node:
    width: int  # most characters a value of it has
    fixed: bool  # always the same length and shape (no alternation, no variable repeat)

    def gen(self, rr: RowRandom, n: int, extra: tuple[int, ...]) -> np.ndarray:
        """(n, *extra, width) code points, 0 where unused; draws a fixed sequence."""
        raise NotImplementedError

    def positions(self) -> list[np.ndarray]:
        """For fixed nodes: the alphabet of each character position."""
        raise NotImplementedError


@dataclass
class Lit(Node):
    codes: np.ndarray

    def __post_init__(self):
        self.width, self.fixed = len(self.codes), True

    def gen(self, rr, n, extra):
        return np.broadcast_to(self.codes, (n, *extra, self.width))

    def positions(self):
        return [self.codes[i : i + 1] for i in range(self.width)]


@dataclass
class Chars(Node):
    alphabet: np.ndarray  # sorted distinct code points, no 0

    def __post_init__(self):
        self.width, self.fixed = 1, True

    def gen(self, rr, n, extra):
        return self.alphabet.take(_below(rr, n, extra, len(self.alphabet)))[..., None]

    def positions(self):
        return [self.alphabet]


@dataclass
class Seq(Node):
    parts: list[Node]

    def __post_init__(self):
        self.width = sum(p.width for p in self.parts)
        self.fixed = all(p.fixed for p in self.parts)

    def gen(self, rr, n, extra):
        return np.concatenate([p.gen(rr, n, extra) for p in self.parts], axis=-1)

    def positions(self):
        return [a for p in self.parts for a in p.positions()]


@dataclass
class Repeat(Node):
    node: Node
    lo: int
    hi: int

    def __post_init__(self):
        self.width = self.node.width * self.hi
        self.fixed = self.node.fixed and self.lo == self.hi

    def gen(self, rr, n, extra):
        out = self.node.gen(rr, n, (*extra, self.hi))
        if self.lo < self.hi:
            count = _below(rr, n, extra, self.hi - self.lo + 1)
            count += self.lo
            keep = np.arange(self.hi) < count[..., None]
            out = np.where(keep[..., None], out, np.zeros((), dtype=out.dtype))
        return out.reshape((n, *extra, self.width))

    def positions(self):
        return self.node.positions() * self.hi


@dataclass
class Alt(Node):
    branches: list[Node]

    def __post_init__(self):
        self.width = max(b.width for b in self.branches)
        self.fixed = False

    def gen(self, rr, n, extra):
        mats = [b.gen(rr, n, extra) for b in self.branches]
        which = _below(rr, n, extra, len(self.branches))[..., None]
        out = np.zeros((n, *extra, self.width), dtype=mats[0].dtype)
        for i, m in enumerate(mats):
            np.copyto(out[..., : m.shape[-1]], m, where=which == i)
        return out


def fixed_shape(node: Node, count: int = 4) -> Node:
    """One fixed-length shape of a variable pattern (unique values are spelled from the row
    index through fixed positions): each variable repeat takes `count` (within its bounds),
    an alternation its first branch."""
    if node.fixed:
        return node
    if isinstance(node, Seq):
        return Seq([fixed_shape(p, count) for p in node.parts])
    if isinstance(node, Repeat):
        n = max(node.lo, min(node.hi, count))
        return Repeat(fixed_shape(node.node, count), n, n)
    if isinstance(node, Alt):
        return fixed_shape(node.branches[0], count)
    return node


def to_strings(mat: np.ndarray, fixed: bool) -> pa.StringArray:
    """(rows, width) code points, 0 = nothing, to one UTF-8 string per row."""
    n = len(mat)
    if mat.dtype == np.uint8 and fixed and mat.shape[1]:
        return fixed_width(mat)
    mask = mat != 0
    flat = mat[mask]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(mask, axis=1), out=offsets[1:])
    if mat.dtype == np.uint8:
        data = flat
    else:
        size = 1 + (flat >= 0x80).astype(np.int64) + (flat >= 0x800) + (flat >= 0x10000)
        ends = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(size, out=ends[1:])
        offsets = ends[offsets]
        data = np.frombuffer(
            flat.astype("<u4").tobytes().decode("utf-32-le").encode("utf-8"), dtype=np.uint8
        )
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(np.ascontiguousarray(data))
    )
