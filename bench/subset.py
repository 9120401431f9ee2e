"""Subsetting: the same subset from a small and a large source, memory and speed.

    python bench/subset.py [--small 100000] [--large 10000000] [--orders 20000] [--json]

Two PostgreSQL sources of the same shape (customers referenced by orders, orders by lines, a
customer referring another: a self-reference) are filled with generate_series, `--small` and
`--large` rows in all. From each, the subset `orders where id <= --orders` with children
(their lines, at most 3 per order) and every parent row they need is chosen and extracted to
Parquet (`tdm generate`'s path), in a child process each, which reports its peak RSS. The subset
has the same size in both sources, so the figures compare what the source size costs. Needs the
PostgreSQL on 127.0.0.1:5432 (trust auth).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"
SQL = """
CREATE TABLE customers (id bigint PRIMARY KEY, name text, referred_by bigint
                        REFERENCES customers, created date);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
                     total numeric(10,2), note text);
CREATE TABLE lines (order_id bigint NOT NULL REFERENCES orders, line int, qty int,
                    PRIMARY KEY (order_id, line));
INSERT INTO customers SELECT i, 'customer ' || i, CASE WHEN i > 10 AND i % 3 = 0 THEN i / 10 END,
       date '2020-01-01' + (i % 1500)::int FROM generate_series(1::bigint, {customers}) i;
INSERT INTO orders SELECT i, 1 + (i * 7919) % {customers}, (i % 900) + 0.5, 'order ' || i
FROM generate_series(1::bigint, {orders}) i;
INSERT INTO lines SELECT 1 + (i - 1) / 4, 1 + (i - 1) % 4, i % 7
FROM generate_series(1::bigint, {lines}) i;
ANALYZE;
"""
SPEC = """
dataset: subset_bench
source: {{url: "{url}"}}
batch_size: 10000
tables:
  customers:
    source: true
    primary_key: id
    columns:
      id: {{type: int}}
      name: {{type: string, allow: synthetic benchmark data}}
      referred_by: {{type: int, references: customers}}
      created: {{type: date, allow: synthetic benchmark data}}
  orders:
    source: true
    primary_key: id
    columns:
      id: {{type: int}}
      customer_id: {{type: int, references: customers}}
      total: {{type: "decimal(10,2)"}}
      note: {{type: string, allow: synthetic benchmark data}}
  lines:
    source: true
    primary_key: [order_id, line]
    columns:
      order_id: {{type: int, references: orders}}
      line: {{type: int}}
      qty: {{type: int}}
subset:
  roots: [{{table: orders, where: "id <= {roots}"}}]
  children: {{max_per_parent: 3}}
"""


def fill(total: int) -> tuple[str, str]:
    """A new database with `total` rows in all: 20% customers, 20% orders, 60% lines."""
    name = f"tdm_bench_subset_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    customers, orders = total // 5, total // 5
    lines = total - customers - orders
    try:
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}") as conn:
            conn.execute(
                SQL.format(customers=customers, orders=orders, lines=min(lines, orders * 4))
            )
    except BaseException:
        drop(name)
        raise
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def child(url: str, roots: int) -> dict:
    """In this process: choose and extract the subset; its figures and peak RSS."""
    sys.path.insert(0, str(ROOT))
    from tdm.plan.loading import load_spec
    from tdm.produce.parquet_files import generate_to_dir

    with tempfile.TemporaryDirectory() as work:
        spec = Path(work) / "subset_bench.yaml"
        spec.write_text(SPEC.format(url=url, roots=roots))
        started = time.perf_counter()
        plan = load_spec(spec)
        planned = time.perf_counter() - started
        counts = generate_to_dir(plan, Path(work) / "out")
        seconds = time.perf_counter() - started
    rows = sum(counts.values())
    # what the report's exact row counts cost (a scan of each table): the part of choosing that
    # grows with the source rather than with the subset
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq) as conn:
        counted = time.perf_counter()
        for t in ("customers", "orders", "lines"):
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()
        count_seconds = time.perf_counter() - counted
    return {
        "count_seconds": round(count_seconds, 2),
        "rows_chosen": counts,
        "source_rows": sum(r["of"] for r in plan.subset.report()),
        "choose_seconds": round(plan.subset.seconds, 2),
        "plan_seconds": round(planned, 2),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measure(total: int, roots: int) -> dict:
    started = time.perf_counter()
    name, url = fill(total)
    filled = time.perf_counter() - started
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", url, "--orders", str(roots)],
            check=True, capture_output=True, text=True, cwd=ROOT,
        ).stdout  # fmt: skip
        return {"fill_seconds": round(filled, 1), **json.loads(out.splitlines()[-1])}
    finally:
        drop(name)


def drop(name: str) -> None:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=10_000_000)
    ap.add_argument("--orders", type=int, default=5_000, help="root orders (id <= this)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.orders)))
        return
    small, large = measure(args.small, args.orders), measure(args.large, args.orders)
    result = {
        "small": small,
        "large": large,
        "rss_ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 2),
        "speed_ratio": round(small["rows_per_s"] / large["rows_per_s"], 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for label in ("small", "large"):
        r = result[label]
        print(
            f"{label}: {r['source_rows']:,} source rows -> {sum(r['rows_chosen'].values()):,} "
            f"chosen; choose {r['choose_seconds']} s, all {r['seconds']} s, "
            f"{r['rows_per_s']:,} rows/s, peak RSS {r['peak_rss_mb']} MB"
        )
    print(f"RSS ratio large/small {result['rss_ratio']}; speed ratio {result['speed_ratio']}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
