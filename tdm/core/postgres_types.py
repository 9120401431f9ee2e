"""The PostgreSQL type system: the PostgreSQL type that holds each logical type (tdm.core.types),
and the logical type a PostgreSQL type reads as.

    logical        column type (DDL)          short name (casts)
    int            BIGINT                     int8
    float          DOUBLE PRECISION           float8
    decimal(p,s)   NUMERIC(p, s)              numeric(p,s)
    bool           BOOLEAN                    bool
    string         TEXT                       text
    date           DATE                       date
    timestamp      TIMESTAMP WITH TIME ZONE   timestamptz
    uuid           UUID                       uuid
    json           JSONB                      jsonb

- `column_type(t)`: the SQLAlchemy type of a column tdm creates (tdm.targets.ddl); generic
  SQLAlchemy types where one renders as the type above, so other dialects can share them.
- `postgres_type(t)`: its DDL text; `postgres_type(t, short=True)`: the short name PostgreSQL
  gives the same type (pg_type.typname), which casts use (tdm.source.copy_csv).
- `type_name(sa_type)`: a SQLAlchemy type as PostgreSQL DDL (how introspection writes types).
- `logical_type(name)`: the spec type a PostgreSQL type reads as, the name written as SQLAlchemy
  renders it or as format_type() names it (case is ignored), or by its short name; 'string' when
  none fits. Reading is wider than writing: INTEGER and SMALLINT read as int, REAL and FLOAT as
  float, JSON as json, TIMESTAMP WITHOUT TIME ZONE as timestamp (naive values are UTC),
  NUMERIC(p) as decimal(p,0) and an unconstrained NUMERIC as float (no fixed scale to keep).
  Names read by prefix (DOUBLE..., REAL, FLOAT..., TIMESTAMP..., NUMERIC..., DECIMAL...) read so
  with array brackets too (NUMERIC(10, 2)[]); the others' arrays read as string (INTEGER[]). A
  decimal's precision and scale are taken as written, unchecked (NUMERIC(1000, 2) reads as
  decimal(1000,2), which the spec then rejects).
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tdm.core.types import LogicalType

_DIALECT = postgresql.dialect()

# The short name PostgreSQL gives each type (pg_type.typname); decimals add "(p,s)".
SHORT_NAMES = {
    "int": "int8",
    "float": "float8",
    "decimal": "numeric",
    "bool": "bool",
    "string": "text",
    "date": "date",
    "timestamp": "timestamptz",
    "uuid": "uuid",
    "json": "jsonb",
}

# Reading, on the upper-cased name: exact names, then prefixes (modifiers, a time zone or array
# brackets may follow), then NUMERIC/DECIMAL with their precision and scale.
_EXACT = {
    "BIGINT": "int",
    "INTEGER": "int",
    "SMALLINT": "int",
    "BOOLEAN": "bool",
    "DATE": "date",
    "UUID": "uuid",
    "JSON": "json",
    "JSONB": "json",
}
_PREFIXES = (("DOUBLE", "float"), ("REAL", "float"), ("FLOAT", "float"), ("TIMESTAMP", "timestamp"))
# The short names the rules above do not read (float8, timestamptz, jsonb, ... they do).
_SHORT = {"INT8": "int", "INT4": "int", "INT2": "int", "BOOL": "bool"}


def column_type(t: LogicalType) -> sa.types.TypeEngine:
    """The SQLAlchemy type of a PostgreSQL column of logical type `t`."""
    if t.kind == "uuid":
        return sa.Uuid(as_uuid=False)
    if t.kind == "json":
        return postgresql.JSONB()
    return {
        "int": sa.BigInteger(),
        "float": sa.Double(),
        "decimal": sa.Numeric(t.precision, t.scale),
        "bool": sa.Boolean(create_constraint=False),
        "string": sa.Text(),
        "date": sa.Date(),
        "timestamp": sa.DateTime(timezone=True),
    }[t.kind]


def postgres_type(t: LogicalType, *, short: bool = False) -> str:
    """The PostgreSQL type of logical type `t`: as DDL writes it ('NUMERIC(10, 2)'), or by its
    short name as casts write it ('numeric(10,2)')."""
    if not short:
        return type_name(column_type(t))
    name = SHORT_NAMES[t.kind]
    return f"{name}({t.precision},{t.scale})" if t.kind == "decimal" else name


def type_name(t: sa.types.TypeEngine) -> str:
    """A SQLAlchemy type as PostgreSQL DDL ('BIGINT', 'NUMERIC(10, 2)', ...)."""
    try:
        return t.compile(dialect=_DIALECT)
    except Exception:  # a type SQLAlchemy cannot render (user-defined, ...)
        return str(getattr(t, "name", None) or type(t).__name__).upper()


def logical_type(pg_type: str, *, short_names: bool = True) -> str:
    """The spec type closest to PostgreSQL type `pg_type` ('string' when none fits).

    short_names=False leaves int2, int4, int8 and bool unread (they read as string), as
    introspection has always read SQLAlchemy's rendering of a live schema."""
    t = pg_type.upper()
    if t in _EXACT:
        return _EXACT[t]
    if short_names and t in _SHORT:
        return _SHORT[t]
    for prefix, kind in _PREFIXES:
        if t.startswith(prefix):
            return kind
    if t.startswith(("NUMERIC", "DECIMAL")):
        inside = t[t.find("(") + 1 : t.find(")")] if "(" in t else ""
        parts = [p.strip() for p in inside.split(",") if p.strip()]
        if len(parts) == 2:
            return f"decimal({parts[0]},{parts[1]})"
        if len(parts) == 1:
            return f"decimal({parts[0]},0)"
        return "float"  # unconstrained numeric: no fixed scale to keep
    return "string"


_LENGTH = re.compile(
    r"^\s*(?:character varying|varchar|character|char|bpchar)\s*\((\d+)\)\s*$", re.IGNORECASE
)


def sql_length(sql_type: str | None) -> int | None:
    """n of varchar(n) / char(n) (as PostgreSQL or a spec's `sql_type` writes it), else None."""
    m = _LENGTH.match(sql_type or "")
    return int(m.group(1)) if m else None


def fit_text(values: pa.Array, sql_type: str | None) -> pa.Array:
    """Strings cut to the length of a varchar(n)/char(n) `sql_type` (no-op otherwise)."""
    n = sql_length(sql_type)
    if n is None or not pa.types.is_string(values.type):
        return values
    return pc.utf8_slice_codeunits(values, 0, n)


_INT_LIMITS = {
    "bigint": 2**63 - 1,
    "int8": 2**63 - 1,
    "smallint": 2**15 - 1,
    "int2": 2**15 - 1,
    "integer": 2**31 - 1,
    "int": 2**31 - 1,
    "int4": 2**31 - 1,
}


def int_limit(sql_type: str | None) -> int | None:
    """The largest value of a smallint/integer/bigint `sql_type` or type name (None for any
    other type)."""
    return _INT_LIMITS.get(" ".join((sql_type or "").lower().split()))
