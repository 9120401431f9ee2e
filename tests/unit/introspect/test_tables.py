"""A spec table from catalog facts (no database needed): row counts, keys, partitions, exclusion
constraints, checks."""

from __future__ import annotations

from tdm.introspect.tables import shape_table
from tdm.targets.postgres.catalog import (
    PgColumn,
    PgForeignKey,
    PgSchema,
    PgTable,
    PgType,
    PgUnique,
)

TYPES = {
    "int4": PgType(23, "integer", "int4", "base", "N"),
    "timestamptz": PgType(1184, "timestamp with time zone", "timestamptz", "base", "D"),
    "text": PgType(25, "text", "text", "base", "S"),
}
TYPES["tstzrange"] = PgType(
    3910, "tstzrange", "tstzrange", "range", "R", element=TYPES["timestamptz"]
)


def col(name: str, typname: str = "int4", not_null: bool = True) -> PgColumn:
    t = TYPES[typname]
    return PgColumn(name, t, t.name, not_null, None, "", False, None)


def table(name: str, *columns: PgColumn, **facts) -> PgTable:
    t = PgTable(name, 0, **facts)
    t.columns = {c.name: c for c in columns}
    return t


def fk(columns: list[str], ref: str, ref_columns: list[str] | None = None) -> PgForeignKey:
    return PgForeignKey(
        f"{'_'.join(columns)}_fkey",
        columns,
        "s",
        ref,
        ref_columns or ["id"],
        "NO ACTION",
        "NO ACTION",
        False,
    )


def shape(t: PgTable, *others: PgTable, comp: dict | None = None):
    tables = {x.name: x for x in (t, *others)}
    catalog = PgSchema("s", "db", tables, [], [])
    comp = comp or {name: i for i, name in enumerate(tables)}
    return shape_table(t, catalog, set(tables), comp, 100)


def test_range_partitions_with_a_gap_get_their_span_and_a_check_for_the_gap():
    t = table(
        "payments",
        col("id"),
        col("paid_at", "timestamptz"),
        partitioned=True,
        partition_key="RANGE (paid_at)",
        partitions=[
            ("p1", "FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00')"),
            ("p3", "FOR VALUES FROM ('2026-03-01 00:00:00+00') TO ('2026-04-01 00:00:00+00')"),
        ],
        primary_key=["id", "paid_at"],
    )
    out = shape(t).table
    assert out["columns"]["paid_at"]["start"] == "2026-01-01"
    assert out["columns"]["paid_at"]["end"] == "2026-03-31"
    assert out["check"]["payments_partitions"] == (
        "(paid_at >= '2026-01-01 00:00:00+00' AND paid_at < '2026-02-01 00:00:00+00') OR "
        "(paid_at >= '2026-03-01 00:00:00+00' AND paid_at < '2026-04-01 00:00:00+00')"
    )


def test_list_partitions_give_the_values_and_a_default_partition_takes_anything():
    parts = [("a", "FOR VALUES IN (1, 2)"), ("b", "FOR VALUES IN (7)")]
    t = table(
        "r",
        col("id"),
        col("region"),
        partitioned=True,
        partition_key="LIST (region)",
        partitions=parts,
        primary_key=["id", "region"],
    )
    assert shape(t).table["columns"]["region"]["values"] == [1, 2, 7]
    t.partitions = [*parts, ("rest", "DEFAULT")]
    assert shape(t).table["columns"]["region"]["generator"] == "integer"


def test_an_exclusion_constraint_on_a_range_makes_the_ranges_disjoint():
    t = table(
        "bookings",
        col("id"),
        col("room_id"),
        col("during", "tstzrange"),
        primary_key=["id"],
        exclusions=[("no_overlap", "EXCLUDE USING gist (room_id WITH =, during WITH &&)")],
    )
    entry = shape(t).table["columns"]["during"]
    assert entry["generator"] == "range" and entry["disjoint"] is True


def test_a_key_of_two_foreign_keys_is_counted_per_one_parent_and_distinct_in_the_other():
    films, actors = (
        table("film", col("id"), primary_key=["id"]),
        table("actor", col("id"), primary_key=["id"]),
    )
    link = table(
        "film_actor",
        col("actor_id"),
        col("film_id"),
        primary_key=["actor_id", "film_id"],
        foreign_keys=[fk(["actor_id"], "actor"), fk(["film_id"], "film")],
    )
    out = shape(link, films, actors).table
    assert out["rows"]["per"] == "actor"
    second = next(f for f in out["foreign_keys"] if f["columns"] == ["film_id"])
    assert second["distinct_per_parent"] is True


def test_a_key_of_a_parent_and_a_number_numbers_rows_within_each_parent():
    orders = table("orders", col("id"), primary_key=["id"])
    lines = table(
        "lines",
        col("order_id"),
        col("line_no"),
        primary_key=["order_id", "line_no"],
        foreign_keys=[fk(["order_id"], "orders")],
    )
    entry = shape(lines, orders).table["columns"]["line_no"]
    assert entry["generator"] == "sequence" and entry["per_parent"] is True


def test_a_unique_foreign_key_is_one_row_at_most_per_parent_and_a_cycle_gets_fixed_counts():
    users = table("users", col("id"), primary_key=["id"])
    profiles = table(
        "profiles",
        col("id"),
        col("user_id"),
        primary_key=["id"],
        uniques=[PgUnique("profiles_user_id_key", ["user_id"])],
        foreign_keys=[fk(["user_id"], "users")],
    )
    assert shape(profiles, users).table["rows"] == {
        "per": "users",
        "distribution": "uniform",
        "min": 0,
        "max": 1,
    }
    cycle = shape(profiles, users, comp={"profiles": 0, "users": 0}).table
    assert cycle["rows"] == 100 and cycle["columns"]["user_id"]["unique"] is True


def test_checks_tdm_can_evaluate_are_kept_and_others_are_noted():
    t = table(
        "t",
        col("id"),
        col("starts", "timestamptz"),
        col("ends", "timestamptz"),
        col("during", "tstzrange"),
        primary_key=["id"],
        checks=[
            ("ordered", "(ends > starts)", True),
            ("nonempty", "(NOT isempty(during))", True),
        ],
    )
    shaped = shape(t)
    assert shaped.table["check"] == {"ordered": "(ends > starts)"}
    assert any("nonempty is enforced by PostgreSQL at load" in n for n in shaped.notes[""])
