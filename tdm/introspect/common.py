"""What both sides share: how a column type is written (SQLAlchemy's PostgreSQL rendering)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect

_DIALECT = pg_dialect.dialect()


def type_name(t: sa.types.TypeEngine) -> str:
    try:
        return t.compile(dialect=_DIALECT)
    except Exception:  # a type SQLAlchemy cannot render (user-defined, ...)
        return str(getattr(t, "name", None) or type(t).__name__).upper()
