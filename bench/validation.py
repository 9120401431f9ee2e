"""Validation cost against generation: the 10-column customers table of bench/customers.yaml.

    python bench/validation.py [--rows 1000000] [--repeat 3] [--json] [--masked]
    python bench/validation.py --spec bench/numbers.yaml   # any spec of one table

Times, best of --repeat runs each, in one process after warming up (GX imported, Faker pools
loaded; the one-time GX import is reported apart):
- generate+mask: every batch generated and passed through the masker (this spec masks nothing,
  as a generated table usually does);
- validate, per batch: validate_batch on each batch as it is made (what a per-partition check
  adds to materialising it);
- validate, whole table: everything validate_version checks of this table, on its rows in
  memory: the suite on all rows at once (as the batch checks of a run do with the batches it
  made, up to 1M rows a call), the row count, and the keys unique over all batches;
- validate_version: the sealed version from disk: Parquet reads, the suite, row counts and the
  cross-batch key checks, report written.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from tdm.masking.apply import Masker
from tdm.masking.keys import key_from_env
from tdm.plan.loading import load_spec
from tdm.store.ids import version_id
from tdm.store.versions import VersionStore
from tdm.validation.runner import validate_batch, validate_table_counts, validate_version

SPEC = Path(__file__).with_name("customers.yaml")


def best(repeat: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


def breakdown(plan, table: str, whole: pa.Table, repeat: int) -> dict[str, float]:
    """Seconds per part of a whole-table validation: the pandas frame, the pyarrow checks, and
    each GX-run expectation validated alone (with GX's per-call overhead: alone, they add up to
    more than the suite run together), the sampled ones on the sample."""
    from tdm.validation.gx import frame, run
    from tdm.validation.runner import _own_check, _sample, _sample_positions
    from tdm.validation.suite import is_own, label, per_batch, suite_for

    configs = [c for c in suite_for(plan, table) if per_batch(c)]
    out = {"pandas frame (all columns)": best(repeat, lambda: frame(whole))[0]}
    own = [c for c in configs if is_own(c)]
    out[f"{len(own)} type/not-null checks (pyarrow)"] = best(
        repeat, lambda: [_own_check(table, c, whole, 0) for c in own]
    )[0]
    positions = _sample_positions(whole.num_rows)
    for c in configs:
        if not is_own(c):
            name = f"{c['type']} {label(table, c)[1]}"
            rows = whole
            if c.get("meta", {}).get("sample"):
                rows = _sample(whole, [c], positions)
                name += f" (sample of {rows.num_rows:,} rows)"
            out[name] = best(repeat, lambda c=c, rows=rows: run(plan, table, [c], rows, 5))[0]
    out["keys unique over all batches"] = best(repeat, lambda: unique_keys(plan, table, whole))[0]
    return {k: round(v, 3) for k, v in out.items()}


def unique_keys(plan, table: str, whole: pa.Table) -> list:
    """The table's derived uniqueness over all its rows, as validate_cross checks it."""
    from tdm.validation.keys import ROW, unique_result
    from tdm.validation.suite import all_batches, columns_of, suite_for

    out = []
    for cfg in filter(all_batches, suite_for(plan, table)):
        keys = whole.select(list(columns_of(cfg)))
        keys = keys.append_column(ROW, pa.array(np.arange(whole.num_rows)))
        out.append(unique_result(plan, table, cfg, keys.drop_null(), whole.num_rows))
    return out


def validate_table(plan, table: str, whole: pa.Table) -> list:
    return (
        validate_batch(plan, table, whole, 0)
        + validate_table_counts(plan, table, whole.num_rows)
        + unique_keys(plan, table, whole)
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.add_argument("--spec", type=Path, default=SPEC, help="another spec of one table")
    p.add_argument("--table", help="the table of --spec to measure (default: its first)")
    p.add_argument(
        "--masked",
        action="store_true",
        help="the table with its PII masked (customers_masked.yaml; needs a key: "
        "TDM_MASKING_KEY, or the public demo key is used)",
    )
    args = p.parse_args()

    started = time.perf_counter()
    from tdm.validation.gx import runtime

    runtime()
    gx_import = time.perf_counter() - started

    spec = SPEC.with_name("customers_masked.yaml") if args.masked else args.spec
    plan = load_spec(spec, scale=args.rows / 1_000_000)
    table = args.table or next(iter(plan.spec.tables))
    masker = Masker(plan, key_from_env(allow_dev=True) if args.masked else None)
    n, size = plan.rows[table], plan.spec.batch_size
    blocks = [(s, min(n, s + size)) for s in range(0, n, size)]
    validate_batch(plan, table, plan.generate(table, 0, 1000), 0)  # warm pools and suites

    def generate():
        return [masker.apply(table, plan.generate(table, s, e), s) for s, e in blocks]

    gen, batches = best(args.repeat, generate)
    whole = pa.concat_tables(batches)

    def per_batch():
        return [
            r
            for (s, _), b in zip(blocks, batches, strict=True)
            for r in validate_batch(plan, table, b, s)
        ]

    per, results = best(args.repeat, per_batch)
    one, results_whole = best(args.repeat, lambda: validate_table(plan, table, whole))
    assert all(r.success for r in results + results_whole), "the bench data must validate"

    per_check = breakdown(plan, table, whole, args.repeat)

    with tempfile.TemporaryDirectory() as tmp:
        store, version = VersionStore(tmp), version_id(plan.spec)
        for key, data in zip(plan.batch_keys(), batches, strict=False):
            store.write_batch(plan.name, version, table, key, data)
        store.seal(plan, version)
        stored, report = best(
            args.repeat, lambda: validate_version(store, plan, plan.name, version)
        )
    assert report["success"], report["failed"]

    result = {
        "rows": n,
        "columns": len(plan.spec.tables[table].columns),
        "batch_size": size,
        "expectations": len(results_whole),
        "gx_import_s": round(gx_import, 2),
        "generate_mask_s": round(gen, 3),
        "validate_per_batch_s": round(per, 3),
        "validate_whole_s": round(one, 3),
        "validate_version_s": round(stored, 3),
        "ratio_per_batch": round(per / gen, 3),
        "ratio_whole": round(one / gen, 3),
        "ratio_version": round(stored / gen, 3),
        "whole_table_breakdown_s": per_check,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{n:,} rows x {result['columns']} columns, batches of {size:,}, "
        f"{result['expectations']} checks; GX import {gx_import:.2f} s (once)"
    )
    print(f"generate+mask           : {gen:7.3f} s")
    for name, secs in [
        ("validate, per batch", per),
        ("validate, whole table", one),
        ("validate_version (disk)", stored),
    ]:
        print(f"{name:<24}: {secs:7.3f} s  = {secs / gen:6.1%} of generate+mask")
    print("whole table, part by part (each GX expectation validated alone):")
    for name, secs in per_check.items():
        print(f"  {secs:6.3f} s  {name}")


if __name__ == "__main__":
    main()
