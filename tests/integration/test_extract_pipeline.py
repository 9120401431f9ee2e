"""Masked extraction from a real PostgreSQL through the Dagster graph, gated for PII."""

from __future__ import annotations

import os
import sqlite3

import dagster as dg
import psycopg
import pyarrow.compute as pc
import pytest

from pipelines.runner import run_dataset
from tdm import settings
from tdm.errors import SpecError, TdmError
from tdm.spec_load import load_spec
from tdm.versions import VersionStore

pytestmark = pytest.mark.xdist_group("postgres")

KEY = "integration-test-key-0123456789abcdef"
SQL = """
CREATE TABLE customers (id bigint PRIMARY KEY, full_name text, email text UNIQUE, phone text,
                        born date, notes text);
INSERT INTO customers
SELECT i, 'Person ' || i, 'user' || i || '@mail' || (i % 7) || '.com',
       '+44 20 7' || lpad(i::text, 6, '0'), date '1960-01-01' + (i * 37 % 15000),
       CASE WHEN i % 3 = 0 THEN 'call me at +44 20 7946 0958' END
FROM generate_series(1, 3000) i;
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers(id),
                     total numeric(10,2));
INSERT INTO orders SELECT i, 1 + (i * 7919) % 3000, (i % 500) + 0.99
FROM generate_series(1, 9000) i;
"""
SPEC = """
dataset: crm
source: {url: "${CRM_SOURCE_URL}"}
batch_size: 1000
tables:
  customers:
    source: true
    primary_key: id
    columns:
      id: {type: int, mask: pseudonymize}
      full_name: {type: string, MASK_NAME}
      email: {type: string, mask: email}
      phone: {type: string, mask: phone}
      born: {type: date, mask: {strategy: date_shift, days: 30, entity: id}}
      notes: {type: string, mask: scrub}
  orders:
    source: {table: orders}
    primary_key: id
    columns:
      id: {type: int}
      customer_id: {type: int, references: customers}
      total: {type: "decimal(10,2)", allow: amounts are not personal}
"""


@pytest.fixture
def crm(postgres_db, write_spec, monkeypatch):
    monkeypatch.setenv("CRM_SOURCE_URL", postgres_db(SQL))
    monkeypatch.setenv("TDM_MASKING_KEY", KEY)

    def spec(name_mask: str = "mask: {strategy: substitute, pool: name}"):
        return write_spec(SPEC.replace("MASK_NAME", name_mask), "crm.yaml")

    return spec


def test_unmasked_pii_fails_closed_before_anything_is_written(crm):
    with pytest.raises(SpecError) as err:
        load_spec(crm("description: no mask and no allow"))
    [p] = err.value.problems
    assert p.path == "tables.customers.columns.full_name"
    assert "looks like PII (full_name" in p.message
    assert "mask: {strategy: substitute, pool: name}" in p.hint and "allow:" in p.hint
    assert not VersionStore(settings.store_root()).root.exists()


def test_masked_extraction_keeps_joins_and_changes_every_value(crm, tmp_path):
    plan = load_spec(crm())
    with dg.instance_for_test() as instance:
        summary = run_dataset(plan, env="local", inst=instance)
    assert summary.rows == {"customers": 3000, "orders": 9000}
    store = VersionStore(settings.store_root())
    customers = store.read_table("crm", summary.version, "customers")
    with psycopg.connect(os.environ["CRM_SOURCE_URL"].replace("+psycopg", "")) as conn:
        raw_emails = {r[0] for r in conn.execute("SELECT email FROM customers")}
        raw_ids = {r[0] for r in conn.execute("SELECT id FROM customers")}
    emails = set(customers.column("email").to_pylist())
    assert not emails & raw_emails and len(emails) == 3000
    assert all(e.endswith(".example") for e in emails)
    ids = customers.column("id").to_pylist()
    assert len(set(ids)) == 3000 and set(ids) != raw_ids
    notes = [n for n in customers.column("notes").to_pylist() if n]
    assert notes and not any("7946" in n for n in notes)
    orders = store.read_table("crm", summary.version, "orders")
    assert pc.all(pc.is_in(orders.column("customer_id"), customers.column("id"))).as_py()
    manifest = store.manifest("crm", summary.version)
    assert manifest["key_fingerprint"] and KEY not in str(manifest)
    assert manifest["masked_columns"]["orders"] == {"customer_id": "pseudonymize"}
    db = settings.home() / "local" / "crm.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        joined = conn.execute(
            "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id"
        ).fetchone()[0]
    assert joined == 9000


def test_without_a_key_a_masked_run_fails_clearly(crm, monkeypatch):
    monkeypatch.delenv("TDM_MASKING_KEY")
    plan = load_spec(crm())
    with dg.instance_for_test() as instance, pytest.raises(TdmError, match="TDM_MASKING_KEY"):
        run_dataset(plan, inst=instance)
