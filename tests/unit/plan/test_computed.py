"""Computed columns (`generator: expression`): values follow the row's other columns, NULL from
NULL, cast to the column's type; `when:` conditions may read other `when:` columns; mistakes are
spec problems; every version is validated against the expression."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from tdm.core.errors import SpecError, TdmError
from tdm.plan.loading import load_spec
from tdm.validation.runner import validate_batch

SPEC = """
dataset: computed
seed: 9
reference_date: 2026-01-01
tables:
  lines:
    rows: 600
    primary_key: id
    check:
      shipped_after_ordered: shipped_at >= ordered_at
    columns:
      id: {type: int, generator: sequence}
      status: {type: string, generator: choice, values: [open, shipped, lost]}
      quantity: {type: int, generator: integer, min: 1, max: 9, null_ratio: 0.1}
      unit_price: {type: "decimal(10,2)", generator: decimal, min: 0.5, max: 99}
      total: {type: "decimal(12,2)", generator: expression, sql: quantity * unit_price}
      ordered_at: {type: timestamp, generator: timestamp, start: -1y, end: -30d}
      ship_days: {type: int, generator: integer, min: 0, max: 20, when: "status <> 'open'"}
      shipped_at: {type: timestamp, generator: expression,
                   sql: "ordered_at + ship_days * interval '1 day'",
                   when: "ship_days IS NOT NULL AND status <> 'lost'"}
      label: {type: string, generator: expression, sql: "upper(status) || '-' || id"}
"""


def test_values_follow_the_row_null_from_null_and_cast_to_the_type(write_spec):
    plan = load_spec(write_spec(SPEC, "computed.yaml"))
    rows = plan.generate("lines", 0, 600).to_pylist()
    for r in rows:
        if r["quantity"] is None:
            assert r["total"] is None
        else:
            assert r["total"] == r["quantity"] * r["unit_price"]
            assert r["total"].as_tuple().exponent == -2  # decimal(12,2)
        if r["status"] == "shipped":
            assert r["shipped_at"] == r["ordered_at"] + dt.timedelta(days=r["ship_days"])
        else:  # open: no ship_days; lost: its own condition
            assert r["shipped_at"] is None
        assert r["label"] == f"{r['status'].upper()}-{r['id']}"
    assert plan.schema("lines").field("total").nullable
    assert plan.generate("lines", 100, 200).to_pylist() == rows[100:200]  # any batch, same rows


def test_every_version_is_validated_against_its_expressions(write_spec):
    plan = load_spec(write_spec(SPEC, "computed.yaml"))
    data = plan.generate("lines", 0, 600)
    rules = {
        r.details["kwargs"]["rule"]: r
        for r in validate_batch(plan, "lines", data, 0)
        if r.expectation == "expect_rows_to_follow_rule"
    }
    assert {"total computed", "shipped_at computed", "label computed"} <= set(rules)
    assert all(r.success for r in rules.values())
    totals = data.column("total").to_pylist()
    at = next(i for i, t in enumerate(totals) if t is not None)
    totals[at] += Decimal("0.01")  # a total that no longer adds up
    kind = data.schema.field("total").type
    broken = data.set_column(data.schema.get_field_index("total"), "total", pa.array(totals, kind))
    failed = [r for r in validate_batch(plan, "lines", broken, 0) if not r.success]
    assert [r.details["kwargs"]["rule"] for r in failed] == ["total computed"]
    assert failed[0].examples == [at]


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("x: {type: int, generator: expression, sql: x + 1}", "cannot be computed from itself"),
        ("x: {type: int, generator: expression, sql: nope + 1}", "reads column 'nope'"),
        ("x: {type: int, generator: expression, sql: '1 +'}", "sql"),
        ("x: {type: int, generator: expression, sql: '2 + 2'}", "reads no column"),
    ],
)
def test_mistakes_are_spec_problems(write_spec, column, message):
    spec = SPEC.replace("      label:", f"      {column}\n      label:")
    with pytest.raises(SpecError, match=message):
        load_spec(write_spec(spec, "bad.yaml"))


def test_a_value_that_does_not_fit_the_type_is_a_clear_error(write_spec):
    spec = SPEC.replace(
        "      label:",
        '      day: {type: date, generator: expression, sql: "status"}\n      label:',
    )
    plan = load_spec(write_spec(spec, "types.yaml"))
    with pytest.raises(TdmError, match=r"lines\.day: status gives string, which does not fit date"):
        plan.generate("lines", 0, 50)


PARENT_SPEC = """
dataset: paid
seed: 4
reference_date: 2026-01-01
batch_size: 70
tables:
  orders:
    rows: 300
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      ordered_at: {type: timestamp, generator: timestamp, start: -1y, end: -1d}
      amount: {type: "decimal(10,2)", generator: decimal, min: 1, max: 500}
  payments:
    rows: {per: orders, distribution: uniform, min: 0, max: 3}
    primary_key: [order_id, n]
    columns:
      order_id: {type: int, references: orders}
      n: {type: int, generator: sequence, per_parent: true}
      hours: {type: int, generator: integer, min: 0, max: 48}
      paid_at: {type: timestamp, generator: expression,
                sql: "orders.ordered_at + hours * interval '1 hour'"}
      twice: {type: "decimal(10,2)", generator: expression, sql: "ORDERS.amount * 2"}
"""


def test_an_expression_reads_the_parent_row_it_is_counted_per(write_spec):
    plan = load_spec(write_spec(PARENT_SPEC, "paid.yaml"))
    orders = {r["id"]: r for r in plan.generate("orders", 0, 300).to_pylist()}
    n = plan.rows["payments"]
    payments = plan.generate("payments", 0, n).to_pylist()
    assert n > 200
    for p in payments:
        parent = orders[p["order_id"]]
        assert p["paid_at"] == parent["ordered_at"] + dt.timedelta(hours=p["hours"])
        assert p["twice"] == parent["amount"] * 2
    # any batch, cut anywhere (parents on both sides of the cut), gives the same rows
    assert plan.generate("payments", 37, 151).to_pylist() == payments[37:151]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "customers.joined + hours",
            "reads customers.joined, but payments rows are counted per orders",
        ),
        ("orders.placed_at + hours", "reads orders.placed_at, which orders does not have"),
        ("orders.ordered_at + customers.x", "reads columns of 2 other tables"),
    ],
)
def test_parent_reads_are_checked(write_spec, sql, message):
    spec = PARENT_SPEC.replace("orders.ordered_at + hours * interval '1 hour'", sql)
    with pytest.raises(SpecError, match=message.replace(".", r"\.")):
        load_spec(write_spec(spec, "paid.yaml"))
    flat = PARENT_SPEC.replace(
        "rows: {per: orders, distribution: uniform, min: 0, max: 3}", "rows: 50"
    )
    with pytest.raises(SpecError, match="payments rows are not counted per parent rows"):
        load_spec(write_spec(flat, "paid.yaml"))
