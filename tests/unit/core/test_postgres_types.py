"""One PostgreSQL type mapping (tdm.core.postgres_types), both ways: every logical type round-trips
through its PostgreSQL type, and the DDL, casts and introspected types of its three users are
what they were before it (the expected texts below were produced by the code it replaced)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from tdm.core import postgres_types
from tdm.core.postgres_types import column_type, logical_type, postgres_type, type_name
from tdm.core.types import KINDS, parse_type
from tdm.source.copy_csv import _pg_expr
from tdm.spec.model import DatasetSpec
from tdm.targets.ddl import metadata_for, sql_type

# Every logical type (decimals at their bounds too), as the spec writes it.
TYPES = [
    "int",
    "float",
    "decimal(10,2)",
    "decimal(38,0)",
    "decimal(1,1)",
    "bool",
    "string",
    "date",
    "timestamp",
    "uuid",
    "json",
]


def test_every_kind_is_mapped():
    assert {parse_type(t).kind for t in TYPES} == set(KINDS) == set(postgres_types.SHORT_NAMES)


@pytest.mark.parametrize("text", TYPES)
def test_round_trip(text):
    t = parse_type(text)
    ddl, short = postgres_type(t), postgres_type(t, short=True)
    assert logical_type(ddl) == logical_type(short) == text
    assert logical_type(ddl.lower()) == logical_type(short.upper()) == text
    assert parse_type(logical_type(ddl)) == t
    # the column tdm creates renders as that type, and introspection reads it back
    assert type_name(column_type(t)) == type_name(sql_type(t, "postgresql")) == ddl
    assert logical_type(type_name(sql_type(t, "postgresql")), short_names=False) == text


def test_postgres_type_names():
    names = {
        t: (postgres_type(parse_type(t)), postgres_type(parse_type(t), short=True)) for t in TYPES
    }
    assert names == {
        "int": ("BIGINT", "int8"),
        "float": ("DOUBLE PRECISION", "float8"),
        "decimal(10,2)": ("NUMERIC(10, 2)", "numeric(10,2)"),
        "decimal(38,0)": ("NUMERIC(38, 0)", "numeric(38,0)"),
        "decimal(1,1)": ("NUMERIC(1, 1)", "numeric(1,1)"),
        "bool": ("BOOLEAN", "bool"),
        "string": ("TEXT", "text"),
        "date": ("DATE", "date"),
        "timestamp": ("TIMESTAMP WITH TIME ZONE", "timestamptz"),
        "uuid": ("UUID", "uuid"),
        "json": ("JSONB", "jsonb"),
    }


EVERY_TYPE = DatasetSpec.model_validate(
    {
        "dataset": "every",
        "tables": {
            "every_type": {
                "rows": 1,
                "primary_key": ["c_int"],
                "columns": {
                    "c_int": {"type": "int"},
                    "c_float": {"type": "float"},
                    "c_decimal_10_2": {"type": "decimal(10,2)"},
                    "c_decimal_38_0": {"type": "decimal(38,0)"},
                    "c_bool": {"type": "bool"},
                    "c_string": {"type": "string"},
                    "c_date": {"type": "date"},
                    "c_timestamp": {"type": "timestamp"},
                    "c_uuid": {"type": "uuid"},
                    "c_json": {"type": "json"},
                },
            }
        },
    }
)


def _create_table(dialect_name: str, dialect) -> str:
    table = metadata_for(EVERY_TYPE, dialect_name).tables["every_type"]
    return str(sa.schema.CreateTable(table).compile(dialect=dialect))


def test_postgresql_ddl_is_unchanged():
    assert _create_table("postgresql", postgresql.dialect()) == (
        "\nCREATE TABLE every_type (\n"
        "\tc_int BIGINT NOT NULL, \n"
        "\tc_float DOUBLE PRECISION NOT NULL, \n"
        "\tc_decimal_10_2 NUMERIC(10, 2) NOT NULL, \n"
        "\tc_decimal_38_0 NUMERIC(38, 0) NOT NULL, \n"
        "\tc_bool BOOLEAN NOT NULL, \n"
        "\tc_string TEXT NOT NULL, \n"
        "\tc_date DATE NOT NULL, \n"
        "\tc_timestamp TIMESTAMP WITH TIME ZONE NOT NULL, \n"
        "\tc_uuid UUID NOT NULL, \n"
        "\tc_json JSONB NOT NULL, \n"
        "\tPRIMARY KEY (c_int)\n"
        ")\n\n"
    )


def test_sqlite_ddl_is_unchanged():
    # SQLite shares PostgreSQL's generic SQLAlchemy types, but for UUIDs and JSON
    assert _create_table("sqlite", sqlite.dialect()) == (
        "\nCREATE TABLE every_type (\n"
        "\tc_int BIGINT NOT NULL, \n"
        "\tc_float DOUBLE NOT NULL, \n"
        "\tc_decimal_10_2 NUMERIC(10, 2) NOT NULL, \n"
        "\tc_decimal_38_0 NUMERIC(38, 0) NOT NULL, \n"
        "\tc_bool BOOLEAN NOT NULL, \n"
        "\tc_string TEXT NOT NULL, \n"
        "\tc_date DATE NOT NULL, \n"
        "\tc_timestamp DATETIME NOT NULL, \n"
        "\tc_uuid VARCHAR(36) NOT NULL, \n"
        "\tc_json JSON NOT NULL, \n"
        "\tPRIMARY KEY (c_int)\n"
        ")\n\n"
    )


def test_extraction_casts_are_unchanged():
    casts = {t: _pg_expr('"c"', parse_type(t)) for t in TYPES}
    assert casts == {
        "int": '("c")::int8',
        "float": '("c")::float8',
        "decimal(10,2)": '("c")::numeric(10,2)',
        "decimal(38,0)": '("c")::numeric(38,0)',
        "decimal(1,1)": '("c")::numeric(1,1)',
        "bool": '("c")::bool',
        "string": '("c")::text',
        "date": '("c")::date',
        "timestamp": "((\"c\")::timestamptz AT TIME ZONE 'UTC')",
        "uuid": '("c")::uuid::text',
        "json": '("c")::jsonb::text',
    }


# PostgreSQL types (as SQLAlchemy renders a live schema's, as format_type() names them, and odd
# ones) and the spec type introspection read them as before tdm.core.postgres_types.
INTROSPECTED = [
    ("BIGINT", "int"),
    ("INTEGER", "int"),
    ("SMALLINT", "int"),
    ("bigint", "int"),
    ("integer", "int"),
    ("smallint", "int"),
    ("INT", "string"),
    ("DOUBLE PRECISION", "float"),
    ("double precision", "float"),
    ("REAL", "float"),
    ("real", "float"),
    ("FLOAT", "float"),
    ("FLOAT(53)", "float"),
    ("FLOAT8", "float"),
    ("FLOAT4", "float"),
    ("NUMERIC(10, 2)", "decimal(10,2)"),
    ("numeric(10,2)", "decimal(10,2)"),
    ("NUMERIC(12, 0)", "decimal(12,0)"),
    ("NUMERIC(12)", "decimal(12,0)"),
    ("NUMERIC", "float"),
    ("numeric", "float"),
    ("DECIMAL(5, 1)", "decimal(5,1)"),
    ("NUMERIC(1000, 2)", "decimal(1000,2)"),  # unchecked: the spec rejects it
    ("NUMERIC(5, -2)", "decimal(5,-2)"),
    ("BOOLEAN", "bool"),
    ("boolean", "bool"),
    ("DATE", "date"),
    ("date", "date"),
    ("TIMESTAMP WITH TIME ZONE", "timestamp"),
    ("timestamp with time zone", "timestamp"),
    ("TIMESTAMP WITHOUT TIME ZONE", "timestamp"),
    ("TIMESTAMP", "timestamp"),
    ("TIMESTAMP(3) WITH TIME ZONE", "timestamp"),
    ("timestamp(6) without time zone", "timestamp"),
    ("TIMESTAMPTZ", "timestamp"),
    ("timestamptz", "timestamp"),
    ("UUID", "uuid"),
    ("uuid", "uuid"),
    ("JSON", "json"),
    ("JSONB", "json"),
    ("json", "json"),
    ("jsonb", "json"),
    ("TEXT", "string"),
    ("text", "string"),
    ("VARCHAR(20)", "string"),
    ("VARCHAR", "string"),
    ("character varying(20)", "string"),
    ("CHAR(3)", "string"),
    ("TIME WITHOUT TIME ZONE", "string"),
    ("TIME WITH TIME ZONE", "string"),
    ("INTERVAL", "string"),
    ("BYTEA", "string"),
    ("BIT(3)", "string"),
    ("MONEY", "string"),
    ("INET", "string"),
    ("OID", "string"),
    ("INTEGER[]", "string"),
    ("NUMERIC(10, 2)[]", "decimal(10,2)"),
    ("TIMESTAMP WITH TIME ZONE[]", "timestamp"),
    ("DOUBLE PRECISION[]", "float"),
    ("s.posint", "string"),  # a domain
    ("s.mood", "string"),  # an enum
    ("NULLTYPE", "string"),  # a type SQLAlchemy does not know
    ("", "string"),
]
# Short names introspection does not read (short_names=False), the mapping does.
SHORT = [("INT8", "int"), ("INT4", "int"), ("INT2", "int"), ("BOOL", "bool"), ("bool", "bool")]


@pytest.mark.parametrize(("pg_type", "expected"), INTROSPECTED)
def test_introspected_types_map_as_before(pg_type, expected):
    assert logical_type(pg_type) == logical_type(pg_type, short_names=False) == expected


@pytest.mark.parametrize(("pg_type", "expected"), SHORT)
def test_short_names(pg_type, expected):
    assert logical_type(pg_type) == expected
    assert logical_type(pg_type, short_names=False) == "string"


def test_type_name_of_a_type_sqlalchemy_cannot_render():
    assert type_name(sa.types.NullType()) == "NULLTYPE"
    assert type_name(postgresql.DOMAIN("posint", sa.Integer())) == "posint"
