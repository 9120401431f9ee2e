"""The PostgreSQL environment target against the real server: DDL round trip, loads, the atomic
swap under concurrent readers, a load killed mid-COPY, rollback to an older version, drift, and
clear errors (unreachable, wrong password, no permission) that never show the password."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tdm.core.errors import TdmError
from tdm.environments.config import get_environment
from tdm.introspect import spec_from_database
from tdm.store.versions import VersionStore
from tdm.targets import open_target
from tdm.targets.postgres.introspection import (
    drift,
    expected_schema,
    live_schema,
)
from tdm.targets.postgres.target import PostgresTarget, lock_key, uuid_bytes
from tests.builders import seal_version

from ..conftest import SMALL

pytestmark = pytest.mark.xdist_group("postgres")

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SECRET = "S3cr3t-Pa55word-xyzzy"  # trust auth accepts it: it must never show in a message

BIG = """
dataset: big
batch_size: 10000
reference_date: 2026-01-01
tables:
  events:
    rows: 200000
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      n: {type: int, generator: integer, min: 0, max: 1000000}
      code: {type: string, generator: pattern, pattern: "E-######"}
      ext: {type: uuid, generator: uuid}
"""
OTHER = """
dataset: other
reference_date: 2026-01-01
tables:
  things:
    rows: 30
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      label: {type: string, generator: choice, values: [a, b]}
"""


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """A store with shop (seeds 1, 2), big (seeds 1, 2) and other: {(dataset, seed): (plan, id)}."""
    base = tmp_path_factory.mktemp("pg_target")
    store = VersionStore(base / "store")
    out = {}
    for name, text, seeds in [
        ("shop", SMALL, (1, 2)),
        ("big", BIG, (1, 2)),
        ("other", OTHER, (1,)),
    ]:
        path = base / f"{name}.yaml"
        path.write_text(text)
        for seed in seeds:
            out[name, seed] = seal_version(store, path, seed=seed)
    return store, out


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def counts(url: str, schema: str, tables) -> dict[str, int]:
    with psycopg.connect(dsn(url)) as conn:
        return {
            t: conn.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0] for t in tables
        }


def stages(url: str) -> list[str]:
    with psycopg.connect(dsn(url)) as conn:
        rows = conn.execute(
            r"SELECT nspname FROM pg_namespace WHERE nspname LIKE '\_tdm\_stage\_%'"
        ).fetchall()
    return [r[0] for r in rows]


# -- DDL and a load --------------------------------------------------------------------------


def test_load_creates_the_spec_ddl_and_every_row(sealed, postgres_db):
    store, versions = sealed
    plan, version = versions["shop", 1]
    url = postgres_db()
    target = open_target(url)
    report = target.load(store, "shop", version)
    assert report.rows == plan.rows and report.previous is None
    assert report.extra["schema"] == "shop" and "(schema shop)" in report.location
    assert counts(url, "shop", plan.order) == plan.rows

    # DDL round trip: what is live is exactly what the spec's DDL says
    live = live_schema(url, "shop")
    expected = expected_schema(plan.spec, "shop")
    assert drift(expected, live) == []
    assert set(live["tables"]) == {*plan.order, "_tdm_meta"}
    customers, items = live["tables"]["customers"], live["tables"]["order_items"]
    assert {c: (v["type"], v["nullable"]) for c, v in customers["columns"].items()} == {
        "id": ("BIGINT", False),
        "code": ("TEXT", False),
        "score": ("BIGINT", False),
        "balance": ("NUMERIC(10, 2)", False),
        "tier": ("TEXT", False),
        "signup": ("DATE", False),
        "seen": ("TIMESTAMP WITH TIME ZONE", True),
        "ext": ("UUID", False),
        "referrer_id": ("BIGINT", True),
    }
    assert items["primary_key"] == ["order_id", "line_no"]
    assert [(f["columns"], f["referred_table"]) for f in items["foreign_keys"]] == [
        (["order_id"], "orders"),
        (["product_id"], "products"),
    ]
    assert customers["unique"] == [{"name": "uq_customers_code", "columns": ["code"]}]
    assert [c["name"] for c in customers["checks"]] == [
        "ck_customers_balance",
        "ck_customers_score",
        "ck_customers_tier",
    ]
    assert [ix["columns"] for ix in items["indexes"]] == [["product_id"]]  # order_id: the PK
    assert live["tables"]["orders"]["columns"]["total"]["type"] == "DOUBLE PRECISION"

    with psycopg.connect(dsn(url)) as conn:
        # foreign keys hold and are enforced; checks too
        orphans = conn.execute(
            "SELECT count(*) FROM shop.order_items i LEFT JOIN shop.orders o ON o.id = i.order_id "
            "WHERE o.id IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the keys are deferrable
        with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
            conn.execute("INSERT INTO shop.orders VALUES ('X', -5, 1.0)")
        with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
            conn.execute("UPDATE shop.customers SET tier = 'platinum' WHERE id = 1")
        # values round trip exactly
        first = store.read_table("shop", version, "customers").slice(0, 1).to_pylist()[0]
        row = conn.execute(
            "SELECT id, code, balance, signup, ext::text, seen FROM shop.customers WHERE id = 1"
        ).fetchone()
        assert row[:4] == (first["id"], first["code"], first["balance"], first["signup"])
        assert isinstance(row[2], Decimal) and row[4] == first["ext"] and row[5] == first["seen"]
        meta = conn.execute("SELECT dataset, version, tables FROM shop._tdm_meta").fetchall()
        assert meta == [("shop", version, plan.order)]
        analyzed = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE schemaname = 'shop' "
            "AND last_analyze IS NOT NULL"
        ).fetchone()[0]
        assert analyzed == len(plan.order)
        # statistics at once for the columns joins and key lookups are planned with; the rest
        # left to autovacuum, whose count of changed rows an ANALYZE of some columns keeps
        stats = conn.execute(
            "SELECT tablename, attname FROM pg_stats WHERE schemaname = 'shop'"
        ).fetchall()
        keyed = {("customers", "id"), ("customers", "code"), ("customers", "referrer_id")}
        assert keyed <= set(stats) and ("order_items", "product_id") in stats
        assert ("customers", "balance") not in stats and ("customers", "tier") not in stats
        pending = (
            "SELECT min(n_mod_since_analyze) FROM pg_stat_user_tables WHERE schemaname = 'shop'"
        )
        waited = 0.0
        while not conn.execute(pending).fetchone()[0] and waited < 10:  # counters come in async
            time.sleep(0.2)
            waited += 0.2
        assert conn.execute(pending).fetchone()[0] > 0
    current = target.current("shop")
    assert current["version"] == version and current["tables"] == plan.order
    assert current["rows"] == plan.rows and current["loaded_at"].endswith("+00:00")
    assert stages(url) == []
    assert target.current("nothing") is None


def test_spec_from_database(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db()
    open_target(url).load(store, "shop", versions["shop", 1][1])
    spec = spec_from_database(dsn(url), "shop")
    assert "_tdm_meta" not in spec["tables"]
    items = spec["tables"]["order_items"]
    assert items["primary_key"] == ["order_id", "line_no"]
    assert items["columns"]["qty"]["type"] == "int" and items["columns"]["qty"]["sql_type"] == (
        "bigint"
    )
    assert {"columns": ["product_id"], "references": "products(id)"} in [
        {k: fk[k] for k in ("columns", "references")} for fk in items["foreign_keys"]
    ]
    customers = spec["tables"]["customers"]["columns"]
    assert customers["balance"]["type"] == "decimal(10,2)"
    assert customers["ext"]["type"] == "uuid" and customers["seen"]["null_ratio"] > 0


def test_uuid_conversion():
    import pyarrow as pa

    values = ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12"]
    got = uuid_bytes(pa.array(values)).to_pylist()
    assert got == [uuid.UUID(values[0]).bytes, None, uuid.UUID(values[2]).bytes]
    assert uuid_bytes(pa.array(["{a0eebc999c0b4ef8bb6d6bb9bd380a11}"])).to_pylist() == [
        uuid.UUID(values[0]).bytes
    ]
    with pytest.raises(TdmError, match=r"t\.c: 'nope' is not a UUID"):
        uuid_bytes(pa.array(["nope"]), "t.c")


# -- swap, rollback, failures ----------------------------------------------------------------


def test_reload_and_rollback_to_an_older_version(sealed, postgres_db):
    store, versions = sealed
    (p1, v1), (p2, v2) = versions["shop", 1], versions["shop", 2]
    assert p1.rows != p2.rows
    url = postgres_db()
    target = PostgresTarget(url)
    target.load(store, "shop", v2)
    role = f"tdm_it_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role}")
        conn.execute(f"GRANT USAGE ON SCHEMA shop TO {role}")
        conn.execute(f"GRANT SELECT ON shop.orders, shop._tdm_meta TO {role}")
    try:
        report = target.load(store, "shop", v1)  # back to the older version
        assert report.previous == v2 and target.current("shop")["version"] == v1
        assert counts(url, "shop", p1.order) == p1.rows
        assert drift(expected_schema(p1.spec, "shop"), live_schema(url, "shop")) == []
        assert target.load(store, "shop", v2).previous == v1
        assert counts(url, "shop", p2.order) == p2.rows
        assert stages(url) == []
        with psycopg.connect(dsn(url), autocommit=True) as conn:  # grants survive the swaps
            granted = conn.execute(
                "SELECT has_table_privilege(%s, 'shop.orders', 'SELECT'), "
                "has_table_privilege(%s, 'shop._tdm_meta', 'SELECT'), "
                "has_table_privilege(%s, 'shop.customers', 'SELECT')",
                [role] * 3,
            ).fetchone()
            assert granted == (True, True, False)
    finally:
        with psycopg.connect(dsn(url), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_readers_see_the_old_or_the_new_version_never_a_mix(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db()
    target = PostgresTarget(url)
    expect = {}
    for seed in (1, 2):
        plan, version = versions["shop", seed]
        expect[version] = (plan.rows["orders"], plan.rows["order_items"])
    v1, v2 = versions["shop", 1][1], versions["shop", 2][1]
    target.load(store, "shop", v1)
    seen, errors, stop = [], [], threading.Event()

    def reader(pause: float) -> None:
        try:
            with psycopg.connect(dsn(url), autocommit=True) as conn:
                while not stop.is_set():
                    with conn.transaction():
                        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        version = conn.execute(
                            "SELECT version FROM shop._tdm_meta WHERE dataset = 'shop'"
                        ).fetchone()[0]
                        orders = conn.execute("SELECT count(*) FROM shop.orders").fetchone()[0]
                        time.sleep(pause)  # a slow reader holds its tables: the swap waits
                        items = conn.execute("SELECT count(*) FROM shop.order_items").fetchone()
                        seen.append((version, orders, items[0]))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=reader, args=(p,)) for p in (0.0, 0.002, 0.3)]
    for t in threads:
        t.start()
    reports = []
    try:
        for version in [v2, v1, v2, v1]:
            reports.append(target.load(store, "shop", version))
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors, errors
    assert seen and {v for v, *_ in seen} == {v1, v2}, "readers saw both versions"
    mixed = [s for s in seen if (s[1], s[2]) != expect[s[0]]]
    assert not mixed, f"{len(mixed)} of {len(seen)} reads mixed versions: {mixed[:3]}"
    assert [r.previous for r in reports] == [v1, v2, v1, v2]


def test_a_failed_load_changes_nothing(sealed, postgres_db, monkeypatch):
    import pyarrow as pa

    from tdm.targets.postgres import table_build as postgres

    store, versions = sealed
    (p1, v1), (_, v2) = versions["shop", 1], versions["shop", 2]
    url = postgres_db()
    target = PostgresTarget(url)
    target.load(store, "shop", v1)
    real = postgres._wire_batches

    def orphan_items(part, schema, kinds, table):
        if table == "order_items":
            i = part.column_names.index("product_id")
            part = part.set_column(i, "product_id", pa.array([-5] * part.num_rows))
        return real(part, schema, kinds, table)

    monkeypatch.setattr(postgres, "_wire_batches", orphan_items)
    with pytest.raises(TdmError) as e:
        target.load(store, "shop", v2)
    text = str(e.value)
    assert f"loading shop {v2} into postgresql+psycopg://postgres@127.0.0.1:5432/" in text
    assert "table order_items: a foreign key is violated" in text
    assert "fk_order_items_product_id" in text and "Key (product_id)=(-5)" in text
    assert f"the previous version {v1} is intact" in text
    assert target.current("shop")["version"] == v1
    assert counts(url, "shop", p1.order) == p1.rows
    assert stages(url) == []


def test_a_load_killed_mid_copy_leaves_the_previous_version(sealed, postgres_db):
    store, versions = sealed
    (p1, v1), (p2, v2) = versions["big", 1], versions["big", 2]
    url = postgres_db()
    db = url.rsplit("/", 1)[1]
    target = PostgresTarget(url)
    target.load(store, "big", v1)
    with psycopg.connect(dsn(url)) as conn:
        before = conn.execute("SELECT count(*), sum(n), max(code) FROM big.events").fetchone()
    # the batches arrive a little slowly (as from a busy disk), so the COPY is surely running
    script = (
        "import sys, time\n"
        "from tdm.store.versions import VersionStore\n"
        "from tdm.targets.postgres.target import PostgresTarget\n"
        "real = VersionStore.batches\n"
        "def slow(self, *args):\n"
        "    for b in real(self, *args):\n"
        "        time.sleep(0.05)\n"
        "        yield b\n"
        "VersionStore.batches = slow\n"
        "PostgresTarget(sys.argv[1]).load(VersionStore(sys.argv[2]), 'big', sys.argv[3])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, url, str(store.root), v2], cwd=ROOT)
    try:
        deadline, copying = time.monotonic() + 30, None
        with psycopg.connect(dsn(url), autocommit=True) as conn:
            while copying is None and time.monotonic() < deadline and proc.poll() is None:
                copying = conn.execute(
                    "SELECT p.tuples_processed FROM pg_stat_progress_copy p "
                    "JOIN pg_stat_activity a ON a.pid = p.pid "
                    "WHERE a.datname = %s AND a.application_name = 'tdm-load' "
                    "AND p.tuples_processed > 0",
                    [db],
                ).fetchone()
                time.sleep(0.01)
        assert copying, "the load never got to its COPY"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert 0 < copying[0] < p2.rows["events"]
    assert len(stages(url)) == 1, "the dead load left its staging schema behind"

    # the previous version is intact and usable
    assert target.current("big")["version"] == v1
    with psycopg.connect(dsn(url)) as conn:
        after = conn.execute("SELECT count(*), sum(n), max(code) FROM big.events").fetchone()
        assert after == before and after[0] == p1.rows["events"]
        conn.execute("SELECT * FROM big.events WHERE id = 17").fetchone()
    assert drift(expected_schema(p1.spec, "big"), live_schema(url, "big")) == []

    # the next load succeeds and clears what the dead one left
    report = target.load(store, "big", v2)
    assert report.previous == v1 and report.rows == p2.rows
    assert counts(url, "big", ["events"]) == p2.rows
    assert stages(url) == []


def test_loads_of_one_dataset_take_turns(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db()
    with psycopg.connect(dsn(url), autocommit=True) as other:  # a load in progress elsewhere
        other.execute("SELECT pg_advisory_lock(%s)", [lock_key("shop", "shop")])
        with pytest.raises(TdmError, match=r"another load of shop into schema shop is still") as e:
            PostgresTarget(url, wait_timeout=0.3).load(store, "shop", versions["shop", 1][1])
        assert f"(server pid {other.info.backend_pid}, since" in str(e.value)
        assert "waited 0.3 s" in str(e.value) and stages(url) == []
    PostgresTarget(url).load(store, "shop", versions["shop", 1][1])


def test_a_reader_that_never_lets_go_fails_the_swap_cleanly(sealed, postgres_db):
    store, versions = sealed
    (p1, v1), (_, v2) = versions["shop", 1], versions["shop", 2]
    url = postgres_db()
    PostgresTarget(url).load(store, "shop", v1)
    with psycopg.connect(dsn(url)) as reader:  # idle in a transaction holding orders
        reader.execute("SELECT count(*) FROM shop.orders").fetchone()
        pid = reader.info.backend_pid
        with pytest.raises(TdmError) as e:
            PostgresTarget(url, swap_timeout=1).load(store, "shop", v2)
        text = str(e.value)
        assert "other sessions kept using the live tables for 1 s" in text
        assert f"pid {pid} (user postgres" in text and "idle in transaction" in text
        assert f"the previous version {v1} is intact" in text
        reader.rollback()
    assert PostgresTarget(url).current("shop")["version"] == v1
    assert counts(url, "shop", p1.order) == p1.rows and stages(url) == []


def test_datasets_share_a_named_schema_but_never_a_table(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db(
        "CREATE TABLE public.products (id int); INSERT INTO public.products VALUES (7)"
    )
    qa = open_target(url, schema="qa")
    qa.load(store, "shop", versions["shop", 1][1])
    qa.load(store, "other", versions["other", 1][1])
    assert qa.current("shop")["version"] == versions["shop", 1][1]
    assert qa.current("other")["tables"] == ["things"]
    assert counts(url, "qa", ["customers", "things"])["things"] == 30
    assert qa.drift("shop") == [] and qa.drift("other") == []
    # a table tdm did not create is never dropped
    public = open_target(url, schema="public")
    with pytest.raises(TdmError, match=r"schema public already has products, which tdm did not"):
        public.load(store, "shop", versions["shop", 1][1])
    assert counts(url, "public", ["products"]) == {"products": 1} and stages(url) == []
    assert public.current("shop") is None
    with psycopg.connect(dsn(url)) as conn:  # the refused load left nothing behind
        assert conn.execute("SELECT to_regclass('public._tdm_meta')").fetchone() == (None,)
    assert qa.drop("other") == versions["other", 1][1] and qa.current("other") is None
    assert qa.current("shop") is not None


# -- drift ------------------------------------------------------------------------------------


def test_drift_lists_each_difference(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db()
    target = PostgresTarget(url)
    target.load(store, "shop", versions["shop", 1][1])
    assert target.drift("shop") == []
    with psycopg.connect(dsn(url)) as conn:
        conn.execute(
            "ALTER TABLE shop.customers ADD COLUMN nickname text;"
            "ALTER TABLE shop.customers DROP COLUMN tier;"
            "ALTER TABLE shop.orders DROP CONSTRAINT fk_orders_customer_id;"
            "ALTER TABLE shop.order_items ALTER COLUMN qty TYPE integer;"
            "ALTER TABLE shop.products ALTER COLUMN name DROP NOT NULL;"
            "ALTER TABLE shop.orders ADD CONSTRAINT uq_total UNIQUE (id, total);"
            "CREATE TABLE shop.audit (at timestamptz)"
        )
    found = target.drift("shop")
    assert [(d["table"], d["kind"], d["name"], d["change"]) for d in found] == [
        ("customers", "column", "tier", "removed"),
        ("customers", "column", "nickname", "added"),
        ("customers", "check", "ck_customers_tier", "removed"),
        ("orders", "foreign_key", "fk_orders_customer_id", "removed"),
        ("orders", "unique", "uq_total", "added"),
        ("products", "column", "name", "changed"),
        ("order_items", "column", "qty", "changed"),
        # shop.audit is not the dataset's: a table someone adds beside it is not drift
    ]
    messages = [d["message"] for d in found]
    assert messages[0] == "column customers.tier (TEXT NOT NULL) is missing"
    assert messages[1] == "column customers.nickname (TEXT) was added"
    assert messages[3] == (
        "foreign key fk_orders_customer_id orders(customer_id) -> customers(id) is missing"
    )
    assert messages[5] == "column products.name changed: it is now nullable"
    assert messages[6] == "column order_items.qty changed: type BIGINT is now INTEGER"
    assert found[6]["expected"]["type"] == "BIGINT" and found[6]["live"]["type"] == "INTEGER"
    # the plain functions say the same for any schema, and report every table there
    plain = drift(expected_schema(versions["shop", 1][0].spec, "shop"), live_schema(url, "shop"))
    assert plain[:-1] == found and plain[-1]["name"] == "audit"
    assert live_schema(url, "nowhere") == {"schema": "nowhere", "tables": {}}
    with pytest.raises(TdmError, match="no version of other is loaded"):
        open_target(url, schema="shop").drift("other")


# -- errors -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_unreachable_target(sealed):
    store, versions = sealed
    url = f"postgresql://alice:{SECRET}@{HOST}:{_free_port()}/envdb"
    target = open_target(url)
    for call in (
        lambda: target.load(store, "shop", versions["shop", 1][1]),
        lambda: target.current("shop"),
        lambda: live_schema(url, "shop"),
    ):
        with pytest.raises(TdmError) as e:
            call()
        text = str(e.value)
        assert "alice:***@127.0.0.1" in text and "/envdb" in text and SECRET not in text
        assert "refused" in text.lower()
    with pytest.raises(TdmError, match="is the server running") as e:
        target.current("shop")
    assert "cannot connect to the environment database" in str(e.value)


def test_wrong_password(sealed, password_rejecting_server):
    store, versions = sealed
    port, seen = password_rejecting_server
    url = f"postgresql+psycopg://alice:{SECRET}@{HOST}:{port}/envdb?sslmode=disable"
    with pytest.raises(TdmError) as e:
        open_target(url).load(store, "shop", versions["shop", 1][1])
    text = str(e.value)
    assert "password authentication failed" in text and "check the user and password" in text
    assert f"alice:***@{HOST}:{port}/envdb" in text and "loading shop" in text
    assert SECRET.encode() in seen[0], "the client did send the password"
    assert SECRET not in text


def test_missing_permission(sealed, postgres_db):
    store, versions = sealed
    url = postgres_db()
    role = f"tdm_it_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        limited = url.replace("postgres@", f"{role}:{SECRET}@")
        with pytest.raises(TdmError) as e:
            open_target(limited).load(store, "shop", versions["shop", 1][1])
        text = str(e.value)
        assert "permission denied for database" in text and "needs CREATE on the database" in text
        assert f"{role}:***@" in text and SECRET not in text
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.parametrize(
    "password", ["Rs4/Tu5:Vw6?Xy7#Za8%Bc9 Dé1", "Ef2%40Gh3%2FJk4", "Lm5@Np6@Qr7"]
)
def test_reserved_characters_in_a_password_never_show(postgres_db, password):
    """The server is reached (trust auth ignores the password) and refuses a missing database;
    with a raw "@" make_url takes the password's tail for the host, and the driver says so."""
    from tdm.source import SourceReader
    from tdm.spec.model import TableSpec

    postgres_db()  # skips when the server is not running
    url = f"postgresql://postgres:{password}@{HOST}:5432/tdm_no_such_db"
    table = TableSpec.model_validate(
        {"source": True, "primary_key": "id", "columns": {"id": {"type": "int"}}}
    )
    for call in (
        lambda: open_target(url).current("x"),
        lambda: live_schema(url, "x"),
        lambda: SourceReader(url).count("t", table),
    ):
        with pytest.raises(TdmError) as e:
            call()
        text = str(e.value)
        assert f"postgres:***@{HOST}:5432/tdm_no_such_db" in text
        pieces = {p for p in re.split(r"[@/:?#% ]", password) if len(p) >= 3}
        assert not {p for p in pieces | {password} if p.lower() in text.lower()}, text
        assert "does not exist" in text or "'***@127.0.0.1'" in text


def test_a_server_on_this_machine_runs_a_load_without_parallel_workers(postgres_db):
    """It shares its cores with the run; a remote one, or a URL with options, keeps its own."""
    url = postgres_db()
    setting = "SHOW max_parallel_maintenance_workers"
    with open_target(url).connect() as conn:
        assert conn.execute(setting).fetchone()[0] == "0"
        assert conn.execute("SHOW max_parallel_workers_per_gather").fetchone()[0] == "0"
    own = f"{url}?options=-c%20max_parallel_maintenance_workers%3D3"
    with open_target(own).connect() as conn:
        assert conn.execute(setting).fetchone()[0] == "3"
    remote = open_target("postgresql://u@db.example.com:5432/qa")
    assert "options" not in remote._params


def test_statistics_all_analyzes_every_column(sealed, postgres_db, tmp_path):
    """`statistics: all` in an environment: every column's statistics at load."""
    store, versions = sealed
    _, version = versions["shop", 1]
    url = postgres_db()
    (tmp_path / "environments.yaml").write_text(
        f"environments:\n  qa:\n    url: {url}\n    statistics: all\n"
    )
    get_environment("qa", tmp_path / "environments.yaml").target("shop").load(
        store, "shop", version
    )
    with psycopg.connect(dsn(url)) as conn:
        stats = conn.execute(
            "SELECT tablename, attname FROM pg_stats WHERE schemaname = 'shop'"
        ).fetchall()
    assert ("customers", "balance") in stats and ("customers", "tier") in stats
    with pytest.raises(TdmError, match=r"statistics: all.*sqlite: remove `statistics`"):
        open_target("sqlite:///x.sqlite", statistics="all")
