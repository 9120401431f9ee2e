"""Row rules in the suite: a table's `check:` constraints and `when:` conditions are checked on
every batch (DuckDB), pass on the generated data, and catch the rows that break them."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore
from tdm.validation.results import load_report
from tdm.validation.runner import validate_batch, validate_version
from tdm.validation.suite import suite_for
from tests.builders import seal_version

SPEC = """
dataset: rules
seed: 3
batch_size: 400
reference_date: 2026-01-01
tables:
  payments:
    rows: 1000
    primary_key: id
    check:
      paid_after_order: paid_at >= ordered_at
      amount_positive: amount > 0
    columns:
      id: {type: int, generator: sequence}
      method: {type: string, generator: choice, values: [card, bank_transfer, wallet]}
      card_number: {type: string, generator: credit_card, when: "method = 'card'"}
      iban: {type: string, generator: iban, when: "method = 'bank_transfer'",
             mask: {strategy: redact, keep_nulls: false}}
      bic: {type: string, generator: pattern, pattern: "????DE##", mask: pseudonymize,
            when: "method = 'bank_transfer'"}
      amount: {type: "decimal(10,2)", generator: decimal, min: -50, max: 500}
      ordered_at: {type: date, generator: date, start: -1y, end: today}
      paid_at: {type: date, generator: date, start: -1y, end: today}
"""


def rules_of(plan) -> dict[str, str]:
    return {
        c["kwargs"]["rule"]: c["kwargs"]["sql"]
        for c in suite_for(plan, "payments")
        if c["type"] == "expect_rows_to_follow_rule"
    }


def test_checks_and_when_conditions_become_rules_but_not_on_masked_columns(write_spec):
    plan = load_spec(write_spec(SPEC, "rules.yaml"))
    rules = rules_of(plan)
    assert rules == {
        "check paid_after_order": "paid_at >= ordered_at",
        "check amount_positive": "amount > 0",
        "card_number when": "(method = 'card') IS TRUE OR \"card_number\" IS NULL",
        "bic when": "(method = 'bank_transfer') IS TRUE OR \"bic\" IS NULL",
    }  # iban's mask writes a constant over its nulls: its rule cannot hold; bic's keeps them


def test_generated_rows_follow_their_rules_and_broken_rows_are_caught(write_spec, tmp_path):
    spec = write_spec(SPEC, "rules.yaml")
    plan = load_spec(spec)
    data = plan.generate("payments", 0, 400)
    results = {
        r.details["kwargs"].get("rule"): r for r in validate_batch(plan, "payments", data, 0)
    }
    for rule in rules_of(plan):
        assert results[rule].success and results[rule].element_count == 400, rule

    # a card number on a wallet payment, and a payment before its order: named, rows counted
    wallet = pc.equal(data.column("method"), "wallet")
    first_wallet = pc.index(wallet, True).as_py()
    cards = data.column("card_number").to_pylist()
    cards[first_wallet] = "4111111111111111"
    paid = data.column("paid_at").to_pylist()
    paid[7] = data.column("ordered_at")[7].as_py().replace(year=2000)
    broken = data.set_column(
        data.schema.get_field_index("card_number"), "card_number", pa.array(cards)
    )
    broken = broken.set_column(broken.schema.get_field_index("paid_at"), "paid_at", pa.array(paid))
    failed = {
        r.details["kwargs"].get("rule"): r
        for r in validate_batch(plan, "payments", broken, 800)
        if not r.success and r.expectation == "expect_rows_to_follow_rule"
    }
    assert set(failed) == {"card_number when", "check paid_after_order"}
    assert failed["card_number when"].examples == [800 + first_wallet]
    assert failed["check paid_after_order"].examples == [807]
    assert "payments(method, card_number)" in failed["card_number when"].message

    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, spec)
    report = validate_version(store, plan, "rules", version)
    assert report["success"]
    stored = load_report(store, "rules", version)
    assert sum("expect_rows_to_follow_rule" in c["name"] for c in stored["checks"]) >= 3
