"""The closure of a subset over foreign keys, as pure set logic over row ids (int64), whatever
database answers the two questions it asks (`Rows`): which parent rows do these rows reference,
and which rows reference these.

Rows are taken *down* (roots, and children of rows taken down, with `children`) or *up*
(parents a taken row needs). Every taken row pulls its parents; only rows taken down pull their
children, so the parents a row needs do not drag in their whole families. Each row is asked
about once per direction, and the sets only grow, so the loop ends at the least fixpoint
whatever the shape of the graph (self-references, cycles, components with several cycles) and
whatever the order tables are visited in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

Ids = np.ndarray  # sorted, unique int64 row ids
EMPTY = np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Edge:
    """`table(columns)` references `parent(parent_columns)`."""

    table: str
    columns: tuple[str, ...]
    parent: str
    parent_columns: tuple[str, ...]
    name: str  # the constraint's name, or "relationships[i]"

    def __str__(self) -> str:
        return (
            f"{self.table}({', '.join(self.columns)}) -> "
            f"{self.parent}({', '.join(self.parent_columns)})"
        )


class Rows(Protocol):
    def parents(self, edge: Edge, ids: Ids) -> Ids:
        """Rows of edge.parent that the rows `ids` of edge.table reference."""
        ...

    def children(self, edge: Edge, ids: Ids, limit: int | None) -> Ids:
        """Rows of edge.table that reference the rows `ids` of edge.parent (at most `limit`
        per parent row)."""
        ...


@dataclass
class Reasons:
    """Why a table's rows were taken: row counts by reason, first reason first."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, n: int) -> None:
        if n:
            self.counts[reason] = self.counts.get(reason, 0) + n


@dataclass
class Closure:
    tables: list[str]
    edges: list[Edge]
    rows: Rows
    children: bool = False
    max_per_parent: int | None = None
    skip: frozenset[str] = frozenset()  # tables children are never taken into
    chosen: dict[str, Ids] = field(default_factory=dict)
    reasons: dict[str, Reasons] = field(default_factory=dict)
    _down: dict[str, Ids] = field(default_factory=dict)
    _up_todo: dict[str, Ids] = field(default_factory=dict)
    _down_todo: dict[str, Ids] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for t in self.tables:
            for d in (self.chosen, self._down, self._up_todo, self._down_todo):
                d[t] = EMPTY
            self.reasons[t] = Reasons()

    def add_roots(self, table: str, ids: Ids) -> None:
        ids = np.unique(ids)
        self._take(table, ids, "root", down=True)

    def run(self, progress: Callable[[str], None] | None = None) -> dict[str, Ids]:
        """Take every row the chosen ones need, to a fixpoint; returns the chosen ids."""
        rounds = 0
        while any(len(v) for v in self._up_todo.values()) or any(
            len(v) for v in self._down_todo.values()
        ):
            rounds += 1
            for t in self.tables:
                todo, self._up_todo[t] = self._up_todo[t], EMPTY
                if len(todo):
                    for e in self.edges:
                        if e.table == t:
                            found = self.rows.parents(e, todo)
                            self._take(e.parent, found, f"parent of {e.table}", down=False)
                todo, self._down_todo[t] = self._down_todo[t], EMPTY
                if len(todo) and self.children:
                    for e in self.edges:
                        if e.parent == t and e.table not in self.skip:
                            found = self.rows.children(e, todo, self.max_per_parent)
                            self._take(e.table, found, f"child of {e.parent}", down=True)
            if progress:
                total = sum(len(v) for v in self.chosen.values())
                progress(f"subset round {rounds}: {total:,} rows chosen")
        return self.chosen

    def _take(self, table: str, ids: Ids, reason: str, down: bool) -> None:
        if not len(ids):
            return
        ids = np.unique(ids)
        new = np.setdiff1d(ids, self.chosen[table], assume_unique=True)
        if len(new):
            self.chosen[table] = np.union1d(self.chosen[table], new)
            self._up_todo[table] = np.union1d(self._up_todo[table], new)
            self.reasons[table].add(reason, len(new))
        if down:
            fresh = np.setdiff1d(ids, self._down[table], assume_unique=True)
            if len(fresh):
                self._down[table] = np.union1d(self._down[table], fresh)
                self._down_todo[table] = np.union1d(self._down_todo[table], fresh)
