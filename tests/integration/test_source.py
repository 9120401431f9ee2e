"""Extraction from a real PostgreSQL: a fixture database made (and dropped) by these tests.

customers (PII columns, every type, nulls, awkward strings, ids not contiguous), orders (a where
filter, an alternative composite source.key), order_items (a composite primary key), a view, a
schema-qualified quoted table, and tables whose key is not unique or has NULLs. Rows are inserted
in shuffled order so that key order is not physical order.
"""

from __future__ import annotations

import datetime as dt
import pickle
import random
import socket
import sqlite3
import uuid
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest

from tdm.core.errors import TdmError
from tdm.source import SourceReader, split_name
from tdm.spec.model import TableSpec

pytestmark = pytest.mark.xdist_group("postgres")

HOST, PORT = "127.0.0.1", 5432
ADMIN = {"host": HOST, "port": PORT, "user": "postgres", "dbname": "test"}
SECRET = "S3cr3t-Pa55word-xyzzy"  # trust auth accepts it: it must never show in a message

N_CUSTOMERS, N_ORDERS = 2500, 6000
NAMES = ["Anna", "José", "Zoë", "Li", "Ólafur", "Mary-Jane", 'Anne, "Nan"\nSmith', "  padded  "]


def table(columns: dict, key=None, **source) -> TableSpec:
    return TableSpec.model_validate(
        {
            "source": source or True,
            "primary_key": key if key is not None else "id",
            "columns": {n: {"type": t} for n, t in columns.items()},
        }
    )


def schema_of(t: TableSpec) -> pa.Schema:
    return pa.schema([pa.field(n, c.logical.arrow) for n, c in t.columns.items()])


CUSTOMERS = table(
    {
        "id": "int",
        "first_name": "string",
        "last_name": "string",
        "email": "string",
        "phone": "string",
        "balance": "decimal(10,2)",
        "score": "float",
        "active": "bool",
        "born": "date",
        "created": "timestamp",
        "updated": "timestamp",
        "ext": "uuid",
        "prefs": "json",
    }
)
ORDERS = table(
    {"id": "int", "customer_id": "int", "status": "string", "total": "decimal(12,2)"},
)
SHIPPED = table(
    {"id": "int", "customer_id": "int", "status": "string", "total": "decimal(12,2)"},
    table="orders",
    where="status = 'shipped' AND total > 100",
)
BY_CUSTOMER = table(
    {"customer_id": "int", "id": "int", "total": "decimal(12,2)"},
    table="orders",
    key=["customer_id", "id"],
)
ITEMS = table(
    {"order_id": "int", "line_no": "int", "product": "string", "qty": "int"},
    key=["order_id", "line_no"],
)


def _customers(rng: random.Random) -> list[tuple]:
    rows = []
    for i in range(N_CUSTOMERS):
        rows.append(
            (
                10 + 3 * i,
                NAMES[i % len(NAMES)],
                None if i % 50 == 0 else "" if i % 61 == 0 else f"Smith{i}",
                None if i % 40 == 0 else f"user{i}@example.com",
                f"+1-555-{i:07d}",
                None if i % 30 == 0 else Decimal(rng.randint(-100_000, 10_000_000)) / 100,
                None if i % 25 == 0 else rng.uniform(-1e6, 1e6),
                None if i % 33 == 0 else rng.random() < 0.5,
                None if i % 45 == 0 else dt.date(1940, 1, 1) + dt.timedelta(rng.randint(0, 25_000)),
                None
                if i % 35 == 0
                else dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))
                + dt.timedelta(microseconds=rng.randint(0, 10**14)),
                None
                if i % 36 == 0
                else dt.datetime(2021, 6, 1) + dt.timedelta(microseconds=rng.randint(0, 10**14)),
                None if i % 37 == 0 else uuid.UUID(int=rng.getrandbits(128)),
                None
                if i % 38 == 0
                else psycopg.types.json.Jsonb(
                    {"tags": [f"t{i % 7}", "ü"], "newsletter": i % 2 == 0, "n": i}
                ),
            )
        )
    return rows


def _populate(conn: psycopg.Connection) -> None:
    rng = random.Random(20260101)
    conn.execute(
        """
        CREATE TABLE customers (
            id integer PRIMARY KEY, first_name text NOT NULL, last_name varchar(50),
            email varchar(200), phone text, balance numeric(10,2), score double precision,
            active boolean, born date, created timestamptz, updated timestamp, ext uuid,
            prefs jsonb, notes text);
        CREATE TABLE orders (
            id bigint PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers,
            status text NOT NULL, total numeric(12,2) NOT NULL);
        CREATE INDEX orders_by_customer ON orders (customer_id, id);
        CREATE TABLE order_items (
            order_id bigint NOT NULL REFERENCES orders, line_no integer NOT NULL,
            product text NOT NULL, qty integer NOT NULL, PRIMARY KEY (order_id, line_no));
        CREATE TABLE types (
            id smallint PRIMARY KEY, i integer, b bigint, n numeric(10,2), d double precision,
            flag boolean, t text, v varchar(20), day date, tz timestamptz, naive timestamp,
            u uuid, j jsonb, num_text text);
        CREATE VIEW active_customers AS SELECT id, email FROM customers WHERE active;
        CREATE SCHEMA crm;
        CREATE TABLE crm."Contacts" ("Id" integer PRIMARY KEY, "Email" text);
        CREATE TABLE dupes (k integer, v text);
        CREATE TABLE nullkeys (k integer, v text);
        """
    )
    customers = _customers(rng)
    rng.shuffle(customers)
    cols = "id, first_name, last_name, email, phone, balance, score, active, born, created, "
    cols += "updated, ext, prefs"
    with conn.cursor() as cur:
        with cur.copy(f"COPY customers ({cols}) FROM STDIN") as copy:
            for row in customers:
                copy.write_row(row)
        ids = [c[0] for c in customers]
        orders = [
            (
                i,
                rng.choice(ids),
                rng.choice(["new", "paid", "shipped", "cancelled"]),
                Decimal(rng.randint(0, 50_000)) / 100,
            )
            for i in range(1, N_ORDERS + 1)
        ]
        rng.shuffle(orders)
        with cur.copy("COPY orders FROM STDIN") as copy:
            for row in orders:
                copy.write_row(row)
        items = [
            (o, line, f"product {rng.randint(1, 99)}", rng.randint(1, 5))
            for o in range(1, 1501)
            for line in range(1, rng.randint(1, 4) + 1)
        ]
        rng.shuffle(items)
        with cur.copy("COPY order_items FROM STDIN") as copy:
            for row in items:
                copy.write_row(row)
        cur.execute(
            """
            INSERT INTO types VALUES
              (1, -2147483648, 9223372036854775807, -12345678.90, 1.0000000000000002, true,
               'text, "quoted"' || chr(10) || 'line', 'varchar', '2024-02-29',
               '2024-03-10 12:00:00.123456+05:00', '2024-03-10 12:00:00.5',
               'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{"b": 1, "a": [1, 2.50], "aa": null}',
               '42'),
              (2, 0, -1, 0, 'NaN', false, '', '', '0001-01-01', '1970-01-01 00:00:00+00',
               '1969-12-31 23:59:59.999999', '00000000-0000-0000-0000-000000000000', '[]',
               '-7'),
              (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
              (4, 7, 8, 0.01, '-Infinity', true, 'ü', 'v', '9999-12-31',
               '9999-12-31 23:59:59.999999+00', '2000-01-01',
               'ffffffff-ffff-ffff-ffff-ffffffffffff', '"just a string"', '3');
            INSERT INTO active_customers SELECT 0, 'x' WHERE false;
            INSERT INTO crm."Contacts" SELECT g, 'c' || g || '@example.com'
              FROM generate_series(1, 50) g;
            INSERT INTO dupes VALUES (1, 'a'), (2, 'b'), (2, 'c'), (3, 'd'), (4, 'e'), (5, 'f');
            INSERT INTO nullkeys VALUES (1, 'a'), (NULL, 'b'), (3, 'c');
            """
        )
    conn.execute("VACUUM ANALYZE")


@pytest.fixture(scope="module")
def pg():
    """A fresh database tdm_src_<hex>, filled once for the module and dropped afterwards."""
    try:
        admin = psycopg.connect(**ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.Error as e:
        pytest.skip(f"PostgreSQL is not reachable on {HOST}:{PORT} as postgres: {e}")
    name = f"tdm_src_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(**{**ADMIN, "dbname": name}, autocommit=True) as conn:
            _populate(conn)
        yield name
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="module")
def url(pg) -> str:
    # trust auth ignores the password: it is here to prove messages never show it
    return f"postgresql+psycopg://postgres:{SECRET}@{HOST}:{PORT}/{pg}"


@pytest.fixture
def reader(url):
    with SourceReader(url) as r:
        yield r


@pytest.fixture
def db(pg):
    with psycopg.connect(**{**ADMIN, "dbname": pg}, autocommit=True) as conn:
        yield conn


def reference(db, sql: str, schema: pa.Schema) -> pa.Table:
    """The source read the plain way, row by row through psycopg, as Arrow."""
    rows = db.execute(sql).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]

    def py(v):
        if isinstance(v, uuid.UUID):
            return str(v)
        if isinstance(v, dt.datetime) and v.tzinfo is None:
            return v.replace(tzinfo=dt.UTC)
        return v

    return pa.table(
        [
            pa.array([py(v) for v in col], type=f.type)
            for col, f in zip(columns, schema, strict=True)
        ],
        schema=schema,
    )


def read_in_batches(reader, name, spec, total, size, order=lambda ks: ks):
    schema = schema_of(spec)
    batches = {}
    for k in order(list(range(-(-total // size)))):
        batches[k] = reader.read(name, spec, k * size, min(total, (k + 1) * size), schema)
        assert batches[k].schema == schema
        assert batches[k].num_rows == min(total, (k + 1) * size) - k * size
    return pa.concat_tables([batches[k] for k in sorted(batches)])


# -- counting and batches --------------------------------------------------------------------


def test_count_with_and_without_where(reader, db):
    assert reader.count("customers", CUSTOMERS) == N_CUSTOMERS
    assert reader.count("orders", ORDERS) == N_ORDERS
    shipped = db.execute("SELECT count(*) FROM orders WHERE status = 'shipped' AND total > 100")
    expected = shipped.fetchone()[0]
    assert 0 < expected < N_ORDERS
    assert reader.count("shipped", SHIPPED) == expected
    assert (
        reader.count("order_items", ITEMS)
        == db.execute("SELECT count(*) FROM order_items").fetchone()[0]
    )


def test_batches_in_any_order_equal_one_full_read_and_the_source(reader, db):
    schema = schema_of(CUSTOMERS)
    full = reader.read("customers", CUSTOMERS, 0, N_CUSTOMERS, schema)
    cols = ", ".join(n if n != "prefs" else "prefs::text" for n in schema.names)
    assert full.equals(reference(db, f"SELECT {cols} FROM customers ORDER BY id", schema))
    assert full.column("id").to_pylist() == [10 + 3 * i for i in range(N_CUSTOMERS)]

    rng = random.Random(3)
    for size, order in [
        (1000, lambda ks: ks[::-1]),
        (333, lambda ks: rng.sample(ks, len(ks))),
        (97, lambda ks: ks[1::2] + ks[::2]),
        (N_CUSTOMERS, lambda ks: ks),
    ]:
        assert read_in_batches(reader, "customers", CUSTOMERS, N_CUSTOMERS, size, order).equals(
            full
        ), size


def test_a_batch_alone_on_a_fresh_reader_equals_its_slice(url, reader):
    """No state carries over between batches: any batch, any process."""
    schema = schema_of(CUSTOMERS)
    full = reader.read("customers", CUSTOMERS, 0, N_CUSTOMERS, schema)
    for start, stop in [(1234, 1500), (2499, 2500), (0, 1), (2400, 2500)]:
        clone = pickle.loads(pickle.dumps(SourceReader(url)))
        assert clone.read("customers", CUSTOMERS, start, stop, schema).equals(
            full.slice(start, stop - start)
        )
        clone.close()


def test_ranges_at_and_past_the_end_are_empty(reader):
    schema = schema_of(ORDERS)
    for start, stop in [(N_ORDERS, N_ORDERS + 10), (N_ORDERS + 5, N_ORDERS + 9), (7, 7)]:
        got = reader.read("orders", ORDERS, start, stop, schema)
        assert got.num_rows == 0 and got.schema == schema
    tail = reader.read("orders", ORDERS, N_ORDERS - 3, N_ORDERS + 100, schema)
    assert tail.column("id").to_pylist() == [N_ORDERS - 2, N_ORDERS - 1, N_ORDERS]


def test_where_filter_batches(reader, db):
    total = reader.count("shipped", SHIPPED)
    schema = schema_of(SHIPPED)
    expected = reference(
        db,
        "SELECT id, customer_id, status, total FROM orders "
        "WHERE status = 'shipped' AND total > 100 ORDER BY id",
        schema,
    )
    for size in (100, 257, total):
        got = read_in_batches(reader, "shipped", SHIPPED, total, size, lambda ks: ks[::-1])
        assert got.equals(expected)
    assert set(expected.column("status").to_pylist()) == {"shipped"}


def test_composite_primary_key_pagination(reader, db):
    total = reader.count("order_items", ITEMS)
    schema = schema_of(ITEMS)
    expected = reference(
        db, "SELECT order_id, line_no, product, qty FROM order_items ORDER BY 1, 2", schema
    )
    assert expected.num_rows == total
    # batch sizes whose boundaries fall inside one order's lines
    for size in (7, 250, 1000):
        got = read_in_batches(reader, "order_items", ITEMS, total, size, lambda ks: ks[::-1])
        assert got.equals(expected), size


def test_composite_source_key_differs_from_primary_key(reader, db):
    schema = schema_of(BY_CUSTOMER)
    expected = reference(
        db, "SELECT customer_id, id, total FROM orders ORDER BY customer_id, id", schema
    )
    got = read_in_batches(reader, "by_customer", BY_CUSTOMER, N_ORDERS, 499, lambda ks: ks[::-1])
    assert got.equals(expected)


def test_key_order_is_the_sources_not_the_spec_types(reader, db):
    """An integer key read as text still pages in numeric order (text order would put 10
    before 9 and disagree with the keyset comparison)."""
    as_text = table({"id": "string", "total": "string"}, table="orders")
    schema = schema_of(as_text)
    expected = reference(db, "SELECT id::text, total::text FROM orders ORDER BY orders.id", schema)
    got = read_in_batches(reader, "orders", as_text, N_ORDERS, 700, lambda ks: ks[::-1])
    assert got.equals(expected)


def test_keyset_statements_are_index_range_scans(reader, db, monkeypatch):
    """What source.py sends for a batch of a composite-key table: an index-only probe, then a
    range scan of the key index; neither sorts nor reads the table from its start."""
    sent: list[str] = []
    execute, copy = psycopg.Connection.execute, psycopg.Cursor.copy

    def spy_execute(self, query, *args, **kwargs):
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    def spy_copy(self, statement, *args, **kwargs):
        sent.append(str(statement))
        return copy(self, statement, *args, **kwargs)

    reader.count("order_items", ITEMS)
    monkeypatch.setattr(psycopg.Connection, "execute", spy_execute)
    monkeypatch.setattr(psycopg.Cursor, "copy", spy_copy)
    reader.read("order_items", ITEMS, 1000, 1100, schema_of(ITEMS))
    monkeypatch.undo()
    probe, read = sent
    assert "OFFSET 999" in probe
    assert read.startswith("COPY (") and read.endswith(") TO STDOUT (FORMAT csv)")
    assert '("order_id", "line_no") >= (' in read
    for sql in (probe, read.removeprefix("COPY (").removesuffix(") TO STDOUT (FORMAT csv)")):
        plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {sql}").fetchall())
        assert "Index" in plan and "order_items_pkey" in plan and "Sort" not in plan, plan
        assert "Seq Scan" not in plan, plan


def test_batches_read_in_order_probe_from_the_last_known_key(reader, db, monkeypatch):
    """The probe of a batch counts from the key an earlier probe found, not from the first row:
    reading a table batch by batch stays linear (an OFFSET walks every row it skips)."""
    sent: list[str] = []
    execute = psycopg.Connection.execute

    def spy_execute(self, query, *args, **kwargs):
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    schema = schema_of(ITEMS)
    first = reader.read("order_items", ITEMS, 1000, 1100, schema)
    monkeypatch.setattr(psycopg.Connection, "execute", spy_execute)
    second = reader.read("order_items", ITEMS, 1100, 1200, schema)
    again = reader.read("order_items", ITEMS, 1000, 1100, schema)  # its key is known: no probe
    monkeypatch.undo()
    [probe] = [q for q in sent if "OFFSET" in q]
    assert "OFFSET 99" in probe and '("order_id", "line_no") >= (' in probe
    plan = "\n".join(r[0] for r in db.execute(f"EXPLAIN {probe}").fetchall())
    assert "order_items_pkey" in plan and "Sort" not in plan and "Seq Scan" not in plan, plan
    whole = reader.read("order_items", ITEMS, 1000, 1200, schema)
    assert pa.concat_tables([first, second]).equals(whole) and again.equals(first)


# -- types ---------------------------------------------------------------------------------

TYPES = table(
    {
        "id": "int",
        "i": "int",
        "b": "int",
        "n": "decimal(10,2)",
        "d": "float",
        "flag": "bool",
        "t": "string",
        "v": "string",
        "day": "date",
        "tz": "timestamp",
        "naive": "timestamp",
        "u": "uuid",
        "j": "json",
        "num_text": "int",
    }
)


def test_types_are_exact(reader):
    schema = schema_of(TYPES)
    got = reader.read("types", TYPES, 0, 10, schema)
    assert got.schema == schema
    assert [f.type for f in got.schema] == [
        pa.int64(), pa.int64(), pa.int64(), pa.decimal128(10, 2), pa.float64(), pa.bool_(),
        pa.string(), pa.string(), pa.date32(), pa.timestamp("us", tz="UTC"),
        pa.timestamp("us", tz="UTC"), pa.string(), pa.string(), pa.int64(),
    ]  # fmt: skip
    rows = got.to_pylist()
    utc = dt.UTC
    one = rows[0]
    assert one["i"] == -(2**31) and one["b"] == 2**63 - 1
    assert one["n"] == Decimal("-12345678.90")
    assert one["d"] == 1.0000000000000002  # shortest exact float text, no rounding
    assert one["flag"] is True
    assert one["t"] == 'text, "quoted"\nline' and one["v"] == "varchar"
    assert one["day"] == dt.date(2024, 2, 29)
    assert one["tz"] == dt.datetime(2024, 3, 10, 7, 0, 0, 123456, tzinfo=utc)  # +05:00 -> UTC
    assert one["naive"] == dt.datetime(2024, 3, 10, 12, 0, 0, 500000, tzinfo=utc)  # naive = UTC
    assert one["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"  # canonical: lower case
    assert one["j"] == '{"a": [1, 2.50], "b": 1, "aa": null}'  # jsonb's canonical text
    assert one["num_text"] == 42  # text holding integers, read as int
    two = rows[1]
    assert two["t"] == "" and two["v"] == ""  # empty strings are not NULL
    assert two["d"] != two["d"]  # NaN
    assert two["day"] == dt.date(1, 1, 1)
    assert two["tz"] == dt.datetime(1970, 1, 1, tzinfo=utc)
    assert two["naive"] == dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=utc)
    assert two["u"] == "00000000-0000-0000-0000-000000000000" and two["j"] == "[]"
    assert two["flag"] is False and two["n"] == Decimal("0.00")
    assert all(v is None for k, v in rows[2].items() if k != "id")  # NULL in every type
    four = rows[3]
    assert four["d"] == float("-inf") and four["t"] == "ü" and four["j"] == '"just a string"'
    assert four["tz"] == dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=utc)
    # one column alone, its NULL an empty CSV line
    one_col = table({"id": "int", "i": "int"})
    single = reader.read("types", one_col, 0, 4, pa.schema([("i", pa.int64())]))
    assert single.column("i").to_pylist() == [-(2**31), 0, None, 7]


def test_columns_come_in_schema_order_and_subsets(reader):
    schema = pa.schema([("j", pa.string()), ("id", pa.int64()), ("flag", pa.bool_())])
    got = reader.read("types", TYPES, 1, 3, schema)
    assert got.schema == schema
    assert got.to_pylist() == [
        {"j": "[]", "id": 2, "flag": False},
        {"j": None, "id": 3, "flag": None},
    ]


def test_a_value_that_does_not_fit_its_type_names_the_table(reader):
    too_small = table({"id": "int", "n": "decimal(4,2)"})
    with pytest.raises(TdmError, match=r"table types .*numeric field overflow") as e:
        reader.read("types", too_small, 0, 4, schema_of(too_small))
    assert SECRET not in str(e.value)


def test_an_incompatible_column_type_is_reported_before_reading(reader):
    wrong = table({"id": "int", "flag": "date"})
    with pytest.raises(TdmError, match=r"table types .*'flag' is boolean .* as date"):
        reader.count("types", wrong)


# -- snapshot --------------------------------------------------------------------------------


def test_snapshot_changes_with_the_rows_and_only_then(reader, db):
    tables = {"orders": ORDERS, "shipped": SHIPPED, "order_items": ITEMS}
    first = reader.snapshot(tables)
    assert len(first) == 16 and first == reader.snapshot(tables)
    reader.read("orders", ORDERS, 0, 100, schema_of(ORDERS))
    db.execute("SELECT * FROM orders WHERE id = 5 FOR UPDATE")
    db.execute("VACUUM FULL orders")
    db.execute("BEGIN; UPDATE orders SET total = total + 1; ROLLBACK")
    assert reader.snapshot(tables) == first, "reads, locks, VACUUM FULL, rollbacks change nothing"
    assert SourceReader(reader.url).snapshot(tables) == first

    db.execute("UPDATE orders SET total = total WHERE id = 17")  # same values, a new row version
    after_update = reader.snapshot(tables)
    assert after_update != first
    db.execute("INSERT INTO orders VALUES (999999, 10, 'new', 1.00)")
    after_insert = reader.snapshot(tables)
    assert after_insert not in (first, after_update)
    db.execute("DELETE FROM orders WHERE id = 999999")
    assert reader.snapshot(tables) == after_update, "the same rows as before the insert"
    db.execute("DELETE FROM order_items WHERE order_id = 30")
    after_delete = reader.snapshot(tables)
    assert after_delete not in (first, after_update, after_insert)
    assert reader.snapshot(tables) == after_delete


def test_snapshot_ignores_rows_outside_where(reader, db):
    only_shipped = {"shipped": SHIPPED}
    before = reader.snapshot(only_shipped)
    db.execute("UPDATE orders SET total = total WHERE status = 'new' AND id < 50")
    assert reader.snapshot(only_shipped) == before
    row = db.execute("SELECT id FROM orders WHERE status = 'new' AND total > 100 LIMIT 1")
    db.execute("UPDATE orders SET status = 'shipped' WHERE id = %s", row.fetchone())
    assert reader.snapshot(only_shipped) != before  # a row came into the filter


def test_snapshot_of_a_view_hashes_its_rows(reader, db):
    view = table({"id": "int", "email": "string"}, table="active_customers")
    before = reader.snapshot({"active": view})
    db.execute("UPDATE customers SET phone = 'x' WHERE id = 10")  # a column the view lacks
    assert reader.snapshot({"active": view}) == before
    db.execute("UPDATE customers SET email = 'changed@example.com' WHERE active AND id < 400")
    assert reader.snapshot({"active": view}) != before
    n = reader.count("active", view)
    assert reader.read("active", view, 0, n, schema_of(view)).num_rows == n


# -- sample ----------------------------------------------------------------------------------


def test_sample_is_deterministic_spread_and_typed(url, reader):
    schema = schema_of(CUSTOMERS)
    full = reader.read("customers", CUSTOMERS, 0, N_CUSTOMERS, schema)
    sample = reader.sample("customers", CUSTOMERS, schema, limit=100)
    assert sample.schema == schema and 0 < sample.num_rows <= 100
    assert sample.equals(SourceReader(url).sample("customers", CUSTOMERS, schema, limit=100))
    ids = sample.column("id").to_pylist()
    assert ids == sorted(ids) and set(ids) <= set(full.column("id").to_pylist())
    assert ids[-1] > full.column("id")[200].as_py(), "spread over the table, not its first rows"
    everything = reader.sample("customers", CUSTOMERS, schema, limit=10_000)
    assert everything.equals(full)
    shipped = reader.sample("shipped", SHIPPED, schema_of(SHIPPED), limit=20)
    assert set(shipped.column("status").to_pylist()) == {"shipped"}


# -- names -----------------------------------------------------------------------------------


def test_schema_qualified_and_quoted_names(reader):
    contacts = table({"Id": "int", "Email": "string"}, key="Id", table='crm."Contacts"')
    assert reader.count("contacts", contacts) == 50
    got = reader.read("contacts", contacts, 45, 60, schema_of(contacts))
    assert got.column("Email").to_pylist() == [f"c{i}@example.com" for i in range(46, 51)]
    assert split_name('crm."Con.tacts"') == ["crm", "Con.tacts"]
    assert split_name("public.orders") == ["public", "orders"]
    with pytest.raises(TdmError):
        split_name("a.b.c")


# -- errors ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_unreachable_host(pg):
    r = SourceReader(f"postgresql+psycopg://alice:{SECRET}@{HOST}:{_free_port()}/{pg}")
    with pytest.raises(TdmError) as e:
        r.count("customers", CUSTOMERS)
    text = str(e.value)
    assert "table customers" in text and "cannot connect" in text and "refused" in text
    assert "alice:***@" in text and SECRET not in text


def test_wrong_password(password_rejecting_server):
    port, seen = password_rejecting_server
    r = SourceReader(f"postgresql+psycopg://alice:{SECRET}@{HOST}:{port}/shop?sslmode=disable")
    with pytest.raises(TdmError) as e:
        r.read("customers", CUSTOMERS, 0, 10, schema_of(CUSTOMERS))
    text = str(e.value)
    assert "table customers" in text and "password authentication failed" in text
    assert "check the user and password" in text
    assert SECRET.encode() in seen[0], "the client did send the password"
    assert SECRET not in text and "alice:***@" in text


def test_missing_database(pg):
    r = SourceReader(f"postgresql://postgres:{SECRET}@{HOST}:{PORT}/{pg}_nope")
    with pytest.raises(TdmError, match="does not exist") as e:
        r.count("customers", CUSTOMERS)
    assert "table customers" in str(e.value) and SECRET not in str(e.value)


def test_missing_table(reader):
    spec = table({"id": "int"}, table="customer")
    with pytest.raises(TdmError) as e:
        reader.count("clients", spec)
    text = str(e.value)
    assert "table clients" in text and "'customer' does not exist" in text
    assert 'did you mean "customers"' in text and SECRET not in text
    with pytest.raises(TdmError, match=r"'nowhere.customers' does not exist"):
        reader.count("clients", table({"id": "int"}, table="nowhere.customers"))


def test_missing_column(reader):
    spec = table({"id": "int", "emial": "string"})
    with pytest.raises(TdmError) as e:
        reader.read("customers", spec, 0, 5, schema_of(spec))
    text = str(e.value)
    assert "table customers" in text and "column 'emial' is not in source table" in text
    assert 'did you mean "email"' in text and SECRET not in text
    with pytest.raises(TdmError, match="key column 'code' is not in"):
        reader.count("customers", table({"id": "int"}, key="code"))


def test_bad_where(reader):
    bad_column = table({"id": "int"}, table="orders", where="statuz = 'shipped'")
    with pytest.raises(TdmError, match=r"table orders .*where .*statuz") as e:
        reader.count("orders", bad_column)
    assert SECRET not in str(e.value)
    bad_syntax = table({"id": "int"}, table="orders", where="status = = 1")
    with pytest.raises(TdmError, match=r"table orders .*source.where condition .*syntax"):
        reader.read("orders", bad_syntax, 10, 20, pa.schema([("id", pa.int64())]))


def test_a_where_with_percent_signs_and_quotes(reader, db):
    spec = table({"id": "int", "email": "string"}, table="customers", where="email LIKE 'user1%'")
    n = db.execute("SELECT count(*) FROM customers WHERE email LIKE 'user1%'").fetchone()[0]
    assert reader.count("c", spec) == n
    got = reader.read("c", spec, 5, n, schema_of(spec))
    assert all(e.startswith("user1") for e in got.column("email").to_pylist())


def test_no_key(reader):
    spec = TableSpec.model_validate({"source": True, "columns": {"k": {"type": "int"}}})
    with pytest.raises(TdmError, match=r"table dupes: .*needs a key"):
        reader.count("dupes", spec)


def test_duplicate_and_null_keys_are_refused(reader):
    dupes = table({"k": "int", "v": "string"}, key="k")
    assert reader.count("dupes", dupes) == 6
    schema = schema_of(dupes)
    with pytest.raises(TdmError, match=r"table dupes .*not unique .*value 2"):
        reader.read("dupes", dupes, 0, 6, schema)  # inside one batch
    with pytest.raises(TdmError, match=r"table dupes .*not unique .*value 2"):
        reader.read("dupes", dupes, 2, 4, schema)  # at a batch boundary
    assert reader.read("dupes", dupes, 1, 2, schema).column("k").to_pylist() == [2]
    with pytest.raises(TdmError, match=r"table dupes .*not unique .*value 2"):
        reader.read("dupes", dupes, 2, 4, schema)  # probed from row 1's key, known now
    nulls = table({"k": "int", "v": "string"}, key="k")
    with pytest.raises(TdmError, match=r"table nullkeys .*1 row\(s\) have a NULL in the key"):
        reader.count("nullkeys", nulls)
    for start, stop in [(0, 3), (1, 3), (2, 3)]:  # the NULL sorts last, at row 2
        with pytest.raises(TdmError, match=r"table nullkeys .*NULL"):
            reader.read("nullkeys", nulls, start, stop, schema_of(nulls))


def test_not_a_url_and_unsupported_databases():
    with pytest.raises(TdmError, match="not a database URL") as e:
        SourceReader(f"postgres ql://bob:{SECRET}@host/db")
    assert SECRET not in str(e.value)
    with pytest.raises(TdmError, match=r"PostgreSQL .* or SQLite") as e:
        SourceReader(f"mysql://bob:{SECRET}@host/db")
    assert SECRET not in str(e.value)


def test_session_is_read_only(reader):
    reader.count("orders", ORDERS)
    assert reader._db.conn().execute("SHOW default_transaction_read_only").fetchone()[0] == "on"


# -- SQLite and the plan ---------------------------------------------------------------------


def test_sqlite_source_reads_like_postgres(reader, tmp_path):
    """The same rows stored the way a tdm SQLite environment stores them read back identical."""
    schema = schema_of(CUSTOMERS)
    full = reader.read("customers", CUSTOMERS, 0, N_CUSTOMERS, schema)
    path = tmp_path / "src.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT, "
            "email TEXT, phone TEXT, balance TEXT, score REAL, active INTEGER, born TEXT, "
            "created TEXT, updated TEXT, ext TEXT, prefs TEXT)"
        )

        def sqlite_value(v):
            if isinstance(v, bool):
                return int(v)
            if isinstance(v, Decimal | dt.date):
                return str(v)
            return v

        rows = full.to_pylist()
        random.Random(1).shuffle(rows)
        conn.executemany(
            f"INSERT INTO customers VALUES ({', '.join('?' * len(schema))})",
            [[sqlite_value(v) for v in r.values()] for r in rows],
        )
    with SourceReader(f"sqlite:///{path}") as lite:
        assert lite.count("customers", CUSTOMERS) == N_CUSTOMERS
        got = read_in_batches(lite, "customers", CUSTOMERS, N_CUSTOMERS, 700, lambda ks: ks[::-1])
        assert got.equals(full)
        snap = lite.snapshot({"customers": CUSTOMERS})
        assert snap == lite.snapshot({"customers": CUSTOMERS})
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE customers SET phone = 'changed' WHERE id = 13")
        assert lite.snapshot({"customers": CUSTOMERS}) != snap
        with pytest.raises(TdmError, match=r"table customers: .*'customerz' does not exist"):
            lite.count("customers", table({"id": "int"}, table="customerz"))
    with pytest.raises(TdmError, match=r"table customers: cannot open .*no file"):
        SourceReader(f"sqlite:///{tmp_path}/missing.sqlite").count("customers", CUSTOMERS)


def test_the_plan_counts_and_reads_through_the_reader(url, monkeypatch, write_spec):
    from tdm.plan.check import check_spec
    from tdm.plan.compile import build_plan
    from tdm.plan.loading import parse_spec

    monkeypatch.setenv("TDM_TEST_SOURCE_URL", url)
    path = write_spec(
        """
        dataset: shop
        batch_size: 400
        reference_date: 2026-01-01
        source: {url: "${TDM_TEST_SOURCE_URL}"}
        tables:
          order_items:
            source: {where: "qty > 1"}
            primary_key: [order_id, line_no]
            columns:
              order_id: {type: int}
              line_no: {type: int}
              qty: {type: int}
        """
    )
    spec = parse_spec(path)
    problems, gens = check_spec(spec)
    assert not problems
    plan, problems = build_plan(spec, gens, source=path)
    assert not problems
    n = plan.rows["order_items"]
    parts = [plan.generate("order_items", *plan.block("order_items", b)) for b in range(3)]
    got = pa.concat_tables(parts)
    assert got.num_rows == min(n, 1200) and got.schema.names == ["order_id", "line_no", "qty"]
    assert min(got.column("qty").to_pylist()) > 1
    assert len(plan.snapshot()) == 16
