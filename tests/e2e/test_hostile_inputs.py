"""The command line fed what a hostile or careless user types: every case ends in one clear
message and a non-zero exit, never a traceback, and writes nothing (no file outside the store,
no half-written output, the store as it was).

The commands run in-process (`tdm.cli.main`, as the `tdm` script does) so the corpus stays
fast; `test_the_script_itself_shows_no_traceback` runs a few through the real script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import tdm.cli.main
from tdm.cli.main import main
from tdm.core import settings
from tdm.store.versions import VersionStore
from tdm.validation.runner import validate_version
from tests.builders import put, seal_version
from tests.conftest import ROOT, snapshot

pytestmark = pytest.mark.xdist_group("cli")

VALID = """\
dataset: shop
seed: 3
tables:
  customers:
    rows: 50
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      name: {type: string, generator: first_name}
"""


def json_nested(depth: int) -> str:
    """A json generator whose fields nest `depth` json generators deep."""
    inner = "{generator: sequence}"
    for _ in range(depth):
        inner = f"{{generator: json, type: json, fields: {{f: {inner}}}}}"
    return VALID + f"      doc: {inner}\n"


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return VALID + "\n".join(lines) + "\n"


# name -> file content (bytes or text); each is given to `tdm generate` and to `tdm scan`
SPECS: dict[str, tuple[bytes | str, str]] = {
    "empty file": ("", "a spec is a mapping"),
    "only a comment": ("# nothing here\n", "a spec is a mapping"),
    "a list, not a mapping": ("- dataset: shop\n", "a spec is a mapping"),
    "binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    "NUL bytes in text": (VALID.replace("name:", "na\x00me:"), "binary"),
    "Latin-1, not UTF-8": (VALID.replace("first_name", "prénom").encode("latin-1"), "UTF-8"),
    "alias bomb": (alias_bomb(), "expand"),
    "YAML nested 100,000 deep (flow)": ("dataset: " + "[" * 100_000, "deep"),
    "YAML nested 100,000 deep (block)": ("dataset: x\ntables:\n" + "- " * 100_000 + "x\n", "deep"),
    "json generator nested 150 deep": (json_nested(150), "deep"),
    "json generator nested 300 deep": (json_nested(300), "deep"),
    "a 10 MB table name": (VALID.replace("customers:", "c" * 10_000_000 + ":"), "characters"),
    "a 60,000-character dataset name": (
        VALID.replace("dataset: shop", "dataset: " + "c" * 60_000),
        "at most 63 characters (got",
    ),
    "a 10 MB string value": (
        VALID.replace(
            "{type: string, generator: first_name}",
            '{type: string, generator: pattern, pattern: "' + "#" * 10_000_000 + '"}',
        ),
        "characters",
    ),
    "an integer of 5,000 digits": (VALID.replace("rows: 50", "rows: " + "9" * 5000), "as int"),
    "rows beyond any table": (VALID.replace("rows: 50", "rows: 1000000000000000000000"), "rows"),
    "negative rows": (VALID.replace("rows: 50", "rows: -1"), "rows must be between"),
    "an impossible date": (
        VALID.replace("seed: 3", "seed: 3\nreference_date: 2026-13-45"),
        "2026-13-45",
    ),
    "a seed below 0": (VALID.replace("seed: 3", "seed: -1"), "seed"),
    "a seed of 2**64": (VALID.replace("seed: 3", "seed: 18446744073709551616"), "seed"),
    "a batch size of 0": (VALID.replace("seed: 3", "seed: 3\nbatch_size: 0"), "batch_size"),
    "a dataset named ../../etc": (VALID.replace("dataset: shop", "dataset: ../../etc"), "name"),
    "a table named ../x": (VALID.replace("customers:", '"../x":'), "name"),
    "no tables": ("dataset: shop\ntables: {}\n", "tables"),
    "two documents": (VALID + "---\n" + VALID, "document"),
    "rows per parent beyond int64": (
        VALID + "  orders:\n    rows: {per: customers, distribution: fixed, value: 1.0e+300}\n"
        "    columns:\n      customer_id: {type: int, references: customers}\n",
        "rows",
    ),
    "a poisson lam numpy refuses": (
        VALID + "  orders:\n    rows: {per: customers, lam: 1.0e+300}\n"
        "    columns:\n      customer_id: {type: int, references: customers}\n",
        "rows",
    ),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_hostile_specs_are_refused_with_one_clear_error(name, cli, tmp_path, tdm_home):
    content, fragment = SPECS[name]
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "out"
    before = snapshot(tdm_home)
    for args in (["generate", spec, "--out", out], ["scan", spec], ["run", spec]):
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert result.err.startswith("error: ") and str(spec) in result.err
        assert fragment.lower() in result.err.lower(), result.err
    assert not out.exists()
    assert snapshot(tdm_home) == before


def test_a_directory_or_a_missing_file_as_the_spec(cli, tmp_path):
    for path, fragment in ((tmp_path, "directory"), (tmp_path / "nope.yaml", "file not found")):
        result = cli("generate", path, "--out", tmp_path / "out")
        assert result.code == 2 and fragment in result.err


def test_a_bom_is_read_as_text(cli, tmp_path):
    spec = tmp_path / "bom.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + VALID.encode())
    result = cli("generate", spec, "--out", tmp_path / "out")
    assert result.code == 0, result.err
    assert pq.read_table(tmp_path / "out" / "customers.parquet").num_rows == 50


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--scale", "inf"], "--scale: inf is out of range"),
        (["--scale", "nan"], "--scale: nan is out of range"),
        (["--scale", "-1"], "--scale: -1 is out of range"),
        (["--scale", "0"], "--scale: 0 is out of range"),
        (["--scale", "1e400"], "--scale: 1e400 is out of range"),
        (["--scale", "ten"], "is not a finite number"),
        (["--scale", "1e300"], "a table has at most 1,000,000,000,000,000 rows"),
        (["--seed", "-1"], "--seed: -1 is out of range"),
        (["--seed", str(2**64)], "is out of range"),
        (["--seed", "1.5"], "is not a whole number"),
        (["--workers", "0"], "--workers: 0 is out of range"),
        (["--workers", "100000"], "--workers: 100000 is out of range"),
        (["--batch-size", "0"], "--batch-size: 0 is out of range"),
        (["--batch-size", "1000000000"], "is out of range"),
    ],
)
def test_numeric_options_are_range_checked(args, fragment, cli, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(VALID)
    result = cli("generate", spec, "--out", tmp_path / "out", *args)
    assert result.code == 2 and fragment in result.err, result.err
    assert not (tmp_path / "out").exists()


def test_a_tiny_scale_keeps_one_row(cli, tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(VALID)
    result = cli("generate", spec, "--out", tmp_path / "out", "--scale", "1e-9")
    assert result.code == 0, result.err
    assert pq.read_table(tmp_path / "out" / "customers.parquet").num_rows == 1


@pytest.fixture
def world(small_spec, tmp_path, tdm_home):
    """A sealed, validated version of `shop` in the store and a copy of it outside."""
    store = VersionStore(settings.store_root())
    plan, version = seal_version(store, small_spec)
    validate_version(store, plan, "shop", version)
    store.mark_latest("shop", version)
    outside = tmp_path / "elsewhere"
    shutil.copytree(store.dir("shop", version), outside / "vcopy")
    return store, version, outside


ESCAPES = [
    (["versions", "../../../../elsewhere"], "not a valid dataset name"),
    (["versions", "/tmp"], "not a valid dataset name"),
    (["versions", "shop/../.."], "not a valid dataset name"),
    (["validate", "shop", "--version", "../../../../../elsewhere/vcopy", "--rerun"], "version"),
    (["validate", "shop", "--version", "/etc", "--rerun"], "not a valid version name"),
    (["load", "shop", "--env", "local", "--version", "../../elsewhere/vcopy"], "version name"),
    (["load", "shop", "--env", "../local"], "not a valid environment name"),
    (["diff", "shop", "../a", "latest"], "not a valid version name"),
    (["load", "../shop", "--env", "local"], "not a valid dataset name"),
]


@pytest.mark.parametrize(("args", "fragment"), ESCAPES)
def test_names_that_would_leave_the_store_are_refused(args, fragment, cli, world):
    store, _, outside = world
    before = snapshot(store.root, outside)
    result = cli(*args)
    assert result.code == 2 and fragment in result.err, result.err
    assert snapshot(store.root, outside) == before


def test_a_symbolic_link_out_of_the_store_is_not_followed(cli, world):
    store, version, outside = world
    (store.root / "shop" / "vlinked").symlink_to(outside / "vcopy")
    before = snapshot(outside)
    result = cli("validate", "shop", "--version", "vlinked", "--rerun")
    assert result.code == 2 and "outside the version store" in result.err
    listed = cli("versions", "shop", "--json")
    assert listed.code == 1  # a damaged entry is listed, and the exit code says so
    entries = {e["version"]: e for e in json.loads(listed.out)}
    assert (
        "rows" in entries[version] and "outside the version store" in entries["vlinked"]["broken"]
    )
    assert snapshot(outside) == before


def test_a_truncated_manifest_is_listed_as_broken_and_refused(cli, world, small_spec):
    store, version, _ = world
    other = small_spec.with_name("other.yaml")
    other.write_text(small_spec.read_text().replace("seed: 11", "seed: 12"))
    _, second = seal_version(store, other)
    manifest = store.dir("shop", second) / "manifest.json"
    manifest.write_text(manifest.read_text()[:100])
    listed = cli("versions", "shop")
    assert listed.code == 1
    assert (
        version in listed.out
        and f"! {second}  BROKEN: manifest.json is not readable JSON" in listed.out
    )
    for args in (
        ["load", "shop", "--env", "local", "--version", second],
        ["validate", "shop", "--version", second, "--rerun"],
    ):
        result = cli(*args)
        assert result.code == 2 and f"version {second} of shop is damaged" in result.err


def test_validate_rerun_verifies_checksums_first(cli, world):
    store, version, _ = world
    entry = store.manifest("shop", version)["tables"]["customers"]["files"][1]
    path = store.dir("shop", version) / entry["path"]
    data = pq.read_table(path)
    pq.write_table(put(data, "score", 3, 49), path, compression="zstd")  # still a valid value
    result = cli("validate", "shop", "--rerun")
    assert result.code == 2
    assert f"{entry['path']} changed (sha256 differs from the manifest)" in result.err
    assert "validation passed" not in result.out


def test_validate_rerun_on_an_unreadable_file(cli, world):
    store, version, _ = world
    entry = store.manifest("shop", version)["tables"]["orders"]["files"][0]
    (store.dir("shop", version) / entry["path"]).write_bytes(b"PAR1 garbage PAR1")
    result = cli("validate", "shop", "--rerun")
    assert result.code == 2 and f"{entry['path']} changed" in result.err


@pytest.fixture
def read_only(world):
    """The store mounted read-only over itself (a real read-only file system, which root
    cannot write either)."""
    root = world[0].root
    mounted = subprocess.run(["mount", "--bind", root, root], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", root, root], check=True)
        yield world
    finally:
        subprocess.run(["umount", root], check=True)


def test_validate_rerun_on_a_read_only_store(cli, read_only):
    store, version, _ = read_only
    before = snapshot(store.root)
    result = cli("validate", "shop", "--rerun")
    assert result.code == 2, result.err
    assert "cannot write" in result.err and "Read-only file system" in result.err
    assert f"{version}/privacy.json" in result.err  # written first, beside validation.json
    assert snapshot(store.root) == before


def test_a_damaged_latest_pointer(cli, world):
    store, _, _ = world
    (store.root / "shop" / "LATEST").write_text("../../../elsewhere/vcopy\n")
    result = cli("load", "shop", "--env", "local")
    assert result.code == 2 and "LATEST is damaged" in result.err


def test_an_unexpected_exception_is_one_line_and_debug_shows_the_traceback(
    cli, monkeypatch, capsys
):
    """The handler itself: a command that fails in a way tdm does not foresee."""

    def broken(args):
        raise ZeroDivisionError("x" * 10_000)

    monkeypatch.setattr(tdm.cli.main, "cmd_envs", broken)
    result = cli("envs")
    assert result.code == 70
    assert result.err.startswith("error: unexpected ZeroDivisionError: xxx")
    assert "--debug" in result.err and "TDM_DEBUG=1" in result.err
    monkeypatch.setenv("TDM_DEBUG", "1")
    assert main(["envs"]) == 70
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.delenv("TDM_DEBUG")
    assert main(["envs", "--debug"]) == 70
    assert "Traceback" in capsys.readouterr().err


def test_the_script_itself_shows_no_traceback(tmp_path):
    """Through the installed `tdm` script, in a process of its own, output closed early."""
    exe = Path(sys.executable).with_name("tdm")
    deep = tmp_path / "deep.yaml"
    deep.write_text("dataset: " + "[" * 100_000)
    env = {**os.environ, "TDM_HOME": str(tmp_path / "home")}
    for args in (["generate", str(deep), "--out", str(tmp_path / "o")], ["versions", "../x"]):
        result = subprocess.run([exe, *args], capture_output=True, text=True, cwd=ROOT, env=env)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    # `tdm envs | head -1`: the reader goes away; no BrokenPipeError traceback
    shell = subprocess.run(
        f"'{exe}' envs --json | head -c 1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr, shell.stderr


def test_an_output_that_is_a_file_is_a_clear_error(cli, tmp_path):
    spec, taken = tmp_path / "spec.yaml", tmp_path / "taken"
    spec.write_text(VALID)
    taken.write_text("mine")
    result = cli("generate", spec, "--out", taken)
    assert result.code == 2 and f"cannot write into {taken}" in result.err
    assert taken.read_text() == "mine"


def test_thousands_of_problems_are_summed_up(cli, tmp_path):
    spec = tmp_path / "many.yaml"
    tables = "".join(
        f"  t{i}:\n    rows: 1\n    columns:\n      a: {{type: int, generator: nosuch}}\n"
        for i in range(2000)
    )
    spec.write_text("dataset: many\ntables:\n" + tables)
    result = cli("generate", spec, "--out", tmp_path / "out")
    assert result.code == 2 and "2000 problems in the spec" in result.err
    assert "... and 1950 more; fix these first" in result.err
    assert result.err.count("unknown generator") == 50


@pytest.mark.parametrize(
    ("environments", "fragment"),
    [
        ('environments:\n  "../x": {url: "sqlite:///tmp/x.sqlite"}\n', "is not a valid name"),
        ("environments:\n  qa: {url: x, datasets: ['../../shop']}\n", "is not a valid name"),
        ("environments:\n  qa: {url: x, schema: '../public'}\n", "is not a valid name"),
        ("environments: &a\n  qa: *a\n", "alias"),
        (b"\x00\x01binary", "binary"),
    ],
)
def test_a_hostile_environments_file(environments, fragment, cli, tmp_path, monkeypatch):
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    path = schemas / "environments.yaml"
    path.write_bytes(environments if isinstance(environments, bytes) else environments.encode())
    monkeypatch.setenv("TDM_SCHEMAS", str(schemas))
    for args in (["envs"], ["load", "shop", "--env", "qa"]):
        result = cli(*args)
        assert result.code == 2 and str(path) in result.err, result.err
        assert fragment in result.err, result.err
