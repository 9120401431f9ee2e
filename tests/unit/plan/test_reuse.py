"""Rows kept for computed columns that read other tables (tdm.plan.reuse): what they give is
exactly what generating those rows again gives."""

from __future__ import annotations

from tdm.plan.loading import load_spec
from tdm.plan.reuse import BUDGET_BYTES, KeptRows

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


def test_a_step_takes_its_own_rows_kept_and_counts_their_redraws(tmp_path, monkeypatch):
    """order_items made for orders.total serve order_items' own batches (cut differently), and
    the rows drawn again for its check are counted as generating them counts them."""
    from tdm.plan import model

    path = tmp_path / "shop.yaml"
    checked = SPEC.replace(
        "    primary_key: [order_id, line_no]\n",
        "    primary_key: [order_id, line_no]\n    check:\n      dear: price > 30\n",
    )
    assert checked != SPEC
    path.write_text(checked)
    generated: list[str] = []  # the tables whose rows were generated (not taken)
    repair = model.repair
    monkeypatch.setattr(model, "repair", lambda t, *a: (generated.append(t), repair(t, *a))[1])
    items, made = {}, {}
    for name, budget in (("kept", BUDGET_BYTES), ("fresh", 0)):
        plan = load_spec(path)
        plan.kept = KeptRows(budget=budget)
        generated.clear()
        batches(plan, "orders")  # their totals generate the order items
        items[name] = batches(plan, "order_items")
        made[name] = (generated.count("order_items"), plan.redrawn["order_items"])
    n = len(items["kept"])
    assert n > 3 and {len(b) for b in items["kept"][:-1]} == {400}  # cut unlike the orders'
    assert [k.equals(f) for k, f in zip(items["kept"], items["fresh"], strict=True)] == [True] * n
    (kept_made, kept_counts), (fresh_made, fresh_counts) = made["kept"], made["fresh"]
    assert kept_made == 3  # once per orders batch, for the totals; never for its own
    assert fresh_made == kept_made + n  # fresh generated order_items' own batches again
    assert kept_counts == fresh_counts and kept_counts["dear"] > 100  # ~30% fail first


def test_counts_of_a_range_cut_across_kept_blocks():
    import numpy as np
    import pyarrow as pa

    rows = KeptRows()
    rows.keep("t", 0, 10, pa.table({"x": range(10)}), {"c": np.array([1, 5, 9])})
    rows.keep("t", 10, 20, pa.table({"x": range(10, 20)}), {"c": np.array([0]), "d": np.array([2])})
    taken, failed = rows.take("t", 5, 13)
    assert taken.column("x").to_pylist() == list(range(5, 13))
    assert failed == {"c": 3, "d": 1}  # rows 5, 9, 10 and 12
    assert rows.take("t", 0, 10)[1] == {"c": 3}
    assert rows.take("t", 15, 25) is None


def test_a_table_too_big_to_keep_keeps_only_its_latest_block(tmp_path):
    """Rows of a table that cannot all be kept are not held for a later step that would reach
    them last: only the latest block stays, which the batch's other columns reading it share.
    What the batches give is unchanged."""
    path = tmp_path / "shop.yaml"
    path.write_text(SPEC)
    plan = load_spec(path)
    block = plan.generate("orders", 0, 400)
    per_row = block.nbytes / 400
    # room for 2.2 of the 2.5 orders batches: two blocks fit, all of them do not
    plan.kept = KeptRows(budget=int(per_row * 880))
    small = load_spec(path)
    small.kept = KeptRows(budget=0)
    for table in ["order_items", "orders"]:
        made, again = batches(plan, table), batches(small, table)
        assert [b.equals(f) for b, f in zip(made, again, strict=True)] == [True] * len(made)
        kept = [k for k in plan.kept._blocks if k[0] == table]
        assert len(kept) == 1 and kept[0][2] == plan.rows[table]  # the last block only
    # the same blocks, a table that fits (total None, as tests of the budget alone do): kept
    rows = KeptRows(budget=int(per_row * 1100))
    rows.keep("orders", 0, 400, block)
    rows.keep("orders", 400, 800, plan.generate("orders", 400, 800))
    assert rows.rows("orders", 0, 800) is not None
    rows.keep("orders", 800, 1000, plan.generate("orders", 800, 1000), total=10_000)
    assert rows.rows("orders", 0, 400) is None and rows.rows("orders", 800, 1000) is not None
    assert rows._bytes == rows._blocks["orders", 800, 1000][0].nbytes
