"""Subsets of partitioned tables: range partitions (one sub-partitioned by list, DEFAULT ones)
referencing a plain table, hash partitions a plain table references, and a foreign key between
two partitioned tables; every partition holds as many rows, so each ctid exists in several. The
rows chosen are exactly the closure computed in SQL and load into an empty copy of the schema
with every constraint enforced; rows are read from each partition by its own ctid."""

from __future__ import annotations

import numpy as np
import psycopg
import pyarrow.parquet as pq
import pytest

from tdm.cli.main import main
from tdm.core.errors import TdmError
from tdm.plan.loading import load_spec
from tdm.produce.parquet_files import generate_to_dir
from tdm.source.snapshot import one_snapshot
from tdm.source.subset.rowids import SHIFT, by_ids, pieces
from tests.integration.subset.helpers import copy_schema, libpq, load

pytestmark = pytest.mark.xdist_group("postgres")

SCHEMA = """
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users,
                     total numeric(10,2)) PARTITION BY HASH (id);
CREATE TABLE orders_h0 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE orders_h1 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE orders_h2 PARTITION OF orders FOR VALUES WITH (MODULUS 3, REMAINDER 2);
CREATE TABLE order_lines (id int PRIMARY KEY, order_id int NOT NULL REFERENCES orders, qty int);
CREATE TABLE events (id int, at date, kind text, user_id int REFERENCES users,
                     order_id int REFERENCES orders, PRIMARY KEY (id, at, kind))
PARTITION BY RANGE (at);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
PARTITION BY LIST (kind);
CREATE TABLE events_2024_click PARTITION OF events_2024 FOR VALUES IN ('click');
CREATE TABLE events_2024_view PARTITION OF events_2024 FOR VALUES IN ('view');
CREATE TABLE events_2024_rest PARTITION OF events_2024 DEFAULT;
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_later PARTITION OF events DEFAULT;
CREATE INDEX ON events (order_id);
"""
# 200 orders in each hash partition, 60 events in each of the 6 leaves (ids 1-60 in the first,
# 61-120 in events_2024_click, ...): ctid (0,1) is in every partition of both tables
DATA = """
BEGIN;
INSERT INTO users SELECT i, 'user ' || i FROM generate_series(1, 100) i;
INSERT INTO orders SELECT id, 1 + (id * 7) % 100, (id % 300) + 0.5 FROM (
  SELECT id, row_number() OVER (PARTITION BY r ORDER BY id) AS n FROM generate_series(1, 1000) id,
  LATERAL (SELECT r FROM generate_series(0, 2) r
           WHERE satisfies_hash_partition('orders'::regclass, 3, r, id)) h) s WHERE n <= 200;
INSERT INTO order_lines SELECT o.id * 10 + l, o.id, l FROM orders o, generate_series(1, 3) l;
INSERT INTO events SELECT i, (ARRAY[date '2023-03-01', '2024-02-01', '2024-03-01',
       '2024-04-01', '2025-05-01', '2031-01-01'])[1 + (i - 1) / 60] + (i % 50),
       (ARRAY['view', 'click', 'view', 'buy', 'click', 'view'])[1 + (i - 1) / 60],
       CASE WHEN i % 7 <> 0 THEN 1 + (i * 13) % 100 END, CASE WHEN i % 3 <> 0 THEN
       (SELECT id FROM orders ORDER BY id OFFSET (i * 11) % 600 LIMIT 1) END
FROM generate_series(1, 360) i;
COMMIT;
"""
COLUMNS = {
    "users": ("[id]", "id: int, name: string"),
    "orders": ("[id]", "id: int, user_id: int, total: 'decimal(10,2)'"),
    "order_lines": ("[id]", "id: int, order_id: int, qty: int"),
    "events": ("[id, at, kind]", "id: int, at: date, kind: string, user_id: int, order_id: int"),
}
KEYS = {"users": ("id",), "orders": ("id",), "order_lines": ("id",), "events": ("id", "at", "kind")}
ROOTS = """
subset:
  roots:
    - {table: events, where: "id % 25 = 0"}
    - {table: orders, percent: 10}
  children: true
"""
# the same closure in SQL: the percent is the hash of the key text and the seed (5)
EXPECTED = """
WITH o0 AS (SELECT id FROM orders WHERE (hashtextextended(ROW(id)::text, 5)
                 & 9223372036854775807) % 1000000000 < 100000000),
ev AS (SELECT * FROM events WHERE id % 25 = 0 OR order_id IN (SELECT id FROM o0)),
li AS (SELECT * FROM order_lines WHERE order_id IN (SELECT id FROM o0)),
ord AS (SELECT * FROM orders WHERE id IN (SELECT id FROM o0) OR id IN (SELECT order_id FROM ev)
        OR id IN (SELECT order_id FROM li)),
us AS (SELECT * FROM users WHERE id IN (SELECT user_id FROM ev UNION SELECT user_id FROM ord))
SELECT 'events', ARRAY[id::text, at::text, kind] FROM ev UNION ALL
SELECT 'order_lines', ARRAY[id::text] FROM li UNION ALL SELECT 'orders', ARRAY[id::text] FROM ord
UNION ALL SELECT 'users', ARRAY[id::text] FROM us
"""


def spec_text(subset: str, batch_size: int = 25) -> str:
    lines = ['dataset: parts\nseed: 5\nsource: {url: "${SUBSET_SOURCE}"}',
             f"batch_size: {batch_size}\ntables:"]  # fmt: skip
    for table, (key, cols) in COLUMNS.items():
        lines.append(f"  {table}:\n    source: true\n    primary_key: {key}\n    columns:")
        for col in cols.split(", "):
            name, typ = col.split(": ")
            lines.append(f"      {name}: {{type: {typ}, allow: test data}}")
    return "\n".join(lines) + "\n" + subset


@pytest.fixture
def parts(postgres_db, monkeypatch) -> str:
    url = postgres_db(SCHEMA + DATA)
    monkeypatch.setenv("SUBSET_SOURCE", url)
    return url


@pytest.fixture
def read_only(parts, monkeypatch):
    """SUBSET_SOURCE as a role that may only SELECT (no TEMP, every transaction read-only)."""
    db = libpq(parts).split("dbname=")[1]
    role = f"ro_{db}"
    with psycopg.connect(libpq(parts), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f'REVOKE TEMP ON DATABASE "{db}" FROM PUBLIC')
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        conn.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
    monkeypatch.setenv("SUBSET_SOURCE", parts.replace("postgres@", f"{role}@"))
    yield role
    with psycopg.connect(libpq(parts), autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")


def keys(out, table: str) -> set[tuple[str, ...]]:
    rows = pq.read_table(out / f"{table}.parquet").select(list(KEYS[table])).to_pylist()
    return {tuple(str(r[k]) for k in KEYS[table]) for r in rows}


def expected(url: str) -> dict[str, set[tuple[str, ...]]]:
    found: dict[str, set] = {t: set() for t in COLUMNS}
    with psycopg.connect(libpq(url)) as conn:
        for table, key in conn.execute(EXPECTED).fetchall():
            found[table].add(tuple(key))
    return found


def test_the_closure_over_partitions_is_exact_and_loads(parts, postgres_db, write_spec, tmp_path):
    plan = load_spec(write_spec(spec_text(ROOTS)))
    out = tmp_path / "out"
    rows = generate_to_dir(plan, out)
    want = expected(parts)
    assert {t: keys(out, t) for t in COLUMNS} == want
    assert rows == {t: len(v) for t, v in want.items()}
    assert 0 < rows["events"] < 360 and 0 < rows["orders"] < 600 and rows["order_lines"] > 0
    report = {r["table"]: r for r in plan.subset.report()}
    assert {t: (r["chosen"], r["of"]) for t, r in report.items()} == {
        "users": (rows["users"], 100), "orders": (rows["orders"], 600),
        "order_lines": (rows["order_lines"], 1800), "events": (rows["events"], 360),
    }  # fmt: skip
    assert report["events"]["why"]["root"] == 360 // 25
    assert set(report["orders"]["why"]) == {"root", "parent of events"}
    assert len(plan.subset.leaves["events"]) == 6 and len(plan.subset.leaves["orders"]) == 3
    # each foreign key once: the parents' constraints, not the clones on every partition
    edges = sorted((e.table, e.columns, e.parent) for e in plan.subset.edges)
    assert edges == [("events", ("order_id",), "orders"), ("events", ("user_id",), "users"),
                     ("order_lines", ("order_id",), "orders"),
                     ("orders", ("user_id",), "users")]  # fmt: skip
    target = postgres_db()
    copy_schema(parts, target)
    load(target, {t: out / f"{t}.parquet" for t in ("users", "orders", "order_lines", "events")})


def test_a_ctid_repeated_in_other_partitions_is_one_row(parts, write_spec, tmp_path):
    with psycopg.connect(libpq(parts)) as conn:
        ctid, order = conn.execute(
            "SELECT ctid::text, order_id FROM events WHERE id = 61"
        ).fetchone()
        where = conn.execute("SELECT tableoid::regclass::text FROM events WHERE ctid = '(0,1)' "
                             "UNION ALL SELECT tableoid::regclass::text FROM orders "
                             "WHERE ctid = '(0,1)'").fetchall()  # fmt: skip
        lines = conn.execute(
            "SELECT count(*) FROM order_lines WHERE order_id = %s", (order,)
        ).fetchone()
    assert ctid == "(0,1)" and len(where) == 9  # in each of the 6 + 3 partitions
    roots = f'{{table: events, where: "id = 61"}}, {{table: orders, where: "id = {order}"}}'
    subset = f"subset:\n  roots: [{roots}]\n  children: true\n"
    plan = load_spec(write_spec(spec_text(subset)))
    leaf = plan.subset.leaves["events"].index('"public"."events_2024_click"')
    assert plan.subset.ids["events"].tolist() == [leaf << SHIFT | 1]
    out = tmp_path / "out"
    rows = generate_to_dir(plan, out)
    assert keys(out, "events") == {("61", "2024-02-12", "click")}
    assert keys(out, "orders") == {(str(order),)} and rows["order_lines"] == lines[0] == 3


def test_tdm_generate_with_workers_as_a_select_only_role(read_only, parts, write_spec, tmp_path):
    spec = write_spec(spec_text(ROOTS, batch_size=7))
    one = generate_to_dir(load_spec(spec), tmp_path / "one")
    out = tmp_path / "two"
    assert main(["generate", str(spec), "--out", str(out), "--workers", "2", "--quiet"]) == 0
    for t in COLUMNS:
        two = pq.read_table(out / f"{t}.parquet")
        assert two.equals(pq.read_table(tmp_path / "one" / f"{t}.parquet")), t
    want = {t: len(v) for t, v in expected(parts).items()}
    assert {t: len(keys(out, t)) for t in COLUMNS} == one == want


@pytest.mark.parametrize(
    "change",
    ["UPDATE events SET user_id = 2 WHERE id = 50",  # in place
     "UPDATE events SET at = '2025-06-01' WHERE id = 50"],  # into another partition
)  # fmt: skip
def test_the_xmin_check_catches_a_changed_partitioned_row(parts, write_spec, change):
    subset = 'subset:\n  roots: [{table: events, where: "id % 25 = 0"}]\n'
    plan = load_spec(write_spec(spec_text(subset)))
    n = plan.rows["events"]
    before = plan.generate("events", 0, n)
    with one_snapshot():
        held = load_spec(write_spec(spec_text(subset), "held.yaml"))
        with psycopg.connect(libpq(parts)) as conn:
            assert conn.execute(change).rowcount == 1
        assert held.generate("events", 0, n).equals(before)  # read in the held snapshot
    with pytest.raises(TdmError, match=r"1 of the 14 chosen rows .* updated, deleted or moved"):
        plan.generate("events", 0, n)


REFUSED = [
    (
        "CREATE FOREIGN DATA WRAPPER nothing; CREATE SERVER nowhere FOREIGN DATA WRAPPER nothing; "
        "CREATE TABLE logs (at date, msg text) PARTITION BY RANGE (at); "
        "CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') "
        "TO ('2025-01-01'); "
        "CREATE FOREIGN TABLE logs_old PARTITION OF logs FOR VALUES FROM ('2000-01-01') "
        "TO ('2024-01-01') SERVER nowhere;",
        "partition public.logs_old of public.logs is a foreign table",
    ),
    (
        "CREATE VIEW logs AS SELECT id AS at, name AS msg FROM users;",
        "subset the tables under the view",
    ),
]


@pytest.mark.parametrize(("sql", "words"), REFUSED)
def test_foreign_partitions_and_views_are_refused(parts, write_spec, sql, words):
    with psycopg.connect(libpq(parts)) as conn:
        conn.execute(sql)
    spec = spec_text('subset:\n  roots: [{table: logs, where: "true"}]\n').replace(
        "tables:",
        "tables:\n  logs:\n    source: true\n    columns:\n"
        "      at: {type: string, allow: test data}\n      msg: {type: string, allow: test data}",
    )
    with pytest.raises(TdmError, match=words):
        load_spec(write_spec(spec))


def test_a_partition_the_source_user_may_not_read_is_a_clear_error(parts, write_spec, monkeypatch):
    db = libpq(parts).split("dbname=")[1]
    role = f"np_{db}"
    with psycopg.connect(libpq(parts), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT SELECT ON users, orders, order_lines, events TO {role}")
    monkeypatch.setenv("SUBSET_SOURCE", parts.replace("postgres@", f"{role}@"))
    try:
        with pytest.raises(TdmError) as err:
            load_spec(write_spec(spec_text(ROOTS)))
    finally:
        with psycopg.connect(libpq(parts), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
    assert "may not read partition public.orders_h0 of public.orders" in str(err.value)
    assert "grant the source user SELECT on every partition" in str(err.value)


def test_introspect_source_of_partitioned_tables_subsets(parts, tmp_path, monkeypatch):
    monkeypatch.setenv("SRC_URL", parts)
    spec = tmp_path / "src.yaml"
    assert main(["introspect", "${SRC_URL}", "--source", "-o", str(spec)]) == 0
    text = spec.read_text()
    assert "events_2023" not in text and "orders_h0" not in text  # the parents, not partitions
    text = text.replace("# subset:", 'subset:\n  roots: [{table: events, where: "id % 25 = 0"}]')
    spec.write_text(text)
    monkeypatch.setenv("TDM_MASKING_KEY", "integration-test-key-0123456789abcdef")
    plan = load_spec(spec)
    assert plan.rows["events"] == 14 and plan.rows["orders"] > 0 and plan.rows["order_lines"] == 0


def test_ids_split_by_leaf_in_chunks_and_each_leaf_reads_its_own_ctids():
    ids = np.array([0 << SHIFT | 1, 0 << SHIFT | 2, 2 << SHIFT | 1, 2 << SHIFT | (7 << 16 | 3),
                    5 << SHIFT | 1], dtype=np.int64)  # fmt: skip
    leaves = [f"p{i}" for i in range(6)]
    chunks = [[(rel, i, x.tolist()) for rel, i, x in c] for c in pieces("t", leaves, ids, 3)]
    assert chunks == [[("p0", 0, ids[:2].tolist()), ("p2", 2, [ids[2]])],
                      [("p2", 2, [ids[3]]), ("p5", 5, [ids[4]])]]  # fmt: skip
    sql, params = by_ids(next(pieces("t", leaves, ids[2:4])), lambda rid: rid, "x")
    assert params == ['{"(0,1)","(7,3)"}'] and sql.count("ANY") == 1 and "p2 x" in sql
    sql, params = by_ids(next(pieces("t", (), ids[:2])), lambda rid: rid, "x", inline=True)
    assert params == [] and ' t x WHERE x.ctid = ANY(\'{"(0,1)","(0,2)"}\'::tid[])' in sql
    with pytest.raises(AssertionError, match="out of range for 2 partitions"):
        next(pieces("t", leaves[:2], ids))
