"""Subsetting: the rows of a spec's `subset:` (roots), every row they need through foreign keys
(declared or given in `subset.relationships`) and, with `children`, the rows that reference
them, chosen once in one consistent snapshot of the source; docs/source.md#subsetting.

`choose_subset` returns a `Subset`: per table the sorted row ids (ctids as int64, with the leaf
partition's index for a partitioned table: tdm.source.subset.rowids) and the xmin of each row as
it was in that snapshot. Batches read exactly those rows (tdm.source.subset.read) and check
their xmin, so a version is that snapshot or the run fails; inside
`tdm.source.snapshot.one_snapshot()` they read in that very snapshot (exported), so a row
changed meanwhile is read as it was.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tdm.source.subset.choose import choose
from tdm.source.subset.graph import Edge

if TYPE_CHECKING:
    from tdm.source.reader import SourceReader
    from tdm.spec.model import DatasetSpec

__all__ = ["Edge", "Subset", "choose_subset"]


@dataclass
class Subset:
    ids: dict[str, np.ndarray]  # spec table -> sorted row ids (int64) of the chosen rows
    xmins: dict[str, np.ndarray]  # the xmin of each of those rows in the snapshot
    sizes: dict[str, int]  # rows of each table in the source
    reasons: dict[str, dict[str, int]]  # rows chosen per reason: root, parent of X, child of Y
    edges: list[Edge]
    seconds: float
    snapshot: str | None = None  # the exported snapshot the rows were chosen in, while held
    # a partitioned table's leaf partitions (quoted names), in the order of the ids' leaf index
    leaves: dict[str, tuple[str, ...]] = field(default_factory=dict)
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256()
        for t in sorted(self.ids):
            digest.update(t.encode() + b"\0")
            digest.update(self.ids[t].astype("<i8").tobytes())
            digest.update(self.xmins[t].astype("<i8").tobytes())
            if t in self.leaves:  # the same ids in other partitions are other rows
                digest.update("\0".join(self.leaves[t]).encode() + b"\0")
        self.fingerprint = digest.hexdigest()[:16]

    def rows(self, table: str) -> int:
        return len(self.ids[table])

    def report(self) -> list[dict]:
        """Per table: rows chosen, of how many, and why."""
        return [
            {
                "table": t,
                "chosen": self.rows(t),
                "of": self.sizes[t],
                "why": dict(self.reasons[t]),
            }
            for t in self.ids
        ]

    def describe(self) -> list[str]:
        """The report as lines, e.g. 'orders: 1,204 of 90,000 rows (root 1,000, child of ...)'."""
        out = []
        for r in self.report():
            why = ", ".join(f"{k} {n:,}" for k, n in r["why"].items()) or "not reached"
            out.append(f"{r['table']}: {r['chosen']:,} of {r['of']:,} rows ({why})")
        return out


def choose_subset(
    reader: SourceReader,
    spec: DatasetSpec,
    source: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Subset:
    """The subset `spec.subset` of the spec's extracted tables, read through `reader` (a
    tdm.source.SourceReader); `source` names the spec file in errors."""
    started = time.perf_counter()
    found, exported = choose(reader, spec, source or spec.dataset, progress)
    *chosen, leaves = found
    seconds = time.perf_counter() - started
    return Subset(*chosen, seconds=seconds, snapshot=exported, leaves=leaves)
