"""The version store against hostile names, symbolic links and damaged versions.

Each case keeps a whole, valid version OUTSIDE the store (a copy an attacker points at) and
asserts the store neither reads it (no data from it comes back) nor writes there.
"""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest

from tdm.core.errors import TdmError
from tdm.store.versions import BrokenVersion, VersionStore
from tdm.validation.runner import validate_version
from tests.builders import put, seal_version
from tests.conftest import snapshot


@pytest.fixture
def sealed(small_spec, tmp_path):
    """A sealed version in a store, and a copy of it outside the store."""
    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, small_spec)
    outside = tmp_path / "elsewhere"
    shutil.copytree(store.dir("shop", version), outside / "vcopy")
    return store, plan, version, outside


HOSTILE_DATASETS = ["..", "../elsewhere", "/tmp", "shop/../..", "shop\x00", ""]
HOSTILE_VERSIONS = ["../../elsewhere/vcopy", "/etc", "..", "v1/../../x", ".", "v\n"]


@pytest.mark.parametrize("name", HOSTILE_DATASETS)
def test_dataset_names_that_would_leave_the_store_are_refused(sealed, name):
    store, _, version, outside = sealed
    before = snapshot(outside)
    for call in (
        lambda: store.versions(name),
        lambda: store.manifest(name, version),
        lambda: store.latest(name),
        lambda: store.mark_latest(name, version),
    ):
        with pytest.raises(TdmError, match="not a valid dataset name"):
            call()
    assert snapshot(outside) == before


@pytest.mark.parametrize("name", HOSTILE_VERSIONS)
def test_version_names_that_would_leave_the_store_are_refused(sealed, name):
    store, plan, _, outside = sealed
    before = snapshot(outside)
    for call in (
        lambda: store.resolve("shop", name),
        lambda: store.verify("shop", name),
        lambda: store.mark_latest("shop", name),
        lambda: store.write_batch(
            "shop", name, "customers", "b0000", plan.generate("customers", 0, 5)
        ),
    ):
        with pytest.raises(TdmError, match="not a valid version name"):
            call()
    assert snapshot(outside) == before


def test_a_version_directory_linked_out_of_the_store_is_neither_read_nor_written(sealed):
    store, plan, version, outside = sealed
    link = store.root / "shop" / "vlinked"
    link.symlink_to(outside / "vcopy")
    before = snapshot(outside)
    with pytest.raises(TdmError, match="outside the version store"):
        store.manifest("shop", "vlinked")
    with pytest.raises(TdmError, match="outside the version store"):
        store.write_batch("shop", "vlinked", "customers", "b0099", plan.generate("customers", 0, 5))
    good, broken = store.listing("shop")
    assert [m["version"] for m in good] == [version]
    assert "outside the version store" in broken["vlinked"]
    assert snapshot(outside) == before


def test_a_dataset_directory_linked_out_of_the_store_is_refused(sealed, tmp_path):
    store, _, _, outside = sealed
    (outside / "shop2").mkdir()
    shutil.copytree(outside / "vcopy", outside / "shop2" / "vcopy")
    (store.root / "shop2").symlink_to(outside / "shop2")
    before = snapshot(outside)
    for call in (lambda: store.versions("shop2"), lambda: store.mark_latest("shop2", "vcopy")):
        with pytest.raises(TdmError, match="outside the version store"):
            call()
    assert snapshot(outside) == before


def test_a_table_directory_linked_out_is_not_written_through(sealed, small_spec):
    store, plan, _, outside = sealed
    version = "vfresh"
    (store.root / "shop" / version).mkdir()
    (store.root / "shop" / version / "customers").symlink_to(outside)
    before = snapshot(outside)
    with pytest.raises(TdmError, match="outside the version store"):
        store.write_batch("shop", version, "customers", "b0000", plan.generate("customers", 0, 5))
    assert snapshot(outside) == before


@pytest.mark.parametrize(
    "path",
    ["../../../elsewhere/vcopy/customers/b0000.parquet", "/etc/hostname", "orders/b0000.parquet"],
)
def test_a_manifest_naming_files_elsewhere_is_broken_not_followed(sealed, path):
    store, _, version, outside = sealed
    manifest_path = store.dir("shop", version) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["tables"]["customers"]["files"][0]["path"] = path
    manifest_path.write_text(json.dumps(manifest))
    before = snapshot(outside)
    with pytest.raises(BrokenVersion, match=r"is not <table>/<batch>\.parquet"):
        store.read_table("shop", version, "customers")
    with pytest.raises(BrokenVersion):
        store.verify("shop", version)
    assert snapshot(outside) == before


def test_damaged_manifests_are_listed_as_broken_and_the_others_still_listed(sealed, write_spec):
    store, plan, version, _ = sealed
    other = write_spec(plan.source.read_text().replace("seed: 11", "seed: 12"), "shop2.yaml")
    _, second = seal_version(store, other)
    truncated = store.dir("shop", second) / "manifest.json"
    truncated.write_text(truncated.read_text()[:200])
    good, broken = store.listing("shop")
    assert [m["version"] for m in good] == [version]
    assert "not readable JSON" in broken[second]
    with pytest.raises(BrokenVersion, match=f"version {second} of shop is damaged"):
        store.resolve("shop", second)
    renamed = store.root / "shop" / "vrenamed"
    shutil.copytree(store.dir("shop", version), renamed)
    assert "names version" in store.listing("shop")[1]["vrenamed"]
    (store.root / "shop" / "LATEST").write_text("../../elsewhere/vcopy\n")
    with pytest.raises(TdmError, match="LATEST is damaged"):
        store.resolve("shop", "latest")


def test_verify_names_every_changed_and_vanished_file(sealed):
    store, _, version, _ = sealed
    files = store.manifest("shop", version)["tables"]
    first = store.dir("shop", version) / files["customers"]["files"][0]["path"]
    data = pq.read_table(first)
    pq.write_table(put(data, "score", 0, 12345), first, compression="zstd")
    gone = store.dir("shop", version) / files["orders"]["files"][1]["path"]
    gone.unlink()
    with pytest.raises(BrokenVersion) as info:
        store.verify("shop", version)
    message = str(info.value)
    assert files["customers"]["files"][0]["path"] + " changed" in message
    assert files["orders"]["files"][1]["path"] + " vanished" in message


def test_an_unreadable_batch_file_is_reported_with_its_name(sealed):
    store, plan, version, _ = sealed
    entry = store.manifest("shop", version)["tables"]["products"]["files"][0]
    (store.dir("shop", version) / entry["path"]).write_bytes(b"PAR1 not parquet PAR1")
    with pytest.raises(BrokenVersion, match=f"{entry['path']} cannot be read"):
        store.read_table("shop", version, "products")
    with pytest.raises(BrokenVersion, match=f"{entry['path']} cannot be read"):
        validate_version(store, plan, "shop", version)


def test_a_write_that_fails_is_a_clear_error_and_leaves_nothing_behind(sealed):
    store, plan, version, _ = sealed
    report = store.dir("shop", version) / "validation.json"
    report.unlink(missing_ok=True)
    report.mkdir()  # os.replace cannot put a file where a directory is
    with pytest.raises(TdmError, match=r"cannot write .*validation\.json"):
        validate_version(store, plan, "shop", version)
    leftovers = [p.name for p in store.dir("shop", version).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
