"""Masked extraction from a real PostgreSQL through the Dagster graph, gated for PII."""

from __future__ import annotations

import os
import sqlite3

import dagster as dg
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.runner import run_dataset
from tdm.core import settings
from tdm.core.errors import SpecError, TdmError
from tdm.plan.loading import load_spec
from tdm.store.versions import VersionStore

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
    assert all(e.endswith((".example", ".example.com", ".example.net")) for e in emails)
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


# ---- privacy defects made while extracting: caught by the graph, never loaded -----------------


def test_a_mask_that_leaves_values_unchanged_stops_the_run(crm, monkeypatch):
    from tdm.masking.apply import Masker

    masked = Masker.apply

    def broken(self, table, data, start):  # the email mask gives the source values back
        out = masked(self, table, data, start)
        if table != "customers":
            return out
        i = out.schema.get_field_index("email")
        return out.set_column(i, out.schema.field(i), data.column("email"))

    monkeypatch.setattr(Masker, "apply", broken)
    plan = load_spec(crm())
    with dg.instance_for_test() as instance, pytest.raises(TdmError) as err:
        run_dataset(plan, env="local", inst=instance)
    text = str(err.value)
    assert "customers.email: masked_values_changed FAILED: 3,000 of 3,000 rows" in text
    assert "masked_values_changed failed" in text and "@mail" not in text
    assert not VersionStore(settings.store_root()).versions("crm")  # nothing sealed
    assert not (settings.home() / "local" / "crm.sqlite").exists()


def test_pii_appearing_after_the_scan_fails_the_final_gate(postgres_db, write_spec, monkeypatch):
    from tdm.plan.model import Plan

    url = postgres_db(
        "CREATE TABLE tickets (id bigint PRIMARY KEY, ref text);"
        "INSERT INTO tickets SELECT i, 'T-' || i FROM generate_series(1, 500) i;"
    )
    monkeypatch.setenv("TICKETS_URL", url)
    spec = write_spec(
        """
        dataset: desk
        source: {url: "${TICKETS_URL}"}
        tables:
          tickets:
            source: true
            primary_key: id
            columns:
              id: {type: int, allow: ticket numbers}
              ref: {type: string}
        """,
        "desk.yaml",
    )
    plan = load_spec(spec)  # the scan sees ticket references only: no PII, no mask needed
    read = Plan.generate

    def leaking(self, table, start, stop):  # by extraction time, refs hold e-mail addresses
        data = read(self, table, start, stop)
        emails = pa.array([f"person{i}@mail.example.org" for i in range(data.num_rows)])
        return data.set_column(1, data.schema.field(1), emails)

    monkeypatch.setattr(Plan, "generate", leaking)
    with dg.instance_for_test() as instance, pytest.raises(TdmError) as err:
        run_dataset(plan, env="local", inst=instance)
    text = str(err.value)
    assert "tickets.ref: pii_gate FAILED" in text and "integrity failed" in text
    assert "person0@" not in text
    assert not (settings.home() / "local" / "desk.sqlite").exists()
