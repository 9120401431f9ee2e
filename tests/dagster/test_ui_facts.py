"""What the UI shows: descriptions from the spec, per-run facts as metadata, the launchpad's
seed and scale, the schema observed by runs, previews of the sealed (masked) rows."""

from __future__ import annotations

import dagster as dg

from assets import names
from pipelines.build import build_definitions
from tdm.core import settings
from tdm.store.versions import VersionStore
from tests.conftest import SMALL

MASKED = SMALL.replace(
    'pattern: "C-####-??", unique: true}', 'pattern: "C-####-??", unique: true, mask: pseudonymize}'
)


def test_descriptions_describe_the_spec_not_a_run(write_spec):
    defs = build_definitions(paths=[write_spec(MASKED, "shop.yaml")])
    graph = defs.resolve_asset_graph()
    schema = graph.get(names.key("shop", names.SCHEMA))
    assert "customers: 1,500 rows; masked: code (pseudonymize)" in schema.description
    assert "yaml" in schema.kinds
    batches = graph.get(names.key("shop", names.GENERATE, "customers_batches"))
    assert {"masking", "great_expectations", "parquet"} <= batches.kinds
    assert "seed 11" not in batches.description and "code (pseudonymize)" in batches.description
    orders = graph.get(names.key("shop", names.GENERATE, "orders_batches"))
    assert "masking" not in orders.kinds
    version = graph.get(names.key("shop", names.VERSION, "customers"))
    assert "1,500 rows, 9 columns, masked: code (pseudonymize)" in version.description
    load = graph.get(names.key("shop", names.LOAD))
    assert "sqlite" in load.kinds and "unknown" not in load.kinds
    for key in graph.get_all_asset_keys():
        assert graph.get(key).kinds, f"{key.to_user_string()} has no kind"


def test_launchpad_seed_and_scale_and_what_a_run_records(write_spec, instance):
    spec = write_spec(MASKED, "shop.yaml")
    defs = build_definitions(paths=[spec])
    job = defs.resolve_job_def(names.generate_job("shop"))
    keys = job.partitions_def.get_partition_keys()
    schema_key = names.key("shop", names.SCHEMA)
    assert not instance.fetch_observations(schema_key, limit=1).records
    result = job.execute_in_process(
        instance=instance,
        run_config={
            "resources": {"tdm": {"config": {"seed": 7, "scale": 0.2, "allow_dev_key": True}}}
        },
        tags={names.RANGE_START: keys[0], names.RANGE_END: keys[-1]},
    )
    assert result.success
    [record] = instance.fetch_materializations(
        names.key("shop", names.VERSION, "customers"), limit=5
    ).records
    meta = record.asset_materialization.metadata
    assert meta["seed"].value == 7
    assert meta["dagster/row_count"].value == 300  # 1,500 x 0.2
    version = meta[names.VERSION_META].value
    sealed = VersionStore(settings.store_root()).read_table("shop", version, "customers")
    rows = meta["preview"].value.records
    assert len(rows) == 5
    assert [r.data["code"] for r in rows] == sealed.column("code").to_pylist()[:5]
    assert all(len(r.data["code"]) == len(sealed.column("code")[0].as_py()) for r in rows)
    [observed] = instance.fetch_observations(schema_key, limit=1).records
    assert observed.asset_observation.tags["dagster/data_version"]
    assert isinstance(observed.asset_observation, dg.AssetObservation)
