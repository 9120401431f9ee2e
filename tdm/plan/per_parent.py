"""Child rows counted per parent row (`rows: {per: customers, ...}`): which parent a child row
belongs to, without one number per parent in memory.

A parent's child count is drawn from the row-addressed stream of the child table (a pure
function of the parent's index), so the counts of any block of parents can be drawn again at
will. A plan keeps only the running total at the end of each BLOCK of parents (8 bytes per 65,536
parents); the counts of the few blocks a batch touches are drawn again when it asks, and the last
CACHED blocks are kept. Memory no longer grows with the parents (it was one int64 per parent row:
~430 MB of a 100M-row retail plan).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from tdm.core.rand import RowRandom
from tdm.spec.model import RowsPerParent

BLOCK = 1 << 16  # parents per running total kept
CACHED = 16  # blocks of counts kept drawn (8 MB)


@dataclass(frozen=True)
class ParentCounts:
    """The child rows of each parent row in [start, stop), as drawn for the plan."""

    rows: RowsPerParent
    key: int

    def __call__(self, start: int, stop: int) -> np.ndarray:
        drawn = self.rows.sample(RowRandom(self.key, start, stop), integer=True)
        return np.maximum(drawn, 0).astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class PerParent:
    """Children of parent p are rows [end(p-1), end(p)); `marks[k]` is the end of the last
    parent of block k."""

    marks: np.ndarray
    parents: int
    counts: ParentCounts
    largest: int = 0  # the most children of one parent
    block: int = BLOCK  # parents per mark
    _blocks: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __getstate__(self) -> dict:  # sent to another process without its drawn blocks
        return {"marks": self.marks, "parents": self.parents, "counts": self.counts,
                "largest": self.largest, "block": self.block}  # fmt: skip

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    @property
    def total(self) -> int:
        return int(self.marks[-1]) if len(self.marks) else 0

    def _block(self, b: int) -> np.ndarray:
        """The ends of the parents of block b."""
        with self._lock:
            ends = self._blocks.get(b)
            if ends is not None:
                self._blocks.move_to_end(b)
                return ends
        start = b * self.block
        ends = np.cumsum(self.counts(start, min(self.parents, start + self.block)))
        if b:
            ends += self.marks[b - 1]
        with self._lock:
            self._blocks[b] = ends
            while len(self._blocks) > CACHED:
                self._blocks.popitem(last=False)
        return ends

    def ends(self, start: int, stop: int) -> np.ndarray:
        """The ends of parents [start, stop)."""
        if stop <= start:
            return np.empty(0, dtype=np.int64)
        lo, hi = start // self.block, (stop - 1) // self.block
        parts = [self._block(b) for b in range(lo, hi + 1)]
        window = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return window[start - lo * self.block : stop - lo * self.block]

    def end(self, parent: int) -> int:
        """The children of parents [0, parent]: 0 for parent -1."""
        return int(self._block(parent // self.block)[parent % self.block]) if parent >= 0 else 0

    def parent_of(self, idx: np.ndarray) -> np.ndarray:
        """The parent of each child row (`parents` for rows past the last child)."""
        idx = np.asarray(idx, dtype=np.int64)
        if len(idx) > 1 and idx[-1] - idx[0] == len(idx) - 1 and (np.diff(idx) == 1).all():
            return self._parents_of_run(int(idx[0]), int(idx[-1]) + 1)
        return self._search(idx)

    def _parents_of_run(self, start: int, stop: int) -> np.ndarray:
        """parent_of rows [start, stop), a batch's usual question: each parent repeated by its
        children in the run (a search per row cost ~0.3 s of a 1M-row retail run)."""
        inside = max(start, min(stop, self.total))
        out = np.full(stop - start, self.parents, dtype=np.int64)
        if inside > start:
            first, last = (int(p) for p in self._search(np.array([start, inside - 1])))
            ends = self.ends(first, last + 1)
            starts = np.empty_like(ends)
            starts[0], starts[1:] = self.end(first - 1), ends[:-1]
            counts = np.minimum(ends, inside) - np.maximum(starts, start)
            out[: inside - start] = np.repeat(np.arange(first, last + 1, dtype=np.int64), counts)
        return out

    def _search(self, idx: np.ndarray) -> np.ndarray:
        out = np.full(len(idx), self.parents, dtype=np.int64)
        blocks = np.searchsorted(self.marks, idx, side="right")
        inside = blocks < len(self.marks)
        if not inside.any():
            return out
        lo, hi = int(blocks[inside].min()), int(blocks[inside].max())
        window = self.ends(lo * self.block, min(self.parents, (hi + 1) * self.block))
        # ends before the window are <= every row here, ends after it are > them
        out[inside] = np.searchsorted(window, idx[inside], side="right") + lo * self.block
        return out

    def ordinal(self, idx: np.ndarray) -> np.ndarray:
        """Each child row's position among its parent's children."""
        idx = np.asarray(idx, dtype=np.int64)
        before = self.parent_of(idx) - 1  # the parent before: its end is where ours start
        starts = np.zeros(len(idx), dtype=np.int64)
        has = before >= 0
        if has.any():
            lo, hi = int(before[has].min()), int(before[has].max())
            starts[has] = self.ends(lo, hi + 1)[before[has] - lo]
        return idx - starts
