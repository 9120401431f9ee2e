"""Table schemas and descriptions for the Dagster UI, derived from the plan."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from tdm.generators.reference import ForeignKeyGen
from tdm.plan.model import Plan
from tdm.validation.privacy_report import summary


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


def _masks(plan: Plan, table: str) -> str:
    return ", ".join(f"{c} ({r.spec.strategy})" for c, r in plan.masks.get(table, {}).items())


def _rows(plan: Plan, table: str) -> str:
    rows = plan.spec.tables[table].rows
    if isinstance(rows, int) or plan.spec.tables[table].source is not None:
        return f"{plan.rows[table]:,} rows"
    return f"{plan.rows[table]:,} rows ({rows.distribution} per {rows.per} row)"


def table_description(plan: Plan, table: str) -> str:
    """The batch asset: what the spec says this table is, how many rows, what gets masked.
    Per-run facts (seed, version, timings) are materialisation metadata, not description."""
    spec = plan.spec.tables[table]
    masked = _masks(plan, table)
    masking = f"\n\n**Masked in memory** before anything is written: {masked}." if masked else ""
    if spec.source is not None:
        where = spec.source.table or table
        return (
            f"{spec.description or f'Extracted from the source table {where}.'}\n\n"
            f"Batches of {table}: {plan.rows[table]:,} rows when the code location loaded, "
            f"read by key in {plan.batches} batch partitions.{masking}"
        )
    text = spec.description or f"Generated table {table}."
    return (
        f"{text}\n\nBatches of {table}: {_rows(plan, table)} in {plan.batches} batch "
        "partitions. Values are a pure function of (spec, seed, row index): any batch can run "
        f"anywhere. Blocking check: the table's expectation suite (Great Expectations).{masking}"
    )


def version_description(plan: Plan, table: str) -> str:
    masked = _masks(plan, table)
    return (
        f"{table} as sealed in a dataset version: {_rows(plan, table)}, "
        f"{len(plan.spec.tables[table].columns)} columns"
        + (f", masked: {masked}" if masked else "")
        + ". Immutable Parquet + manifest.json + validation.json + privacy.json; this asset's "
        "history is the version history. Blocking check `integrity`: keys and foreign keys "
        "across all batches, row count, PII on the final data, the k-anonymity the spec's "
        "`privacy.k` requires. A preview of its first rows (masked values only) and a privacy "
        "summary are in each materialisation."
    )


def dataset_description(plan: Plan, path) -> str:
    """The schema asset: the spec file and what it describes."""
    tables = "\n".join(
        f"- {t}: {_rows(plan, t)}" + (f"; masked: {_masks(plan, t)}" if plan.masks.get(t) else "")
        for t in plan.order
    )
    return (
        f"The spec file {path.name}: dataset {plan.name}, {len(plan.order)} tables, "
        f"{sum(plan.rows.values()):,} rows at the spec's scale.\n\n{tables}\n\n"
        "Its data version is the file's hash (observed by every run and by the schema sensor), "
        "so editing it marks everything downstream stale."
    )


def privacy(report: dict | None, table: str) -> dict:
    """The table's privacy figures for the UI (privacy.json has them all): the smallest k of
    its quasi-identifier sets, and a line per set and per masked column; {} when none."""
    lines = summary(report).get(table)
    if report is None or not lines:
        return {}
    out: dict = {"privacy": dg.MetadataValue.md("\n".join(f"- {line}" for line in lines))}
    ks = [q["k"] for q in report["tables"][table]["quasi_identifiers"] if q["k"] is not None]
    if ks:
        out["privacy_k"] = min(ks)
    return out


def preview(table: pa.Table | None) -> dg.MetadataValue:
    """First rows of a sealed (masked) table for the UI (None: it has none); long values
    clipped."""
    table = table if table is not None else pa.table({})
    names = table.column_names
    records = [dg.TableRecord({c: _cell(row[c]) for c in names}) for row in table.to_pylist()]
    schema = dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in names])
    return dg.MetadataValue.table(records, schema=schema)


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def subset_of(manifest: dict, table: str) -> dict:
    """With a `subset:`, the table's rows chosen, of its rows in the source, and why (root,
    parent of X, child of Y), as the manifest records them; {} without one."""
    found = next((r for r in manifest.get("subset") or [] if r["table"] == table), None)
    if found is None:
        return {}
    return {
        "subset_rows_chosen": found["chosen"],
        "subset_rows_in_source": found["of"],
        "subset_why": dg.MetadataValue.json(found["why"]),
    }
