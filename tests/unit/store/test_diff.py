"""tdm diff: per-table row counts, schema and content differences between versions."""

from __future__ import annotations

from tdm.store.diff import content_checksum, diff_versions
from tdm.store.versions import VersionStore
from tests.builders import seal_version


def seal(store, spec_path, **overrides):
    return seal_version(store, spec_path, **overrides)[1]


def test_content_checksum_ignores_the_batch_layout(small_spec, write_spec, tmp_path):
    other = write_spec(
        small_spec.read_text().replace("batch_size: 700", "batch_size: 333"), "other.yaml"
    )
    a, b = VersionStore(tmp_path / "a"), VersionStore(tmp_path / "b")
    va, vb = seal(a, small_spec), seal(b, other)
    assert va == vb  # the batch size is not part of the version
    files = [
        len(a.manifest("shop", va)["tables"]["orders"]["files"]),
        len(b.manifest("shop", vb)["tables"]["orders"]["files"]),
    ]
    assert files[0] != files[1]
    for table in ("customers", "orders", "order_items"):
        assert content_checksum(a, "shop", va, table) == content_checksum(b, "shop", vb, table)


def test_diff_reports_rows_schema_and_content(small_spec, write_spec, tmp_path):
    store = VersionStore(tmp_path / "store")
    old = seal(store, small_spec)
    changed = (
        small_spec.read_text()
        .replace(
            "      total: {type: float",
            "      note: {type: string, generator: sentence}\n      total: {type: float",
        )
        .replace("rows: 40", "rows: 45")
    )
    new = seal(store, write_spec(changed, "changed.yaml"))
    report = diff_versions(store, "shop", old, new)["tables"]
    assert report["customers"]["status"] == "same" and report["customers"]["content"] == "same"
    assert report["orders"]["schema"]["added"] == ["note"]
    assert report["orders"]["rows"]["delta"] == 0 and report["orders"]["status"] == "changed"
    assert report["products"]["rows"] == {"from": 40, "to": 45, "delta": 5}
    assert report["products"]["content"] == "different"
    reseeded = seal(store, small_spec, seed=99)
    again = diff_versions(store, "shop", old, reseeded)["tables"]
    assert again["customers"]["content"] == "different"
