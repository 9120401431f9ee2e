"""Bundled project templates, as a user runs them: `tdm templates` lists them, `tdm init` writes
a project, and every template's project runs through the Dagster graph at scale 1 (>= 100k rows),
validates clean and loads into the local SQLite environment, at a rate within half of the retail
example's measured in the same process (the bench figures of the example are the bar)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tdm.spec.library import project_templates, template_of
from tests.conftest import RETAIL, ROOT

pytestmark = pytest.mark.xdist_group("templates")
TEMPLATES = sorted(project_templates())
MIN_RATIO = 0.5  # rows/s of a template's run over the retail example's
# What adds up, read back from the loaded SQLite database: rows that break it (0 expected).
INVARIANTS = {
    "banking": "SELECT count(*) FROM accounts a WHERE abs(a.balance - a.opening_balance - "
    "coalesce((SELECT sum(t.amount) FROM transactions t WHERE t.account_id = a.id), 0)) > 0.005",
    "saas": "SELECT count(*) FROM invoices i WHERE abs(i.total - coalesce((SELECT sum(l.amount) "
    "FROM invoice_lines l WHERE l.invoice_id = i.id), 0)) > 0.005",
    "healthcare": "SELECT count(*) FROM encounters e WHERE e.diagnosis_count <> (SELECT count(*) "
    "FROM diagnoses d WHERE d.encounter_id = e.id) OR e.discharged_at < e.admitted_at",
    "retail": "SELECT count(*) FROM orders o WHERE abs(o.total - coalesce((SELECT "
    "sum(i.line_total) FROM order_items i WHERE i.order_id = o.id), 0)) > 0.005",
}


def tdm(*args: str, cwd: Path, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "TDM_HOME": str(home)}
    for name in ("TDM_MASKING_KEY", "TDM_PROJECT", "TDM_SCHEMAS", "TDM_STORE", "DAGSTER_HOME"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "tdm.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=900,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tdm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def run_counts(out: str) -> tuple[dict[str, int], float]:
    """The rows per table and the rows/s a `tdm run` printed."""
    counts = {
        line.split()[0]: int(line.split()[1].replace(",", ""))
        for line in out.splitlines()
        if line.startswith("  ") and "total" not in line
    }
    rate = re.search(r"\(([\d,]+) rows/s\)", out)
    assert rate, out
    return counts, float(rate.group(1).replace(",", ""))


@pytest.fixture(scope="module")
def retail_rate(tmp_path_factory) -> float:
    """The retail example's rows/s through the same command, in this process's run."""
    home = tmp_path_factory.mktemp("retail_home")
    out = tdm("run", str(RETAIL), "--env", "local", "--dev-key", "--quiet", cwd=ROOT, home=home)
    return run_counts(out.stdout)[1]


def test_templates_lists_each_on_one_line(tmp_path):
    out = tdm("templates", cwd=tmp_path, home=tmp_path / "home").stdout.splitlines()
    assert [line.split()[0] for line in out] == TEMPLATES
    assert {"retail", "saas", "banking", "healthcare"} <= set(TEMPLATES)
    for line in out:
        rows = int(re.search(r"; ([\d,]+) rows at scale 1\)$", line).group(1).replace(",", ""))
        assert rows >= 100_000, line
    listed = json.loads(tdm("templates", "--json", cwd=tmp_path, home=tmp_path).stdout)
    assert [t["name"] for t in listed] == TEMPLATES and all(t["description"] for t in listed)


def test_init_refuses_unknown_names_and_overwriting(tmp_path):
    home = tmp_path / "home"
    unknown = tdm("init", "p", "--template", "bankin", cwd=tmp_path, home=home, check=False)
    assert unknown.returncode == 2 and 'did you mean "banking"?' in unknown.stderr
    assert "Traceback" not in unknown.stderr and not (tmp_path / "p").exists()

    tdm("init", "p", "--template", "banking", cwd=tmp_path, home=home)
    spec = tmp_path / "p" / "schemas" / "banking.yaml"
    assert template_of(spec) == "banking"
    again = tdm("init", "p", "--template", "banking", cwd=tmp_path, home=home, check=False)
    assert again.returncode == 2 and "banking.yaml exists" in again.stderr
    assert "--force" in again.stderr

    environments = tmp_path / "p" / "schemas" / "environments.yaml"
    environments.write_text(environments.read_text() + "# mine\n")
    second = tdm("init", "p", "--template", "saas", cwd=tmp_path, home=home).stdout
    assert "kept" in second and environments.read_text().endswith("# mine\n")
    spec.write_text("edited\n")
    tdm("init", "p", "--template", "banking", "--force", cwd=tmp_path, home=home)
    assert template_of(spec) == "banking"
    assert not environments.read_text().endswith("# mine\n")


@pytest.mark.slow
@pytest.mark.parametrize("name", TEMPLATES)
def test_template_project_runs_validates_clean_and_loads(name, tmp_path, retail_rate):
    home = tmp_path / ".tdm"
    tdm("init", str(tmp_path), "--template", name, cwd=tmp_path, home=home)
    spec = f"schemas/{name}.yaml"
    out = tdm("run", spec, "--env", "local", "--dev-key", "--quiet", cwd=tmp_path, home=home)
    counts, rate = run_counts(out.stdout)
    assert "validation passed" in out.stdout
    assert sum(counts.values()) >= 100_000, counts
    ratio = rate / retail_rate
    print(f"{name}: {sum(counts.values()):,} rows, {rate:,.0f} rows/s, {ratio:.2f}x retail")
    assert ratio >= MIN_RATIO, f"{name}: {rate:,.0f} rows/s, retail {retail_rate:,.0f}"

    report = json.loads(tdm("validate", name, "--json", cwd=tmp_path, home=home).stdout)
    assert report["success"] and report["failed"] == []
    assert all(check["success"] for check in report["checks"])

    with sqlite3.connect(home / "local" / f"{name}.sqlite") as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for table, n in counts.items():
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == n
        if name in INVARIANTS:
            assert conn.execute(INVARIANTS[name]).fetchone()[0] == 0


def test_the_schema_asset_names_the_template_and_the_templates_used(tmp_path, monkeypatch):
    from assets.dataset import schema_asset

    tdm("init", str(tmp_path), "--template", "healthcare", cwd=tmp_path, home=tmp_path / "h")
    spec = tmp_path / "schemas" / "healthcare.yaml"
    text = spec.read_text().replace(
        "  providers:\n    rows: 300\n", "  providers:\n    rows: 300\n    use: timestamps\n"
    )
    spec.write_text(text)
    monkeypatch.chdir(tmp_path)
    asset = schema_asset("healthcare", spec)
    metadata = {k: getattr(v, "value", v) for k, v in asset.metadata.items()}
    assert metadata["tdm/template"] == "healthcare"
    assert metadata["tdm/templates_used"] == "timestamps (tdm/templates/library/timestamps.yaml)"


def test_the_retail_template_is_the_example():
    bundled = project_templates()["retail"].spec
    assert bundled.read_text() == RETAIL.read_text(), "copy schemas/retail.yaml to the template"
