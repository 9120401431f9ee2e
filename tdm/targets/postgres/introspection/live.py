"""The live side: what a PostgreSQL schema holds now, read through SQLAlchemy's inspector."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from tdm.core.errors import TdmError
from tdm.core.urls import hide_password, without_secret
from tdm.targets.postgres.introspection.common import type_name


def _engine(url: str | sa.Engine) -> tuple[sa.Engine, str]:
    if isinstance(url, sa.Engine):
        return url, hide_password(str(url.url))
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise TdmError(f"not a database URL: {hide_password(url)}") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise TdmError(f"not a PostgreSQL URL: {hide_password(url)}")
    shown = hide_password(url)
    parsed = parsed.set(drivername="postgresql+psycopg")
    args: dict[str, Any] = {"application_name": "tdm-introspect"}
    if "connect_timeout" not in parsed.query:
        args["connect_timeout"] = 10
    return sa.create_engine(parsed, poolclass=NullPool, connect_args=args), shown


def live_schema(url: str | sa.Engine, schema: str) -> dict:
    """The tables of `schema` in the database at `url`, as they are now."""
    engine, shown = _engine(url)
    # an Engine's URL holds the password it was made with; render it to scrub every form of it
    secret = url.url.render_as_string(hide_password=False) if isinstance(url, sa.Engine) else url
    try:
        with engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}
            ).first()
            if not found:
                return {"schema": schema, "tables": {}}
            return _inspect(sa.inspect(conn), schema)
    except SQLAlchemyError as e:
        message = without_secret(" ".join(str(getattr(e, "orig", None) or e).split()), secret)
        raise TdmError(f"cannot read the schema {schema} of {shown}: {message}") from None
    finally:
        if not isinstance(url, sa.Engine):
            engine.dispose()


def _inspect(insp: sa.Inspector, schema: str) -> dict:
    names = insp.get_table_names(schema=schema)  # in name order
    columns = insp.get_multi_columns(schema=schema)
    pks = insp.get_multi_pk_constraint(schema=schema)
    fks = insp.get_multi_foreign_keys(schema=schema)
    uniques = insp.get_multi_unique_constraints(schema=schema)
    checks = insp.get_multi_check_constraints(schema=schema)
    indexes = insp.get_multi_indexes(schema=schema)
    tables = {}
    for name in names:
        key = (schema, name)
        tables[name] = {
            "columns": {
                c["name"]: {"type": type_name(c["type"]), "nullable": bool(c["nullable"])}
                for c in columns.get(key, [])
            },
            "primary_key": list((pks.get(key) or {}).get("constrained_columns") or []),
            "foreign_keys": sorted(
                (
                    {
                        "name": fk["name"],
                        "columns": list(fk["constrained_columns"]),
                        "referred_schema": None
                        if fk.get("referred_schema") in (None, schema)
                        else fk["referred_schema"],
                        "referred_table": fk["referred_table"],
                        "referred_columns": list(fk["referred_columns"]),
                    }
                    for fk in fks.get(key, [])
                ),
                key=lambda f: f["name"] or "",
            ),
            "unique": sorted(
                (
                    {"name": u["name"], "columns": list(u["column_names"])}
                    for u in uniques.get(key, [])
                ),
                key=lambda u: u["name"] or "",
            ),
            "checks": sorted(
                ({"name": c["name"], "sqltext": c["sqltext"]} for c in checks.get(key, [])),
                key=lambda c: c["name"] or "",
            ),
            "indexes": sorted(
                (
                    {
                        "name": ix["name"],
                        "columns": list(ix["column_names"]),
                        "unique": bool(ix["unique"]),
                    }
                    for ix in indexes.get(key, [])
                    if not ix.get("duplicates_constraint")
                ),
                key=lambda ix: ix["name"] or "",
            ),
        }
    return {"schema": schema, "tables": tables}
