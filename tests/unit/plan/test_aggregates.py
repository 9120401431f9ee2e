"""Computed columns that aggregate child rows (`coalesce(sum(lines.amount), 0)` in a table whose
`lines` are counted per it): exact per parent, with PostgreSQL's meaning over no children, the
same whatever the batches, chained through a grandchild that reads the total, and refused when
tables would read each other in a cycle."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import numpy as np
import pytest

from tdm.core.errors import SpecError
from tdm.plan.loading import load_spec

SPEC = """
dataset: totals
seed: 11
batch_size: 53
tables:
  customers:
    rows: 40
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
  "Orders":
    rows: {per: customers, distribution: poisson, lam: 4}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
      fee: {type: "decimal(8,2)", generator: decimal, min: 0, max: 9, null_ratio: 0.3}
      total: {type: "decimal(12,2)", generator: expression,
              sql: 'coalesce(sum(lines.amount), 0) + coalesce(fee, 0)'}
      raw_sum: {type: "decimal(12,2)", generator: expression, sql: sum(LINES.amount)}
      n_lines: {type: int, generator: expression, sql: count(lines.*)}
      big_qty: {type: int, generator: expression,
                sql: 'count(lines.qty) FILTER (WHERE lines.qty > 2)'}
      top_qty: {type: int, generator: expression, sql: max(lines.qty)}
  lines:
    rows: {per: Orders, distribution: uniform, min: 0, max: 4}
    primary_key: [order_id, n]
    columns:
      order_id: {type: int, references: Orders}
      n: {type: int, generator: sequence, per_parent: true}
      qty: {type: int, generator: integer, min: 1, max: 5}
      price: {type: "decimal(8,2)", generator: decimal, min: 0.5, max: 99}
      amount: {type: "decimal(10,2)", generator: expression, sql: qty * price}
  payments:
    rows: {per: Orders, distribution: fixed, value: 1}
    primary_key: order_id
    columns:
      order_id: {type: int, references: Orders}
      amount: {type: "decimal(12,2)", generator: expression, sql: '"Orders".total'}
"""


def test_aggregates_are_exact_per_parent_and_follow_postgresql_over_no_children(write_spec):
    plan = load_spec(write_spec(SPEC))
    orders = plan.generate("Orders", 0, plan.rows["Orders"]).to_pylist()
    lines = plan.generate("lines", 0, plan.rows["lines"]).to_pylist()
    of = defaultdict(list)
    for line in lines:
        of[line["order_id"]].append(line)
    assert any(not of[o["id"]] for o in orders)  # parents without children are covered
    assert sum(o["fee"] is None for o in orders) > 10
    for o in orders:
        mine = of[o["id"]]
        amounts = sum((x["amount"] for x in mine), Decimal(0))
        assert o["total"] == amounts + (o["fee"] or 0)
        assert o["raw_sum"] == (amounts if mine else None)  # sum over no rows is NULL
        assert o["n_lines"] == len(mine)  # count over no rows is 0
        assert o["big_qty"] == sum(x["qty"] > 2 for x in mine)
        assert o["top_qty"] == (max(x["qty"] for x in mine) if mine else None)


def test_the_same_rows_whatever_the_batches_and_through_a_grandchild(write_spec):
    plan = load_spec(write_spec(SPEC))
    n = plan.rows["Orders"]
    whole = plan.generate("Orders", 0, n)
    rng = np.random.default_rng(3)
    for start, stop in [(0, 1), (n - 1, n), *(sorted(rng.integers(0, n, 2)) for _ in range(8))]:
        assert plan.generate("Orders", int(start), int(stop)) == whole.slice(start, stop - start)
    totals = dict(zip(whole["id"].to_pylist(), whole["total"].to_pylist(), strict=True))
    payments = plan.generate("payments", 17, 101).to_pylist()
    assert payments and all(p["amount"] == totals[p["order_id"]] for p in payments)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("sum(LINES.amount)", "sum(customers.id)",
         "SUM(customers.id) aggregates customers, whose rows are not counted per Orders"),
        ("sum(LINES.amount)", "sum(lines.amount_x)",
         "SUM(lines.amount_x) reads lines.amount_x, which lines does not have"),
        ("sum(LINES.amount)", "sum(nope.x)", "rows of nope, which the spec does not have"),
        ("count(lines.*)", "count(*)", "COUNT(*) reads no column"),
        ("max(lines.qty)", "max(qty)", "reads qty without its table"),
        ("max(lines.qty)", "max(lines.qty) OVER ()", "window functions are not supported"),
        ("max(lines.qty)", "max(sum(lines.qty))", "an aggregate inside an aggregate"),
        ("max(lines.qty)", "max(lines.qty + payments.amount)", "reads 2 tables"),
    ],
)  # fmt: skip
def test_aggregate_mistakes_are_spec_problems(write_spec, old, new, message):
    with pytest.raises(SpecError, match=_escaped(message)):
        load_spec(write_spec(SPEC.replace(old, new)))


def test_tables_reading_each_other_are_a_cycle_problem(write_spec):
    # lines reads its order's fee while Orders sums lines: each would generate the other again
    spec = SPEC.replace("sql: qty * price", 'sql: qty * price + "Orders".fee')
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(spec))
    text = str(caught.value)
    assert "computed columns read tables in a cycle" in text
    assert "Orders -> lines -> Orders" in text or "lines -> Orders -> lines" in text
    # a parent read of a table nobody aggregates is fine (payments reads Orders.total above)


def _escaped(text: str) -> str:
    return "".join("\\" + ch if ch in ".()*[]+" else ch for ch in text)
