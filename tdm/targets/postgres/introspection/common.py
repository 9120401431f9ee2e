"""What both sides share: how a column type is written (SQLAlchemy's PostgreSQL rendering, which
tdm.core.postgres_types owns with the rest of the PostgreSQL type mapping)."""

from __future__ import annotations

from tdm.core.postgres_types import type_name

__all__ = ["type_name"]
