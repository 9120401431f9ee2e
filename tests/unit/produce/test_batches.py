"""produce_table: a run's batches of one table written into its version and checked by the
table's suite, with no Dagster involved."""

from __future__ import annotations

import hashlib

import pyarrow.compute as pc
import pyarrow.parquet as pq

from tdm.produce.batches import produce_table
from tdm.store.versions import VersionStore
from tdm.validation.results import load_batch_results


def written(store: VersionStore, version: str) -> dict[str, str]:
    """Every batch file of the version: its path in the version -> sha256 of its bytes."""
    root = store.dir("shop", version)
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.parquet"))
    }


def test_writes_exactly_the_batch_files_of_the_given_keys(production, store):
    prod = production()
    plan = prod.plan
    keys = plan.batch_keys()
    assert len(keys) == 5 and plan.table_batches("customers") == 3

    made = produce_table(prod, store, "customers", [keys[0], keys[2]])

    assert sorted(written(store, prod.version)) == [
        "customers/b0000.parquet",
        "customers/b0002.parquet",
    ]
    assert made.rows == 50 + 20  # rows 0..50 and 100..120
    assert not store.is_sealed("shop", prod.version)


def test_the_rows_written_are_the_rows_the_plan_generates(production, store):
    prod = production()
    plan = prod.plan
    keys = plan.batch_keys()
    made = produce_table(prod, store, "orders", keys)
    assert made.rows == plan.rows["orders"]
    for i, key in enumerate(keys):
        start, stop = plan.block("orders", i)
        assert start < stop
        data = pq.read_table(store.batch_path("shop", prod.version, "orders", key))
        assert data.equals(plan.generate("orders", start, stop)), key


def test_the_suite_passes_for_a_valid_spec_and_is_kept_with_the_batches(production, store):
    prod = production()
    keys = prod.plan.batch_keys()[:3]
    made = produce_table(prod, store, "customers", keys)

    assert made.suite and all(c.success for c in made.suite), [c.message for c in made.suite]
    found = {(c.column, c.expectation) for c in made.suite}
    assert ("age", "expect_column_values_to_be_between") in found
    assert ("id", "expect_column_values_to_not_be_null") in found
    assert all(c.element_count == 120 for c in made.suite)  # one result per check, every row
    assert made.masking == []  # nothing extracted, nothing masked
    kept = load_batch_results(store, "shop", prod.version, "customers", keys)
    assert kept is not None and kept and all(c.success for c in kept)


def test_an_expectation_that_cannot_hold_fails_the_suite_and_is_named(production, store):
    prod = production(impossible=True)
    made = produce_table(prod, store, "customers", prod.plan.batch_keys())

    [failed] = [c for c in made.suite if not c.success]
    assert (failed.table, failed.column, failed.expectation) == (
        "customers",
        "age",
        "expect_column_values_to_be_between",
    )
    assert "customers.age: expect_column_values_to_be_between FAILED" in failed.message
    ages = prod.plan.generate("customers", 0, 120).column("age")
    too_old = pc.sum(pc.greater(ages, 30)).as_py()
    assert failed.unexpected_count == too_old > 0 and failed.element_count == 120


def test_keys_in_any_order_give_the_same_files_and_results(production, tmp_path):
    prod = production()
    keys = prod.plan.batch_keys()
    shuffled = [keys[3], keys[0], keys[4], keys[2], keys[1]]
    stores = [VersionStore(tmp_path / "forward"), VersionStore(tmp_path / "shuffled")]
    made = [
        produce_table(prod, s, "orders", k) for s, k in zip(stores, [keys, shuffled], strict=True)
    ]

    files = [written(s, prod.version) for s in stores]
    assert len(files[0]) == 5 and files[0] == files[1]
    assert made[0].rows == made[1].rows == prod.plan.rows["orders"]

    def summary(r):
        return sorted((c.name, c.success, c.unexpected_count, c.element_count) for c in r.suite)

    assert summary(made[0]) == summary(made[1])
    for s in stores:  # the stored results cover every batch once, whatever the grouping
        assert load_batch_results(s, "shop", prod.version, "orders", keys) is not None


def test_the_empty_batches_of_a_small_table_are_skipped(production, store):
    prod = production()
    plan = prod.plan
    keys = plan.batch_keys()
    assert plan.table_batches("products") == 1 and plan.block("products", 1) == (30, 30)
    said: list[str] = []

    made = produce_table(prod, store, "products", keys, log=said.append)

    vdir = store.dir("shop", prod.version)
    assert sorted(written(store, prod.version)) == ["products/b0000.parquet"]
    assert sorted(p.name for p in (vdir / "checks" / "products").iterdir()) == ["b0000.suite.json"]
    assert made.rows == 30 and all(c.success for c in made.suite)
    assert len(said) == 1 and said[0].startswith("products b0000: rows 0..30")

    elsewhere = VersionStore(store.root.parent / "empty")
    only_empty = produce_table(prod, elsewhere, "products", keys[1:])
    assert only_empty.rows == 0 and only_empty.suite == []
    assert not (elsewhere.root / "shop").exists()
