"""Relational DDL from a spec, through SQLAlchemy: types, keys, uniques, not-null."""

from __future__ import annotations

import sqlalchemy as sa

from tdm.spec import DatasetSpec
from tdm.types import LogicalType


def sql_type(t: LogicalType, dialect: str) -> sa.types.TypeEngine:
    if t.kind == "uuid":
        return sa.Uuid(as_uuid=False) if dialect == "postgresql" else sa.String(36)
    if t.kind == "json":
        return sa.dialects.postgresql.JSONB() if dialect == "postgresql" else sa.JSON()
    return {
        "int": sa.BigInteger(),
        "float": sa.Double(),
        "decimal": sa.Numeric(t.precision, t.scale),
        "bool": sa.Boolean(create_constraint=False),
        "string": sa.Text(),
        "date": sa.Date(),
        "timestamp": sa.DateTime(timezone=True),
    }[t.kind]


def metadata_for(
    spec: DatasetSpec,
    dialect: str,
    schema: str | None = None,
    order: list[str] | None = None,
    foreign_keys: bool = True,
) -> sa.MetaData:
    """One sa.Table per spec table (in `order`), with primary, unique and foreign keys."""
    md = sa.MetaData(schema=schema)
    for tname in order or list(spec.tables):
        table = spec.tables[tname]
        self_refs = {
            c for fk in table.all_foreign_keys if fk.references.table == tname for c in fk.columns
        }
        columns = [
            sa.Column(
                name,
                sql_type(col.logical, dialect),
                primary_key=name in table.primary_key,
                nullable=(col.null_ratio > 0 or name in self_refs or table.source is not None)
                and name not in table.primary_key,
                comment=col.description,
            )
            for name, col in table.columns.items()
        ]
        constraints: list[sa.schema.Constraint] = []
        uniques = [
            [c] for c, col in table.columns.items() if col.unique and [c] != table.primary_key
        ] + [list(u) for u in table.unique]
        constraints += [
            sa.UniqueConstraint(*u, name=f"uq_{tname}_{'_'.join(u)}"[:63]) for u in uniques
        ]
        if foreign_keys:
            for fk in table.all_foreign_keys:
                parent = spec.tables[fk.references.table]
                target = fk.references.columns or parent.primary_key
                prefix = f"{schema}." if schema else ""
                constraints.append(
                    sa.ForeignKeyConstraint(
                        fk.columns,
                        [f"{prefix}{fk.references.table}.{c}" for c in target],
                        name=f"fk_{tname}_{'_'.join(fk.columns)}"[:63],
                        deferrable=dialect == "postgresql" or None,
                        initially="DEFERRED" if dialect == "postgresql" else None,
                    )
                )
        sa.Table(tname, md, *columns, *constraints, comment=table.description)
    return md
