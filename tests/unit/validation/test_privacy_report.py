"""The privacy report of a version (privacy.json): k-anonymity of quasi-identifier sets over all
batches, the blocking `k` check, detection of quasi-identifiers, and frequency leakage."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pyarrow as pa
import pytest

from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore
from tdm.validation.anonymity import QuasiSet, quasi_sets
from tdm.validation.privacy import frequency_leakage, tolerance
from tdm.validation.privacy_report import PRIVACY, load_privacy, summary
from tdm.validation.runner import validate_version
from tests.builders import seal_version

SPEC = """
dataset: clinic
seed: 2
batch_size: 4
reference_date: 2026-01-01
tables:
  people:
    rows: 8
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      birth_date: {type: date, generator: choice, values: [1970-07-07, 1985-05-05, 1990-01-01]}
      postcode: {type: string, generator: choice, values: [AB1, ZZ9], null_ratio: 0.3}
      sex: {type: string, generator: choice, values: [F, M], null_ratio: 0.3}
  rooms:
    rows: 5
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      city: {type: string, generator: choice, values: [Oslo, Bergen]}
PRIVACY
"""
D90, D85, D70 = dt.date(1990, 1, 1), dt.date(1985, 5, 5), dt.date(1970, 7, 7)
# (birth_date, postcode, sex) of people, two batches of 4 rows
ROWS = [
    [(D90, "AB1", "F"), (D90, "AB1", "F"), (D85, None, "M"), (D85, None, None)],
    [(D90, "AB1", "F"), (D85, None, "M"), (D70, "ZZ9", "M"), (D85, None, None)],
]


def crafted(table: str, batch: int, data: pa.Table) -> pa.Table | None:
    if table != "people":
        return None
    rows = ROWS[batch]
    columns = {"id": [batch * 4 + i + 1 for i in range(4)]}
    for i, name in enumerate(("birth_date", "postcode", "sex")):
        columns[name] = [r[i] for r in rows]
    return pa.table(columns, schema=data.schema)


@pytest.fixture
def sealed(write_spec, tmp_path):
    """A sealed version of SPEC with the crafted people, its `privacy:` block given."""

    def make(privacy: str = ""):
        store = VersionStore(tmp_path / "store")
        plan, version = seal_version(
            store, write_spec(SPEC.replace("PRIVACY", privacy), "clinic.yaml"), crafted
        )
        return plan, store, version

    return make


DECLARED = """
privacy:
  quasi_identifiers:
    people: [[birth_date, postcode, sex], [sex]]
"""


def test_k_is_the_smallest_class_over_all_batches_with_nulls_as_a_value(sealed):
    plan, store, version = sealed(DECLARED)
    report = validate_version(store, plan, "clinic", version)
    assert report["success"], report["failed"]  # figures only: no k required
    assert not [c for c in report["checks"] if c["expectation"] == "k_anonymity"]
    privacy = load_privacy(store, "clinic", version)
    assert privacy["k_required"] is None and privacy["success"]
    full, sex = privacy["tables"]["people"]["quasi_identifiers"]
    # (90, AB1, F) x3, (85, null, M) x2, (85, null, null) x2 -- one per batch --, (70, ZZ9, M) x1
    assert full == {
        "columns": ["birth_date", "postcode", "sex"],
        "origin": "declared",
        "rows": 8,
        "classes": 4,
        "k": 1,
        "unique_rows": 1,
    }
    # F x3, M x3, null x2 (the nulls of both batches are one class)
    assert (sex["classes"], sex["k"], sex["unique_rows"]) == (3, 2, 0)
    assert privacy["tables"]["rooms"] == {"rows": 5, "masked_columns": {}, "quasi_identifiers": []}
    assert summary(privacy) == {
        "people": [
            "k = 1 over (birth_date, postcode, sex, declared): 1 unique rows, 4 classes",
            "k = 2 over (sex, declared): 0 unique rows, 3 classes",
        ]
    }
    text = (store.dir("clinic", version) / PRIVACY).read_text()
    for value in ("AB1", "ZZ9", "1990-01-01", "1985", '"F"', '"M"'):
        assert value not in text


def test_a_required_k_is_a_blocking_check_per_set(sealed):
    plan, store, version = sealed(DECLARED + "  k: 2\n")
    report = validate_version(store, plan, "clinic", version)
    assert not report["success"]
    assert report["failed"] == [
        "people(birth_date, postcode, sex): k_anonymity FAILED: 1 of 8 rows unexpected (k = 1 < 2)"
    ]
    checks = {c["name"]: c for c in report["checks"] if c["expectation"] == "k_anonymity"}
    passed = checks["people(sex) k_anonymity"]
    assert passed["success"] and passed["message"] == "people.sex: k_anonymity passed (k = 2 >= 2)"
    privacy = load_privacy(store, "clinic", version)
    assert privacy["k_required"] == 2 and not privacy["success"]
    full, sex = privacy["tables"]["people"]["quasi_identifiers"]
    assert (full["rows_below_k"], sex["rows_below_k"]) == (1, 0)


def test_without_a_privacy_block_generated_tables_have_no_sets_and_ids_are_unchanged(sealed):
    plan, store, version = sealed()
    assert plan.spec.privacy is None
    report = validate_version(store, plan, "clinic", version)
    assert report["success"]
    privacy = load_privacy(store, "clinic", version)
    assert privacy["tables"]["people"]["quasi_identifiers"] == []  # generated: not detected
    assert summary(privacy) == {}
    # a version without privacy.json (validated before it existed) is still listed and read
    (store.dir("clinic", version) / PRIVACY).unlink()
    assert [m["version"] for m in store.versions("clinic")] == [version]
    assert load_privacy(store, "clinic", version) is None and summary(None) == {}


def test_privacy_is_part_of_the_version_id_only_when_written(write_spec):
    from tdm.store.ids import canonical_spec, version_id

    plain = load_spec(write_spec(SPEC.replace("PRIVACY", ""), "a.yaml")).spec
    strict = load_spec(write_spec(SPEC.replace("PRIVACY", DECLARED + "  k: 2\n"), "b.yaml")).spec
    assert "privacy" not in canonical_spec(plain)  # existing specs keep their version ids
    assert version_id(plain) != version_id(strict)  # like expect:, it decides whether it passes


# ---- detection on extracted tables -------------------------------------------------------------


def extracted_plan(tmp_path, write_spec, privacy: str = ""):
    db = tmp_path / "src.sqlite"
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as c:
        c.execute(
            "create table patients (id integer primary key, birth_date date, zip_code text, "
            "gender text, age integer, city text, city_id integer, page_count integer)"
        )
        c.executemany(
            "insert into patients values (?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, "1980-01-02", "12345", "F", 40, "Oslo", 1, 3) for i in range(1, 21)],
        )
    return load_spec(
        write_spec(
            f"""
            dataset: ward
            reference_date: 2026-01-01
            source: {{url: "sqlite:///{db}"}}
            tables:
              patients:
                source: true
                primary_key: id
                columns:
                  id: {{type: int}}
                  birth_date: {{type: date, mask: {{strategy: generalize, to: year}}}}
                  zip_code: {{type: string, mask: {{strategy: partial, keep_first: 2}}}}
                  gender: {{type: string}}
                  age: {{type: int}}
                  city: {{type: string, allow: public town names}}
                  city_id: {{type: int}}
                  page_count: {{type: int}}
            {privacy}
            """,
            "ward.yaml",
        )
    )


def test_quasi_identifiers_of_extracted_tables_are_detected_by_name(tmp_path, write_spec):
    plan = extracted_plan(tmp_path, write_spec)
    assert quasi_sets(plan) == [
        QuasiSet("patients", ("birth_date", "zip_code", "gender", "age", "city"), "detected")
    ]
    declared = "privacy: {quasi_identifiers: {patients: [gender, age]}}"
    plan = extracted_plan(tmp_path, write_spec, declared)  # a flat list is one set
    assert quasi_sets(plan) == [QuasiSet("patients", ("gender", "age"), "declared")]
    none = "privacy: {quasi_identifiers: {patients: []}}"
    assert quasi_sets(extracted_plan(tmp_path, write_spec, none)) == []


# ---- masking figures ----------------------------------------------------------------------------


def test_bijective_masks_tolerate_no_unchanged_value():
    for strategy in ("email", "phone", "pseudonymize", "national_id", "credit_card", "iban"):
        assert tolerance(strategy) == 0.0, strategy
    assert (tolerance("substitute"), tolerance("partial"), tolerance("shuffle")) == (0.02, 0.5, 1)


def test_frequency_leakage_counts_the_top_values_a_consistent_mask_carries_over():
    raw = pa.chunked_array([["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d", None]])
    consistent = pa.chunked_array([["x"] * 5 + ["y"] * 3 + ["z"] * 2 + ["w", None]])
    leak = frequency_leakage(raw, consistent)
    # "d" occurs once: no frequency to leak, left out
    assert leak == {"source_top": [5, 3, 2], "masked_top": [5, 3, 2], "overlap": 3}
    assert frequency_leakage(raw, consistent, n=2)["overlap"] == 2
    # every masked value different: nothing frequent in the masked column, nothing carried over
    fresh = pa.chunked_array([[f"v{i}" for i in range(11)] + [None]])
    assert frequency_leakage(raw, fresh) == {
        "source_top": [5, 3, 2],
        "masked_top": [],
        "overlap": 0,
    }
    # d and e collide into w, frequent in the masked column only: not an image of a top value
    raw = pa.chunked_array([["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d", "e"]])
    colliding = pa.chunked_array([["x"] * 5 + ["y"] * 3 + ["z"] * 2 + ["w", "w"]])
    leak = frequency_leakage(raw, colliding)
    assert (leak["masked_top"], leak["overlap"]) == ([5, 3, 2, 2], 3)
    other = pa.chunked_array([["x"] * 10 + ["y", "y"]])
    assert frequency_leakage(pa.chunked_array([[f"s{i}" for i in range(12)]]), other) == {
        "source_top": [],
        "masked_top": [10, 2],
        "overlap": 0,
    }
