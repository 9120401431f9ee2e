"""Computed columns that read other tables are checked over the whole sealed version: totals
summed over child rows and values read from the parent row pass as generated, and a stored
value that no longer follows its rule fails with its row named; rules reading a masked column
are left out."""

from __future__ import annotations

from decimal import Decimal

from tdm.store.versions import VersionStore
from tdm.validation.runner import validate_version
from tests.builders import put, seal_version

SPEC = """
dataset: sums
seed: 5
batch_size: 40
tables:
  orders:
    rows: 120
    primary_key: code
    columns:
      code: {type: string, generator: sequence, prefix: O-, width: 5}
      express: {type: bool, generator: boolean, p: 0.3}
      fee: {type: "decimal(8,2)", generator: decimal, min: 1, max: 9, when: express}
      total: {type: "decimal(12,2)", generator: expression,
              sql: "coalesce(sum(lines.amount), 0) + fee", when: express}
      n: {type: int, generator: expression, sql: count(lines.*)}
  lines:
    rows: {per: orders, distribution: uniform, min: 0, max: 5}
    primary_key: [order_code, k]
    columns:
      order_code: {type: string, references: orders}
      k: {type: int, generator: sequence, per_parent: true}
      amount: {type: "decimal(10,2)", generator: decimal, min: 1, max: 50}
  payments:
    rows: {per: orders, distribution: fixed, value: 1}
    primary_key: order_code
    columns:
      order_code: {type: string, references: orders}
      due: {type: "decimal(12,2)", generator: expression,
            sql: "orders.n * 2 + coalesce(orders.total, 0)"}
"""

RULES = {("orders", "total"), ("orders", "n"), ("payments", "due")}


def _rules(report: dict) -> dict[tuple[str, str], dict]:
    return {
        (c["table"], c["column"]): c
        for c in report["checks"]
        if c["expectation"] == "expect_column_values_to_follow_rule_across_tables"
    }


def test_rules_across_tables_pass_as_generated(write_spec, tmp_path):
    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(SPEC))
    report = validate_version(store, plan, "sums", version)
    rules = _rules(report)
    assert set(rules) == RULES and report["success"]
    assert rules[("payments", "due")]["element_count"] == plan.rows["payments"] == 120


def test_a_value_off_its_rule_fails_with_its_row(write_spec, tmp_path):
    store = VersionStore(tmp_path / "store")
    spec = write_spec(SPEC)
    seen = {}

    def corrupt(table, batch, data):
        if table == "orders" and batch == 1:  # rows 40..79: an express order's total is off
            row = data.column("express").to_pylist().index(True)
            seen["total"] = 40 + row
            return put(data, "total", row, data.column("total")[row].as_py() + Decimal("0.01"))
        if table == "payments" and batch == 2:  # one payment a row (rows 80..119)
            seen["due"] = 80 + 3
            return put(data, "due", 3, Decimal("-1"))
        return None

    plan, version = seal_version(store, spec, corrupt)
    report = validate_version(store, plan, "sums", version)
    rules = _rules(report)
    assert not report["success"]
    assert rules[("orders", "n")]["success"]
    bad = rules[("orders", "total")]
    assert (bad["success"], bad["unexpected_count"]) == (False, 1)
    assert bad["examples"] == [seen["total"]]
    # payment i is order i's: its due no longer follows the altered total either
    assert rules[("payments", "due")]["examples"] == sorted([seen["total"], seen["due"]])


def test_rules_reading_a_masked_column_are_left_out(write_spec, tmp_path):
    masked = SPEC.replace(
        'amount: {type: "decimal(10,2)", generator: decimal, min: 1, max: 50}',
        'amount: {type: "decimal(10,2)", generator: decimal, min: 1, max: 50, '
        "mask: {strategy: noise, relative: 0.1}}",
    )
    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(masked))
    rules = _rules(validate_version(store, plan, "sums", version))
    assert set(rules) == {("orders", "n"), ("payments", "due")}


def test_positions_of_one_key_column_are_those_a_join_gives():
    """The hash lookup for one key column against the join for several: nulls and keys with no
    row are null, other types are cast, rows come back in the left's order."""
    import pyarrow as pa

    from tdm.validation.table_rules import _positions

    left = pa.table({"k": pa.array([5, None, 3, 9, 5, 1], pa.int32()), "z": [0] * 6})
    right = pa.table({"id": pa.array([1, 3, 5, 7], pa.int64()), "z": [0] * 4})
    one = _positions(left, ["k"], right, ["id"])
    two = _positions(
        left,
        ["k", "z"],
        right.cast(pa.schema([("id", pa.int32()), ("z", pa.int64())])),
        ["id", "z"],
    )
    assert one.to_pylist() == two.to_pylist() == [2, None, 1, None, 2, 0]
    codes = pa.table({"c": ["b", "x", None, "a"]})
    assert _positions(codes, ["c"], pa.table({"c": ["a", "b"]}), ["c"]).to_pylist() == [
        1,
        None,
        None,
        0,
    ]


def test_rules_of_a_table_look_up_the_same_rows_once(write_spec, tmp_path, monkeypatch):
    """orders.total and orders.n both read the order's lines: one lookup of the lines' orders
    serves both (and one of the payments' orders serves payments.due)."""
    from tdm.validation import table_rules

    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(SPEC))
    looked_up, real = [], table_rules._positions
    monkeypatch.setattr(table_rules, "_positions", lambda *a: looked_up.append(a[1]) or real(*a))
    report = validate_version(store, plan, "sums", version)
    assert report["success"] and set(_rules(report)) == RULES
    assert looked_up == [["order_code"], ["order_code"]]


TWO_CHILDREN = (
    SPEC.replace(
        "n: {type: int, generator: expression, sql: count(lines.*)}",
        "n: {type: int, generator: expression, sql: count(lines.*) + count(notes.*)}",
    )
    + """
  notes:
    rows: {per: orders, distribution: uniform, min: 0, max: 2}
    primary_key: [order_code, k]
    columns:
      order_code: {type: string, references: orders}
      k: {type: int, generator: sequence, per_parent: true}
"""
)


def test_a_rule_reading_two_child_tables(write_spec, tmp_path):
    """Each child table's rows are looked up (and kept for the table's other rules) in turn."""
    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(TWO_CHILDREN))
    report = validate_version(store, plan, "sums", version)
    assert report["success"] and _rules(report)[("orders", "n")]["success"]
