"""File environments: Parquet, CSV and JSON Lines per table, swapped in atomically."""

from __future__ import annotations

import json
import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tdm.core.errors import TdmError
from tdm.store.versions import VersionStore
from tdm.targets import open_target
from tdm.targets.files import FilesTarget
from tests.builders import seal_version

SPEC = """
dataset: depot
seed: 3
batch_size: 120
reference_date: 2026-01-01
tables:
  customers:
    rows: 300
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      name: {type: string, generator: full_name, null_ratio: 0.1}
      balance: {type: "decimal(12,2)", generator: decimal, min: -50, max: 5000}
      score: {type: float, generator: float, min: 0, max: 1}
      active: {type: bool, generator: boolean}
      signup: {type: date, generator: date, start: -5y, end: today}
      seen: {type: timestamp, generator: timestamp, start: -30d, null_ratio: 0.2}
      ext: {type: uuid, generator: uuid}
      prefs:
        type: json
        generator: json
        fields:
          color: {generator: choice, values: [red, "a \\"b\\", c"]}
          weight: {type: float, generator: float, min: 0, max: 5, round: 2}
  orders:
    rows: {per: customers, distribution: poisson, lam: 2}
    primary_key: id
    columns:
      id: {type: string, generator: sequence, prefix: ORD-, width: 6}
      customer_id: {type: int, references: customers}
      note: {type: string, generator: sentence, min_words: 1, max_words: 6}
"""


@pytest.fixture
def target_spec(write_spec):
    return write_spec(SPEC, "depot.yaml")


def _expected_json(row: dict, kinds: dict[str, str]) -> dict:
    """A version's row as the JSON Lines file must hold it, read with parse_float=str."""
    out = {}
    for name, v in row.items():
        kind = kinds[name]
        if v is None:
            out[name] = None
        elif kind == "float":
            out[name] = repr(v)
        elif kind == "decimal":
            out[name] = str(v)
        elif kind == "date":
            out[name] = v.isoformat()
        elif kind == "timestamp":
            out[name] = v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        elif kind == "json":
            out[name] = json.loads(v, parse_float=str)
        else:
            out[name] = v
    return out


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_every_format_round_trips_rows_and_values(sealed, tmp_path, fmt):
    store, versions = sealed
    plan, version = versions[1]
    root = tmp_path / "env"
    target = open_target(f"file://{root}?format={fmt}")
    assert isinstance(target, FilesTarget)
    report = target.load(store, "depot", version)
    assert report.rows == plan.rows and report.previous is None
    assert sorted(p.name for p in (root / "depot").iterdir()) == sorted(
        [f"{t}.{fmt}" for t in plan.order] + ["_tdm_meta.json"]
    )
    for table in plan.order:
        original = store.read_table("depot", version, table)
        path = root / "depot" / f"{table}.{fmt}"
        if fmt == "parquet":
            assert pq.read_table(path).equals(original)
        elif fmt == "csv":
            options = pacsv.ConvertOptions(
                column_types=original.schema,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            )
            back = pacsv.read_csv(path, convert_options=options)
            assert back.num_rows == original.num_rows
            assert back.column_names == original.column_names
            assert back.cast(original.schema).to_pylist() == original.to_pylist()
        else:
            kinds = {c: col.logical.kind for c, col in plan.spec.tables[table].columns.items()}
            lines = path.read_text(encoding="utf-8").splitlines()
            assert len(lines) == original.num_rows
            back = [json.loads(line, parse_float=str) for line in lines]
            assert back == [_expected_json(r, kinds) for r in original.to_pylist()]
    if fmt == "jsonl":  # json columns are values, not strings; nulls are explicit
        first = json.loads((root / "depot" / "customers.jsonl").read_text().splitlines()[0])
        assert isinstance(first["prefs"], dict) and set(first) == set(
            plan.spec.tables["customers"].columns
        )


def test_the_version_is_recorded(sealed, tmp_path):
    store, versions = sealed
    plan, version = versions[1]
    target = open_target(f"file://{tmp_path / 'env'}?format=csv")
    assert target.current("depot") is None
    target.load(store, "depot", version)
    held = target.current("depot")
    assert held["version"] == version and held["format"] == "csv"
    assert held["rows"] == plan.rows and held["tables"] == plan.order
    assert held["loaded_at"].endswith("+00:00")
    meta = json.loads((tmp_path / "env" / "depot" / "_tdm_meta.json").read_text())
    assert meta["dataset"] == "depot" and meta["version"] == version
    assert meta["tables"]["orders"] == {"file": "orders.csv", "rows": plan.rows["orders"]}


def test_a_reload_swaps_atomically_and_leaves_no_temporary_directories(sealed, tmp_path):
    store, versions = sealed
    root = tmp_path / "env"
    target = open_target(f"file://{root}")
    target.load(store, "depot", versions[1][1])
    first_dir = os.path.realpath(root / "depot")
    report = target.load(store, "depot", versions[2][1])
    assert report.previous == versions[1][1]
    live = root / "depot"
    assert live.is_symlink()  # switched with one rename of a link
    entries = sorted(p.name for p in root.iterdir())
    assert len(entries) == 2 and entries[1] == "depot"
    assert entries[0].startswith(f".tdm-depot-{versions[2][1]}-")
    assert os.readlink(live) == entries[0]  # relative: the directory can be moved whole
    assert not os.path.exists(first_dir)  # the old version's directory is gone
    assert target.current("depot")["version"] == versions[2][1]
    assert pq.read_table(live / "orders.parquet").equals(
        store.read_table("depot", versions[2][1], "orders")
    )


def test_a_failing_write_leaves_the_previous_files_intact(sealed, tmp_path, monkeypatch):
    store, versions = sealed
    root = tmp_path / "env"
    target = open_target(f"file://{root}?format=jsonl")
    target.load(store, "depot", versions[1][1])
    before = {p.name: p.read_bytes() for p in (root / "depot").iterdir()}
    real = target._write_table

    def fail_on_orders(path, *args):
        if path.name.startswith("orders."):
            path.write_text("half a file")
            raise OSError(28, "No space left on device")
        return real(path, *args)

    monkeypatch.setattr(target, "_write_table", fail_on_orders)
    with pytest.raises(TdmError, match=r"failed and was undone \(the previous files are intact\)"):
        target.load(store, "depot", versions[2][1])
    assert {p.name: p.read_bytes() for p in (root / "depot").iterdir()} == before
    assert target.current("depot")["version"] == versions[1][1]
    assert len(list(root.glob(".tdm-depot-*"))) == 1  # only the live version's directory
    monkeypatch.undo()
    assert target.load(store, "depot", versions[2][1]).previous == versions[1][1]
    assert target.current("depot")["version"] == versions[2][1]


def test_leftovers_of_a_crashed_load_are_removed_by_the_next(sealed, tmp_path):
    store, versions = sealed
    root = tmp_path / "env"
    target = open_target(f"file://{root}")
    target.load(store, "depot", versions[1][1])
    # What a process killed mid-load leaves: a half-written directory and a link not yet swapped.
    crashed = root / ".tdm-depot-v0000-deadbeef"
    crashed.mkdir()
    (crashed / "customers.parquet").write_bytes(b"partial")
    os.symlink(crashed.name, root / ".tdm-depot-link-deadbeef")
    other = root / ".tdm-depot_archive-v1-cafecafe"  # another dataset's: not ours to remove
    other.mkdir()
    assert target.current("depot")["version"] == versions[1][1]  # the crash changed nothing
    target.load(store, "depot", versions[2][1])
    names = sorted(p.name for p in root.iterdir())
    assert names == sorted(["depot", other.name, os.readlink(root / "depot")]) and os.readlink(
        root / "depot"
    ).startswith(f".tdm-depot-{versions[2][1]}-")


def test_a_plain_directory_in_the_way_is_replaced(sealed, tmp_path):
    store, versions = sealed
    root = tmp_path / "env"
    (root / "depot").mkdir(parents=True)
    (root / "depot" / "stale.csv").write_text("old\n")
    target = open_target(f"file://{root}?format=csv")
    target.load(store, "depot", versions[1][1])
    assert (root / "depot").is_symlink() and not (root / "depot" / "stale.csv").exists()
    assert [p.name for p in root.iterdir() if "old" in p.name] == []


def test_switching_format_replaces_every_file(sealed, tmp_path):
    store, versions = sealed
    root = tmp_path / "env"
    open_target(f"file://{root}?format=parquet").load(store, "depot", versions[1][1])
    open_target(f"file://{root}?format=jsonl").load(store, "depot", versions[1][1])
    assert {p.suffix for p in (root / "depot").iterdir()} == {".jsonl", ".json"}


def test_an_empty_table_still_gets_a_file(write_spec, tmp_path):
    spec = write_spec(SPEC.replace("rows: 300", "rows: 0"), "empty.yaml")
    store = VersionStore(tmp_path / "store")
    _, version = seal_version(store, spec)
    for fmt in ("parquet", "csv", "jsonl"):
        root = tmp_path / f"env-{fmt}"
        open_target(f"file://{root}?format={fmt}").load(store, "depot", version)
        assert (root / "depot" / f"customers.{fmt}").exists()
    table = pq.read_table(tmp_path / "env-parquet" / "depot" / "customers.parquet")
    assert table.num_rows == 0 and table.schema.field("balance").type == pa.decimal128(12, 2)


@pytest.mark.parametrize(
    "url, message",
    [
        ("file://relative/dir", "file:///absolute"),
        ("file:relative/dir", "absolute directory"),
        ("file:///tmp/x?format=xml", "unknown format 'xml'"),
        ("file:///tmp/x?compression=gzip", "unknown option 'compression'"),
    ],
)
def test_bad_urls_are_clear_errors(url, message):
    with pytest.raises(TdmError, match=message):
        open_target(url)
