"""The `tdm` command line, run as a user runs it (a subprocess), on the retail example."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.conftest import RETAIL, ROOT

pytestmark = pytest.mark.xdist_group("cli")


def tdm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "tdm.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tdm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_run_retail_into_the_local_environment(tdm_home):
    missing = tdm("run", str(RETAIL), check=False)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "needs a key: set TDM_MASKING_KEY" in missing.stderr
    result = tdm("run", str(RETAIL), "--env", "local", "--dev-key")
    assert "PUBLIC demo key" in result.stderr
    out = result.stdout
    counts = {
        line.split()[0]: int(line.split()[1].replace(",", ""))
        for line in out.splitlines()
        if line.startswith("  ") and "total" not in line
    }
    assert set(counts) == {
        "customers",
        "addresses",
        "products",
        "orders",
        "order_items",
        "payments",
    }
    assert 80_000 < sum(counts.values()) < 130_000
    version = out.split("version ")[1].split()[0]
    db = tdm_home / "local" / "retail.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for table, n in counts.items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n

    versions = json.loads(tdm("versions", "retail", "--json").stdout)
    assert [v["version"] for v in versions] == [version]
    assert versions[0]["rows"] == counts and versions[0]["created_at"]

    envs = json.loads(tdm("envs", "--json").stdout)
    local = next(e for e in envs if e["name"] == "local")
    assert local["url"].startswith("sqlite:///") and local["versions"]["retail"] == version


def test_seed_scale_and_rollback(small_spec, tdm_home):
    first = tdm("run", str(small_spec), "--env", "local", "--quiet").stdout
    v1 = first.split("version ")[1].split()[0]
    second = tdm("run", str(small_spec), "--env", "local", "--seed", "3", "--scale", "0.5").stdout
    v2 = second.split("version ")[1].split()[0]
    assert v1 != v2 and "customers" in second and "750" in second
    db = tdm_home / "local" / "shop.sqlite"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 750
    tdm("load", "shop", "--env", "local", "--version", v1)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 1500
        assert conn.execute("SELECT version FROM _tdm_meta").fetchone()[0] == v1


def test_generate_writes_one_file_per_table(small_spec, tmp_path):
    out = tdm("generate", str(small_spec), "--out", str(tmp_path / "out"), "--workers", "2")
    assert "rows in 4 files" in out.stdout
    assert pq.read_table(tmp_path / "out" / "customers.parquet").num_rows == 1500


def test_errors_are_clear_and_without_traceback(write_spec, small_spec):
    bad = write_spec(
        "dataset: bad\ntables:\n  t:\n    rows: 3\n    columns:\n"
        "      a: {type: int, generator: sequense}\n",
        "bad.yaml",
    )
    for args in (
        ["generate", str(bad), "--out", "x"],
        ["run", str(bad)],
        ["load", "shop", "--env", "staging"],
        ["versions", "nothing-here"],
    ):
        result = tdm(*args, check=False)
        assert "Traceback" not in result.stderr, args
        if args[0] != "versions":
            assert result.returncode == 2, args
    result = tdm("generate", str(bad), "--out", "x", check=False)
    assert "bad.yaml:6: tables.t.columns.a.generator: unknown generator" in result.stderr
    assert 'did you mean "sequence"?' in result.stderr
    load = tdm("load", "shop", "--env", "staging", check=False)
    assert "no environment named 'staging'" in load.stderr


def test_dagster_definitions_validate():
    exe = os.path.join(os.path.dirname(sys.executable), "dagster")
    result = subprocess.run(
        [exe, "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scan_reports_pii_and_fails_closed(tmp_path, write_spec):
    import sqlite3 as sq

    db = tmp_path / "crm.sqlite"
    with sq.connect(db) as conn:
        conn.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT, city TEXT)")
        conn.executemany(
            "INSERT INTO people VALUES (?, ?, ?)",
            [(i, f"person{i}@mail{i % 5}.com", "Springfield") for i in range(200)],
        )
    spec = write_spec(
        f"""
        dataset: crm
        source: {{url: "sqlite:///{db}"}}
        tables:
          people:
            source: true
            primary_key: id
            columns:
              id: {{type: int, mask: pseudonymize}}
              email: {{type: string}}
              city: {{type: string, allow: a city alone identifies nobody here}}
    """,
        "crm.yaml",
    )
    result = tdm("scan", str(spec), check=False)
    assert result.returncode == 1, result.stderr
    assert "people.email" in result.stdout and "PII WITHOUT MASK" in result.stdout
    assert "add: mask: email" in result.stdout
    assert "person1@" not in result.stdout + result.stderr  # never a value
    report = json.loads(tdm("scan", str(spec), "--json", check=False).stdout)
    email = next(r for r in report if r["column"] == "email")
    assert email["status"] == "pii" and email["findings"][0]["category"] == "email"
    assert next(r for r in report if r["column"] == "city")["status"] == "allowed"
    retail = tdm("scan", str(RETAIL))
    assert "customers.email" in retail.stdout and "masked: email" in retail.stdout
