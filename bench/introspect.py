"""Bring your own database, end to end: the hard fixture schema (tests/fixtures/postgres/
app_schema.sql) at about 1M rows, `tdm introspect` + `tdm run --env` (generate, validate, seal,
load into the application's existing tables), against `psql \\copy` of the same rows as CSV into
the same tables, measured in the same run.

    python bench/introspect.py [--rows 22000] [--json]

Two baselines load the CSV files of exactly the rows tdm loaded, in one transaction: as bulk
restores do, with session_replication_role = replica (no foreign-key checks, no triggers: the
fastest a plain \\copy gets, which `tables: existing` may not do), and "checked", with every
trigger and constraint on as tdm loads. `ratio` = baseline seconds / tdm seconds (above 1: tdm
faster); `load_ratio` compares the load step alone; `*_checked` against the second baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import yaml

ROOT = Path(__file__).parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "postgres" / "app_schema.sql"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TDM = [sys.executable, "-m", "tdm.cli"]


def _database(name: str) -> str:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FIXTURE.read_text())
    return url


def _timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=22000, help="rows of tables without parents")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    names = [f"tdm_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    work = Path(tempfile.mkdtemp(prefix="tdm-bench-"))
    try:
        source, target = (_database(n) for n in names)
        (work / "schemas").mkdir()
        (work / "schemas" / "environments.yaml").write_text(
            yaml.safe_dump(
                {"environments": {"app": {"url": target, "schema": "app", "tables": "existing"}}}
            )
        )
        env = {
            **os.environ,
            "TDM_HOME": str(work / "home"),
            "TDM_SCHEMAS": str(work / "schemas"),
            "TDM_ALLOW_DEV_KEY": "1",
        }
        spec = work / "schemas" / "app.yaml"
        introspect = _timed(
            [*TDM, "introspect", source, "--schema", "app", "--rows", str(args.rows), "-o", spec],
            env,
        )
        run = _timed([*TDM, "run", str(spec), "--env", "app", "--dev-key", "--quiet"], env)
        load = _timed([*TDM, "load", names[0], "--env", "app", "--quiet"], env)
        tables, rows = _export(target, work)
        copy = _psql_copy(target, tables, work, replica=True)
        checked = _psql_copy(target, tables, work, replica=False)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    tdm = introspect + run
    result = {
        "rows": rows,
        "tables": len(tables),
        "introspect_s": round(introspect, 2),
        "run_s": round(run, 2),
        "tdm_s": round(tdm, 2),
        "tdm_rows_per_s": round(rows / tdm),
        "load_s": round(load, 2),
        "psql_copy_s": round(copy, 2),
        "psql_copy_rows_per_s": round(rows / copy),
        "ratio": round(copy / tdm, 3),
        "load_ratio": round(copy / load, 3),
        "psql_copy_checked_s": round(checked, 2),
        "ratio_checked": round(checked / tdm, 3),
        "load_ratio_checked": round(checked / load, 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:22} {v}")


def _export(url: str, work: Path) -> tuple[list[tuple[str, list[str]]], int]:
    """The loaded rows of every filled table as CSV (parents first), and their count."""
    with psycopg.connect(url) as conn:
        order = conn.execute("SELECT tables FROM tdm.loads WHERE schema_name = 'app'").fetchone()[0]
        out, total = [], 0
        for t in order:
            cols = [
                r[0]
                for r in conn.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                    " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                    [f'app."{t}"'],
                )
            ]
            quoted = ", ".join(f'"{c}"' for c in cols)
            path = work / f"{t}.csv"
            with (
                path.open("wb") as f,
                conn.cursor().copy(
                    f'COPY (SELECT {quoted} FROM app."{t}") TO STDOUT (FORMAT csv)'
                ) as copy,
            ):
                for chunk in copy:
                    f.write(chunk)
            total += conn.execute(f'SELECT count(*) FROM app."{t}"').fetchone()[0]
            out.append((t, cols))
    return out, total


def _psql_copy(url: str, tables: list[tuple[str, list[str]]], work: Path, replica: bool) -> float:
    """psql \\copy of every table's CSV in one transaction. replica: with FK checks and
    triggers off. Otherwise with everything on, as tdm loads: the tables of a foreign-key cycle
    are copied into temporary tables and inserted by one statement (no other way past a
    NOT NULL cycle that is not DEFERRABLE)."""
    from tdm.core.graphs import components
    from tdm.targets.postgres.catalog import read_catalog

    with psycopg.connect(url) as conn:
        catalog = read_catalog(conn, "app")
    names = [t for t, _ in tables]
    comp = components(catalog.parents(names))
    columns = dict(tables)
    script = ["BEGIN;"]
    if replica:
        script.append("SET session_replication_role = replica;")
    script.append("TRUNCATE " + ", ".join(f'app."{t}"' for t in names) + ";")
    for number in sorted(set(comp.values())):
        group = [t for t in names if comp[t] == number]
        cycle = len(group) > 1 and not replica
        inserts = []
        for i, t in enumerate(group):
            quoted = ", ".join(f'"{c}"' for c in columns[t])
            into = f'app."{t}"'
            if cycle:
                into = f"cycle_{number}_{i}"
                script.append(f'CREATE TEMP TABLE {into} (LIKE app."{t}") ON COMMIT DROP;')
                inserts.append(
                    f'i{i} AS (INSERT INTO app."{t}" ({quoted}) OVERRIDING SYSTEM VALUE '
                    f"SELECT {quoted} FROM {into})"
                )
            script.append(
                f"\\copy {into} ({quoted}) FROM '{work / (t + '.csv')}' WITH (FORMAT csv)"
            )
        if inserts:
            script.append("WITH " + ", ".join(inserts) + " SELECT 1;")
    script.append("COMMIT;")
    sql = work / "copy.sql"
    sql.write_text("\n".join(script) + "\n")
    started = time.perf_counter()
    subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(sql)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
