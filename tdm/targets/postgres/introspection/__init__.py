"""What a live PostgreSQL schema holds, what the spec says it should hold (the DDL tdm creates),
and the difference; docs/targets.md#introspection has the shape both sides share."""

from __future__ import annotations

from tdm.targets.postgres.introspection.common import type_name
from tdm.targets.postgres.introspection.compare import KINDS, drift
from tdm.targets.postgres.introspection.expected import expected_schema, schema_of
from tdm.targets.postgres.introspection.live import live_schema
from tdm.targets.postgres.introspection.to_spec import logical_type, spec_from_database

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
