"""Validation: a clean dataset passes, and every kind of defect is caught and named."""

from __future__ import annotations

import json
import sqlite3
import textwrap

import pyarrow as pa
import pytest

from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore
from tdm.validation.privacy import validate_masking, validate_pii
from tdm.validation.results import load_report
from tdm.validation.runner import validate_batch, validate_table_counts, validate_version
from tdm.validation.suite import suite_for
from tests.builders import put, seal_version

SPEC = """
dataset: vshop
seed: 5
batch_size: 50
reference_date: 2026-01-01
tables:
  customers:
    rows: 120
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      code: {type: string, generator: pattern, pattern: "C-####-??", unique: true}
      email: {type: string, generator: email}
      score: {type: int, generator: integer, min: 0, max: 100}
      balance: {type: "decimal(10,2)", generator: decimal, min: 0, max: 5000}
      rate: {type: float, generator: float, distribution: normal, mean: 1, std: 0.3,
             min: 0, max: 2, round: 3}
      tier: {type: string, generator: choice, values: [bronze, silver, gold]}
      level: {type: int, generator: choice, values: [1, 2, 3]}
      since: {type: date, generator: date, start: -5y, end: today}
      seen: {type: timestamp, generator: timestamp, start: -30d, null_ratio: 0.2}
      ext: {type: uuid, generator: uuid}
      card: {type: string, generator: credit_card, format: spaced}
      iban: {type: string, generator: iban}
      country: {type: string, generator: country_code}
      phone: {type: string, generator: phone, format: "+1 (###) ###-####"}
      referrer_id: {type: int, references: customers.id, null_ratio: 0.5}
  orders:
    rows: {per: customers, distribution: uniform, min: 0, max: 3}
    primary_key: id
    columns:
      id: {type: string, generator: sequence, prefix: ORD-, width: 6}
      customer_id: {type: int, references: customers}
      placed: {type: date, generator: choice, values: [2025-01-01, 2025-06-01]}
  order_lines:
    rows: {per: orders, distribution: uniform, min: 1, max: 3}
    primary_key: [order_id, line_no]
    columns:
      order_id: {type: string, references: orders}
      line_no: {type: int, generator: sequence, per_parent: true}
      qty: {type: int, generator: integer, distribution: geometric, p: 0.5, min: 1}
  returns:
    rows: 30
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      order_id: {type: string}
      line_no: {type: int}
    foreign_keys:
      - {columns: [order_id, line_no], references: "order_lines(order_id, line_no)"}
"""


@pytest.fixture
def build(write_spec, tmp_path):
    """A sealed version of SPEC; `corrupt(table, batch, data)` may change a batch first."""

    def make(corrupt=None):
        store = VersionStore(tmp_path / "store")
        plan, version = seal_version(store, write_spec(SPEC, "vshop.yaml"), corrupt)
        return plan, store, version

    return make


def failures(report: dict) -> list[dict]:
    return [c for c in report["checks"] if not c["success"]]


def the_failure(report: dict, table: str, column: str, expectation: str) -> dict:
    found = [
        c
        for c in failures(report)
        if (c["table"], c["column"], c["expectation"]) == (table, column, expectation)
    ]
    assert found, f"no failing {table}.{column} {expectation} in {report['failed']}"
    check = found[0]
    assert table in check["message"] and column in check["message"]
    assert expectation in check["message"] and "FAILED" in check["message"]
    return check


def test_a_clean_dataset_passes_and_the_report_is_stored(build):
    plan, store, version = build()
    report = validate_version(store, plan, "vshop", version)
    assert report["success"], report["failed"]
    assert load_report(store, "vshop", version) == json.loads(json.dumps(report))
    kinds = {(c["table"], c["expectation"]) for c in report["checks"]}
    for expected in [
        ("customers", "expect_column_values_to_be_of_type"),
        ("customers", "expect_column_values_to_not_be_null"),
        ("customers", "expect_column_values_to_be_unique"),
        ("customers", "expect_column_values_to_be_between"),
        ("customers", "expect_column_values_to_be_in_set"),
        ("customers", "expect_column_values_to_match_regex"),
        ("order_lines", "expect_compound_columns_to_be_unique"),
        ("order_lines", "expect_table_row_count_to_equal"),
        ("order_lines", "expect_table_row_count_to_be_between"),
        ("returns", "foreign_key"),
    ]:
        assert expected in kinds
    # one result per check over all batches, counting every row
    unique = next(
        c for c in report["checks"] if c["name"] == "customers.id expect_column_values_to_be_unique"
    )
    assert unique["element_count"] == 120 and unique["details"]["scope"] == "all batches"
    assert unique["details"]["primary_key"] and unique["details"]["batches"] == 3


def test_suite_is_derived_from_the_spec(build):
    plan, _, _ = build()
    configs = suite_for(plan, "customers")
    suite = {(c["type"], c["kwargs"].get("column")): c["kwargs"] for c in configs}
    assert suite[("expect_column_values_to_be_between", "score")] == {
        "column": "score",
        "min_value": 0,
        "max_value": 100,
    }
    assert suite[("expect_column_values_to_be_in_set", "tier")]["value_set"] == [
        "bronze",
        "silver",
        "gold",
    ]
    assert suite[("expect_column_values_to_match_regex", "code")]["regex"] == (
        r"^C\-[0-9][0-9][0-9][0-9]\-[A-Z][A-Z]$"
    )
    assert ("expect_column_values_to_not_be_null", "seen") not in suite  # null_ratio > 0
    assert ("expect_column_values_to_not_be_null", "referrer_id") not in suite
    assert suite[("expect_table_row_count_to_equal", None)] == {"value": 120}
    json.dumps(suite_for(plan, "orders"))  # JSON-safe (dates as ISO text)


def test_duplicate_keys_are_caught_within_and_across_batches(build):
    def corrupt(table, batch, data):
        if table == "returns" and batch == 0:
            return put(data, "id", 5, data.column("id")[4].as_py())
        if table == "customers" and batch == 2:  # a code of batch 0 again, in batch 2
            return put(data, "code", 0, "C-0000-AA")
        if table == "customers" and batch == 0:
            return put(data, "code", 3, "C-0000-AA")
        return None

    plan, store, version = build(corrupt)
    report = validate_version(store, plan, "vshop", version)
    assert not report["success"]
    within = the_failure(report, "returns", "id", "expect_column_values_to_be_unique")
    assert within["unexpected_count"] == 2 and within["examples"] == [4, 5]
    across = the_failure(report, "customers", "code", "expect_column_values_to_be_unique")
    assert across["unexpected_count"] == 2 and across["examples"] == [3, 100]
    # each key is checked once, over all batches: one failure per key, not one per batch
    names = [c["name"] for c in report["checks"] if not c["success"]]
    assert names.count("returns.id expect_column_values_to_be_unique") == 1
    assert "C-0000-AA" not in json.dumps(report)  # never values


def test_a_composite_duplicate_key_is_caught(build):
    def corrupt(table, batch, data):
        if table == "order_lines" and batch == 1:
            data = put(data, "order_id", 7, data.column("order_id")[6].as_py())
            return put(data, "line_no", 7, data.column("line_no")[6].as_py())
        return None

    plan, store, version = build(corrupt)
    report = validate_version(store, plan, "vshop", version)
    check = the_failure(
        report, "order_lines", "order_id, line_no", "expect_compound_columns_to_be_unique"
    )
    assert check["examples"] == [56, 57]
    assert "order_lines(order_id, line_no)" in check["message"]
    assert check["details"]["primary_key"] and check["unexpected_count"] == 2


def test_a_parent_in_another_batch_resolves(build):
    def corrupt(table, batch, data):
        if table == "orders" and batch == 0:
            return put(data, "customer_id", 0, 119)  # customer 119 lives in batch 2
        return None

    plan, store, version = build(corrupt)
    report = validate_version(store, plan, "vshop", version)
    assert report["success"], report["failed"]


def test_orphan_foreign_keys_are_caught(build):
    def corrupt(table, batch, data):
        if table == "orders" and batch == 1:
            return put(data, "customer_id", 3, 10_000)
        if table == "returns" and batch == 0:
            return put(data, "line_no", 2, 99)
        return None

    plan, store, version = build(corrupt)
    report = validate_version(store, plan, "vshop", version)
    single = the_failure(report, "orders", "customer_id", "foreign_key")
    assert single["unexpected_count"] == 1 and single["examples"] == [53]
    assert single["name"] == "fk orders(customer_id) -> customers(id)"
    composite = the_failure(report, "returns", "order_id, line_no", "foreign_key")
    assert composite["examples"] == [2]
    # nullable foreign keys: nulls are skipped, not orphans
    referrer = next(
        c
        for c in report["checks"]
        if c["column"] == "referrer_id" and c["expectation"] == "foreign_key"
    )
    assert referrer["success"] and referrer["details"]["null_keys_skipped"] > 0


def test_nulls_ranges_patterns_and_sets_are_checked_per_batch(build):
    def corrupt(table, batch, data):
        if table == "customers" and batch == 1:
            data = put(data, "email", 3, None)
            data = put(data, "score", 10, 1000)
            data = put(data, "code", 7, "X-12")
            data = put(data, "tier", 8, "platinum")
            return put(data, "since", 9, __import__("datetime").date(1999, 1, 1))
        return None

    plan, store, version = build(corrupt)
    report = validate_version(store, plan, "vshop", version)
    for column, expectation, row in [
        ("email", "expect_column_values_to_not_be_null", 53),
        ("score", "expect_column_values_to_be_between", 60),
        ("code", "expect_column_values_to_match_regex", 57),
        ("tier", "expect_column_values_to_be_in_set", 58),
        ("since", "expect_column_values_to_be_between", 59),
    ]:
        check = the_failure(report, "customers", column, expectation)
        assert check["examples"] == [row] and check["unexpected_count"] == 1
    assert "platinum" not in json.dumps(report) and "X-12" not in json.dumps(report)


def test_types_and_row_counts(build):
    plan, _, _ = build()
    data = plan.generate("returns", 0, 30)
    wrong = data.set_column(1, "order_id", pa.array(range(30), pa.int64()))
    results = validate_batch(plan, "returns", wrong, 0)
    bad = [r for r in results if not r.success]
    assert [(r.column, r.expectation) for r in bad][:1] == [
        ("order_id", "expect_column_values_to_be_of_type")
    ]
    assert bad[0].details["observed"] == "int64"
    counts = validate_table_counts(plan, "customers", 119)
    assert not counts[0].success and counts[0].expectation == "expect_table_row_count_to_equal"


def test_a_batch_of_another_type_is_validated_alone_at_its_own_rows(build):
    def corrupt(table, batch, data):
        if table == "customers" and batch == 1:  # rows 50..99: score as text
            i = data.schema.get_field_index("score")
            data = data.set_column(i, "score", data.column("score").cast(pa.string()))
            return put(data, "email", 4, None)
        return None

    plan, store, version = build(corrupt)
    report = validate_version(store, plan, "vshop", version)  # all 3 batches in one chunk
    typed = the_failure(report, "customers", "score", "expect_column_values_to_be_of_type")
    assert typed["unexpected_count"] == 50 and typed["examples"][0] == 50
    assert the_failure(report, "customers", "email", "expect_column_values_to_not_be_null")[
        "examples"
    ] == [54]
    assert report["stats"]["rows"] == sum(plan.rows.values())


def with_expect(plan, table: str, column: str | None, entries: list[dict]):
    t = plan.spec.tables[table]
    if column is None:
        t = t.model_copy(update={"expect": entries})
    else:
        col = t.columns[column].model_copy(update={"expect": entries})
        t = t.model_copy(update={"columns": {**t.columns, column: col}})
    plan.spec = plan.spec.model_copy(update={"tables": {**plan.spec.tables, table: t}})
    return plan


def test_the_specs_own_expectations_run(build):
    plan, store, version = build()
    with_expect(
        plan,
        "customers",
        "tier",
        [{"type": "expect_column_value_lengths_to_be_between", "min_value": 4, "max_value": 5}],
    )
    with_expect(
        plan,
        "customers",
        None,
        [{"type": "expect_table_row_count_to_be_between", "max_value": 100}],
    )
    report = validate_version(store, plan, "vshop", version)
    lengths = the_failure(report, "customers", "tier", "expect_column_value_lengths_to_be_between")
    assert lengths["unexpected_count"] > 0  # bronze, silver: 6 letters
    assert [c["expectation"] for c in failures(report) if c["column"] is None] == [
        "expect_table_row_count_to_be_between"
    ]


def test_unknown_expectations_are_named_with_a_suggestion(build):
    plan, _, _ = build()
    with_expect(plan, "customers", "tier", [{"type": "expect_column_values_to_be_uniqe"}])
    with pytest.raises(
        TdmError,
        match=r"customers\.tier.*expect_column_values_to_be_uniqe.*"
        r"did you mean \"expect_column_values_to_be_unique\"",
    ):
        suite_for(plan, "customers")


# ---- privacy: an extracted table read from SQLite ------------------------------------------------


@pytest.fixture
def extracted(tmp_path, write_spec):
    db = tmp_path / "src.sqlite"
    with sqlite3.connect(db) as c:
        c.execute(
            "create table people (id integer primary key, info text not null, "
            "email text not null, city text)"
        )
        c.executemany(
            "insert into people values (?, ?, ?, ?)",
            [
                (i, f"person{i}.x@corp-mail.com", f"member{i}@mail.org", "Springfield")
                for i in range(1, 201)
            ],
        )
    plan = load_spec(
        write_spec(
            textwrap.dedent(f"""
        dataset: ext
        seed: 1
        reference_date: 2026-01-01
        source: {{url: "sqlite:///{db}"}}
        tables:
          people:
            source: true
            primary_key: id
            columns:
              id: {{type: int}}
              info: {{type: string}}
              email: {{type: string, mask: email}}
              city: {{type: string, null_ratio: 0.1, allow: public town names}}
        """),
            "ext.yaml",
        )
    )
    from tdm.masking.apply import Masker
    from tdm.masking.keys import MaskingKey

    key = MaskingKey(b"validation-test-key-0123456789", dev=True)
    raw = plan.generate("people", 0, 200)
    return plan, raw, Masker(plan, key).apply("people", raw, 0), key


def test_masked_values_must_differ_from_their_source(extracted):
    plan, raw, masked, key = extracted
    ok = validate_masking(plan, "ext", masked, raw, "people", key)
    assert [(c.column, c.success) for c in ok] == [("email", True)]
    # unique emails: no value is frequent, so the mask carries no frequency over
    assert ok[0].details["frequency"] == {"source_top": [], "masked_top": [], "overlap": 0}
    one = put(masked, "email", 3, raw.column("email")[3].as_py())
    (check,) = validate_masking(plan, "ext", one, raw, "people", key)
    assert not check.success and check.unexpected_count == 1  # bijective: none may stay
    leaked = put(masked, "email", 17, raw.column("email")[17].as_py())
    leaked = put(leaked, "email", 18, raw.column("email")[18].as_py())
    (check,) = validate_masking(plan, "ext", leaked, raw, "people", key, start=1000)
    assert not check.success and check.unexpected_count == 2 and check.examples == [1017, 1018]
    assert "people.email" in check.message and "masked_values_changed" in check.message
    assert "member18@mail.org" not in json.dumps(check.to_dict())


def test_unmasked_pii_in_an_extracted_table_fails_the_gate(extracted):
    plan, _, masked, _ = extracted
    checks = validate_pii(plan, "people", masked)
    (bad,) = [c for c in checks if not c.success]
    assert (bad.table, bad.column, bad.expectation) == ("people", "info", "pii_gate")
    assert bad.details["category"] == "email" and "people.info" in bad.message
    assert "corp-mail" not in json.dumps(bad.to_dict())
    # with a mask (or an allow:) the column passes
    plan.masks["people"]["info"] = plan.masks["people"]["email"]
    assert all(c.success for c in validate_pii(plan, "people", masked))


def test_generator_formats_are_checked_on_a_spread_sample_of_big_batches(write_spec):
    import pyarrow.compute as pc

    spec = write_spec(
        """
        dataset: people
        reference_date: 2026-01-01
        tables:
          people:
            rows: 60000
            primary_key: id
            columns:
              id: {type: int, generator: sequence}
              email: {type: string, generator: email}
              code: {type: string, generator: pattern, pattern: "P-####"}
    """,
        "people.yaml",
    )
    plan = load_spec(spec)
    data = plan.generate("people", 0, 60_000)
    results = {(r.column, r.expectation): r for r in validate_batch(plan, "people", data, 0)}
    email = results[("email", "expect_column_values_to_match_regex")]
    code = results[("code", "expect_column_values_to_match_regex")]
    assert email.success and email.details["sampled_rows"] == 20_000
    assert code.success and "sampled_rows" not in code.details  # user patterns: every row
    broken = data.set_column(1, "email", pc.replace_substring(data.column("email"), "@", "#"))
    failed = {(r.column, r.expectation): r for r in validate_batch(plan, "people", broken, 0)}
    assert not failed[("email", "expect_column_values_to_match_regex")].success
    assert failed[("email", "expect_column_values_to_match_regex")].examples == [0, 1, 2, 3, 4]

    def one_bad(row: int):
        bad = put(data, "email", row, "not an email")
        found = validate_batch(plan, "people", bad, 1000)  # rows 1000.. of the table
        return next(r for r in found if r.column == "email" and "regex" in r.expectation)

    last = one_bad(59_999)  # the last run of the sample ends at the last row
    assert not last.success and last.examples == [60_999] and last.unexpected_count == 1
    assert one_bad(510).success  # between the first two runs: not sampled (documented)


def test_batch_results_covering_a_batch_twice_are_not_trusted(tmp_path):
    from tdm.store.versions import VersionStore
    from tdm.validation.results import CheckResult, load_batch_results, save_batch_results

    store = VersionStore(tmp_path)
    r = CheckResult("t.a x", "t", "a", "x", True, 0, 100)
    save_batch_results(store, "d", "v", "t", "b0", [r], covers=["b0", "b1"])
    save_batch_results(store, "d", "v", "t", "b1", [], covers=[])
    assert [x.element_count for x in load_batch_results(store, "d", "v", "t", ["b0", "b1"])] == [
        100
    ]
    save_batch_results(store, "d", "v", "t", "b1", [r])  # b1 validated again, alone
    assert load_batch_results(store, "d", "v", "t", ["b0", "b1"]) is None


def test_a_suite_with_nothing_for_gx_does_not_import_it(write_spec):
    """Importing GX costs seconds per process: a table whose suite is types and not-null only
    (computed with pyarrow) is validated without it."""
    import subprocess
    import sys

    spec = write_spec(
        """
        dataset: plain
        tables:
          people:
            rows: 100
            columns:
              name: {type: string, generator: first_name}
        """,
        "plain.yaml",
    )
    code = (
        "import sys; from tdm.plan.loading import load_spec; from tdm.validation.runner import "
        f"validate_batch; p = load_spec({str(spec)!r}); "
        "r = validate_batch(p, 'people', p.generate('people', 0, 100), 0); "
        "print(len(r), all(x.success for x in r), 'great_expectations' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "True", "False"]


def test_a_decimal_on_its_bounds_passes_its_range_check_and_one_cent_out_fails(tmp_path):
    """The range of a decimal(4,2) from 9.99 to 29.99 holds 9.99 and 29.99 exactly (no float
    round trip: Arrow's decimal -> float cast gives 29.990000000000002), and 30.00 breaks it."""
    import decimal

    from tdm.validation.gx import frame

    spec = tmp_path / "prices.yaml"
    spec.write_text(
        textwrap.dedent(
            """
            dataset: prices
            reference_date: 2026-01-01
            tables:
              plans:
                rows: 4
                primary_key: id
                columns:
                  id: {type: int, generator: sequence}
                  price: {type: "decimal(4,2)", generator: decimal, min: 9.99, max: 29.99}
            """
        )
    )
    plan = load_spec(spec)
    values = [decimal.Decimal(v) for v in ("9.99", "29.99", "19.99", "30.00")]
    prices = pa.array(values, pa.decimal128(4, 2))
    assert frame(pa.table({"p": prices}))["p"].tolist() == [9.99, 29.99, 19.99, 30.0]
    data = pa.table({"id": pa.array([1, 2, 3, 4]), "price": prices})
    results = validate_batch(plan, "plans", data, 0)
    failed = [(r.column, r.expectation, r.unexpected_count) for r in results if not r.success]
    assert failed == [("price", "expect_column_values_to_be_between", 1)]
