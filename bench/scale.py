"""Scale: the retail example at 10M and 100M rows through the batch partitions of the Dagster
graph (generate, mask, batch checks, seal, validate: keys across all batches), each size in a
process of its own, measuring rows/s and that process's peak RSS.

    python bench/scale.py [--rows 100000000] [--batch-rows 1000000] [--json]

Sizes are 10M and `--rows` (smaller sizes are for trying it out: `--rows 2000000` runs 1M and
2M). Peak memory must not grow with the total rows: every batch has the same size, and the
checks across all batches (keys, rules across tables) read a check's columns into memory only
up to tdm.validation.spill.KEY_BUDGET bytes, bigger ones being streamed into DuckDB, which
spills to disk past SPILL_MEMORY (their seconds are reported). `tdm run` runs the graph in one
process, so its peak RSS is the run's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tdm.validation import spill

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ROWS = 103_226  # schemas/retail.yaml at scale 1
TDM = str(Path(sys.executable).with_name("tdm"))


def run(rows: int, batch_rows: int, work: Path) -> dict:
    """One size in a fresh `tdm run` process: seconds, rows, peak RSS, validation figures."""
    schemas, home = work / "schemas", work / "home"
    schemas.mkdir(parents=True)
    scale = rows / EXAMPLE_ROWS
    text = (ROOT / "schemas" / "retail.yaml").read_text()
    batch = batch_rows  # rows of each table per batch partition
    text = re.sub(r"(?m)^batch_size: \d+", f"batch_size: {batch}", text)
    (schemas / "retail.yaml").write_text(text)
    env = os.environ | {
        "TDM_HOME": str(home),
        "TDM_SCHEMAS": str(schemas),
        "TDM_MASKING_KEY": secrets.token_hex(32),
    }
    command = [TDM, "run", str(schemas / "retail.yaml"), "--scale", f"{scale:.6f}", "--quiet"]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=work, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    out = child.stdout.read() if child.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"tdm run failed at {rows:,} rows:\n{out}")
    version = re.search(r"version (v[0-9a-f]+)", out)
    report = json.loads(next((home / "store" / "retail").glob("*/validation.json")).read_text())
    stats = report["stats"]
    return {
        "target_rows": rows,
        "rows": stats["rows"],
        "batches": stats["batches"],
        "batch_size": batch,
        "seconds": round(seconds, 1),
        "rows_per_s": round(stats["rows"] / seconds),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "validation_passed": report["success"],
        "validation_seconds": stats["seconds"],
        "cross_table_seconds": stats["seconds_by_table"].get("cross-table"),
        "version": version.group(1) if version else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000_000)
    p.add_argument("--batch-rows", type=int, default=500_000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    sizes = sorted({min(10_000_000, args.rows // 2 or 1), args.rows})
    results = []
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="tdm-scale-") as tmp:
            results.append(run(rows, args.batch_rows, Path(tmp)))
        if not args.json:
            r = results[-1]
            print(
                f"{r['rows']:>12,} rows  {r['seconds']:>8.1f} s  {r['rows_per_s']:>9,} rows/s  "
                f"peak RSS {r['peak_rss_mb']:>6,} MB  validation "
                f"{'passed' if r['validation_passed'] else 'FAILED'} "
                f"({r['validation_seconds']:.0f} s, keys across batches "
                f"{r['cross_table_seconds']:.0f} s)",
                flush=True,
            )
    small, big = results[0], results[-1]
    summary = {
        "sizes": results,
        "peak_rss_ratio": round(big["peak_rss_mb"] / small["peak_rss_mb"], 2),
        "rows_ratio": round(big["rows"] / small["rows"], 1),
        "validation_memory": {  # the bounds of the checks across batches (tdm.validation.spill)
            "key_budget_mb": spill.KEY_BUDGET // 2**20,
            "spill_memory_mb": spill.SPILL_MEMORY_MB,
            "spill_threads": spill.SPILL_THREADS,
        },
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"peak RSS ratio {summary['peak_rss_ratio']} for {summary['rows_ratio']}x the rows")


if __name__ == "__main__":
    main()
