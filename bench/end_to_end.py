"""End to end into PostgreSQL: the Dagster graph against `psql \\copy`, in the same run.

    python bench/end_to_end.py [--scale 10] [--json]

The retail example scaled to >= 1M rows goes through the whole graph in-process (generate, mask,
batch checks, seal, validate, load into a PostgreSQL environment: staging schema, binary COPY,
keys, swap). The baseline loads the same rows, exported as CSV beforehand (not timed), with one
`psql \\copy` per table into the same DDL (keys and foreign keys included), as a hand-made
pipeline would. Each starts after a CHECKPOINT, so that neither pays for the WAL of what ran
before it. Needs the PostgreSQL on 127.0.0.1:5432 (trust auth, a superuser) and `psql`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import pyarrow.csv as pacsv
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(stat: str, children: bool) -> float:
    fields = stat.rsplit(")", 1)[1].split()  # utime, stime, cutime, cstime are fields 14-17
    used = int(fields[11]) + int(fields[12])
    return (used + (int(fields[13]) + int(fields[14]) if children else 0)) / TICKS


def postgres_cpu(postmaster: int | None) -> float | None:
    """CPU seconds PostgreSQL has used so far: the postmaster with its ended children (backends
    that exited) and its live ones. None when its processes cannot be read (not on this host)."""
    if postmaster is None:
        return None
    try:
        total = _cpu(Path(f"/proc/{postmaster}/stat").read_text(), children=True)
    except OSError:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:  # its parent
            total += _cpu(stat, children=False)
    return total


def find_postmaster() -> int | None:
    """The postmaster of the server on ADMIN, if it runs on this host (a backend's parent)."""
    with psycopg.connect(ADMIN) as conn:  # (read while the backend lives)
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        try:
            status = Path(f"/proc/{backend}/status").read_text()
        except OSError:
            return None
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:"))


def checkpoint() -> None:
    """Flush the server's dirty pages before a timed part: a checkpoint the WAL of what ran
    before (the other part, an earlier run) sets off would otherwise land inside it."""
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def spent(postmaster: int | None, before: float | None) -> float | None:
    now = postgres_cpu(postmaster)
    return None if now is None or before is None else round(now - before, 2)


class Stages:
    """Seconds per stage of the run, from its events as they happen: each step's wall time
    (start to success) and the seconds each asset's metadata reports per stage."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}
        self.steps: dict[str, float] = {}
        self.figures: dict[str, float] = {}
        self.first = self.last = 0.0

    def __call__(self, kind: str, entry) -> None:
        now = time.perf_counter()
        self.first, self.last = self.first or now, now
        event = entry.dagster_event
        if event is None or not entry.step_key:
            return
        step = entry.step_key.removeprefix("retail__").removeprefix("retail_")
        if event.event_type_value == "STEP_START":
            self.started[step] = now
        elif event.event_type_value == "STEP_SUCCESS":
            self.steps[step] = round(now - self.started[step], 3)
        elif event.event_type_value == "ASSET_MATERIALIZATION":
            path = event.asset_key.path
            for name, value in event.step_materialization_data.materialization.metadata.items():
                if name.endswith("_seconds") and isinstance(value.value, int | float):
                    # a batch asset's metadata is repeated on each of its partitions
                    where = " ".join(path[1:3]) if path[1] != "version" else "version"
                    self.figures[f"{where} {name}"] = round(value.value, 3)

    def report(self) -> dict:
        stepped = sum(self.steps.values())
        return {
            "steps": self.steps,
            "outside_steps": round(self.last - self.first - stepped, 3),
            "stages": self.figures,
        }


def pipeline(
    work: Path, url: str, scale: float, stages: Stages, postmaster: int | None
) -> tuple[int, float, str, float, float, float | None]:
    """Rows, seconds, version, the seconds of warm-up (imports) before timing, the CPU seconds
    of this process while timed and PostgreSQL's."""
    started = time.perf_counter()
    import great_expectations  # noqa: F401  (imported before timing, as a code server has it)

    from pipelines.runner import instance, run_dataset
    from tdm.plan.loading import load_spec

    # a code server has loaded the example's spec too (its definitions), and with it what that
    # imports (DuckDB and sqlglot check the spec's conditions); the run's plan is loaded timed
    load_spec(ROOT / "schemas" / "retail.yaml")
    warm = time.perf_counter() - started
    schemas = work / "schemas"
    schemas.mkdir()
    # batches of 100k rows for a 1M-row run (the example's 10k suit its 100k rows)
    text = (ROOT / "schemas" / "retail.yaml").read_text()
    (schemas / "retail.yaml").write_text(text.replace("batch_size: 10000", "batch_size: 100000"))
    (schemas / "environments.yaml").write_text(
        "environments:\n  bench:\n    url: ${BENCH_URL}\n    schema: retail\n"
    )
    os.environ.update(
        TDM_SCHEMAS=str(schemas),
        TDM_HOME=str(work / "home"),
        DAGSTER_HOME=str(work / "home" / "dagster"),
        BENCH_URL=url,
        TDM_MASKING_KEY=secrets.token_hex(32),
    )
    with instance() as inst:  # as `tdm run` has it: SQLite storage in a fresh DAGSTER_HOME
        checkpoint()
        pg_started = postgres_cpu(postmaster)
        started, cpu_started = time.perf_counter(), time.process_time()
        plan = load_spec(schemas / "retail.yaml", scale=scale)
        summary = run_dataset(plan, env="bench", inst=inst, listen=stages)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        pg_cpu = spent(postmaster, pg_started)
    return sum(summary.rows.values()), seconds, summary.version, warm, cpu, pg_cpu


def baseline(
    work: Path, url: str, version: str, postmaster: int | None
) -> tuple[int, float, float | None]:
    """The same rows as CSV, loaded with psql \\copy into the same DDL: rows, seconds and
    PostgreSQL's CPU seconds."""
    from tdm.spec.model import DatasetSpec
    from tdm.store.versions import VersionStore
    from tdm.targets.ddl import metadata_for

    store = VersionStore(work / "home" / "store")
    manifest = store.manifest("retail", version)
    spec = DatasetSpec.model_validate(manifest["spec"])
    files, rows = {}, 0
    for table in manifest["order"]:
        files[table] = work / f"{table}.csv"
        data = store.read_table("retail", version, table)
        pacsv.write_csv(data, files[table])
        rows += data.num_rows
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA copy_baseline"))
    metadata_for(spec, "postgresql", schema="copy_baseline", order=manifest["order"]).create_all(
        engine
    )
    engine.dispose()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    checkpoint()
    pg_started = postgres_cpu(postmaster)  # (reading /proc: before the clock starts)
    started = time.perf_counter()
    for table in manifest["order"]:
        copy = f"\\copy copy_baseline.{table} FROM '{files[table]}' WITH (FORMAT csv, HEADER true)"
        subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-q", "-c", copy], check=True)
    return rows, time.perf_counter() - started, spent(postmaster, pg_started)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=10.0, help="retail is ~103k rows at 1")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    name = f"tdm_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            stages, postmaster = Stages(), find_postmaster()
            rows, seconds, version, warm, cpu, pg_cpu = pipeline(
                work, url, args.scale, stages, postmaster
            )
            copy_rows, copy_seconds, copy_pg_cpu = baseline(work, url, version, postmaster)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert rows == copy_rows
    result = {
        "rows": rows,
        "pipeline_seconds": round(seconds, 2),
        "pipeline_rows_per_s": round(rows / seconds),
        "copy_seconds": round(copy_seconds, 2),
        "copy_rows_per_s": round(rows / copy_seconds),
        "ratio": round((rows / seconds) / (rows / copy_seconds), 2),
        "warm_up_seconds_not_timed": round(warm, 2),
        "ratio_including_warm_up": round((rows / (seconds + warm)) / (rows / copy_seconds), 2),
        "pipeline_cpu_seconds": round(cpu, 2),  # of this process
        # PostgreSQL's CPU in each (None when its processes are not on this host)
        "pipeline_postgres_cpu_seconds": pg_cpu,
        "copy_postgres_cpu_seconds": copy_pg_cpu,
        # the best ratio the pipeline's CPU and PostgreSQL's allow on this machine's cores,
        # with every second of both overlapped
        "ratio_ceiling": None
        if pg_cpu is None
        else round(copy_seconds / ((cpu + pg_cpu) / (os.cpu_count() or 1)), 2),
        # tables built in staging while the batches are made (pipelines.runner, TDM_EARLY_LOAD)
        "early_load": os.environ.get("TDM_EARLY_LOAD", "1").strip() != "0",
        **stages.report(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"pipeline : {result['pipeline_rows_per_s']:>9,} rows/s  ({rows:,} rows, "
        f"{seconds:.1f} s: generate, mask, check, seal, validate, load)"
    )
    print(f"psql copy: {result['copy_rows_per_s']:>9,} rows/s  ({copy_seconds:.1f} s)")
    print(f"ratio    : {result['ratio']:>9}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
