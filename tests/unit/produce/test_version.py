"""seal_version: a run's batches sealed into an immutable version, validated as a whole, and made
`latest` only when that validation passed."""

from __future__ import annotations

import json

import pytest

from tdm.core.errors import TdmError
from tdm.produce.batches import produce_table
from tdm.produce.version import seal_version
from tdm.validation.privacy_report import PRIVACY
from tdm.validation.results import REPORT, load_report
from tests.conftest import snapshot


def produce_all(prod, store, skip: str | None = None) -> None:
    keys = prod.plan.batch_keys()
    for table in prod.plan.order:
        produce_table(prod, store, table, [k for k in keys if k != skip])


def pointer(store) -> str | None:
    """What the dataset's LATEST file names (None: there is none)."""
    path = store.root / "shop" / "LATEST"
    return path.read_text().strip() if path.exists() else None


def test_seals_validates_and_marks_latest(production, store):
    prod = production()
    produce_all(prod, store)
    assert pointer(store) is None

    sealed = seal_version(prod, store, "run-1")

    assert not sealed.reused and store.is_sealed("shop", prod.version)
    manifest = store.manifest("shop", prod.version)
    assert sealed.manifest == manifest and manifest["dagster_run_id"] == "run-1"
    assert {t: info["rows"] for t, info in manifest["tables"].items()} == prod.plan.rows
    assert manifest["key_fingerprint"] is None and manifest["masked_columns"] == {}
    store.verify("shop", prod.version)  # every file has the checksum it was sealed with
    report = sealed.report
    assert report["success"] and report["version"] == prod.version, report["failed"]
    assert load_report(store, "shop", prod.version) == json.loads(json.dumps(report))
    kinds = {(c["table"], c["expectation"]) for c in report["checks"]}
    assert ("orders", "foreign_key") in kinds  # checks across the whole version, not per batch
    assert ("customers", "expect_column_values_to_be_between") in kinds
    assert pointer(store) == prod.version and store.latest("shop") == prod.version


def test_a_version_missing_a_batch_is_not_sealed(production, store):
    prod = production()
    produce_all(prod, store, skip="b0001")
    with pytest.raises(TdmError, match=r"is incomplete: .*b0001\.parquet is missing"):
        seal_version(prod, store, "run-1")
    assert not store.is_sealed("shop", prod.version)
    assert not store.path("shop", prod.version, REPORT).exists() and pointer(store) is None


def test_a_second_call_reuses_the_version_and_changes_nothing(production, store):
    prod = production()
    produce_all(prod, store)
    first = seal_version(prod, store, "run-1")
    vdir = store.dir("shop", prod.version)
    reports = (REPORT, PRIVACY)  # re-validated on reuse, like any `tdm validate --rerun`
    kept = {k: v for k, v in snapshot(vdir).items() if not k.endswith(reports)}
    assert any(k.endswith("manifest.json") for k in kept) and len(kept) > 10

    again = production()  # a later run of the same spec: the same version id
    assert again.version == prod.version
    second = seal_version(again, store, "run-2")

    assert second.reused and not first.reused
    assert second.manifest == first.manifest and second.manifest["dagster_run_id"] == "run-1"
    # manifest, batch files and stored batch results: not one written again
    assert {k: v for k, v in snapshot(vdir).items() if not k.endswith(reports)} == kept
    assert second.report["success"] and second.report["checks"] == first.report["checks"]
    assert pointer(store) == prod.version
    assert [m["version"] for m in store.versions("shop")] == [prod.version]


def test_a_failed_version_does_not_become_latest(production, store):
    good = production()
    produce_all(good, store)
    seal_version(good, store, "run-1")
    bad = production(impossible=True)
    assert bad.version != good.version
    produce_all(bad, store)

    sealed = seal_version(bad, store, "run-2")

    assert not sealed.report["success"] and not sealed.reused
    assert any(
        m.startswith("customers.age: expect_column_values_to_be_between FAILED")
        for m in sealed.report["failed"]
    ), sealed.report["failed"]
    assert store.is_sealed("shop", bad.version)  # kept, to be looked at
    assert load_report(store, "shop", bad.version)["success"] is False
    assert pointer(store) == good.version
    assert store.resolve("shop", "latest") == good.version


def test_a_failed_first_version_writes_no_latest_pointer(production, store):
    bad = production(impossible=True)
    produce_all(bad, store)
    assert not seal_version(bad, store, "run-1").report["success"]
    assert pointer(store) is None
