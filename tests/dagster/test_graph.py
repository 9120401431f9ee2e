"""The asset graph of a spec, materialised for real into a Dagster test instance."""

from __future__ import annotations

import hashlib
import sqlite3

import dagster as dg

from assets import names
from pipelines.build import build_definitions
from pipelines.runner import run_dataset
from tdm.core import settings
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore


def materializations(instance, key: dg.AssetKey):
    records = instance.fetch_materializations(key, limit=100).records
    return [e.asset_materialization for e in records]


def test_graph_shape_and_metadata(small_spec):
    defs = build_definitions(paths=[small_spec])
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    expected = {
        "shop/schema",
        "shop/generate/customers_batches",
        "shop/version/order_items",
        "shop/load",
    }
    assert expected <= keys
    gen = graph.get(dg.AssetKey(["shop", "generate", "orders_batches"]))
    assert gen.partitions_def.get_partition_keys() == load_spec(small_spec).batch_keys()
    assert "parquet" in gen.kinds
    schema = gen.metadata["dagster/column_schema"]
    schema = getattr(schema, "schema", schema)
    assert [c.name for c in schema.columns] == ["id", "customer_id", "total"]
    assert "FOREIGN KEY (customer_id) REFERENCES customers (id)" in schema.constraints.other
    load = graph.get(dg.AssetKey(["shop", "load"]))
    assert "local" in load.partitions_def.get_partition_keys()
    assert defs.resolve_job_def("shop_generate") and defs.resolve_job_def("shop_load")


def test_full_materialization_into_the_embedded_environment(small_spec, instance):
    plan = load_spec(small_spec)
    summary = run_dataset(plan, env="local", inst=instance)
    assert summary.rows == plan.rows and summary.version.startswith("v")

    for table in plan.order:
        [mat] = materializations(instance, names.key("shop", names.VERSION, table))
        meta = mat.metadata
        assert meta["dagster/row_count"].value == plan.rows[table]
        assert meta[names.VERSION_META].value == summary.version
        assert meta["dagster/column_schema"].schema.columns
        assert meta[names.STORE_META].value.endswith(summary.version)
        generated = materializations(
            instance, names.key("shop", names.GENERATE, f"{table}_batches")
        )
        assert sorted(m.partition for m in generated) == plan.batch_keys()

    manifest = VersionStore(settings.store_root()).manifest("shop", summary.version)
    assert manifest["dagster_run_id"] == summary.run_id
    # the spec the run read is observed once per run, not once per step (it has 1 + tables)
    observed = instance.fetch_observations(names.key("shop", names.SCHEMA), limit=100).records
    assert [r.run_id for r in observed].count(summary.run_id) == 1
    expected = hashlib.sha256(small_spec.read_bytes()).hexdigest()[:16]
    assert observed[0].asset_observation.data_version == expected

    [load] = materializations(instance, names.key("shop", names.LOAD))
    assert load.partition == "local" and load.metadata["dagster/row_count"].value == sum(
        plan.rows.values()
    )
    db = settings.home() / "local" / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for table, rows in plan.rows.items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows


def test_rerun_reuses_the_sealed_version(small_spec, instance):
    plan = load_spec(small_spec)
    first = run_dataset(plan, inst=instance)
    second = run_dataset(load_spec(small_spec), inst=instance)
    assert first.version == second.version
    mats = materializations(instance, names.key("shop", names.VERSION, "orders"))
    assert sorted(m.metadata["reused"].value for m in mats) == [False, True]
    other = run_dataset(load_spec(small_spec, seed=5), inst=instance)
    assert other.version != first.version
    assert len(VersionStore(settings.store_root()).versions("shop")) == 2


def test_one_batch_partition_at_a_time(small_spec, instance):
    plan = load_spec(small_spec)
    defs = build_definitions(paths=[small_spec])
    job = defs.resolve_job_def("shop_generate")
    selection = [k for k in job.asset_layer.selected_asset_keys if k.path[1] == names.GENERATE]
    result = job.execute_in_process(
        instance=instance, partition_key=plan.batch_keys()[1], asset_selection=selection
    )
    assert result.success
    [mat] = materializations(instance, names.key("shop", names.GENERATE, "orders_batches"))
    start, stop = plan.block("orders", 1)
    assert mat.partition == plan.batch_keys()[1]
    assert mat.metadata["dagster/row_count"].value == stop - start


def test_schema_source_observes_the_file_hash(small_spec, instance):
    defs = build_definitions(paths=[small_spec])
    observe = defs.resolve_job_def(names.observe_job("shop"))
    assert observe.execute_in_process(instance=instance).success
    [record] = instance.fetch_observations(names.key("shop", names.SCHEMA), limit=1).records
    expected = hashlib.sha256(small_spec.read_bytes()).hexdigest()[:16]
    assert record.asset_observation.data_version == expected


def test_a_broken_spec_shows_its_error_instead_of_hiding_others(small_spec, write_spec):
    broken = write_spec(
        "dataset: broken\ntables:\n  t:\n    rows: 5\n    columns:\n"
        "      a: {type: int, generator: nope}\n",
        "broken.yaml",
    )
    defs = build_definitions(paths=[small_spec, broken])
    graph = defs.resolve_asset_graph()
    # every asset of shop is there; of broken only its schema, which carries the error
    tables = ["customers", "orders", "products", "order_items"]
    shop = {f"shop/generate/{t}_batches" for t in tables} | {f"shop/version/{t}" for t in tables}
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"broken/schema", "shop/schema", "shop/load", *shop}
    load = graph.get(dg.AssetKey(["shop", "load"]))
    assert {k.to_user_string() for k in load.parent_keys} == {f"shop/version/{t}" for t in tables}
    assert "local" in load.partitions_def.get_partition_keys()
    assert defs.resolve_job_def("shop_generate") and defs.resolve_job_def("shop_load")
    node = graph.get(dg.AssetKey(["broken", "schema"]))
    assert "unknown generator 'nope'" in node.description


def test_rows_drawn_again_for_a_check_show_on_the_batch(tmp_path, instance):
    spec = tmp_path / "stays.yaml"
    spec.write_text(
        "dataset: stays\nreference_date: 2026-01-01\nbatch_size: 500\ntables:\n"
        "  stays:\n    rows: 1000\n    primary_key: id\n    columns:\n"
        "      id: {type: int, generator: sequence}\n"
        "      starts_on: {type: date, generator: date, start: 2025-01-01, end: 2025-12-31}\n"
        "      ends_on: {type: date, generator: date, start: 2025-01-01, end: 2025-12-31}\n"
        "    check:\n      ordered: ends_on >= starts_on\n"
    )
    plan = load_spec(spec)
    run_dataset(plan, inst=instance)
    batches = materializations(instance, names.key("stays", names.GENERATE, "stays_batches"))
    # one step makes both batches and reports for them together
    [redrawn] = {m.metadata["rows_drawn_again"].data["ordered"] for m in batches}
    assert 350 < redrawn < 650  # about half the rows broke the check on their first draw
