r"""The expectation suite of a table, derived from the spec and its plan (no GX import here).

Each entry is a GX 1.x expectation config: {"type": "expect_...", "kwargs": {...}}, JSON-safe.
Entries with meta.engine == "pyarrow" are computed by our own code from the Arrow data (the type
check, as GX's sees pandas dtypes, not Arrow types; not-null, as a null count is free); derived
uniqueness (meta.scope == "all batches") is checked once over every batch of the table
(tdm.validation.keys), as a key unique within each batch may still repeat across batches;
entries in TABLE_LEVEL are checked against the table's row count; great_expectations runs the
rest, batch by batch (per_batch). Regexes avoid \s, \d, \w and \b, which make pandas run them
in Python, row by row.

Derivation (per column unless said otherwise):
- type: the Arrow type of the logical type (named expect_column_values_to_be_of_type);
- not null: the column is not nullable in plan.schema (null_ratio 0 and not a self-reference);
  a nullable foreign key may be null (validate_cross skips nulls);
- unique: `unique: true`, a one-column primary key or unique group; composite ones as
  expect_compound_columns_to_be_unique (all batches at once);
- values, from the generator's parameters, only for unmasked generated columns (a mask changes
  values): ranges (integer, float, decimal, sequence, date, timestamp), allowed values (choice),
  regexes (pattern, phone with a format, string sequence, email, uuid, credit_card, iban,
  country_code; uuid-typed columns from elsewhere get a generic UUID regex);
- row count: exactly the plan's (for extracted tables the source count), and for rows per parent
  also the range the distribution allows;
- row rules (tdm.validation.rules, evaluated by DuckDB): each `check:` of the table, for each
  column with `when:` that it is NULL wherever its condition is not true, and for each
  `expression` column that it equals its expression cast to its type; not the rules that
  read a masked column (a mask may change what they compare), but a `when:` column's own mask
  keeps its nulls;
- the spec's own `expect:` entries of the table and its columns (column filled in).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pyarrow as pa

from tdm.checks import columns_of as columns_of_rule
from tdm.core.databases import quote_identifier
from tdm.core.errors import TdmError
from tdm.plan.computed import Expression
from tdm.spec.expectations import entries, expectation_problems
from tdm.spec.model import RowsPerParent

TABLE_LEVEL = ("expect_table_row_count_to_equal", "expect_table_row_count_to_be_between")
OWN = {"engine": "pyarrow"}
RULES = {"engine": "duckdb"}  # row rules: expect_rows_to_follow_rule, one DuckDB query a batch
ALL_BATCHES = {**OWN, "scope": "all batches"}
# The formats generators build by construction (emails, card numbers, ...) are checked on a
# sample of each batch, SAMPLE_ROWS rows in runs of SAMPLE_BLOCK spread evenly over it: a
# generator defect is systematic, so a sample finds it, at a fraction of a full regex scan.
# User patterns, `expect:` and everything else see all rows.
SAMPLED = {"sample": True}
SAMPLE_ROWS = 20_000
SAMPLE_BLOCK = 500

EMAIL = r"^[^@\x00- ]+@[^@\x00- ]+\.[A-Za-z]{2,}$"
UUID4 = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
UUID_ANY = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
CARD = {"plain": r"^[0-9]{15,16}$", "spaced": r"^[0-9]{4} [0-9]{4,6} [0-9]{4,5}(?: [0-9]{4})?$"}
IBAN = {
    "plain": r"^[A-Z]{2}[0-9]{2}[A-Za-z0-9]{8,30}$",
    "spaced": r"^[A-Z]{2}[0-9]{2}(?: [A-Za-z0-9]{1,4})+$",
}
_PLACEHOLDER = {"#": "[0-9]", "%": "[1-9]", "?": "[A-Z]"}


def shape_regex(shape: str) -> str:
    """'SKU-??##' -> '^SKU\\-[A-Z][A-Z][0-9][0-9]$' ('#' digit, '%' 1-9, '?' A-Z)."""
    return "^" + "".join(_PLACEHOLDER.get(ch) or re.escape(ch) for ch in shape) + "$"


def is_own(cfg: dict) -> bool:
    """Computed by our own code (pyarrow, or DuckDB for row rules), not by GX."""
    return cfg.get("meta", {}).get("engine") in (OWN["engine"], RULES["engine"])


def is_rule(cfg: dict) -> bool:
    return cfg.get("meta", {}).get("engine") == RULES["engine"]


def is_arrow(cfg: dict) -> bool:
    return cfg.get("meta", {}).get("engine") == OWN["engine"]


def per_batch(cfg: dict) -> bool:
    """Checked on each batch (not on the row count, nor once over all batches)."""
    return cfg["type"] not in TABLE_LEVEL and cfg.get("meta", {}).get("scope") != "all batches"


def all_batches(cfg: dict) -> bool:
    """Checked once over every batch of the table (uniqueness derived from the spec)."""
    return cfg.get("meta", {}).get("scope") == "all batches"


def columns_of(cfg: dict) -> tuple[str, ...] | None:
    """The columns an expectation is about (None: the table: expect_table_* read all columns)."""
    kwargs = cfg["kwargs"]
    if cfg["type"].startswith("expect_table_"):
        return None
    if "column" in kwargs:
        return (kwargs["column"],)
    cols = kwargs.get("column_list") or [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]
    return tuple(cols) if cols else None


def label(table: str, cfg: dict) -> tuple[str | None, str]:
    """(column(s), 'table.column' or 'table(a, b)' or 'table') of an expectation config."""
    cols = columns_of(cfg)
    if cols is None:
        return None, table
    if len(cols) == 1 and "column" in cfg["kwargs"]:
        return cols[0], f"{table}.{cols[0]}"
    return ", ".join(cols), f"{table}({', '.join(cols)})"


def _cfg(kind: str, meta: dict | None = None, **kwargs: Any) -> dict:
    out = {"type": kind, "kwargs": kwargs}
    if meta:
        out["meta"] = dict(meta)
    return out


def suite_for(plan, table: str) -> list[dict]:
    """Every expectation of one table: derived from the spec, then the spec's own `expect:`."""
    spec = plan.spec.tables[table]
    schema = plan.schema(table)
    masked = set(plan.masks.get(table, {}))
    out: list[dict] = []
    for name in spec.columns:
        field = schema.field(name)
        arrow = str(field.type)
        out.append(_cfg("expect_column_values_to_be_of_type", OWN, column=name, type_=arrow))
        if not field.nullable:
            out.append(_cfg("expect_column_values_to_not_be_null", OWN, column=name))
        if spec.columns[name].unique or spec.primary_key == [name] or [name] in spec.unique:
            out.append(_cfg("expect_column_values_to_be_unique", ALL_BATCHES, column=name))
    for group in dict.fromkeys(tuple(g) for g in [spec.primary_key, *spec.unique]):
        if len(group) > 1:
            out.append(
                _cfg("expect_compound_columns_to_be_unique", ALL_BATCHES, column_list=list(group))
            )
    for name in spec.columns:
        if name not in masked:
            derived = _values(plan, table, name)
            out += [{**c, "kwargs": {"column": name, **c["kwargs"]}} for c in derived]
    out += _rules(spec, plan.gens.get(table, {}), plan.masks.get(table, {}))
    out.append(_cfg("expect_table_row_count_to_equal", value=plan.rows[table]))
    if isinstance(spec.rows, RowsPerParent):
        between = _per_parent_range(plan, table, spec.rows)
        if between:
            out.append(_cfg("expect_table_row_count_to_be_between", **between))
    return out + user_expectations(plan, table)


_SQL_TYPE = {
    "int": "bigint",
    "float": "double precision",
    "string": "text",
    "date": "date",
    "timestamp": "timestamptz",
    "bool": "boolean",
}


def _rules(spec, gens: dict, masks: dict) -> list[dict]:
    """The table's `check:` constraints and its `when:` conditions as row rules. A mask may change
    what a rule compares, so rules reading a masked column are left out, except that a `when:`
    rule holds for a masked column whose mask keeps nulls (all but `redact` of nulls)."""
    rules = {f"check {name}": (expr, None) for name, expr in spec.check.items()}
    for name, column in spec.columns.items():
        quoted = quote_identifier(name)
        if column.when:
            rules[f"{name} when"] = (f"({column.when}) IS TRUE OR {quoted} IS NULL", name)
        gen = gens.get(name)
        # one that reads its parent row or its child rows is no row rule: a batch lacks them
        if isinstance(gen, Expression) and not gen.tables():
            kind = column.logical.kind
            sql = f"CAST(({column.params['sql']}) AS {_SQL_TYPE.get(kind) or column.logical})"
            rule = f"{quoted} IS NOT DISTINCT FROM {sql}"
            rules[f"{name} computed"] = (
                f"NOT (({column.when}) IS TRUE) OR {rule}" if column.when else rule,
                None,
            )
    out = []
    for name, (expr, target) in rules.items():
        reads = columns_of_rule(expr)
        mask = masks.get(target)
        keeps_nulls = mask is None or not (
            mask.spec.strategy == "redact" and mask.spec.params.get("keep_nulls") is False
        )
        if not set(masks) & (set(reads) - {target}) and keeps_nulls:
            out.append(
                _cfg("expect_rows_to_follow_rule", RULES, column_list=reads, rule=name, sql=expr)
            )
    return out


def _values(plan, table: str, name: str) -> list[dict]:
    gen = plan.gens[table][name]
    kind = plan.spec.tables[table].columns[name].logical
    p, g = gen.p, gen.name
    if g in ("integer", "float", "decimal"):
        lo, hi = p.bounds()
        digits = {"integer": 0, "float": getattr(p, "round", None), "decimal": kind.scale}[g]
        return _between(_widen(lo, digits, math.floor), _widen(hi, digits, math.ceil))
    if g == "sequence":
        if kind.kind == "int":
            return _between(*_sequence_range(plan, table, gen))
        lo, hi = _sequence_range(plan, table, gen)
        if lo is None or lo >= 0:
            width = max(p.width, 1)
            regex = f"^{re.escape(p.prefix)}[0-9]{{{width},}}$"
            return [_cfg("expect_column_values_to_match_regex", regex=regex)]
        return []
    if g == "choice":
        values = pa.array(p.values).cast(kind.arrow).to_pylist()
        return [_cfg("expect_column_values_to_be_in_set", value_set=[_json(v) for v in values])]
    if g in ("date", "timestamp"):
        lo, hi = gen.bounds()
        if g == "date":
            return _between(lo.isoformat(), hi.isoformat())
        end = dt.datetime.combine(hi, dt.time(23, 59, 59), dt.UTC)
        return _between(dt.datetime.combine(lo, dt.time(), dt.UTC).isoformat(), end.isoformat())
    if g == "pattern":
        return [_cfg("expect_column_values_to_match_regex", regex=shape_regex(p.pattern))]
    regex = {
        "phone": lambda: shape_regex(p.format) if p.format else None,
        "email": lambda: EMAIL,
        "uuid": lambda: UUID4,
        "credit_card": lambda: CARD[p.format],
        "iban": lambda: IBAN[p.format],
        "country_code": lambda: r"^[A-Z]{2}$",
    }.get(g, lambda: UUID_ANY if kind.kind == "uuid" and g != "foreign_key" else None)()
    if not regex:
        return []
    # formats a generator builds are sampled; values read from a source are checked in full
    meta = None if g == "extracted" else SAMPLED
    return [_cfg("expect_column_values_to_match_regex", meta, regex=regex)]


def _widen(bound: float, digits: int | None, rnd) -> float | int | None:
    """A distribution bound as a closed value bound after rounding to `digits` places."""
    if bound is None or not math.isfinite(bound):
        return None
    if digits is None:
        return float(bound)
    scaled = rnd(round(bound * 10**digits, 6))
    return int(scaled) if digits == 0 else scaled / 10**digits


def _between(lo: Any, hi: Any) -> list[dict]:
    if lo is None and hi is None:
        return []
    return [_cfg("expect_column_values_to_be_between", min_value=lo, max_value=hi)]


def _sequence_range(plan, table: str, gen) -> tuple[int | None, int | None]:
    rows = plan.rows[table]
    if gen.p.per_parent:
        rows = plan.per_parent[table].largest
    if rows == 0:
        return None, None
    first, last = gen.p.start, gen.p.start + (rows - 1) * gen.p.step
    return min(first, last), max(first, last)


def _per_parent_range(plan, table: str, rows: RowsPerParent) -> dict | None:
    parents = plan.rows[rows.per]
    lo, hi = rows.bounds()
    low = parents * max(0, math.floor(lo))
    high = parents * math.ceil(hi) if math.isfinite(hi) else None
    return None if low == 0 and high is None else {"min_value": low, "max_value": high}


def _json(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if type(v).__name__ == "Decimal":
        return float(v)
    return v


# ---- the spec's own expectations ----------------------------------------------------------------


def user_expectations(plan, table: str) -> list[dict]:
    """The table's and its columns' `expect:` entries as configs; unknown names raise TdmError."""
    spec = plan.spec.tables[table]
    problems = expectation_problems(plan.spec, only=table)
    if problems:
        raise TdmError(
            "\n".join(
                f"{p.path}: {p.message}" + (f" ({p.hint})" if p.hint else "") for p in problems
            )
        )
    out = [_user(e, None) for e in entries(spec)]
    for name, col in spec.columns.items():
        out += [_user(e, name) for e in entries(col)]
    return out


def _user(entry: dict, column: str | None) -> dict:
    kwargs = dict(entry.get("kwargs") or {}) if "kwargs" in entry else dict(entry)
    kwargs.pop("type", None)
    column_level = entry["type"].startswith("expect_column_") and "_pair_" not in entry["type"]
    if column is not None and column_level and "column" not in kwargs:
        kwargs["column"] = column
    return {"type": entry["type"], "kwargs": _json_deep(kwargs), "meta": {"origin": "spec"}}


def _json_deep(v: Any) -> Any:
    """YAML values as JSON data (dates as ISO text), so suites and reports stay JSON-safe."""
    if isinstance(v, dict):
        return {k: _json_deep(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json_deep(x) for x in v]
    return _json(v)
