"""Generated rows kept for the computed columns that read them again (tdm.plan.computed).

A column reading its parent row (`orders.ordered_at` in payments) or aggregating its child rows
(`sum(order_items.line_total)` in orders) generates those rows again. Rows being a pure function
of (spec, seed, table, row index), the rows a step of the same process has just generated serve
instead: a range covered by kept blocks is their slices, byte for byte what generating it again
gives. A step's own batches are always generated (so its counts of rows drawn again hold); only
the reads of other tables come from here. The blocks kept are bounded by their bytes, the oldest
dropped first: a miss only costs generating them again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import pyarrow as pa

BUDGET_BYTES = 256 * 1024 * 1024


class KeptRows:
    """Blocks of generated rows, per table: (table, start, stop) -> rows [start, stop)."""

    def __init__(self, budget: int = BUDGET_BYTES):
        self.budget = budget
        self._blocks: OrderedDict[tuple[str, int, int], pa.Table] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:  # a plan sent to another process takes no rows along
        return {"budget": self.budget}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["budget"])

    def keep(self, table: str, start: int, stop: int, rows: pa.Table) -> None:
        size = rows.nbytes
        if size > self.budget or stop <= start:
            return
        with self._lock:
            key = (table, start, stop)
            if key in self._blocks:
                self._blocks.move_to_end(key)
                return
            self._blocks[key] = rows
            self._bytes += size
            while self._bytes > self.budget:
                _, dropped = self._blocks.popitem(last=False)
                self._bytes -= dropped.nbytes

    def rows(self, table: str, start: int, stop: int) -> pa.Table | None:
        """Rows [start, stop) of `table` from kept blocks, or None unless they cover it all."""
        if stop <= start:
            return None
        with self._lock:
            exact = self._blocks.get((table, start, stop))
            if exact is not None:
                self._blocks.move_to_end((table, start, stop))
                return exact
            mine = sorted((k[1], k[2], v) for k, v in self._blocks.items() if k[0] == table)
        parts, at = [], start
        for first, last, block in mine:
            if first <= at < last:
                parts.append(block.slice(at - first, min(last, stop) - at))
                at = min(last, stop)
                if at == stop:
                    return pa.concat_tables(parts)
        return None

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()
            self._bytes = 0
