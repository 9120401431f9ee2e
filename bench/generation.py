"""Generation speed: the engine against a per-row Faker loop, measured in the same run.

    python bench/generation.py [--rows 1000000] [--faker-rows 20000] [--json]

Both produce the same 10-column customers table (bench/customers.yaml) as Arrow batches. Peak RSS
is measured in child processes that stream 1M and 10M rows into Parquet in batches.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from faker import Faker

from tdm.plan.loading import load_spec
from tdm.produce.parquet_files import generate_to_dir

SPEC = Path(__file__).with_name("customers.yaml")


def engine_rate(rows: int) -> float:
    plan = load_spec(SPEC, scale=rows / 1_000_000)
    plan.generate("customers", 0, 1000)  # warm the Faker pools, as a long run would
    size, n = plan.spec.batch_size, plan.rows["customers"]
    started = time.perf_counter()
    for start in range(0, n, size):
        plan.generate("customers", start, min(n, start + size))
    return n / (time.perf_counter() - started)


def faker_rate(rows: int) -> float:
    fake = Faker("en_US")
    fake.seed_instance(1)
    started = time.perf_counter()
    records = [
        {
            "id": i,
            "first_name": fake.first_name(),
            "last_name": fake.last_name(),
            "email": fake.email(),
            "phone": fake.phone_number(),
            "date_of_birth": fake.date_of_birth(minimum_age=18, maximum_age=90),
            "city": fake.city(),
            "country_code": fake.country_code(),
            "credit_card_number": fake.credit_card_number(),
            "created_at": fake.date_time_between("-5y", "now"),
        }
        for i in range(rows)
    ]
    pa.Table.from_pylist(records)
    return rows / (time.perf_counter() - started)


def peak_rss_mb(rows: int) -> float:
    """Peak RSS of a child process streaming `rows` rows to Parquet."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(rows)], check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip())


def child(rows: int) -> None:
    plan = load_spec(SPEC, scale=rows / 1_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        generate_to_dir(plan, tmp)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--faker-rows", type=int, default=20_000)
    p.add_argument("--rss-rows", type=int, nargs=2, default=[1_000_000, 10_000_000])
    p.add_argument("--json", action="store_true")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child)
    engine, baseline = engine_rate(args.rows), faker_rate(args.faker_rows)
    small, large = (peak_rss_mb(n) for n in args.rss_rows)
    result = {
        "rows": args.rows,
        "engine_rows_per_s": round(engine),
        "faker_rows_per_s": round(baseline),
        "ratio": round(engine / baseline, 1),
        "peak_rss_mb": {str(args.rss_rows[0]): round(small), str(args.rss_rows[1]): round(large)},
        "rss_ratio": round(large / small, 2),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"engine : {engine:>12,.0f} rows/s  ({args.rows:,} rows, 10 columns)")
    print(f"faker  : {baseline:>12,.0f} rows/s  (per-row loop, {args.faker_rows:,} rows)")
    print(f"ratio  : {engine / baseline:>12,.1f}x")
    print(
        f"peak RSS: {small:,.0f} MB at {args.rss_rows[0]:,} rows, {large:,.0f} MB at "
        f"{args.rss_rows[1]:,} rows ({large / small:.2f}x)"
    )


if __name__ == "__main__":
    main()
