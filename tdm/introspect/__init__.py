"""What a live PostgreSQL schema holds, what the spec says it should hold, and the difference.

Both sides are the same plain, JSON-able shape (one entry per table, tables and columns in order):

    {"schema": "shop",
     "tables": {"orders": {
         "columns": {"id": {"type": "BIGINT", "nullable": False}, ...},
         "primary_key": ["id"],
         "foreign_keys": [{"name": "fk_orders_customer_id", "columns": ["customer_id"],
                           "referred_schema": None, "referred_table": "customers",
                           "referred_columns": ["id"]}],
         "unique": [{"name": "uq_orders_code", "columns": ["code"]}],
         "checks": [{"name": "ck_orders_total", "sqltext": "total >= 0.0"}],
         "indexes": [{"name": "ix_orders_customer_id", "columns": ["customer_id"],
                      "unique": False}]}}}

Types are SQLAlchemy's PostgreSQL rendering (BIGINT, NUMERIC(10, 2), TIMESTAMP WITH TIME ZONE,
...); `referred_schema` is None for a table of the same schema. `indexes` lists plain indexes
only (those behind primary keys and unique constraints are the constraints).

- `live_schema(url, schema)` reads it through SQLAlchemy's inspector;
- `expected_schema(spec, schema)` is the DDL tdm creates for a spec (tdm.targets.ddl);
- `drift(expected, live)` lists the differences, each with a readable message;
- `spec_from_database(url, schema)` turns a live schema into a spec-like dict (logical types,
  keys), a starting point for writing a spec from an existing database.
"""

from __future__ import annotations

from tdm.introspect.common import type_name
from tdm.introspect.compare import KINDS, drift
from tdm.introspect.expected import expected_schema, schema_of
from tdm.introspect.live import live_schema
from tdm.introspect.spec import logical_type, spec_from_database

__all__ = [
    "KINDS",
    "drift",
    "expected_schema",
    "live_schema",
    "logical_type",
    "schema_of",
    "spec_from_database",
    "type_name",
]
