"""Relational DDL from a spec, through SQLAlchemy: types, keys, uniques, not-null, checks, indexes.

`metadata_for` builds one `sa.Table` per spec table. Optionally (PostgreSQL uses both):

- `checks=True`: CHECK constraints the generators guarantee, for generated, unmasked columns:
  `choice` (string/int values) -> `col IN (...)`; `integer`, `decimal`, `float` with bounds
  (min/max, or the natural bound of the distribution) -> `col >= lo AND col <= hi`, the bounds
  widened to what rounding can produce. Named `ck_<table>_<column>`.
- `indexes=True`: an index on the columns of every foreign key that no primary key, unique
  constraint or earlier index starts with (joins and parent deletes need it). Named
  `ix_<table>_<columns>`.

Names are cut to PostgreSQL's 63 characters.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from tdm.core.distributions import DistributionSpec
from tdm.core.postgres_types import column_type
from tdm.core.types import LogicalType
from tdm.spec.model import ColumnSpec, DatasetSpec, TableSpec

_quote = postgresql.dialect().identifier_preparer.quote


def sql_type(t: LogicalType, dialect: str) -> sa.types.TypeEngine:
    """PostgreSQL's column type (tdm.core.postgres_types); other dialects (SQLite) share its
    generic SQLAlchemy types, but for UUIDs (text) and JSON (SQLAlchemy's JSON)."""
    if dialect != "postgresql" and t.kind == "uuid":
        return sa.String(36)
    if dialect != "postgresql" and t.kind == "json":
        return sa.JSON()
    return column_type(t)


def name_for(prefix: str, table: str, columns: list[str] | tuple[str, ...] = ()) -> str:
    return "_".join([prefix, table, *columns])[:63]


def metadata_for(
    spec: DatasetSpec,
    dialect: str,
    schema: str | None = None,
    order: list[str] | None = None,
    foreign_keys: bool = True,
    checks: bool = False,
    indexes: bool = False,
) -> sa.MetaData:
    """One sa.Table per spec table (in `order`), with primary, unique and foreign keys (and, on
    request, generator-derived CHECK constraints and indexes on foreign-key columns)."""
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
                autoincrement=False,
                nullable=(col.optional or name in self_refs or table.source is not None)
                and name not in table.primary_key,
                comment=col.description,
            )
            for name, col in table.columns.items()
        ]
        constraints: list[sa.schema.Constraint] = []
        if table.primary_key:  # in the spec's order, which may differ from the columns'
            constraints.append(sa.PrimaryKeyConstraint(*table.primary_key))
        uniques = [
            [c] for c, col in table.columns.items() if col.unique and [c] != table.primary_key
        ] + [list(u) for u in table.unique]
        constraints += [sa.UniqueConstraint(*u, name=name_for("uq", tname, u)) for u in uniques]
        if checks and table.source is None:
            for cname, col in table.columns.items():
                text = check_sql(cname, col)
                if text:
                    constraints.append(
                        sa.CheckConstraint(text, name=name_for("ck", tname, [cname]))
                    )
        if foreign_keys:
            for fk in table.all_foreign_keys:
                parent = spec.tables[fk.references.table]
                target = fk.references.columns or parent.primary_key
                prefix = f"{schema}." if schema else ""
                constraints.append(
                    sa.ForeignKeyConstraint(
                        fk.columns,
                        [f"{prefix}{fk.references.table}.{c}" for c in target],
                        name=name_for("fk", tname, fk.columns),
                        deferrable=dialect == "postgresql" or None,
                        initially="DEFERRED" if dialect == "postgresql" else None,
                    )
                )
        t = sa.Table(tname, md, *columns, *constraints, comment=table.description)
        if indexes:
            for cols in fk_index_columns(table):
                sa.Index(name_for("ix", tname, cols), *[t.c[c] for c in cols])
    return md


def fk_index_columns(table: TableSpec) -> list[list[str]]:
    """Foreign-key column lists that no key, unique constraint or earlier index starts with."""
    covered = [list(table.primary_key)] if table.primary_key else []
    covered += [[c] for c, col in table.columns.items() if col.unique]
    covered += [list(u) for u in table.unique]
    out: list[list[str]] = []
    for fk in table.all_foreign_keys:
        cols = list(fk.columns)
        if any(have[: len(cols)] == cols for have in covered):
            continue
        out.append(cols)
        covered.append(cols)
    return out


# -- CHECK constraints from generator parameters -------------------------------------------


def check_sql(name: str, col: ColumnSpec) -> str | None:
    """SQL of a CHECK constraint every value the column's generator makes satisfies, or None
    (masked columns, unknown generators, parameters that do not parse, unbounded ranges)."""
    if col.mask is not None or col.generator is None:
        return None
    kind, params, q = col.logical.kind, col.params, _quote(name)
    try:
        if col.generator == "choice" and kind in ("string", "int"):
            values = pa.array(params["values"]).cast(col.logical.arrow).to_pylist()
            literals = sorted({_literal(v) for v in values if v is not None})
            return f"{q} IN ({', '.join(literals)})" if literals else None
        if col.generator in ("integer", "decimal", "float") and kind in ("int", "decimal", "float"):
            dist = DistributionSpec.model_validate(
                {k: v for k, v in params.items() if k != "round"}
            )
            lo, hi = _widened(dist.bounds(), col.logical, params.get("round"))
            parts = [f"{q} >= {lo}" if lo is not None else None]
            parts.append(f"{q} <= {hi}" if hi is not None else None)
            parts = [p for p in parts if p]
            return " AND ".join(parts) or None
    except Exception:  # a check is a bonus: never let odd parameters break the DDL
        return None
    return None


def _literal(v: Any) -> str:
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return str(int(v))


def _widened(
    bounds: tuple[float, float], t: LogicalType, digits: int | None
) -> tuple[str | None, str | None]:
    """Bounds as SQL literals, widened to cover rounding: int values are rint() of a clipped
    float, decimals rint(x * 10**scale) / 10**scale, floats optionally np.round(x, digits)."""
    lo, hi = (None if b is None or not math.isfinite(b) else float(b) for b in bounds)
    if t.kind == "int":
        return (
            None if lo is None else str(math.floor(lo)),
            None if hi is None else str(math.ceil(hi)),
        )
    if t.kind == "decimal":
        f = 10.0**t.scale

        def fmt(units: int) -> str:
            return str(decimal.Decimal(units).scaleb(-t.scale))

        return (
            None if lo is None else fmt(math.floor(lo * f)),
            None if hi is None else fmt(math.ceil(hi * f)),
        )
    if digits is not None:  # np.round is monotone: rounded values stay within the rounded bounds
        lo = None if lo is None else min(lo, float(np.round(lo, digits)))
        hi = None if hi is None else max(hi, float(np.round(hi, digits)))
    return (None if lo is None else repr(lo), None if hi is None else repr(hi))
