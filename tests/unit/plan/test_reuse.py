"""Rows kept for computed columns that read other tables (tdm.plan.reuse): what they give is
exactly what generating those rows again gives."""

from __future__ import annotations

from tdm.plan.loading import load_spec
from tdm.plan.reuse import KeptRows

SPEC = """
dataset: shop
seed: 9
batch_size: 400
reference_date: 2026-01-01
tables:
  orders:
    rows: 1000
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      placed: {type: timestamp, generator: timestamp, start: -1y, end: today}
      total:
        {type: "decimal(12,2)", generator: expression, sql: "coalesce(sum(order_items.price), 0)"}
  order_items:
    rows: {per: orders, distribution: uniform, min: 1, max: 4}
    primary_key: [order_id, line_no]
    columns:
      order_id: {type: int, references: orders}
      line_no: {type: int, generator: sequence, per_parent: true}
      price: {type: "decimal(10,2)", generator: decimal, min: 1, max: 100}
  payments:
    rows: {per: orders, distribution: fixed, value: 1}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      order_id: {type: int, references: orders}
      amount: {type: "decimal(12,2)", generator: expression, sql: orders.total}
      paid: {type: timestamp, generator: expression, sql: "orders.placed + interval '1 hour'"}
"""


def batches(plan, table: str) -> list:
    out = []
    for i in range(plan.table_batches(table)):
        start, stop = plan.block(table, i)
        out.append(plan.generate(table, start, stop))
    return out


def test_kept_rows_give_what_generating_again_gives(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(SPEC)
    kept, fresh = load_spec(path), load_spec(path)
    fresh.kept = KeptRows(budget=0)  # keeps nothing: every read generates again
    for table in ["order_items", "orders", "payments"]:  # children first: orders read kept ones
        made, again = batches(kept, table), batches(fresh, table)
        assert [b.equals(f) for b, f in zip(made, again, strict=True)] == [True] * len(made)
    assert kept.kept.rows("order_items", 10, 1500) is not None  # spans kept batches
    assert fresh.kept.rows("order_items", 0, 10) is None


def test_a_range_not_covered_is_not_given(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(SPEC)
    plan = load_spec(path)
    rows = KeptRows()
    rows.keep("orders", 0, 400, plan.generate("orders", 0, 400))
    rows.keep("orders", 800, 1000, plan.generate("orders", 800, 1000))
    assert rows.rows("orders", 100, 300).equals(plan.generate("orders", 100, 300))
    assert rows.rows("orders", 300, 900) is None  # 400..800 is not kept
    assert rows.rows("payments", 0, 10) is None
