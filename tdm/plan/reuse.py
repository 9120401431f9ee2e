"""Generated rows kept for the computed columns that read them again (tdm.plan.computed).

A column reading its parent row (`orders.ordered_at` in payments) or aggregating its child rows
(`sum(order_items.line_total)` in orders) generates those rows again. Rows being a pure function
of (spec, seed, table, row index), the rows a step of the same process has just generated serve
instead: a range covered by kept blocks is their slices, byte for byte what generating it again
gives. A step's own batches come from here too when another table's step generated them first
(`order_items` for `orders.total`): each block keeps which of its rows failed a check at their
first draw, so the step's counts of rows drawn again are what generating them gives. The blocks
kept are bounded by their bytes, the oldest dropped first: a miss only costs generating them
again.

A table whose rows cannot all be kept (its rows x the bytes per row of a block over the budget)
keeps only its latest block: the columns of one batch reading the same rows (`payments.amount`
and `payments.paid_at` both read `orders`) still share them, and the process does not hold a
budget's worth of rows that the next step, reading from the first rows on, reaches only at its
end (at 100M retail rows, ~240 MB of the last orders held through the whole payments step).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pyarrow as pa

BUDGET_BYTES = 256 * 1024 * 1024
Failed = dict[str, np.ndarray]  # per check, positions in a block


class KeptRows:
    """Blocks of generated rows, per table: (table, start, stop) -> rows [start, stop)."""

    def __init__(self, budget: int = BUDGET_BYTES):
        self.budget = budget
        # (rows, per check: the block's rows that failed it at their first draw)
        self._blocks: OrderedDict[tuple[str, int, int], tuple[pa.Table, Failed]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:  # a plan sent to another process takes no rows along
        return {"budget": self.budget}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["budget"])

    def keep(
        self,
        table: str,
        start: int,
        stop: int,
        rows: pa.Table,
        failed: Failed | None = None,
        total: int | None = None,
    ) -> None:
        """Keep rows [start, stop) of `table`; `total`: the table's rows in the plan (None: as
        if they all fit)."""
        size = rows.nbytes
        if size > self.budget or stop <= start:
            return
        with self._lock:
            key = (table, start, stop)
            if key in self._blocks:
                self._blocks.move_to_end(key)
                return
            if total is not None and size * total > self.budget * (stop - start):
                for other in [k for k in self._blocks if k[0] == table]:
                    self._bytes -= self._blocks.pop(other)[0].nbytes
            self._blocks[key] = (rows, failed or {})
            self._bytes += size
            while self._bytes > self.budget:
                _, (dropped, _) = self._blocks.popitem(last=False)
                self._bytes -= dropped.nbytes

    def rows(self, table: str, start: int, stop: int) -> pa.Table | None:
        """Rows [start, stop) of `table` from kept blocks, or None unless they cover it all."""
        taken = self.take(table, start, stop)
        return None if taken is None else taken[0]

    def take(self, table: str, start: int, stop: int) -> tuple[pa.Table, dict[str, int]] | None:
        """Rows [start, stop) and, per check, how many of them failed it at their first draw;
        None unless kept blocks cover them all."""
        if stop <= start:
            return None
        with self._lock:
            exact = self._blocks.get((table, start, stop))
            if exact is not None:
                self._blocks.move_to_end((table, start, stop))
                return exact[0], {c: len(rows) for c, rows in exact[1].items()}
            mine = sorted((k[1], k[2], v) for k, v in self._blocks.items() if k[0] == table)
        parts, failed, at = [], {}, start
        for first, last, (block, failures) in mine:
            if first <= at < last:
                end = min(last, stop)
                parts.append(block.slice(at - first, end - at))
                for check, rows in failures.items():
                    inside = int(np.count_nonzero((rows >= at - first) & (rows < end - first)))
                    failed[check] = failed.get(check, 0) + inside
                at = end
                if at == stop:
                    return pa.concat_tables(parts), failed
        return None

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._bytes = 0
