"""What a live PostgreSQL schema holds, what the spec says it should hold (the DDL tdm creates),
and the difference; docs/targets.md#introspection has the shape both sides share."""

from __future__ import annotations

from tdm.targets.postgres.introspection.common import type_name
from tdm.targets.postgres.introspection.compare import KINDS, drift
from tdm.targets.postgres.introspection.expected import expected_schema, schema_of
from tdm.targets.postgres.introspection.live import live_schema

__all__ = [
    "KINDS",
    "drift",
    "expected_schema",
    "live_schema",
    "schema_of",
    "type_name",
]
