"""Keys across batches out of core (DuckDB, spilling) give the figures of the in-memory path:
a budget of -1 bytes sends every check out of core, on a version with repeated keys of each
kind (int, string, uuid, date, composite), null keys, orphans (single and composite) and an
empty table."""

from __future__ import annotations

import datetime as dt
import tempfile

import pytest

from tdm.store.versions import VersionStore
from tdm.validation.keys import validate_cross
from tests.builders import put, seal_version

SPEC = """
dataset: keyed
seed: 3
batch_size: 40
tables:
  customers:
    rows: 120
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      email: {type: string, generator: email, unique: true, null_ratio: 0.2}
      ext: {type: uuid, generator: uuid, unique: true}
      born: {type: date, generator: date, start: -80y, end: -18y, unique: true}
      tier: {type: string, generator: choice, values: [a, b, c]}
      referrer_id: {type: int, references: customers.id, null_ratio: 0.5}
  orders:
    rows: {per: customers, distribution: uniform, min: 0, max: 3}
    primary_key: id
    columns:
      id: {type: string, generator: sequence, prefix: ORD-, width: 6}
      customer_id: {type: int, references: customers}
  order_lines:
    rows: {per: orders, distribution: uniform, min: 1, max: 3}
    primary_key: [order_id, line_no]
    columns:
      order_id: {type: string, references: orders}
      line_no: {type: int, generator: sequence, per_parent: true}
  returns:
    rows: 30
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      order_id: {type: string}
      line_no: {type: int}
    foreign_keys:
      - {columns: [order_id, line_no], references: "order_lines(order_id, line_no)"}
  archive:
    rows: 0
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      order_id: {type: string, references: orders}
"""


def corrupt(table: str, batch: int, data):
    """Repeats and orphans in later batches, so that examples carry global row indices."""
    if table == "customers" and batch == 1:
        data = put(data, "id", 5, data.column("id")[0].as_py())  # repeats row 40's id
        data = put(data, "email", 7, None)
        data = put(data, "email", 9, "same@example.com")
        data = put(data, "email", 11, "same@example.com")
        data = put(data, "ext", 12, data.column("ext")[2].as_py())
        data = put(data, "born", 20, dt.date(1970, 1, 1))
        data = put(data, "born", 21, dt.date(1970, 1, 1))
        return put(data, "referrer_id", 3, 10**9)  # an orphan
    if table == "orders" and batch == 2:
        data = put(data, "customer_id", 1, None)
        return put(data, "customer_id", 4, -7)
    if table == "order_lines" and batch == 1:
        data = put(data, "order_id", 6, data.column("order_id")[5].as_py())
        return put(data, "line_no", 6, data.column("line_no")[5].as_py())
    if table == "returns" and batch == 0:
        return put(data, "line_no", 2, 99)  # no such line: a composite orphan
    return None


@pytest.fixture
def version(write_spec, tmp_path):
    store = VersionStore(tmp_path / "store")
    plan, version = seal_version(store, write_spec(SPEC, "keyed.yaml"), corrupt)
    return store, plan, version


def test_out_of_core_gives_the_in_memory_figures(version):
    store, plan, v = version
    in_memory = [r.to_dict() for r in validate_cross(store, plan, "keyed", v)]
    out_of_core = [r.to_dict() for r in validate_cross(store, plan, "keyed", v, budget=-1)]
    assert {r["details"].pop("engine") for r in in_memory} == {"pyarrow"}
    assert {r["details"].pop("engine") for r in out_of_core} == {"duckdb"}  # as they ran
    assert out_of_core == in_memory
    failed = {r["name"]: r for r in in_memory if not r["success"]}
    assert {n.split(" ")[0] for n in failed} >= {
        "customers.id",
        "customers.email",
        "customers.ext",
        "customers.born",
        "fk",
        "order_lines(order_id,",
    }
    email = failed["customers.email expect_column_values_to_be_unique"]
    assert email["unexpected_count"] >= 2 and email["details"]["null_keys_skipped"] >= 1
    assert failed["customers.id expect_column_values_to_be_unique"]["examples"][:2] == [40, 45]
    fks = [r for r in in_memory if r["expectation"] == "foreign_key"]
    assert any(r["table"] == "archive" and r["success"] for r in fks)
    composite = next(r for r in fks if r["column"] == "order_id, line_no")
    assert (composite["success"], composite["examples"]) == (False, [2])


def test_a_budget_between_the_checks_mixes_both_paths(version):
    store, plan, v = version
    in_memory = [r.to_dict() for r in validate_cross(store, plan, "keyed", v)]
    mixed = [r.to_dict() for r in validate_cross(store, plan, "keyed", v, budget=2000)]
    assert {r["details"].pop("engine") for r in mixed} == {"pyarrow", "duckdb"}
    for r in in_memory:
        del r["details"]["engine"]
    assert mixed == in_memory


def test_the_spill_directory_is_removed_afterwards(version, tmp_path, monkeypatch):
    store, plan, v = version
    spills = tmp_path / "spills"
    spills.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spills))
    assert not all(r.success for r in validate_cross(store, plan, "keyed", v, budget=-1))
    assert list(spills.iterdir()) == []


def test_the_spill_raises_its_memory_limit_where_duckdb_runs_out(version, monkeypatch):
    import duckdb

    from tdm.validation import spill as spill_module

    store, _, v = version
    monkeypatch.setattr(spill_module, "SPILL_MEMORY_MB", 1)
    make = "CREATE TABLE k AS SELECT range::VARCHAR AS key FROM range(200000)"
    count = "SELECT count(*) FROM (SELECT key FROM k GROUP BY key HAVING count(*) > 1)"
    with spill_module.Spill(store, "keyed", v) as spill:
        spill.execute(make)
        assert spill.value(count) == 0 and spill.memory_mb > 1
    monkeypatch.setattr(spill_module, "SPILL_MEMORY_MAX_MB", 1)
    with spill_module.Spill(store, "keyed", v) as spill, pytest.raises(duckdb.OutOfMemoryException):
        spill.execute(make)
        spill.value(count)
