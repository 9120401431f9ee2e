"""The MongoDB environment: collections or embedded documents, indexes, swap via staging.

Every test runs twice by name: `[real-mongodb]` against the server in MONGODB_URL (a throwaway
database, dropped afterwards; skipped when the variable is not set) and `[mongomock-stand-in]`
against the in-process mongomock stand-in (no server). The stand-in shows the loader's logic,
not a server's behaviour (rename atomicity, index builds, the 16 MB document limit).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid

import pytest
from bson.decimal128 import Decimal128
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from tdm.core.errors import TdmError
from tdm.spec.model import DatasetSpec
from tdm.store.versions import VersionStore
from tdm.targets import open_target
from tdm.targets.mongo.target import META, STAGING, MongoTarget, embeddings, mock_client
from tests.builders import seal_version

STAND_IN, REAL = "mongomock-stand-in", "real-mongodb"

SPEC = """
dataset: mall
seed: 5
batch_size: 150
reference_date: 2026-01-01
tables:
  customers:
    rows: 200
    primary_key: id
    EMBED_CUSTOMERS
    columns:
      id: {type: int, generator: sequence}
      code: {type: string, generator: pattern, pattern: "C-####-??", unique: true}
      balance: {type: "decimal(10,2)", generator: decimal, min: 0, max: 5000}
      signup: {type: date, generator: date, start: -5y, end: today}
      seen: {type: timestamp, generator: timestamp, start: -30d, null_ratio: 0.2}
      ext: {type: uuid, generator: uuid}
      prefs:
        type: json
        generator: json
        fields:
          color: {generator: choice, values: [red, blue]}
          weight: {type: float, generator: float, min: 0, max: 5, round: 2}
  orders:
    rows: {per: customers, distribution: poisson, lam: 3}
    primary_key: id
    EMBED_ORDERS
    columns:
      id: {type: string, generator: sequence, prefix: ORD-, width: 6}
      customer_id: {type: int, references: customers}
      total: {type: "decimal(12,2)", generator: decimal, min: 1, max: 900}
  reviews:
    rows: 300
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      customer_id: {type: int, references: customers, null_ratio: REVIEW_NULLS}
      stars: {type: int, generator: integer, min: 1, max: 5}
  products:
    rows: 30
    primary_key: id
    columns:
      id: {type: int, generator: integer, min: 1000, max: 9999, unique: true}
      name: {type: string, generator: sentence, min_words: 2, max_words: 3}
  order_items:
    rows: {per: orders, distribution: uniform, min: 1, max: 3}
    primary_key: [order_id, line_no]
    columns:
      order_id: {type: string, references: orders}
      line_no: {type: int, generator: sequence, per_parent: true}
      product_id: {type: int}
    foreign_keys:
      - {columns: product_id, references: products.id}
"""


def spec_text(embed: bool, review_nulls: float = 0) -> str:
    return (
        SPEC.replace("EMBED_CUSTOMERS", "embed: [orders, reviews]" if embed else "")
        .replace("EMBED_ORDERS", "embed: [order_items]" if embed else "")
        .replace("REVIEW_NULLS", str(review_nulls))
    )


@pytest.fixture(params=[STAND_IN, REAL])
def mongo(request):
    """(target, database) on the stand-in or on the real server, with a fresh database."""
    if request.param == REAL:
        url = os.environ.get("MONGODB_URL")
        if not url:
            pytest.skip("MONGODB_URL not set: no MongoDB server here")
        database = f"tdm_it_{uuid.uuid4().hex[:10]}"
        target = open_target(url, database=database)
    else:
        database = "envdb"
        target = open_target(f"mongomock://tdm-it-{uuid.uuid4().hex[:10]}/{database}")
    assert isinstance(target, MongoTarget) and target.database_name("mall") == database
    with target.connect() as client:
        yield target, client[database]
        client.drop_database(database)


@pytest.fixture
def versions(write_spec, tmp_path):
    """A store holding: flat seed 1, flat seed 2, embedded seed 3, embedded with null FKs."""
    store = VersionStore(tmp_path / "store")
    out = {}
    cases = {
        "flat1": (False, 1, 0),
        "flat2": (False, 2, 0),
        "embedded": (True, 3, 0),
        "orphans": (True, 4, 0.2),
    }
    for name, (embed, seed, nulls) in cases.items():
        out[name] = seal_version(
            store, write_spec(spec_text(embed, nulls), f"{name}.yaml"), seed=seed
        )
    return store, out


def collections(db) -> set[str]:
    return set(db.list_collection_names())


def test_a_collection_per_table_with_keys_as_ids(mongo, versions):
    target, db = mongo
    store, v = versions
    plan, version = v["flat1"]
    assert target.current("mall") is None
    report = target.load(store, "mall", version)
    assert report.rows == plan.rows and report.previous is None
    assert collections(db) == {*plan.order, META}
    for table in plan.order:
        assert db[table].count_documents({}) == plan.rows[table]
    ids = store.read_table("mall", version, "customers").column("id").to_pylist()
    assert sorted(d["_id"] for d in db.customers.find({}, {"_id": 1})) == sorted(ids)
    assert all(d["_id"] == d["id"] for d in db.customers.find({}, {"id": 1}))
    item = db.order_items.find_one({"_id": {"order_id": "ORD-000001", "line_no": 1}})
    assert item is not None and item["order_id"] == "ORD-000001" and item["line_no"] == 1
    held = target.current("mall")
    assert held["version"] == version and held["collections"] == plan.order
    assert held["rows"] == plan.rows and held["embedded"] == {}
    assert "swap_in_progress" not in held and held["loaded_at"].endswith("+00:00")
    meta = db[META].find_one({"_id": "mall"})
    assert meta["version"] == version and isinstance(meta["loaded_at"], dt.datetime)


def test_values_are_native_bson_types(mongo, versions):
    target, db = mongo
    store, v = versions
    _, version = v["flat1"]
    target.load(store, "mall", version)
    rows = store.read_table("mall", version, "customers").to_pylist()
    docs = {d["_id"]: d for d in db.customers.find()}
    assert len(docs) == len(rows)
    for row in rows:
        doc = docs[row["id"]]
        assert isinstance(doc["balance"], Decimal128)
        assert doc["balance"].to_decimal() == row["balance"]
        assert doc["signup"] == dt.datetime.combine(row["signup"], dt.time(), dt.UTC)
        if row["seen"] is None:
            assert "seen" not in doc  # nulls are left out; {seen: null} still finds them
        else:  # BSON datetimes hold milliseconds
            assert doc["seen"] == row["seen"].replace(
                microsecond=row["seen"].microsecond // 1000 * 1000
            )
        assert doc["ext"] == row["ext"] and isinstance(doc["ext"], str)
        assert doc["prefs"] == json.loads(row["prefs"]) and isinstance(doc["prefs"], dict)
    nulls = sum(r["seen"] is None for r in rows)
    assert nulls and db.customers.count_documents({"seen": None}) == nulls
    orders = store.read_table("mall", version, "orders").to_pylist()
    assert db.orders.find_one({"_id": orders[0]["id"]})["total"] == Decimal128(orders[0]["total"])
    assert db.customers.count_documents({"prefs.color": "red"}) == sum(
        json.loads(r["prefs"])["color"] == "red" for r in rows
    )


def test_primary_keys_and_unique_columns_get_unique_indexes(mongo, versions):
    target, db = mongo
    store, v = versions
    target.load(store, "mall", v["flat1"][1])

    def unique_keys(coll):
        info = db[coll].index_information()
        return {tuple(k for k, _ in i["key"]) for i in info.values() if i.get("unique")}

    assert {("id",), ("code",)} <= unique_keys("customers")
    assert ("order_id", "line_no") in unique_keys("order_items")
    assert ("id",) in unique_keys("products")
    taken = db.customers.find_one({"_id": 1})["code"]
    with pytest.raises(DuplicateKeyError):
        db.customers.insert_one({"_id": -1, "id": -1, "code": taken})


def test_children_are_embedded_as_arrays_each_exactly_once(mongo, versions):
    target, db = mongo
    store, v = versions
    plan, version = v["embedded"]
    report = target.load(store, "mall", version)
    assert report.rows == plan.rows
    assert report.extra["collections"] == ["customers", "products"]
    assert collections(db) == {"customers", "products", META}  # no orders, reviews, items
    assert target.current("mall")["embedded"] == {
        "orders": "customers",
        "reviews": "customers",
        "order_items": "orders",
    }
    table = {t: store.read_table("mall", version, t).to_pylist() for t in plan.order}
    seen_orders, seen_items, seen_reviews = [], [], []
    for customer in db.customers.find():
        assert isinstance(customer["orders"], list) and isinstance(customer["reviews"], list)
        for order in customer["orders"]:
            assert "_id" not in order and order["customer_id"] == customer["_id"]
            assert isinstance(order["total"], Decimal128)
            for item in order["order_items"]:
                assert item["order_id"] == order["id"]
                seen_items.append((item["order_id"], item["line_no"]))
            seen_orders.append(order["id"])
        for review in customer["reviews"]:
            assert review["customer_id"] == customer["_id"]
            seen_reviews.append(review["id"])
        # children keep their row order inside the array
        ids = [r["id"] for r in customer["reviews"]]
        assert ids == sorted(ids)
    assert sorted(seen_orders) == sorted(r["id"] for r in table["orders"])
    assert len(seen_orders) == len(set(seen_orders)) == plan.rows["orders"]
    assert sorted(seen_items) == sorted((r["order_id"], r["line_no"]) for r in table["order_items"])
    # reviews pick their customer at random: grouping must not rely on contiguous rows
    owners = [r["customer_id"] for r in table["reviews"]]
    assert owners != sorted(owners)
    assert sorted(seen_reviews) == sorted(r["id"] for r in table["reviews"])
    assert {tuple(k for k, _ in i["key"]) for i in db.customers.index_information().values()} >= {
        ("orders.id",),
        ("reviews.id",),
        ("orders.order_items.order_id",),
    }
    one = table["orders"][0]
    found = db.customers.find_one({"orders.id": one["id"]})
    assert found["_id"] == one["customer_id"]


def test_a_reload_replaces_everything_and_leaves_no_staging(mongo, versions):
    target, db = mongo
    store, v = versions
    target.load(store, "mall", v["flat1"][1])
    report = target.load(store, "mall", v["flat2"][1])
    assert report.previous == v["flat1"][1]
    flat2 = store.read_table("mall", v["flat2"][1], "customers").column("code").to_pylist()
    assert sorted(d["code"] for d in db.customers.find()) == sorted(flat2)
    # now embedded: the collections orders, reviews, order_items of the old version go away
    target.load(store, "mall", v["embedded"][1])
    assert collections(db) == {"customers", "products", META}
    assert not [c for c in collections(db) if c.startswith(STAGING)]
    held = target.current("mall")
    assert held["version"] == v["embedded"][1] and held["collections"] == ["customers", "products"]
    assert set(db[META].find_one({"_id": "mall"})) >= {"version", "rows", "collections"}
    assert "loading" not in db[META].find_one({"_id": "mall"})


def test_a_failed_load_leaves_the_previous_version(mongo, versions, monkeypatch):
    target, db = mongo
    store, v = versions
    plan1, first = v["flat1"]
    target.load(store, "mall", first)
    before = sorted(d["code"] for d in db.customers.find())
    real, calls = target._insert, []

    def fail_later(coll, chunk):
        calls.append(coll.name)
        if len(calls) == 3:
            raise BulkWriteError({"writeErrors": [{"index": 0, "code": 11000}], "nInserted": 0})
        return real(coll, chunk)

    monkeypatch.setattr(target, "_insert", fail_later)
    with pytest.raises(TdmError, match=r"while staging and was undone.*intact"):
        target.load(store, "mall", v["flat2"][1])
    assert calls[0].startswith(f"{STAGING}mall_customers_")  # it wrote to staging, not live
    assert sorted(d["code"] for d in db.customers.find()) == before
    assert {t: db[t].count_documents({}) for t in plan1.order} == plan1.rows
    assert not [c for c in collections(db) if c.startswith(STAGING)]
    held = target.current("mall")
    assert held["version"] == first and "swap_in_progress" not in held
    monkeypatch.undo()
    assert target.load(store, "mall", v["flat2"][1]).previous == first
    assert target.current("mall")["version"] == v["flat2"][1]


def test_a_child_without_a_parent_fails_the_load_cleanly(mongo, versions):
    target, db = mongo
    store, v = versions
    target.load(store, "mall", v["embedded"][1])
    with pytest.raises(TdmError, match=r"rows of reviews have a null customer_id"):
        target.load(store, "mall", v["orphans"][1])
    assert target.current("mall")["version"] == v["embedded"][1]
    assert collections(db) == {"customers", "products", META}


def test_a_crash_while_swapping_is_reported_and_repaired(mongo, versions, monkeypatch):
    target, db = mongo
    store, v = versions
    target.load(store, "mall", v["flat1"][1])
    real, done = target._rename, []

    def die_on_second(coll, live):
        if done:
            raise OperationFailure("connection reset (simulated)")
        done.append(live)
        return real(coll, live)

    monkeypatch.setattr(target, "_rename", die_on_second)
    with pytest.raises(TdmError, match=r"while swapping.*run the load again"):
        target.load(store, "mall", v["flat2"][1])
    held = target.current("mall")  # the last complete version, flagged: collections are mixed
    assert held["version"] == v["flat1"][1]
    assert held["swap_in_progress"]["version"] == v["flat2"][1]
    assert [c for c in collections(db) if c.startswith(STAGING)]  # left for the next load
    monkeypatch.undo()
    target.load(store, "mall", v["flat2"][1])
    held = target.current("mall")
    assert held["version"] == v["flat2"][1] and "swap_in_progress" not in held
    assert collections(db) == {*v["flat2"][0].order, META}


def test_staging_left_by_a_killed_load_is_dropped_by_the_next(mongo, versions):
    target, db = mongo
    store, v = versions
    target.load(store, "mall", v["flat1"][1])
    # The state a process killed during staging leaves: its recorded and half-filled staging.
    leftover = f"{STAGING}mall_customers_deadbeef"
    db[META].update_one(
        {"_id": "mall"},
        {"$set": {"loading": {"token": "deadbeef", "version": "v0", "staging": [leftover]}}},
    )
    db[leftover].insert_one({"_id": 1})
    assert target.current("mall")["version"] == v["flat1"][1]  # live data untouched
    target.load(store, "mall", v["flat2"][1])
    assert leftover not in collections(db)
    assert collections(db) == {*v["flat2"][0].order, META}


def test_database_comes_from_the_argument_the_url_or_the_dataset():
    assert MongoTarget("mongodb://h:27017/envdb").database_name("shop") == "envdb"
    assert MongoTarget("mongodb://h/envdb", database="other").database_name("shop") == "other"
    assert MongoTarget("mongodb://u:p@h1,h2/?replicaSet=rs").database_name("shop") == "shop"
    assert MongoTarget("mongomock://x").database_name("shop") == "shop"
    with pytest.raises(TdmError, match=r"mongodb://host:27017/database"):
        MongoTarget("mongodb:/nohost")


def test_stand_in_clients_are_shared_per_url_name(versions):
    """mongomock-stand-in only: how demos and tests see a load from another target object."""
    store, v = versions
    name = f"shared-{uuid.uuid4().hex[:8]}"
    open_target(f"mongomock://{name}/db").load(store, "mall", v["flat1"][1])
    assert open_target(f"mongomock://{name}/db").current("mall")["version"] == v["flat1"][1]
    assert open_target(f"mongomock://{name}-other/db").current("mall") is None
    mock_client(f"mongomock://{name}").drop_database("db")


def test_embedding_mistakes_are_clear_errors():
    def spec(**tables):
        base = {
            "customers": {"rows": 1, "primary_key": ["id"], "columns": {"id": {"type": "int"}}},
            "orders": {
                "rows": 1,
                "columns": {"cid": {"type": "int", "references": "customers"}},
            },
        }
        for name, extra in tables.items():
            base[name] = {**base[name], **extra}
        return DatasetSpec.model_validate({"dataset": "d", "tables": base})

    assert embeddings(spec(customers={"embed": ["orders"]}))["orders"].parent_columns == ["id"]
    with pytest.raises(
        TdmError, match="customers must reference orders through exactly one foreign key"
    ):
        embeddings(spec(orders={"embed": ["customers"]}))
    with pytest.raises(TdmError, match="no table 'nope' to embed"):
        embeddings(spec(customers={"embed": ["nope"]}))
    with pytest.raises(TdmError, match="cannot embed itself"):
        embeddings(spec(customers={"embed": ["customers"]}))
