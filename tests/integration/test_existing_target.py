"""`tables: existing` on the real PostgreSQL, target by target: the application's tables are
filled in one transaction (binary COPY or CSV), versions roll back, a trigger that rejects a row
is named, a kill mid-COPY leaves the old rows, drift is reported and nothing is ever created in
the application's schema."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tdm.core.errors import TdmError
from tdm.store.versions import VersionStore
from tdm.targets import open_target
from tests.builders import seal_version

ROOT = Path(__file__).parents[2]

SPEC = """
dataset: shop
reference_date: 2026-01-01
tables:
  customers:
    rows: 3000
    primary_key: id
    columns:
      id: {type: int, generator: sequence, sql_type: integer}
      name: {type: string, generator: full_name, sql_type: varchar(12)}
      tier: {type: string, generator: choice, values: [gold, silver], sql_type: shop.tier}
  orders:
    rows: {per: customers, distribution: uniform, min: 1, max: 3}
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers}
      qty: {type: int, generator: integer, min: 1, max: 5, sql_type: smallint}
      tags: {type: string, generator: array, of: {generator: choice, values: [a, b]}}
"""

DDL = """
CREATE SCHEMA shop;
CREATE TYPE shop.tier AS ENUM ('silver', 'gold');
CREATE TABLE shop.customers (
    id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name varchar(12) NOT NULL,
    tier shop.tier NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE SEQUENCE shop.shared;  -- not owned by the column: found through its DEFAULT
CREATE TABLE shop.orders (
    id bigint PRIMARY KEY DEFAULT nextval('shop.shared'),
    customer_id integer NOT NULL REFERENCES shop.customers ON DELETE CASCADE,
    qty smallint NOT NULL,
    tags text[],
    total numeric GENERATED ALWAYS AS (qty * 10) STORED
);
CREATE FUNCTION shop.guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.qty > 4 AND current_setting('shop.strict', true) = 'on' THEN
        RAISE EXCEPTION 'qty % is too many', NEW.qty;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER orders_guard BEFORE INSERT ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.guard();
"""


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    base = tmp_path_factory.mktemp("existing")
    store = VersionStore(base / "store")
    path = base / "shop.yaml"
    path.write_text(SPEC)
    return store, {seed: seal_version(store, path, seed=seed) for seed in (1, 2)}


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn(url)) as conn:
        return conn.execute(sql).fetchall()


def test_fills_the_tables_in_place_and_rolls_back_to_an_older_version(sealed, postgres_db):
    store, versions = sealed
    (p1, v1), v2 = versions[1], versions[2][1]
    url = postgres_db(DDL)
    target = open_target(url, schema="shop", tables="existing")
    report = target.load(store, "shop", v1)
    assert report.rows == p1.rows and report.previous is None
    assert rows(url, "SELECT count(*) FROM shop.orders") == [(p1.rows["orders"],)]
    # values as the types say: enum labels, varchar(12) cut, arrays, defaults, generated
    assert rows(
        url, "SELECT max(length(name)) <= 12, count(DISTINCT tier) FROM shop.customers"
    ) == [(True, 2)]
    assert rows(
        url, "SELECT bool_and(total = qty * 10), bool_and(tags <@ '{a,b}') FROM shop.orders"
    ) == [(True, True)]
    # identity and serial sequences are past the largest value written
    with psycopg.connect(dsn(url)) as conn:
        new = conn.execute(
            "INSERT INTO shop.customers (name, tier) VALUES ('x', 'gold') RETURNING id"
        ).fetchone()[0]
        assert new > p1.rows["customers"]
        (last,) = conn.execute("SELECT last_value FROM shop.shared").fetchone()
        assert last >= p1.rows["orders"]
        conn.rollback()
    assert target.load(store, "shop", v2).previous == v1
    assert target.current("shop")["version"] == v2
    target.load(store, "shop", v1)  # rollback
    assert target.current("shop")["version"] == v1
    assert rows(url, "SELECT count(*) FROM shop.orders") == [(p1.rows["orders"],)]
    assert target.drift("shop") == []
    # nothing of tdm's in the application's schema
    assert (
        rows(
            url,
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE nspname = 'shop' AND relname LIKE '%tdm%'",
        )
        == []
    )


def test_a_trigger_that_rejects_a_row_is_named_and_nothing_changes(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db(DDL)
    target = open_target(url, schema="shop", tables="existing")
    target.load(store, "shop", versions[1][1])
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{dsn(url).rsplit('/', 1)[1]}\" SET shop.strict = 'on'")
    with pytest.raises(TdmError, match=r"qty 5 is too many.*trigger orders_guard on orders"):
        target.load(store, "shop", versions[2][1])
    assert target.current("shop")["version"] == versions[1][1]
    assert rows(url, "SELECT count(*) FROM shop.orders") == [(versions[1][0].rows["orders"],)]


def test_drift_and_a_missing_table_are_refused_before_anything_is_written(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db(DDL)
    target = open_target(url, schema="shop", tables="existing")
    target.load(store, "shop", versions[1][1])
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("ALTER TABLE shop.customers ALTER COLUMN name TYPE varchar(20)")
    assert [d["message"] for d in target.drift("shop")] == [
        "column customers.name is character varying(20) in the database, the spec says varchar(12)"
    ]
    with pytest.raises(TdmError, match="nothing was written"):
        target.load(store, "shop", versions[2][1])
    assert target.current("shop")["version"] == versions[1][1]
    empty = open_target(postgres_db("CREATE SCHEMA shop"), schema="shop", tables="existing")
    with pytest.raises(TdmError, match="table customers is missing in schema shop"):
        empty.load(store, "shop", versions[1][1])
    with pytest.raises(TdmError, match=r"tables: existing. fills an application's PostgreSQL"):
        open_target("sqlite:///x.sqlite", tables="existing")


def test_a_load_killed_mid_copy_leaves_the_previous_rows(sealed, postgres_db):
    store, versions = sealed
    (p1, v1), (_, v2) = versions[1], versions[2]
    url = postgres_db(DDL)
    target = open_target(url, schema="shop", tables="existing")
    target.load(store, "shop", v1)
    before = rows(url, "SELECT count(*), sum(qty) FROM shop.orders")
    script = (
        "import sys, time\n"
        "from tdm.store.versions import VersionStore\n"
        "from tdm.targets import open_target\n"
        "real = VersionStore.batches\n"
        "def slow(self, *args):\n"
        "    for b in real(self, *args):\n"
        "        time.sleep(30)\n"
        "        yield b\n"
        "VersionStore.batches = slow\n"
        "open_target(sys.argv[1], schema='shop', tables='existing')"
        ".load(VersionStore(sys.argv[2]), 'shop', sys.argv[3])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, dsn(url), str(store.root), v2], cwd=ROOT)
    try:
        deadline, copying = time.monotonic() + 30, None
        with psycopg.connect(dsn(url), autocommit=True) as conn:
            while not copying and time.monotonic() < deadline and proc.poll() is None:
                copying = conn.execute(
                    "SELECT 1 FROM pg_stat_progress_copy p JOIN pg_stat_activity a"
                    " ON a.pid = p.pid WHERE a.application_name = 'tdm-load'"
                ).fetchone()
                time.sleep(0.01)
        assert copying, "the load never got to its COPY"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    time.sleep(0.5)  # the server notices the dead client and rolls back
    assert rows(url, "SELECT count(*), sum(qty) FROM shop.orders") == before
    assert before[0][0] == p1.rows["orders"]
    assert target.current("shop")["version"] == v1
