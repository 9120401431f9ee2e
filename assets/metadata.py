"""Table schemas and descriptions for the Dagster UI, derived from the plan."""

from __future__ import annotations

import dagster as dg

from tdm.generators.reference import ForeignKeyGen
from tdm.plan.model import Plan


def column_schema(plan: Plan, table: str) -> dg.TableSchema:
    spec = plan.spec.tables[table]
    arrow = plan.schema(table)
    columns = []
    for name, col in spec.columns.items():
        gen = plan.gens[table][name]
        how = f"→ {gen.fk.references.table}" if isinstance(gen, ForeignKeyGen) else gen.name
        columns.append(
            dg.TableColumn(
                name,
                str(col.logical),
                description=col.description or how,
                constraints=dg.TableColumnConstraints(
                    nullable=arrow.field(name).nullable,
                    unique=bool(col.unique) or spec.primary_key == [name],
                ),
            )
        )
    other = []
    if spec.primary_key:
        other.append(f"PRIMARY KEY ({', '.join(spec.primary_key)})")
    for fk in spec.all_foreign_keys:
        target = fk.references.columns or plan.spec.tables[fk.references.table].primary_key
        other.append(
            f"FOREIGN KEY ({', '.join(fk.columns)}) REFERENCES "
            f"{fk.references.table} ({', '.join(target)})"
        )
    return dg.TableSchema(columns=columns, constraints=dg.TableConstraints(other=other))


def table_description(plan: Plan, table: str) -> str:
    spec = plan.spec.tables[table]
    rows = spec.rows
    masked = ", ".join(f"{c} ({r.spec.strategy})" for c, r in plan.masks.get(table, {}).items())
    masking = f"\n\nMasked in memory before writing: {masked}." if masked else ""
    if spec.source is not None:
        where = spec.source.table or table
        return (
            f"{spec.description or f'Extracted from the source table {where}.'}\n\n"
            f"{plan.rows[table]:,} rows when the plan was made, read by key in "
            f"{plan.batches} batch partitions.{masking}"
        )
    how_many = (
        f"{plan.rows[table]:,} rows"
        if isinstance(rows, int)
        else f"{plan.rows[table]:,} rows ({rows.distribution} per {rows.per} row)"
    )
    text = spec.description or f"Generated table {table}."
    return (
        f"{text}\n\n{how_many} in {plan.batches} batch partitions. Values are a pure "
        f"function of (spec, seed {plan.spec.seed}, row index): any batch can run anywhere."
        f"{masking}"
    )
