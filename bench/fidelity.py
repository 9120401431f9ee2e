"""Fidelity of profiled generation: how close `tdm introspect --profile` + `tdm generate` come
to the source's distributions, column by column.

    python bench/fidelity.py [--customers 20000] [--min-count 10] [--json] [--keep]

A source database (`tdm_fidelity_src`, dropped and created again each run) is filled by SQL
with a fixed `setseed` with skewed, correlated data: customers (segment, country, household
size with skewed shares; age normal-ish and older for business segments; signup dates skewed
toward recent; a lognormal score depending on the segment; a channel with ~20% NULLs; an email)
and orders (a skewed number per customer, exponential with a mean depending on the segment;
a skewed status; a lognormal amount depending on the segment; ordered_at after the customer's
signup, skewed toward recent). `tdm introspect --profile` writes the spec and `tdm generate`
writes the rows to Parquet (subprocesses, the same row counts as the source). Then per column:

- total-variation distance (0.5 * sum |p_src - p_gen|, NULL a category) for text, boolean and
  numbers of at most 50 distinct values in the source (target <= 0.05);
- two-sample Kolmogorov-Smirnov statistic on the non-null values of numbers, dates and
  timestamps (target <= 0.05);
- the difference of NULL shares, for columns with NULLs on either side (target <= 0.01, the
  bench's own; TVD already counts NULLs as a category);
- per foreign key, the KS statistic of the children per parent row, parents without children
  included (target <= 0.05).

Primary keys (sequences by construction), foreign-key columns (measured as children per
parent) and text columns the spec gives no `choice` (PII, which profiling copies nothing from,
or free text) are skipped and listed with the reason. The bench measures; nothing is tuned.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

ROOT = Path(__file__).parents[1]
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
SOURCE = "tdm_fidelity_src"
TDM = [sys.executable, "-m", "tdm.cli"]
TARGET = 0.05
NULL_TARGET = 0.01
LOW_CARDINALITY = 50
CATEGORICAL_TYPES = {"text", "character varying", "character", "boolean", "USER-DEFINED"}
TIME_TYPES = {"date", "timestamp without time zone", "timestamp with time zone"}

SCHEMA_SQL = """
CREATE TABLE customers (
  id bigint PRIMARY KEY,
  email text NOT NULL,
  segment text NOT NULL,
  country text NOT NULL,
  household_size integer NOT NULL,
  age integer NOT NULL,
  signup_date date NOT NULL,
  score numeric(10,2) NOT NULL,
  channel text
);
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers(id),
  status text NOT NULL,
  amount numeric(12,2) NOT NULL,
  ordered_at timestamp NOT NULL
);
"""

# u1 picks the segment, which age, score, the number of orders and their amounts follow.
CUSTOMERS_SQL = """
INSERT INTO customers
SELECT i, 'user' || i || '@example.com',
  CASE WHEN u1 < 0.70 THEN 'consumer' WHEN u1 < 0.90 THEN 'smb'
       WHEN u1 < 0.98 THEN 'enterprise' ELSE 'government' END,
  CASE WHEN u2 < 0.40 THEN 'US' WHEN u2 < 0.55 THEN 'DE' WHEN u2 < 0.67 THEN 'GB'
       WHEN u2 < 0.75 THEN 'FR' WHEN u2 < 0.81 THEN 'NL' WHEN u2 < 0.86 THEN 'ES'
       WHEN u2 < 0.90 THEN 'IT' WHEN u2 < 0.93 THEN 'SE' WHEN u2 < 0.95 THEN 'PL'
       WHEN u2 < 0.97 THEN 'JP' WHEN u2 < 0.985 THEN 'BR' WHEN u2 < 0.995 THEN 'IN'
       WHEN u2 < 0.9997 THEN 'CA' ELSE 'IS' END,
  least(6, 1 + floor(-ln(1 - u3) * 1.2))::int,
  greatest(18, least(90, round(38 + 12 * z1 + CASE WHEN u1 >= 0.90 THEN 6 ELSE 0 END)))::int,
  date '2026-06-30' - floor(1800 * power(u4, 3))::int,
  round(exp(3 + 0.8 * z2
            + CASE WHEN u1 >= 0.90 THEN 0.7 WHEN u1 >= 0.70 THEN 0.3 ELSE 0 END)::numeric, 2),
  CASE WHEN u5 < 0.20 THEN NULL WHEN u5 < 0.60 THEN 'web' WHEN u5 < 0.85 THEN 'mobile'
       WHEN u5 < 0.97 THEN 'store' ELSE 'partner' END
FROM (
  SELECT i, random() u1, random() u2, random() u3, random() u4, random() u5,
    sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) z1,
    sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) z2
  FROM generate_series(1, %s) i
) s
"""

ORDERS_SQL = """
INSERT INTO orders
SELECT row_number() OVER (ORDER BY k.id, g), k.id,
  CASE WHEN random() < 0.80 THEN 'delivered' WHEN random() < 0.5 THEN 'shipped'
       WHEN random() < 0.6 THEN 'cancelled' ELSE 'returned' END,
  round(exp(3.5 + 0.9 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())
            + CASE k.segment WHEN 'enterprise' THEN 1.5 WHEN 'government' THEN 1.2
                             WHEN 'smb' THEN 0.6 ELSE 0 END)::numeric, 2),
  k.signup_date + (date '2026-06-30' - k.signup_date) * power(random(), 0.5) * interval '1 day'
FROM (
  SELECT id, segment, signup_date,
    floor(-ln(1 - random()) * CASE segment WHEN 'enterprise' THEN 9 WHEN 'government' THEN 6
                                           WHEN 'smb' THEN 4 ELSE 2 END)::int AS n
  FROM customers ORDER BY id
) k, generate_series(1, k.n) g
"""


def _create_source(customers: int) -> str:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SOURCE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SOURCE}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{SOURCE}"
    with psycopg.connect(url) as conn:
        conn.execute(SCHEMA_SQL)
        conn.execute("SELECT setseed(0.42)")
        conn.execute(CUSTOMERS_SQL, [customers])
        conn.execute("SELECT setseed(0.43)")
        conn.execute(ORDERS_SQL)
        conn.execute("ANALYZE")
    return url


def _catalog(conn: psycopg.Connection) -> tuple[dict, set, list]:
    """Columns {table: [(column, data_type)]}, primary-key columns {(table, column)}, and
    single-column foreign keys [(child, column, parent, parent_column)] of schema public."""
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(table, []).append((column, dtype))
    keys = set()
    fks = []
    for kind, child, cols, parent, pcols in conn.execute(
        "SELECT c.contype, c.conrelid::regclass::text,"
        " ARRAY(SELECT attname FROM pg_attribute a WHERE a.attrelid = c.conrelid"
        "       AND a.attnum = ANY(c.conkey))::text[],"
        " c.confrelid::regclass::text,"
        " ARRAY(SELECT attname FROM pg_attribute a WHERE a.attrelid = c.confrelid"
        "       AND a.attnum = ANY(c.confkey))::text[]"
        " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
        " WHERE n.nspname = 'public' AND c.contype IN ('p', 'f')"
    ):
        if kind == "p":
            keys.update((child, c) for c in cols)
        elif len(cols) == 1:
            fks.append((child, cols[0], parent, pcols[0]))
    return columns, keys, fks


def _spec_notes(spec: Path) -> tuple[dict, dict]:
    """Each column's generator, and the comment lines introspect wrote above it."""
    generators = {}
    for table, body in yaml.safe_load(spec.read_text())["tables"].items():
        for column, col in body["columns"].items():
            generators[(table, column)] = col.get("generator")
    notes: dict[tuple[str, str], str] = {}
    table, pending = None, []
    for line in spec.read_text().splitlines():
        if m := re.match(r"^  (\w+):\s*$", line):
            table, pending = m.group(1), []
        elif m := re.match(r"^      #\s*(.*)$", line):
            pending.append(m.group(1))
        elif (m := re.match(r"^      (\w+):", line)) and table:
            notes[(table, m.group(1))] = "; ".join(pending)
            pending = []
    return generators, notes


def _numeric_sql(column: str, dtype: str) -> str:
    if dtype == "date":
        return f"((\"{column}\" - date '1970-01-01') * 86400)::float8"
    if dtype in TIME_TYPES:
        return f'extract(epoch FROM "{column}")::float8'
    return f'"{column}"::float8'


def _source_column(conn: psycopg.Connection, table: str, column: str, dtype: str) -> list:
    expr = f'"{column}"::text' if dtype in CATEGORICAL_TYPES else _numeric_sql(column, dtype)
    return [r[0] for r in conn.execute(f'SELECT {expr} FROM "{table}"')]


def _generated_column(arr: pa.ChunkedArray, categorical: bool) -> list:
    t = arr.type
    if categorical:
        if pa.types.is_boolean(t):
            return [None if v is None else ("true" if v else "false") for v in arr.to_pylist()]
        return [None if v is None else str(v) for v in arr.to_pylist()]
    if pa.types.is_date32(t):
        arr = pc.multiply(arr.cast(pa.int32()).cast(pa.float64()), 86400.0)
    elif pa.types.is_timestamp(t):
        arr = pc.divide(arr.cast(pa.timestamp("us", tz=t.tz)).cast(pa.int64()), 1e6)
    return arr.cast(pa.float64()).to_pylist()


def tvd(src: list, gen: list) -> float:
    """0.5 * sum over the union of values of |share in src - share in gen|; None is a value."""
    shares: dict = {}
    for values, sign in ((src, 1.0), (gen, -1.0)):
        n = len(values)
        for v in values:
            shares[v] = shares.get(v, 0.0) + sign / n
    return 0.5 * sum(abs(d) for d in shares.values())


def ks(src: np.ndarray, gen: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: max |ECDF_src - ECDF_gen| over pooled values."""
    a, b = np.sort(src), np.sort(gen)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    pooled = np.concatenate([a, b])
    fa = np.searchsorted(a, pooled, side="right") / len(a)
    fb = np.searchsorted(b, pooled, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def _non_null(values: list) -> np.ndarray:
    return np.array([v for v in values if v is not None], dtype=np.float64)


def _result(metric: str, value: float, target: float, **extra: object) -> dict:
    return {
        "metric": metric,
        "value": round(value, 4),
        "target": target,
        "met": bool(value <= target),
        **extra,
    }


def compare(url: str, spec: Path, out: Path) -> dict:
    generators, notes = _spec_notes(spec)
    results: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    rows: dict[str, dict] = {}
    with psycopg.connect(url) as conn:
        columns, keys, fks = _catalog(conn)
        fk_columns = {(child, col) for child, col, _, _ in fks}
        generated = {t: pq.read_table(out / f"{t}.parquet") for t in columns}
        for table, cols in columns.items():
            gen = generated[table]
            src_rows = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            rows[table] = {"source": src_rows, "generated": gen.num_rows}
            for column, dtype in cols:
                name = f"{table}.{column}"
                if (table, column) in keys:
                    skipped[name] = "primary key (a sequence by construction)"
                    continue
                if (table, column) in fk_columns:
                    skipped[name] = "foreign key (measured as children per parent)"
                    continue
                categorical = dtype in CATEGORICAL_TYPES
                if categorical and generators.get((table, column)) != "choice":
                    note = notes.get((table, column), "")
                    skipped[name] = (
                        f"personal: {note}"
                        if "looks like" in note
                        else f"free text, no choice in the spec ({note or 'no profile note'})"
                    )
                    continue
                src = _source_column(conn, table, column, dtype)
                out_values = _generated_column(gen.column(column), categorical)
                distinct = len({v for v in src if v is not None})
                if categorical or distinct <= LOW_CARDINALITY:
                    metric = "tvd" if categorical else f"tvd (low cardinality: {distinct} values)"
                    results[name] = _result(metric, tvd(src, out_values), TARGET)
                else:
                    results[name] = _result("ks", ks(_non_null(src), _non_null(out_values)), TARGET)
                src_null = sum(v is None for v in src) / max(len(src), 1)
                gen_null = sum(v is None for v in out_values) / max(len(out_values), 1)
                if src_null or gen_null:
                    results[f"{name} [null share]"] = _result(
                        "null share difference",
                        abs(src_null - gen_null),
                        NULL_TARGET,
                        source=round(src_null, 4),
                        generated=round(gen_null, 4),
                    )
        for child, column, parent, pcol in fks:
            src_counts = np.array(
                [
                    r[0]
                    for r in conn.execute(
                        f'SELECT count(c."{column}") FROM "{parent}" p'
                        f' LEFT JOIN "{child}" c ON c."{column}" = p."{pcol}" GROUP BY p."{pcol}"'
                    )
                ],
                dtype=np.float64,
            )
            parents = generated[parent].column(pcol).to_numpy()
            refs = generated[child].column(column).drop_null().to_numpy()
            order = np.argsort(parents)
            pos = np.searchsorted(parents, refs, sorter=order)
            gen_counts = np.bincount(order[pos], minlength=len(parents)).astype(np.float64)
            results[f"{child}.{column} -> {parent} [children per parent]"] = _result(
                "ks",
                ks(src_counts, gen_counts),
                TARGET,
                source_mean=round(float(src_counts.mean()), 3),
                generated_mean=round(float(gen_counts.mean()), 3),
                source_sd=round(float(src_counts.std()), 3),
                generated_sd=round(float(gen_counts.std()), 3),
                source_zero_share=round(float(np.mean(src_counts == 0)), 4),
                generated_zero_share=round(float(np.mean(gen_counts == 0)), 4),
            )
    met = sum(r["met"] for r in results.values())
    return {
        "columns": results,
        "skipped": skipped,
        "rows": rows,
        "summary": {"met": met, "total": len(results), "not_met": len(results) - met},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=20000, help="source customers (orders ~2.6x)")
    ap.add_argument("--min-count", type=int, default=10, help="tdm introspect --min-count")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--keep", action="store_true", help="keep the source database, spec and Parquet files"
    )
    args = ap.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="tdm-fidelity-"))
    env = {
        **os.environ,
        "TDM_HOME": str(work / "home"),
        "TDM_SCHEMAS": str(work / "schemas"),
        "TDM_ALLOW_DEV_KEY": "1",
    }
    (work / "schemas").mkdir()
    spec = work / "schemas" / "fidelity.yaml"
    try:
        url = _create_source(args.customers)
        quiet = {"check": True, "env": env, "cwd": ROOT, "stdout": subprocess.DEVNULL}
        profile = ["--profile", "--min-count", str(args.min_count)]
        subprocess.run([*TDM, "introspect", url, *profile, "-o", str(spec)], **quiet)
        gen = [*TDM, "generate", str(spec), "--out", str(work / "out"), "--dev-key", "--quiet"]
        subprocess.run(gen, **quiet)
        report = compare(url, spec, work / "out")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{SOURCE}" WITH (FORCE)')
    report["summary"]["seconds"] = round(time.perf_counter() - started, 1)
    if args.keep:
        report["summary"]["kept"] = f"database {SOURCE}, spec and Parquet under {work}"
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'column':54} {'metric':30} {'value':>7} {'target':>7}  met")
    for name, r in report["columns"].items():
        mark = "yes" if r["met"] else "NO"
        print(f"{name:54} {r['metric']:30} {r['value']:7.4f} {r['target']:7.2f}  {mark}")
    print()
    for table, r in report["rows"].items():
        print(f"rows {table:49} source {r['source']:>8,} generated {r['generated']:>8,}")
    for name, why in report["skipped"].items():
        print(f"skipped {name:46} {why}")
    s = report["summary"]
    print(f"\n{s['met']} of {s['total']} targets met ({s['seconds']} s)")
    if "kept" in s:
        print(f"kept: {s['kept']}")


if __name__ == "__main__":
    main()
