"""A spec from a database: a live schema as a spec-like dict, a starting point for a spec."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tdm.core import postgres_types
from tdm.targets.postgres.introspection.live import live_schema


def logical_type(sql_type: str) -> str:
    """The spec type closest to a rendered PostgreSQL type ('string' when none fits); short
    names (INT8, BOOL) are not read, as before tdm.core.postgres_types."""
    return postgres_types.logical_type(sql_type, short_names=False)


def spec_from_database(url: str | sa.Engine, schema: str) -> dict:
    """A spec-like dict of the live schema: per table its columns (logical type, the SQL type
    it came from, null_ratio 0 for NOT NULL columns), primary key, foreign keys and uniques.
    Row counts and generators are left for the author (or `source: true` to extract)."""
    live = live_schema(url, schema)
    tables = {}
    for name, t in live["tables"].items():
        columns = {}
        for c, info in t["columns"].items():
            col: dict[str, Any] = {"type": logical_type(info["type"]), "sql_type": info["type"]}
            if not info["nullable"]:
                col["null_ratio"] = 0
            columns[c] = col
        tables[name] = {
            "primary_key": t["primary_key"],
            "columns": columns,
            "foreign_keys": [
                {
                    "columns": fk["columns"],
                    "references": f"{fk['referred_table']}({', '.join(fk['referred_columns'])})",
                }
                for fk in t["foreign_keys"]
            ],
            "unique": [u["columns"] for u in t["unique"]],
        }
    return {"dataset": schema, "tables": tables}
