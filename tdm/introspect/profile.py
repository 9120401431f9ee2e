"""`tdm introspect --profile`: what the live rows look like, read with SQL aggregates in one
read-only REPEATABLE READ snapshot, and the spec made to follow it with the generators it has.

Copied into the spec: row counts, null rates, rows per parent row, and values only from columns
that do not look personal (tdm.masking.pii) and only values at least `k` rows hold. A range's
bounds are the k-th smallest and k-th largest values, so no bound is a value fewer than `k` rows
reach (with k = 1, the minimum and the maximum). See docs/introspection.md#profiling.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from tdm.checks import ColumnHint
from tdm.core.types import parse_type
from tdm.introspect.tables import PER_PARENT, Shaped
from tdm.introspect.values import STRINGS, number
from tdm.masking.pii.detect import detect_column
from tdm.masking.pii.names import INFO
from tdm.targets.postgres.catalog import PgTable

MIN_COUNT = 10  # k: rows a value must occur in to be copied
LOW_CARDINALITY = 50  # at most this many distinct values: the values are counted
_CHOICE_KINDS = ("string", "int", "float", "decimal", "bool")
_RANGED = ("integer", "float", "decimal", "date", "timestamp")
_SAMPLE = 5000  # values handed to PII detection, in their proportions
_DAY = re.compile(r"^(\d{4}-\d\d-\d\d)(?![\d])(?!.*BC)")


@dataclass
class ColumnProfile:
    nulls: int
    values: list[tuple[str, int]] | None = None  # low cardinality: (value as text, rows)
    low: str | None = None  # the k-th smallest value, as text
    high: str | None = None  # the k-th largest


@dataclass
class TableProfile:
    rows: int
    children: int = 0  # rows whose per-parent foreign key is set
    children_sq: int = 0  # the sum over parents of (their children)**2: the spread
    columns: dict[str, ColumnProfile] = field(default_factory=dict)


def profile_spec(
    params: dict[str, Any],
    schema: str,
    pg_tables: dict[str, PgTable],
    spec_tables: dict[str, dict],
    notes: dict[str, dict[str, list[str]]],
    shapes: dict[str, Shaped],
    k: int = MIN_COUNT,
) -> None:
    """Profile the tables of `spec_tables` and make each follow its profile, in place."""
    wanted = {
        t: _wanted(table, pg_tables[t], shapes[t].bounded) for t, table in spec_tables.items()
    }
    profiles = read_profiles(params, schema, wanted, {t: shapes[t].per for t in wanted}, k)
    for t, table in spec_tables.items():
        rows = table["rows"]
        parent = profiles.get(rows["per"]) if isinstance(rows, dict) else None
        parent_rows = parent.rows if parent is not None else None
        follow(table, notes.setdefault(t, {}), profiles[t], parent_rows, shapes[t].hints, k)


def _wanted(table: dict, pg: PgTable, bounded: set[str]) -> dict[str, tuple[bool, bool]]:
    """Per column worth profiling: (its values may become a choice, its range may be copied)."""
    out = {}
    for name, entry in table["columns"].items():
        gen = entry.get("generator")
        plain = gen is not None and not entry.get("unique") and not entry.get("per_parent")
        plain = plain and name not in table.get("primary_key", [])
        t = pg.columns[name].type.resolved()
        textual = t.kind == "enum" or (t.kind == "base" and t.typname in STRINGS)
        kind = parse_type(entry["type"]).kind
        choosable = plain and kind in _CHOICE_KINDS and (kind != "string" or textual)
        ranged = plain and gen in _RANGED and name not in bounded
        if choosable or ranged or "null_ratio" in entry:
            out[name] = (choosable, ranged)
    return out


def read_profiles(
    params: dict[str, Any],
    schema: str,
    wanted: dict[str, dict[str, tuple[bool, bool]]],
    per: dict[str, list[str]],
    k: int,
) -> dict[str, TableProfile]:
    """Every table's profile, all in one read-only REPEATABLE READ transaction."""
    out = {}
    with psycopg.connect(**params) as conn:
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            conn.execute("SET LOCAL TIME ZONE 'UTC'")  # timestamptz bounds as UTC days
            conn.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            for t, columns in wanted.items():
                out[t] = _profile(conn, sql.Identifier(schema, t), columns, per[t], k)
    return out


def _profile(
    conn: psycopg.Connection,
    table: sql.Identifier,
    columns: dict[str, tuple[bool, bool]],
    per: list[str],
    k: int,
) -> TableProfile:
    ident = {c: sql.Identifier(c) for c in columns}
    choosable = [c for c, (choice, _) in columns.items() if choice]
    parts = [sql.SQL("count(*)")]
    parts += [sql.SQL("count({})").format(ident[c]) for c in columns]
    parts += [sql.SQL("count(DISTINCT {})").format(ident[c]) for c in choosable]
    if per:
        keyed = sql.SQL(" AND ").join(
            sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in per
        )
        parts.append(sql.SQL("count(*) FILTER (WHERE {})").format(keyed))
    row = conn.execute(
        sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(parts), table)
    ).fetchone()
    assert row is not None
    rows, filled = row[0], dict(zip(columns, row[1 : 1 + len(columns)], strict=True))
    distinct = dict(zip(choosable, row[1 + len(columns) :], strict=False))
    found = TableProfile(rows, row[-1] if per else 0)
    if per and found.children:  # parents without children add 0 to both sums
        keys = sql.SQL(", ").join(sql.Identifier(c) for c in per)
        squares = conn.execute(
            sql.SQL(
                "SELECT sum(n::numeric * n) FROM (SELECT count(*) AS n FROM {t} WHERE {k} "
                "GROUP BY {g}) s"
            ).format(t=table, k=keyed, g=keys)
        ).fetchone()
        found.children_sq = int(squares[0]) if squares and squares[0] is not None else 0
    for c, (_, ranged) in columns.items():
        cp = found.columns[c] = ColumnProfile(rows - filled[c])
        if c in distinct and 0 < distinct[c] <= LOW_CARDINALITY:
            cp.values = [
                (v, n)
                for v, n in conn.execute(
                    sql.SQL(
                        "SELECT {c}::text, count(*) FROM {t} WHERE {c} IS NOT NULL "
                        "GROUP BY {c} ORDER BY count(*) DESC, {c}"
                    ).format(c=ident[c], t=table)
                ).fetchall()
            ]
        if ranged and filled[c] >= k:
            # ordered inside, cast outside: ORDER BY would otherwise sort the text
            nth = sql.SQL(
                "SELECT v::text FROM (SELECT {c} AS v FROM {t} WHERE {c} IS NOT NULL "
                "ORDER BY {c} {o} OFFSET %s LIMIT 1) s"
            )
            bounds = sql.SQL("SELECT ({}), ({})").format(
                nth.format(c=ident[c], t=table, o=sql.SQL("ASC")),
                nth.format(c=ident[c], t=table, o=sql.SQL("DESC")),
            )
            bound_row = conn.execute(bounds, [k - 1, k - 1]).fetchone()
            assert bound_row is not None
            cp.low, cp.high = bound_row
    return found


def follow(
    table: dict,
    notes: dict[str, list[str]],
    prof: TableProfile,
    parent_rows: int | None,
    hints: dict[str, ColumnHint],
    k: int,
) -> None:
    """Make one spec table follow its profile (rows, null ratios, values, ranges), in place."""
    rows = table["rows"]
    if isinstance(rows, int) and prof.rows:
        table["rows"] = prof.rows
    elif _guessed_per_parent(rows) and parent_rows and prof.children:
        table["rows"], note = _per_parent(rows["per"], prof, parent_rows)
        notes.setdefault("", []).append(note)
    for name, cp in prof.columns.items():
        entry = table["columns"][name]
        said = []
        if "null_ratio" in entry and prof.rows:
            rate = cp.nulls / prof.rows
            if rate:
                entry["null_ratio"] = max(0.001, round(rate, 3))
            else:
                del entry["null_ratio"]
            said.append(f"{100 * rate:.1f}% null")
        personal = _personal(name, entry, cp)
        if personal:
            said.append(f"looks like {personal}: no value copied")
        elif cp.values is not None:
            chosen = _choice(entry, cp.values, k)
            rare = sum(1 for _, n in cp.values if n < k)
            said.append(f"{len(cp.values)} values")
            if rare:
                said.append(f"{rare} held by fewer than {k} rows left out")
            if chosen:
                table["columns"][name] = entry = chosen
                notes.pop(name, None)  # what introspect guessed no longer applies
            else:
                said.append(f"fewer than 2 held by {k} rows or more: none copied")
        ranged = not personal and entry.get("generator") in _RANGED and cp.low is not None
        if ranged and _within(entry, cp, hints.get(name)):
            said.append(f"range of the values at least {k} rows reach")
        if said:
            notes.setdefault(name, []).append("profiled: " + ", ".join(said))


def _per_parent(parent: str, prof: TableProfile, parent_rows: int) -> tuple[dict, str]:
    """Rows per parent row with the source's mean: poisson (variance = mean) or geometric
    (variance = mean * (1 + mean): many parents without children and a long tail), whichever
    variance is nearer the source's by ratio, i.e. geometric above mean * sqrt(1 + mean)."""
    mean = prof.children / parent_rows
    variance = max(0.0, prof.children_sq / parent_rows - mean * mean)
    said = f"profiled: {mean:.2f} rows per {parent} row on average (variance {variance:.2f})"
    if variance > mean * math.sqrt(1 + mean):
        p = round(1 / (1 + mean), 4)
        return {"per": parent, "distribution": "geometric", "p": p}, f"{said}; geometric fits"
    lam = max(0.01, round(mean, 2))
    return {"per": parent, "distribution": "poisson", "lam": lam}, f"{said}; poisson fits"


def _guessed_per_parent(rows: Any) -> bool:
    """The count per parent introspect guesses (not one-to-one ones, which the keys fix)."""
    return isinstance(rows, dict) and rows == {"per": rows.get("per"), **PER_PARENT}


def _personal(name: str, entry: dict, cp: ColumnProfile) -> str | None:
    """What the column looks like ('a last name') when PII detection finds anything in its name
    or its counted values, at any confidence; None when nothing."""
    kind = parse_type(entry["type"])
    sample = None
    if cp.values and kind.kind == "string":
        total = sum(n for _, n in cp.values)
        reps = [max(1, n * _SAMPLE // total) for _, n in cp.values]
        values = pa.array([v for v, _ in cp.values], pa.string())
        sample = values.take(pa.array(np.repeat(np.arange(len(reps)), reps)))
    found = detect_column(name, kind, sample)
    return INFO[found[0].category][0] if found else None


def _value(text: str, kind: str) -> Any:
    """A counted value as the spec writes it; None when it cannot be written (NaN, Infinity)."""
    if kind == "string":
        return text
    if kind == "bool":
        return text == "true"
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return number(d) if d.is_finite() else None


def _choice(entry: dict, counted: list[tuple[str, int]], k: int) -> dict | None:
    """The entry as a weighted choice of the values held by at least k rows (None: fewer than
    two such values)."""
    kind = parse_type(entry["type"]).kind
    kept = [(_value(v, kind), n) for v, n in counted if n >= k]
    kept = [(v, n) for v, n in kept if v is not None]
    if len(kept) < 2:
        return None
    out = {key: entry[key] for key in ("type", "sql_type") if key in entry}
    out.update(generator="choice", values=[v for v, _ in kept], weights=[n for _, n in kept])
    out.update({key: entry[key] for key in ("null_ratio", "description") if key in entry})
    return out


def _within(entry: dict, cp: ColumnProfile, hint: ColumnHint | None) -> bool:
    """Give a min/max (start/end) entry the profile's bounds where they lie inside what the
    column's CHECKs allow (a NOT VALID check may be broken by old rows); False: left as it was."""
    assert cp.low is not None and cp.high is not None
    allow: tuple[Any, Any, bool, bool] = (None, None, False, False)
    if entry["generator"] in ("date", "timestamp"):
        days = [_DAY.match(v) for v in (cp.low, cp.high)]
        if not (days[0] and days[1]):
            return False  # infinity, BC or year 10000+: keep the guess
        lo, hi = days[0].group(1), days[1].group(1)
        if hint is not None:
            allow = _days(hint)
        keys = ("start", "end")
    else:
        lo, hi = _value(cp.low, "decimal"), _value(cp.high, "decimal")
        if lo is None or hi is None:
            return False
        if hint is not None:
            allow = (hint.min, hint.max, hint.min_exclusive, hint.max_exclusive)
        keys = ("min", "max")
    least, most, low_open, high_open = allow
    if least is not None and (lo < least or (low_open and lo == least)):
        lo = entry[keys[0]]
    if most is not None and (hi > most or (high_open and hi == most)):
        hi = entry[keys[1]]
    if lo > hi:
        return False
    entry[keys[0]], entry[keys[1]] = lo, hi
    return True


def _days(hint: ColumnHint) -> tuple[Any, Any, bool, bool]:
    day = [None if b is None else str(b)[:10] for b in (hint.min, hint.max)]
    return day[0], day[1], hint.min_exclusive, hint.max_exclusive
