"""The embedded SQLite environment: DDL with keys, full loads, atomic replacement."""

from __future__ import annotations

import sqlite3

import pytest

from tdm.core.errors import TdmError
from tdm.targets import open_target


@pytest.fixture
def target_spec(small_spec):
    return small_spec


def counts(path, tables):
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_load_creates_keys_and_holds_every_row(sealed, tmp_path):
    store, versions = sealed
    plan, version = versions[1]
    db = tmp_path / "env.sqlite"
    report = open_target(f"sqlite:///{db}").load(store, "shop", version)
    assert report.rows == plan.rows
    assert counts(db, plan.order) == plan.rows
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name='order_items'").fetchone()[0]
        assert "PRIMARY KEY (order_id, line_no)" in ddl
        assert "FOREIGN KEY(product_id) REFERENCES products (id)" in ddl
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO orders (id, customer_id, total) VALUES ('X', -5, 1.0)")
    assert open_target(f"sqlite:///{db}").current("shop")["version"] == version


def test_values_round_trip(sealed, tmp_path):
    store, versions = sealed
    _, version = versions[1]
    db = tmp_path / "env.sqlite"
    open_target(f"sqlite:///{db}").load(store, "shop", version)
    first = store.read_table("shop", version, "customers").slice(0, 1).to_pylist()[0]
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT id, code, balance, signup, ext FROM customers WHERE id=1"
        ).fetchone()
    assert row[0] == first["id"] and row[1] == first["code"]
    assert abs(row[2] - float(first["balance"])) < 0.005
    assert row[3] == first["signup"].isoformat() and row[4] == first["ext"]


def test_reload_replaces_the_previous_version(sealed, tmp_path):
    store, versions = sealed
    db = tmp_path / "env.sqlite"
    target = open_target(f"sqlite:///{db}")
    target.load(store, "shop", versions[1][1])
    report = target.load(store, "shop", versions[2][1])
    assert report.previous == versions[1][1]
    assert counts(db, versions[2][0].order) == versions[2][0].rows
    assert target.current("shop")["version"] == versions[2][1]


def test_a_failed_load_leaves_the_previous_version(sealed, tmp_path, monkeypatch):
    store, versions = sealed
    db = tmp_path / "env.sqlite"
    target = open_target(f"sqlite:///{db}")
    target.load(store, "shop", versions[1][1])
    before = counts(db, versions[1][0].order)
    real = target._insert

    def crash_on_items(conn, store_, dataset, version, name, spec):
        if name == "order_items":
            conn.execute("INSERT INTO order_items VALUES ('nope', 1, 1, 1)")  # orphan FK
        return real(conn, store_, dataset, version, name, spec)

    monkeypatch.setattr(target, "_insert", crash_on_items)
    with pytest.raises(TdmError, match=r"rolled back.*previous version is intact"):
        target.load(store, "shop", versions[2][1])
    assert counts(db, versions[1][0].order) == before
    assert target.current("shop")["version"] == versions[1][1]


def test_bad_url_is_a_clear_error():
    with pytest.raises(TdmError, match="no target for URL scheme 'oracle'"):
        open_target("oracle://x")
    with pytest.raises(TdmError, match="sqlite:///path"):
        open_target("sqlite://relative.db")


def test_tables_tdm_did_not_create_are_never_dropped(sealed, tmp_path):
    store, versions = sealed
    db = tmp_path / "env.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (note TEXT)")
        conn.execute("INSERT INTO customers VALUES ('mine')")
    with pytest.raises(TdmError, match="already has customers, which tdm did not load"):
        open_target(f"sqlite:///{db}").load(store, "shop", versions[1][1])
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT note FROM customers").fetchall() == [("mine",)]
