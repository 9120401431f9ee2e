"""The subset closure as pure set logic: against a naive fixpoint on random schemas with every
shape (self-references, cycles, composite keys, NULLs), and the rules for children."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from tdm.source.subset.graph import Closure, Edge


class Memory:
    """Rows held in lists of dicts; a row's id is its index. Answers what a database would."""

    def __init__(self, data: dict[str, list[dict]]):
        self.data = data

    def parents(self, edge: Edge, ids: np.ndarray) -> np.ndarray:
        wanted = {self._value(edge.table, i, edge.columns) for i in ids.tolist()} - {None}
        rows = self.data[edge.parent]
        return np.array(
            [i for i, r in enumerate(rows) if tuple(r[c] for c in edge.parent_columns) in wanted],
            dtype=np.int64,
        )

    def children(self, edge: Edge, ids: np.ndarray, limit: int | None) -> np.ndarray:
        keys = {tuple(self.data[edge.parent][i][c] for c in edge.parent_columns) for i in ids}
        out, per = [], {}
        for i in range(len(self.data[edge.table])):
            v = self._value(edge.table, i, edge.columns)
            if v in keys and (limit is None or per.get(v, 0) < limit):
                per[v] = per.get(v, 0) + 1
                out.append(i)
        return np.array(out, dtype=np.int64)

    def _value(self, table: str, i: int, cols: tuple[str, ...]):
        v = tuple(self.data[table][i][c] for c in cols)
        return None if any(x is None for x in v) else v


def _random_schema(seed: int) -> tuple[dict[str, list[dict]], list[Edge]]:
    rnd = random.Random(seed)
    tables = [f"t{i}" for i in range(rnd.randint(2, 6))]
    edges = []
    for t in tables:
        for j in range(rnd.randint(1, 3)):
            parent = rnd.choice(tables)  # self-references and cycles included
            composite = rnd.random() < 0.3
            cols = (f"f{j}a", f"f{j}b") if composite else (f"f{j}a",)
            edges.append(Edge(t, cols, parent, ("ka", "kb") if composite else ("ka",), f"e{j}"))
    data: dict[str, list[dict]] = {}
    sizes = {t: rnd.randint(5, 40) for t in tables}
    for t in tables:
        rows = []
        for i in range(sizes[t]):
            row = {"ka": i, "kb": i % 3}
            for e in (e for e in edges if e.table == t):
                p = rnd.randrange(sizes[e.parent])
                null = rnd.random() < 0.25
                row[e.columns[0]] = None if null else p
                if len(e.columns) == 2:
                    row[e.columns[1]] = p % 3
            rows.append(row)
        data[t] = rows
    return data, edges


def _naive(data, edges, roots) -> dict[str, set[int]]:
    mem, chosen = Memory(data), {t: set(v) for t, v in roots.items()}
    while True:
        grown = False
        for e in edges:
            found = set(mem.parents(e, np.array(sorted(chosen[e.table]), dtype=np.int64)).tolist())
            if not found <= chosen[e.parent]:
                chosen[e.parent] |= found
                grown = True
        if not grown:
            return chosen


@pytest.mark.parametrize("seed", range(40))
def test_parents_reach_the_same_fixpoint_as_a_naive_loop_and_leave_no_orphan(seed):
    data, edges = _random_schema(seed)
    rnd = random.Random(seed + 1000)
    roots = {t: set(rnd.sample(range(len(rows)), 2)) for t, rows in data.items()}
    closure = Closure(list(data), edges, Memory(data))
    for t, ids in roots.items():
        closure.add_roots(t, np.array(sorted(ids), dtype=np.int64))
    got = {t: set(v.tolist()) for t, v in closure.run().items()}
    assert got == _naive(data, edges, roots)
    mem = Memory(data)
    for e in edges:  # every reference of a chosen row resolves to a chosen row
        for i in got[e.table]:
            v = mem._value(e.table, i, e.columns)
            if v is not None:
                parents = mem.parents(e, np.array([i], dtype=np.int64)).tolist()
                assert parents and set(parents) <= got[e.parent]


def test_the_result_does_not_depend_on_the_order_tables_are_visited():
    data, edges = _random_schema(7)
    results, sizes = set(), []
    for order in itertools.islice(itertools.permutations(data), 12):
        closure = Closure(list(order), edges, Memory(data), children=True, max_per_parent=2)
        closure.add_roots("t1", np.array([0, 1], dtype=np.int64))
        chosen = closure.run()
        results.add(tuple((t, tuple(chosen[t].tolist())) for t in sorted(chosen)))
        sizes.append(sum(len(v) for v in chosen.values()))
    assert len(results) == 1 and sizes[0] > 2


def _shop() -> tuple[dict[str, list[dict]], list[Edge]]:
    data = {
        "customers": [{"id": i} for i in range(3)],
        "orders": [{"id": i, "cust": i % 3} for i in range(9)],  # 3 orders per customer
        "lines": [{"id": i, "order": i // 4} for i in range(36)],  # 4 lines per order
    }
    edges = [
        Edge("orders", ("cust",), "customers", ("id",), "fk1"),
        Edge("lines", ("order",), "orders", ("id",), "fk2"),
    ]
    return data, edges


def test_children_of_chosen_rows_are_taken_but_not_children_of_the_parents_they_need():
    data, edges = _shop()
    closure = Closure(list(data), edges, Memory(data), children=True)
    closure.add_roots("orders", np.array([4], dtype=np.int64))
    chosen = closure.run()
    assert chosen["customers"].tolist() == [1]  # the order's customer ...
    assert chosen["orders"].tolist() == [4]  # ... without the customer's other orders
    assert chosen["lines"].tolist() == [16, 17, 18, 19]
    assert closure.reasons["lines"].counts == {"child of orders": 4}
    assert closure.reasons["customers"].counts == {"parent of orders": 1}


def test_max_per_parent_and_skip_bound_the_children():
    data, edges = _shop()
    closure = Closure(list(data), edges, Memory(data), children=True, max_per_parent=2)
    closure.add_roots("customers", np.array([0], dtype=np.int64))
    chosen = closure.run()
    assert chosen["orders"].tolist() == [0, 3]  # 2 of customer 0's 3 orders
    assert chosen["lines"].tolist() == [0, 1, 12, 13]  # 2 lines of each
    skipping = Closure(list(data), edges, Memory(data), children=True, skip=frozenset({"lines"}))
    skipping.add_roots("customers", np.array([0], dtype=np.int64))
    assert len(skipping.run()["lines"]) == 0


def test_without_children_only_parents_are_taken():
    data, edges = _shop()
    closure = Closure(list(data), edges, Memory(data))
    closure.add_roots("lines", np.array([35], dtype=np.int64))
    chosen = closure.run()
    assert {t: v.tolist() for t, v in chosen.items()} == {
        "customers": [2],
        "orders": [8],
        "lines": [35],
    }
