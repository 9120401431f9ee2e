"""Version ids, the Parquet store, manifests and immutability."""

from __future__ import annotations

import json

import pytest

from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.store.ids import version_id
from tdm.store.versions import VersionStore
from tests.builders import write_all


def test_version_id_is_deterministic_and_sensitive(small_spec, write_spec):
    plan = load_spec(small_spec)
    assert version_id(plan.spec) == version_id(load_spec(small_spec).spec)
    assert version_id(plan.spec) != version_id(load_spec(small_spec, seed=99).spec)
    assert version_id(plan.spec) != version_id(load_spec(small_spec, scale=2).spec)
    assert version_id(plan.spec) != version_id(plan.spec, key_fingerprint="abc")
    # batch size and descriptions cannot change the data, so they do not change the id
    text = small_spec.read_text().replace("batch_size: 700", "batch_size: 5000")
    text = text.replace("dataset: shop", "dataset: shop\ndescription: hello")
    assert version_id(load_spec(write_spec(text, "other.yaml")).spec) == version_id(plan.spec)


def test_seal_writes_a_complete_manifest(small_spec, tmp_path):
    plan, store = load_spec(small_spec), VersionStore(tmp_path / "store")
    version = version_id(plan.spec)
    write_all(store, plan, version)
    manifest = store.seal(plan, version, dagster_run_id="run-1")
    on_disk = json.loads((store.dir("shop", version) / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["version"] == version and manifest["dagster_run_id"] == "run-1"
    assert {t: m["rows"] for t, m in manifest["tables"].items()} == plan.rows
    for table, info in manifest["tables"].items():
        assert sum(f["rows"] for f in info["files"]) == plan.rows[table]
        assert all(len(f["sha256"]) == 64 for f in info["files"])
        assert store.read_table("shop", version, table).equals(
            plan.generate(table, 0, plan.rows[table])
        )
    assert store.versions("shop")[0]["version"] == version


def test_sealed_versions_are_never_overwritten(small_spec, tmp_path):
    plan, store = load_spec(small_spec), VersionStore(tmp_path / "store")
    version = version_id(plan.spec)
    write_all(store, plan, version)
    first = store.seal(plan, version)
    path = store.batch_path("shop", version, "customers", plan.batch_keys()[0])
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    other = plan.generate("customers", 100, 200)
    store.write_batch("shop", version, "customers", plan.batch_keys()[0], other)
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert store.seal(plan, version) == first  # sealing again returns the existing manifest


def test_an_incomplete_version_cannot_be_sealed(small_spec, tmp_path):
    plan, store = load_spec(small_spec), VersionStore(tmp_path / "store")
    version = version_id(plan.spec)
    write_all(store, plan, version)
    store.batch_path("shop", version, "orders", plan.batch_keys()[1]).unlink()
    with pytest.raises(TdmError, match=r"incomplete.*orders/b0001\.parquet is missing"):
        store.seal(plan, version)
    assert not store.is_sealed("shop", version)


def test_latest_and_resolve(small_spec, tmp_path):
    store = VersionStore(tmp_path / "store")
    with pytest.raises(TdmError, match="has no version"):
        store.latest("shop")
    ids = []
    for seed in (1, 2):
        plan = load_spec(small_spec, seed=seed)
        ids.append(version_id(plan.spec))
        write_all(store, plan, ids[-1])
        store.seal(plan, ids[-1])
        store.mark_latest("shop", ids[-1])
    assert store.resolve("shop", "latest") == ids[1]
    listed = [m["version"] for m in store.versions("shop")]  # by creation, then id
    first, second = listed
    store.mark_latest("shop", second)
    assert store.resolve("shop", "previous") == first
    store.mark_latest("shop", ids[0])  # reusing an older version makes it the latest again
    assert store.resolve("shop", None) == ids[0]
    store.mark_latest("shop", first)
    with pytest.raises(TdmError, match=f"no version sealed before {first}"):
        store.resolve("shop", "previous")
    with pytest.raises(TdmError, match="no version v000 of dataset shop"):
        store.resolve("shop", "v000")


def test_an_unknown_version_names_the_newest_few(small_spec, tmp_path):
    store, ids = VersionStore(tmp_path / "store"), []
    for seed in range(7):
        plan = load_spec(small_spec, seed=seed)
        ids.append(version_id(plan.spec))
        write_all(store, plan, ids[-1])
        store.seal(plan, ids[-1])
    listed = [m["version"] for m in store.versions("shop")]  # oldest first
    with pytest.raises(TdmError) as caught:
        store.manifest("shop", "v000")
    said, newest = str(caught.value), ", ".join(reversed(listed[-5:]))
    assert f"(known, newest first: {newest}, ... (7 in all: `tdm versions shop`" in said
    assert listed[0] not in said and listed[1] not in said


def test_a_column_named_description_is_part_of_the_version(write_spec):
    text = """
        dataset: notes
        description: the dataset description is not data
        tables:
          t:
            rows: 5
            columns:
              description: {type: string, generator: GEN, description: not data either}
    """
    one = load_spec(write_spec(text.replace("GEN", "sentence"), "a.yaml")).spec
    two = load_spec(write_spec(text.replace("GEN", "text"), "b.yaml")).spec
    assert version_id(one) != version_id(two)
    quiet = text.replace("GEN", "sentence").replace("not data either", "other words")
    assert version_id(load_spec(write_spec(quiet, "c.yaml")).spec) == version_id(one)


def test_batch_files_keep_dictionaries_only_for_columns_of_few_values(tmp_path):
    """A key or free text goes plain from its first page (its dictionary would be thrown away
    past 16 KB); a column of few values keeps its dictionary. The rows read back unchanged."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 50_000
    data = pa.table(
        {
            "id": pa.array([f"ORD-{i:08d}" for i in range(rows)]),
            "status": pa.array(np.array(["paid", "shipped", "placed"])[np.arange(rows) % 3]),
            "amount": pa.array(np.arange(rows, dtype=np.int64) * 7919 % 100_003),
        }
    )
    store = VersionStore(tmp_path / "store")
    written = store.write_batch("shop", "v1", "orders", "b00000", data)
    meta = pq.ParquetFile(written.path).metadata.row_group(0)
    columns = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}

    def dictionary_bytes(name: str) -> int:
        column = columns[name]
        if column.dictionary_page_offset is None:
            return 0
        return column.data_page_offset - column.dictionary_page_offset

    assert "RLE_DICTIONARY" in columns["status"].encodings
    # 50,000 distinct values: their dictionary is given up within its first 16 KB (with Arrow's
    # default of 1 MB the ids' whole ~600 KB dictionary was built and written)
    assert dictionary_bytes("id") <= 20 * 1024 and dictionary_bytes("amount") <= 20 * 1024
    assert pq.read_table(written.path).equals(data)
