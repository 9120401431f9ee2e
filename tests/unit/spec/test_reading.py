"""Hostile or broken YAML files: `read_yaml` refuses each with a short SpecError naming the file
(and the line, where there is one), without running out of time, memory or stack."""

from __future__ import annotations

import datetime
import os
import time
from pathlib import Path

import pytest

from tdm.core.errors import SpecError
from tdm.plan.loading import load_spec
from tdm.spec import reading as yaml_reader
from tdm.spec.reading import MAX_BYTES, MAX_DEPTH, MAX_NODES, read_yaml


def write(tmp_path: Path, content: str | bytes, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def refused(path: Path) -> SpecError:
    with pytest.raises(SpecError) as info:
        read_yaml(path)
    err = info.value
    assert err.file == str(path)
    assert len(err.problems) == 1
    text = str(err)
    assert str(path) in text
    assert len(text) < 2_000, text[:500]
    return err


# --- aliases ------------------------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """'billion laughs': each level is a list of `width` aliases to the level below."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_before_it_expands(tmp_path):
    path = write(tmp_path, alias_bomb())
    started = time.perf_counter()
    err = refused(path)
    print(f"alias bomb refused in {time.perf_counter() - started:.3f}s")
    (p,) = err.problems
    assert f"more than {MAX_NODES:,} expanded nodes" in p.message
    assert p.line == 7  # l6 is the first list past the limit: 10**7 expanded nodes
    with pytest.raises(SpecError, match="expanded nodes"):
        load_spec(path)


def test_many_aliases_below_the_limit_load_without_walking_each_copy(tmp_path):
    big = "[" + ", ".join(str(i) for i in range(1_000)) + "]"
    text = f"base: &base {big}\ncopies:\n" + "".join("  - *base\n" for _ in range(500))
    data, lines = read_yaml(write(tmp_path, text))
    assert len(data["copies"]) == 500
    assert data["copies"][499] == list(range(1_000))
    assert lines[("copies", 499)] == 1  # the alias's node is the anchor's, on line 1
    assert ("copies", 499, 0) not in lines  # paths inside an alias are not walked
    assert len(lines) < 2_000


def test_recursive_alias_is_refused(tmp_path):
    (p,) = refused(write(tmp_path, "a: 1\nb: &b [1, *b]\n")).problems
    assert "inside its own anchor" in p.message
    assert p.line == 2


def test_undefined_alias_is_named(tmp_path):
    (p,) = refused(write(tmp_path, "a: 1\nb: *nowhere\n")).problems
    assert p.message == "invalid YAML: found undefined alias 'nowhere'"
    assert p.line == 2


def test_aliases_cannot_nest_deeper_than_the_limit(tmp_path):
    deep = "[" * 40 + "]" * 40
    text = f"a: &a {deep}\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"
    (p,) = refused(write(tmp_path, text)).problems
    assert f"nested deeper than {MAX_DEPTH} levels" in p.message
    assert p.line == 2


def test_anchors_and_merge_keys_keep_their_data_and_lines(tmp_path):
    text = """\
dataset: shop
seed: 1
tables:
  customers: &table
    rows: 10
    primary_key: id
    columns:
      id: &id {type: int, generator: sequence}
  orders:
    <<: *table
    rows: 20
    columns:
      id: *id
      amount: {type: int, generator: integer, min: 1, max: 9}
"""
    path = write(tmp_path, text)
    data, lines = read_yaml(path)
    customers = data["tables"]["customers"]
    orders = data["tables"]["orders"]
    assert orders["rows"] == 20
    assert orders["primary_key"] == "id"
    assert (
        orders["columns"]["id"]
        == customers["columns"]["id"]
        == {
            "type": "int",
            "generator": "sequence",
        }
    )
    assert lines[("tables", "customers", "rows")] == 5
    assert lines[("tables", "customers", "columns", "id", "generator")] == 8
    assert lines[("tables", "orders", "<<")] == 10
    assert lines[("tables", "orders", "rows")] == 11
    assert lines[("tables", "orders", "columns", "id")] == 13
    assert lines[("tables", "orders", "columns", "amount", "max")] == 14
    plan = load_spec(path)
    assert plan.spec.tables["orders"].rows == 20


# --- nesting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100_000,
        "a: " + "{b: " * 100_000,
        "- " * 100_000 + "x\n",
        "".join(f"{' ' * i}k{i}:\n" for i in range(1_000)),
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences", "block-mappings"],
)
def test_deep_nesting_is_refused(tmp_path, text):
    (p,) = refused(write(tmp_path, text)).problems
    assert p.message == f"nested deeper than {MAX_DEPTH} levels"
    assert "flatten" in p.hint
    assert p.line is not None


def test_deep_nesting_names_the_line_that_crosses_the_limit(tmp_path):
    text = "".join(f"{' ' * i}k{i}:\n" for i in range(100))
    (p,) = refused(write(tmp_path, text)).problems
    assert p.line == MAX_DEPTH + 1


def test_nesting_60_deep_is_accepted(tmp_path):
    data, _ = read_yaml(write(tmp_path, "a: " + "[" * 59 + "1" + "]" * 59 + "\n"))
    inner = data["a"]
    for _ in range(58):
        inner = inner[0]
    assert inner == [1]
    data, _ = read_yaml(write(tmp_path, "".join(f"{' ' * i}k{i}:\n" for i in range(60))))
    assert "k59" in str(data)


# --- the file itself ----------------------------------------------------------------------------


def test_utf8_bom_is_accepted(tmp_path):
    data, lines = read_yaml(write(tmp_path, "\ufeffdataset: t\nseed: 3\n".encode()))
    assert data == {"dataset": "t", "seed": 3}
    assert lines[("seed",)] == 2


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"], ids=["empty", "comments"])
def test_empty_document_is_none(tmp_path, text):
    assert read_yaml(write(tmp_path, text)) == (None, {})


def test_valid_scalars_are_read_as_before(tmp_path):
    text = "a: 2026-01-02\nb: 1e999\nc: 1.0e+999\nd: [1, 2.5, null, true, '7']\ne: |\r\n  x\r\n"
    data, _ = read_yaml(write(tmp_path, text))
    assert data == {
        "a": datetime.date(2026, 1, 2),
        "b": "1e999",
        "c": float("inf"),
        "d": [1, 2.5, None, True, "7"],
        "e": "x\n",
    }


BAD_FILES = {
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not YAML text", None),
    "nul-byte": (b"dataset: t\nseed: 1\x00\n", "binary file, not YAML text", None),
    "latin-1": ("dataset: t\nname: caf\xe9\n".encode("latin-1"), "not UTF-8 text", 2),
    "control-character": (b"dataset: t\nseed: 1\x01\n", "unacceptable character #x0001", 2),
    "two-documents": ("dataset: t\n---\ndataset: u\n", "a second YAML document", 2),
    "bad-date": ("dataset: t\nreference_date: 2026-13-45\n", "month must be in 1..12", 2),
    "huge-integer": ("dataset: t\nseed: " + "7" * 5_000 + "\n", "integer string conversion", 2),
    "huge-key": ("k" * 10_000_000 + ": 1\n", "a value of 10,000,000 characters", 1),
    "key-beyond-a-simple-key": ("k" * 60_000 + ": 1\n", "invalid YAML", 1),
    "python-tag": ("a: !!python/object/apply:os.system [ls]\n", "could not determine", 1),
}


@pytest.mark.parametrize(("content", "phrase", "line"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_is_a_short_spec_error(tmp_path, content, phrase, line):
    (p,) = refused(write(tmp_path, content)).problems
    assert phrase in p.message
    assert p.line == line


def test_huge_value_is_not_echoed(tmp_path):
    (p,) = refused(write(tmp_path, "seed: " + "9" * 60_000 + "\n")).problems
    assert p.message.startswith("cannot read '99999")
    assert len(p.message) < 300
    (p,) = refused(write(tmp_path, "seed: " + "9" * 10_000_000 + "\n")).problems
    assert p.message == "a value of 10,000,000 characters; at most 65,536"


def test_directory_is_refused(tmp_path):
    (p,) = refused(tmp_path).problems
    assert "directory" in p.message


def test_oversize_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.yaml"
    path.touch()
    os.truncate(path, 17 * 1024 * 1024)  # sparse: reading it would take 17 MiB
    (p,) = refused(path).problems
    assert "file too large (17.0 MiB" in p.message
    assert f"{MAX_BYTES // 2**20} MiB" in p.message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_refused(tmp_path):
    path = write(tmp_path, "dataset: t\n")
    path.chmod(0)
    try:
        (p,) = refused(path).problems
    finally:
        path.chmod(0o644)
    assert p.message == "permission denied"


def test_missing_file_keeps_its_message(tmp_path):
    (p,) = refused(tmp_path / "nope.yaml").problems
    assert p.message == "file not found"


# --- size ---------------------------------------------------------------------------------------


def test_too_many_nodes_are_refused_before_composing(tmp_path, monkeypatch):
    # the real limit needs a ~14 MB file; the check is the same at a smaller one
    monkeypatch.setattr(yaml_reader, "MAX_NODES", 1_000)
    (p,) = refused(write(tmp_path, "a: 1\nb: [" + "1, " * 2_000 + "1]\n")).problems
    assert p.message == "more than 1,000 nodes (keys, values and items)"
    assert p.line == 2


def test_ten_thousand_tables_are_read(tmp_path):
    table = "{rows: 10, primary_key: id, columns: {id: {type: int, generator: sequence}}}"
    tables = "".join(f"  t{i}: {table}\n" for i in range(10_000))
    path = write(tmp_path, "dataset: big\nseed: 1\ntables:\n" + tables)
    started = time.perf_counter()
    data, lines = read_yaml(path)
    print(f"read_yaml of 10,000 tables: {time.perf_counter() - started:.2f}s")
    assert len(data["tables"]) == 10_000
    assert data["tables"]["t9999"] == {
        "rows": 10,
        "primary_key": "id",
        "columns": {"id": {"type": "int", "generator": "sequence"}},
    }
    assert lines[("tables", "t9999", "columns", "id", "generator")] == 10_003
    assert len(lines) == 3 + 10_000 * 7 + 1
