"""A subsetted spec through the Dagster graph: the chosen rows are extracted in batches, masked,
sealed, validated and loaded with foreign keys enforced; the run reports rows chosen and why."""

from __future__ import annotations

import sqlite3

import dagster as dg
import psycopg
import pytest

from assets import names
from pipelines.runner import run_dataset
from tdm.core import settings
from tdm.core.errors import SpecError
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore
from tests.integration.subset.helpers import libpq

pytestmark = pytest.mark.xdist_group("postgres")

KEY = "integration-test-key-0123456789abcdef"
SQL = """
CREATE TABLE customers (id bigint PRIMARY KEY, full_name text, email text UNIQUE,
                        referred_by bigint REFERENCES customers);
INSERT INTO customers SELECT i, 'Person ' || i, 'user' || i || '@mail.com',
       CASE WHEN i > 1 AND i % 4 <> 0 THEN i / 2 END FROM generate_series(1, 2000) i;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
                     total numeric(10,2));
INSERT INTO orders SELECT i, 1 + (i * 7919) % 2000, (i % 500) + 0.99
FROM generate_series(1, 6000) i;
CREATE TABLE lines (order_id bigint REFERENCES orders, line int, qty int,
                    PRIMARY KEY (order_id, line));
INSERT INTO lines SELECT o, l, l * 2 FROM generate_series(1, 6000) o, generate_series(1, 3) l;
"""
SPEC = """
dataset: shop
source: {url: "${SHOP_SOURCE_URL}"}
batch_size: 100
tables:
  customers:
    source: true
    primary_key: id
    columns:
      id: {type: int, mask: pseudonymize}
      full_name: {type: string, mask: {strategy: substitute, pool: name}}
      email: {type: string, mask: email}
      referred_by: {type: int, references: customers}
  orders:
    source: true
    primary_key: id
    columns:
      id: {type: int}
      customer_id: {type: int, references: customers}
      total: {type: "decimal(10,2)", allow: amounts are not personal}
  lines:
    source: true
    primary_key: [order_id, line]
    columns:
      order_id: {type: int, references: orders}
      line: {type: int}
      qty: {type: int}
subset:
  roots: [{table: orders, where: "id <= 120"}]
  children: {max_per_parent: 2}
"""


def test_a_subset_runs_through_the_graph_and_loads_with_foreign_keys(
    postgres_db, write_spec, monkeypatch
):
    url = postgres_db(SQL)
    monkeypatch.setenv("SHOP_SOURCE_URL", url)
    monkeypatch.setenv("TDM_MASKING_KEY", KEY)
    plan = load_spec(write_spec(SPEC, "shop.yaml"))
    chosen = {r["table"]: r for r in plan.subset.report()}
    assert chosen["orders"]["why"]["root"] == 120 and chosen["lines"]["chosen"] == 240
    with dg.instance_for_test() as instance:
        summary = run_dataset(plan, env="local", inst=instance)
        event = instance.get_latest_materialization_event(names.key("shop", names.VERSION, "lines"))
        meta = event.asset_materialization.metadata
        batch = instance.get_latest_materialization_event(names.batches(plan, "customers"))
        batch_meta = batch.asset_materialization.metadata
    assert summary.rows == {t: r["chosen"] for t, r in chosen.items()}
    assert meta["subset_rows_chosen"].value == 240 and meta["subset_rows_in_source"].value == 18000
    assert meta["subset_why"].value == {"child of orders": 240}
    assert batch_meta["subset"].value["of"] == 2000
    assert "parent of orders" in batch_meta["subset"].value["why"]
    # the orders' customers and, through referred_by, their referrers: a self-reference chain
    with psycopg.connect(libpq(url)) as conn:
        needed = conn.execute(
            "WITH RECURSIVE c AS (SELECT customer_id AS id FROM orders WHERE id <= 120 UNION "
            "SELECT x.referred_by FROM customers x JOIN c ON x.id = c.id "
            "WHERE x.referred_by IS NOT NULL) SELECT count(*) FROM c"
        ).fetchone()[0]
    assert summary.rows["customers"] == needed
    store = VersionStore(settings.store_root())
    manifest = store.manifest("shop", summary.version)
    assert {r["table"]: r["chosen"] for r in manifest["subset"]} == summary.rows
    emails = store.read_table("shop", summary.version, "customers").column("email").to_pylist()
    assert all(e.endswith((".example", ".example.com", ".example.net")) for e in emails)
    with sqlite3.connect(settings.home() / "local" / "shop.sqlite") as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM lines").fetchone()[0] == 240


def test_unmasked_pii_in_a_subset_fails_closed(postgres_db, write_spec, monkeypatch):
    monkeypatch.setenv("SHOP_SOURCE_URL", postgres_db(SQL))
    spec = SPEC.replace("email: {type: string, mask: email}", "email: {type: string}")
    with pytest.raises(SpecError) as err:
        load_spec(write_spec(spec, "shop.yaml"))
    assert [p.path for p in err.value.problems] == ["tables.customers.columns.email"]
    assert not VersionStore(settings.store_root()).root.exists()
