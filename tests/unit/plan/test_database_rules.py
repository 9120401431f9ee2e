"""What a database's own rules ask of generation: CHECKs held by drawing failing rows again,
strings cut to varchar(n), unique foreign keys (one-to-one), reproducible (non-index) columns as
foreign-key targets, and cycles of non-nullable foreign keys."""

from __future__ import annotations

import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tdm.checks import failing
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec


def plan_of(tmp_path, text: str):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(text))
    return load_spec(path)


def whole(plan, table):
    return plan.generate(table, 0, plan.rows[table])


def in_blocks(plan, table, size):
    n = plan.rows[table]
    return pa.concat_tables([plan.generate(table, s, min(n, s + size)) for s in range(0, n, size)])


CHECKED = """
dataset: checked
reference_date: 2026-01-01
tables:
  stays:
    rows: 20000
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      starts_on: {type: date, generator: date, start: 2025-01-01, end: 2025-12-31}
      ends_on: {type: date, generator: date, start: 2025-01-01, end: 2025-12-31}
      nights: {type: int, generator: integer, min: 0, max: 100}
      price: {type: "decimal(8,2)", generator: decimal, min: 0, max: 1000}
      code: {type: string, generator: pattern, pattern: "????????", sql_type: "varchar(5)"}
    check:
      ordered: ends_on >= starts_on
      capped: (nights * price) < 20000
"""


def test_rows_breaking_a_check_are_drawn_again_until_it_holds_in_any_batching(tmp_path):
    plan = plan_of(tmp_path, CHECKED)
    data = whole(plan, "stays")
    assert {k: len(v) for k, v in failing(data, plan.spec.tables["stays"].check).items()} == {
        "ordered": 0,
        "capped": 0,
    }
    # about half the rows broke `ordered` on their first draw, and were counted
    assert 8000 < plan.redrawn["stays"]["ordered"] < 12000
    assert in_blocks(plan, "stays", 3000).equals(data)
    # rows that held on their first draw keep their values: a redraw touches only failing rows
    fresh = plan_of(tmp_path, CHECKED.split("    check:")[0])
    first = whole(fresh, "stays")
    kept = pc.and_(
        pc.greater_equal(first["ends_on"], first["starts_on"]),
        pc.less(
            pc.multiply(first["nights"].cast(pa.float64()), first["price"].cast(pa.float64())),
            20000,
        ),
    )
    assert data.filter(kept).equals(first.filter(kept))


def test_strings_are_cut_to_their_sql_type_length(tmp_path):
    data = whole(plan_of(tmp_path, CHECKED), "stays")
    assert set(pc.utf8_length(data["code"]).to_pylist()) == {5}


def test_a_check_no_redraw_can_satisfy_is_a_clear_error(tmp_path):
    spec = CHECKED + "      impossible: nights > 1000\n"
    with pytest.raises(TdmError, match=r"still break check impossible \(nights > 1000\)"):
        whole(plan_of(tmp_path, spec), "stays")


ONE_TO_ONE = """
dataset: o2o
tables:
  people:
    rows: 50
    primary_key: id
    unique: [[id, region]]
    columns:
      id: {type: int, generator: sequence}
      region: {type: string, generator: choice, values: [eu, us, ap]}
  badges:
    rows: ROWS
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      person_id: {type: int, references: people, unique: true}
  visits:
    rows: 500
    columns:
      person_id: {type: int}
      region: {type: string}
    foreign_keys:
      - {columns: [person_id, region], references: "people(id, region)"}
"""


def test_a_unique_foreign_key_takes_each_parent_row_at_most_once(tmp_path):
    spec = ONE_TO_ONE.replace("ROWS", "50")
    plan = plan_of(tmp_path, spec)
    badges = whole(plan, "badges")["person_id"].to_pylist()
    assert sorted(badges) == list(range(1, 51))
    # a composite key with a choice column (drawn, not index-based) can be referenced: the
    # child draws the parent's chunk again and gets the very values the parent holds
    people = whole(plan, "people")
    regions = dict(zip(people["id"].to_pylist(), people["region"].to_pylist(), strict=True))
    visits = whole(plan, "visits")
    assert all(
        regions[p] == r
        for p, r in zip(visits["person_id"].to_pylist(), visits["region"].to_pylist(), strict=True)
    )


def test_more_rows_than_a_unique_foreign_key_has_parents_is_a_clear_error(tmp_path):
    spec = ONE_TO_ONE.replace("ROWS", "51")
    with pytest.raises(TdmError, match="unique reference to people, which has 50 rows"):
        whole(plan_of(tmp_path, spec), "badges")


CYCLE = """
dataset: cycle
tables:
  stores:
    rows: 30
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      manager_id: {type: int, references: staff, unique: true}
  staff:
    rows: 40
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      store_id: {type: int, references: stores}
      boss_id: {type: int, references: staff.id}
"""


def test_a_cycle_of_non_nullable_foreign_keys_plans_and_every_key_resolves(tmp_path):
    plan = plan_of(tmp_path, CYCLE)
    assert set(plan.order) == {"stores", "staff"}
    stores, staff = whole(plan, "stores"), whole(plan, "staff")
    assert stores["manager_id"].null_count == 0 and staff["boss_id"].null_count == 0
    assert set(stores["manager_id"].to_pylist()) <= set(staff["id"].to_pylist())
    assert len(set(stores["manager_id"].to_pylist())) == 30
    assert set(staff["store_id"].to_pylist()) <= set(stores["id"].to_pylist())
    boss = np.array(staff["boss_id"].to_pylist())
    assert boss[0] == 1 and (boss <= np.arange(1, 41)).all()  # an earlier row, or itself


PAYMENTS = """
dataset: pay
reference_date: 2026-01-01
tables:
  payments:
    rows: 5000
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      method: {type: string, generator: choice, values: [card, bank_transfer, cash]}
      card_number: {type: string, generator: credit_card, when: "method = 'card'"}
      paid_on: {type: date, generator: date, start: 2025-01-01, end: 2025-06-30}
      settled_on: {type: date, generator: date, start: 2025-01-01, end: 2025-12-31}
    check:
      settled_after_paid: settled_on >= paid_on
"""


def test_a_when_column_is_set_exactly_where_its_condition_holds(tmp_path):
    plan = plan_of(tmp_path, PAYMENTS)
    data = whole(plan, "payments")
    method, card = data["method"].to_pylist(), data["card_number"].to_pylist()
    assert all((m == "card") == (c is not None) for m, c in zip(method, card, strict=True))
    assert 1000 < sum(m == "card" for m in method) < 2400
    assert plan.schema("payments").field("card_number").nullable
    assert in_blocks(plan, "payments", 700).equals(data)
    assert failing(data, plan.spec.tables["payments"].check)["settled_after_paid"].size == 0


def test_a_check_or_condition_that_is_not_sql_on_the_table_is_a_spec_error(tmp_path):
    from tdm.core.errors import SpecError

    spec = PAYMENTS.replace("method = 'card'", "methd = 'card'").replace(
        "settled_on >= paid_on", "settled_on >=="
    )
    with pytest.raises(SpecError) as e:
        plan_of(tmp_path, spec)
    paths = sorted(p.path for p in e.value.problems)
    assert paths == [
        "tables.payments.check.settled_after_paid",
        "tables.payments.columns.card_number.when",
    ]
    assert "methd" in str(e.value)
