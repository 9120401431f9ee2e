"""The expected side: what tdm creates in PostgreSQL for a spec (tdm.targets.ddl)."""

from __future__ import annotations

import sqlalchemy as sa

from tdm.spec.model import DatasetSpec
from tdm.targets.ddl import metadata_for
from tdm.targets.postgres.introspection.common import type_name


def schema_of(md: sa.MetaData, schema: str | None = None) -> dict:
    """The shape above for SQLAlchemy metadata (tables of `schema`, or all of them)."""
    tables = {}
    for table in md.tables.values():
        if schema is not None and table.schema not in (schema, None):
            continue
        fks = []
        for fk in table.foreign_key_constraints:
            referred = fk.elements[0].column.table
            fks.append(
                {
                    "name": fk.name,
                    "columns": [c.name for c in fk.columns],
                    "referred_schema": None if referred.schema == table.schema else referred.schema,
                    "referred_table": referred.name,
                    "referred_columns": [e.column.name for e in fk.elements],
                }
            )
        tables[table.name] = {
            "columns": {
                c.name: {"type": type_name(c.type), "nullable": bool(c.nullable)}
                for c in table.columns
            },
            "primary_key": [c.name for c in table.primary_key.columns],
            "foreign_keys": sorted(fks, key=lambda f: f["name"] or ""),
            "unique": sorted(
                (
                    {"name": u.name, "columns": [c.name for c in u.columns]}
                    for u in table.constraints
                    if isinstance(u, sa.UniqueConstraint)
                    and not isinstance(u, sa.PrimaryKeyConstraint)
                ),
                key=lambda u: u["name"] or "",
            ),
            "checks": sorted(
                (
                    {"name": c.name, "sqltext": str(c.sqltext)}
                    for c in table.constraints
                    if isinstance(c, sa.CheckConstraint)
                ),
                key=lambda c: c["name"] or "",
            ),
            "indexes": sorted(
                (
                    {
                        "name": ix.name,
                        "columns": [c.name for c in ix.columns],
                        "unique": bool(ix.unique),
                    }
                    for ix in table.indexes
                ),
                key=lambda ix: ix["name"] or "",
            ),
        }
    return {"schema": schema, "tables": tables}


def expected_schema(
    spec: DatasetSpec | dict, schema: str | None = None, order: list[str] | None = None
) -> dict:
    """What tdm creates in PostgreSQL for `spec` (a DatasetSpec or its JSON form)."""
    if isinstance(spec, dict):
        spec = DatasetSpec.model_validate(spec)
    md = metadata_for(spec, "postgresql", schema=schema, order=order, checks=True, indexes=True)
    return schema_of(md, schema)
