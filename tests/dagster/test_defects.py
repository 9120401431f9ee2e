"""Each kind of defect, made as the graph produces the data, is caught and never loaded.

The defect is injected where a generator bug would put it: Plan.generate, which the batch assets
call (in-process runs, so the patch reaches them). Everything else is the real graph: batch
assets, their blocking checks, the version step with its integrity check, and the load.
"""

from __future__ import annotations

import dagster as dg
import pytest

from assets import names
from pipelines.runner import load_version, run_dataset
from tdm.core import settings
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.plan.model import Plan
from tdm.store.ids import version_id
from tdm.store.versions import VersionStore
from tests.builders import put

SPEC = """
dataset: shop
seed: 5
batch_size: 300
reference_date: 2026-01-01
tables:
  customers:
    rows: 900
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      code: {type: string, generator: pattern, pattern: "C-####"}
      age: {type: int, generator: integer, min: 18, max: 90}
  orders:
    rows: {per: customers, distribution: poisson, lam: 2}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
"""

# kind: (table, first row of the batch to corrupt, column, row in the batch, value or a
# function of the batch, the check that must fail, the expectation it names)
DEFECTS = {
    "duplicate key": ("customers", 0, "id", 5, lambda d: d["id"][4].as_py(), "integrity"),
    "duplicate key across batches": ("customers", 300, "id", 0, 1, "integrity"),
    "orphan foreign key": ("orders", 0, "customer_id", 3, 10**6, "integrity"),
    "orphan foreign key in a later batch": ("orders", 300, "customer_id", 0, -7, "integrity"),
    "null in a not-null column": ("customers", 300, "age", 7, None, "batch_suite"),
    "out-of-range value": ("customers", 600, "age", 2, 1000, "batch_suite"),
    "bad pattern": ("customers", 0, "code", 9, "X-12", "batch_suite"),
}
EXPECTATION = {
    "id": "expect_column_values_to_be_unique",
    "customer_id": "foreign_key",
    "age": "expect_column_values_to_be_between",
    "code": "expect_column_values_to_match_regex",
}


@pytest.mark.parametrize("kind", list(DEFECTS))
def test_a_defect_is_caught_named_and_never_loaded(kind, write_spec, monkeypatch):
    table, start, column, row, value, check = DEFECTS[kind]
    expectation = EXPECTATION[column]
    if value is None:
        expectation = "expect_column_values_to_not_be_null"
    clean = Plan.generate

    def generate(self, name, first, stop):
        data = clean(self, name, first, stop)
        if name == table and first == start:
            data = put(data, column, row, value(data) if callable(value) else value)
        return data

    monkeypatch.setattr(Plan, "generate", generate)
    plan = load_spec(write_spec(SPEC, "shop.yaml"))
    with dg.instance_for_test() as instance:
        with pytest.raises(TdmError) as err:
            run_dataset(plan, env="local", inst=instance)
        text = str(err.value)
        assert f"{table}.{column}: {expectation} FAILED" in text, text
        assert _key(check, table).to_user_string() in text
        assert f"{check} failed" in text
        if isinstance(value, str):
            assert value not in text  # counts and row numbers, never values
        evaluation = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(_key(check, table), check)]
        )[dg.AssetCheckKey(_key(check, table), check)]
        assert evaluation.status.value == "FAILED"
        load = instance.get_latest_materialization_event(names.key("shop", names.LOAD))
        assert load is None  # the load never ran
        spec = names.key("shop", names.SCHEMA)  # the UI knows which spec the failed run read
        assert instance.fetch_observations(spec, limit=1).records
        store = VersionStore(settings.store_root())
        version = version_id(plan.spec)
        if check == "batch_suite":  # stopped before a version was sealed
            assert version not in store.versions("shop")
        else:  # sealed, reported failed, never marked latest, and refused by every load
            assert not (store.root / "shop" / "LATEST").exists()
            with pytest.raises(TdmError, match="failed validation, so it is not loaded"):
                load_version(plan, "local", "latest", instance)
    assert not (settings.home() / "local" / "shop.sqlite").exists()


def _key(check: str, table: str) -> dg.AssetKey:
    if check == "batch_suite":
        return names.key("shop", names.GENERATE, f"{table}_batches")
    return names.key("shop", names.VERSION, table)


def test_a_batch_of_another_type_is_named_not_a_crash(write_spec, monkeypatch):
    clean = Plan.generate

    def generate(self, name, first, stop):
        data = clean(self, name, first, stop)
        if name == "customers" and first == 300:  # consecutive batches no longer concatenate
            i = data.schema.get_field_index("age")
            data = data.set_column(i, "age", data.column("age").cast("string"))
        return data

    monkeypatch.setattr(Plan, "generate", generate)
    plan = load_spec(write_spec(SPEC, "shop.yaml"))
    with dg.instance_for_test() as instance, pytest.raises(TdmError) as err:
        run_dataset(plan, env="local", inst=instance)
    assert "customers.age: expect_column_values_to_be_of_type FAILED" in str(err.value)
    assert not (settings.home() / "local" / "shop.sqlite").exists()
