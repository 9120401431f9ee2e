"""What a live table's CHECK constraints (and its columns' domains') say: hints per column for
choosing generators, the list an array column's elements come from, and which of the checks
tdm can verify on generated rows before the load (PostgreSQL enforces the others)."""

from __future__ import annotations

import re
from typing import Any

from tdm.checks import CheckSyntaxError, ColumnHint, columns_of, hints, unsupported
from tdm.targets.postgres.catalog import PgTable


def column_hints(t: PgTable, warnings: list[str]) -> tuple[dict[str, ColumnHint], dict[str, str]]:
    """Per column what its CHECKs (and its domain's) say, and the checks to verify rows by."""
    per: dict[str, ColumnHint] = {}
    checks: dict[str, str] = {}
    found: list[tuple[str, str, str | None]] = [(n, e, None) for n, e, _ in t.checks]
    for c in t.columns.values():
        for i, expr in enumerate(c.type.checks):
            found.append((f"{c.name}_domain_check{i + 1 if i else ''}", expr, c.name))
    for name, expr, value_column in found:
        try:
            h = hints(expr, value_column)
        except CheckSyntaxError:
            warnings.append(
                f"{t.name}: CHECK {name} could not be read; rows are not "
                "verified against it before the load"
            )
            continue
        for col, hint in h.per_column.items():
            per[col] = hint if col not in per else _merge(per[col], hint)
        text = expr if value_column is None else re.sub(r"\bVALUE\b", quote(value_column), expr)
        checks[identifier(name)] = text
    return per, checks


def _merge(a: ColumnHint, b: ColumnHint) -> ColumnHint:
    for k, v in vars(b).items():
        if v not in (None, False, [], ""):
            setattr(a, k, v)
    return a


def quote(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


def identifier(name: str) -> str:
    text = re.sub(r"\W", "_", name)[:63]
    return text if re.match(r"[A-Za-z_]", text) else f"c_{text}"[:63]


def verifiable(
    t: PgTable, checks: dict[str, str], columns: dict[str, Any], notes: dict[str, list[str]]
) -> dict[str, str]:
    """The checks tdm can evaluate on generated rows (the others PostgreSQL still enforces at
    load): every column they read travels as its PostgreSQL value, and DuckDB can run them."""
    import pyarrow as pa

    from tdm.core.types import parse_type

    native = {
        c for c, e in columns.items() if e["type"] == "string" and _text_like(t.columns[c].type)
    }
    schema = pa.schema([pa.field(c, parse_type(e["type"]).arrow) for c, e in columns.items()])
    out = {}
    for name, expr in checks.items():
        reads = columns_of(expr)
        why = next(
            (
                f"{c} travels as text"
                for c in reads
                if c in columns and c not in native and columns[c]["type"] == "string"
            ),
            None,
        )
        why = why or next((f"{c} is left to the database" for c in reads if c not in columns), None)
        why = why or unsupported(expr, schema)
        if why:
            notes.setdefault("", []).append(
                f"check {name} is enforced by PostgreSQL at load, not verified before ({why})"
            )
        else:
            out[name] = expr
    return out


def _text_like(t) -> bool:
    r = t.resolved()
    # time and timetz: generated as fixed-width text (timetz at +00), so text order is time order
    return r.kind == "enum" or r.typname in (
        "text",
        "varchar",
        "bpchar",
        "citext",
        "name",
        "time",
        "timetz",
    )


_WITHIN = r"\(?\"?{col}\"?\)?(?:::[\w\[\] ]+)?\s*<@\s*\(?ARRAY\[(.*?)\]"


def array_within(column: str, checks: dict[str, str]) -> list | None:
    """`col <@ ARRAY[...]` (an array column whose elements come from a list): the list."""
    for expr in checks.values():
        m = re.search(_WITHIN.format(col=re.escape(column)), expr)
        if m:
            items = [x.strip() for x in m.group(1).split(",")]
            values = [re.sub(r"::[\w ]+$", "", x).strip("()").strip("'") for x in items]
            return [int(v) if re.fullmatch(r"-?\d+", v) else v for v in values]
    return None
