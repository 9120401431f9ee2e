"""How one column of a live table is generated: its spec type and a generator chosen from its
PostgreSQL type, its name and what its CHECK constraints say; `note` says when it was a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tdm.checks import ColumnHint
from tdm.core.postgres_types import int_limit
from tdm.generators import REGISTRY
from tdm.targets.postgres.catalog import PgColumn, PgType

STRINGS = {"text", "varchar", "bpchar", "citext", "name"}
_RANGES = {
    "int4range": "int",
    "int8range": "bigint",
    "numrange": "numeric",
    "daterange": "date",
    "tsrange": "timestamp",
    "tstzrange": "timestamptz",
}
# Column names -> generator (first match wins), for string columns.
_BY_NAME = [
    (r"e_?mail", {"generator": "email"}),
    (r"(first|given)_?name", {"generator": "first_name"}),
    (r"(last|family|sur)_?name", {"generator": "last_name"}),
    (r"(full_?name|display_?name|contact_?name)", {"generator": "full_name"}),
    (r"user_?name|login|handle", {"generator": "username"}),
    (r"phone|mobile|fax", {"generator": "phone"}),
    (r"(street|address)(_?line)?_?\d?", {"generator": "street_address"}),
    (r"city|town", {"generator": "city"}),
    (r"post_?code|zip(_?code)?", {"generator": "postcode"}),
    (r"country_?code", {"generator": "country_code"}),
    (r"country", {"generator": "country"}),
    (r"company|organi[sz]ation|employer", {"generator": "company"}),
    (r"job|position", {"generator": "job_title"}),
    (r"iban", {"generator": "iban"}),
    (r"(card|cc)_?(number|no|num)", {"generator": "credit_card"}),
    (
        r"url|website|homepage|link",
        {"generator": "regex", "pattern": "^https://www\\.[a-z]{4,10}\\.example/[a-z]{3,8}$"},
    ),
    (
        r"(description|comment|notes?|body|bio|summary|message|content)",
        {"generator": "text", "max_sentences": 2},
    ),
    (
        r"(title|name|label|subject|headline)",
        {"generator": "sentence", "min_words": 1, "max_words": 4},
    ),
]


@dataclass
class ColumnChoice:
    fields: dict[str, Any]  # the column's entry in the spec (type, generator, params, ...)
    notes: list[str] = field(default_factory=list)  # comments for the spec
    skip: str | None = None  # why the column is left out of the spec (default, NULL)


def _length(sql_type: str) -> int | None:
    m = re.search(r"\((\d+)\)", sql_type)
    return int(m.group(1)) if m else None


def _numeric(sql_type: str) -> tuple[int, int] | None:
    m = re.search(r"numeric\((\d+),(\d+)\)", sql_type.replace(" ", ""))
    return (int(m.group(1)), int(m.group(2))) if m else None


def spec_type(t: PgType, sql_type: str) -> str | None:
    """The spec's logical type for a PostgreSQL type (None: only a text form fits)."""
    r = t.resolved()
    name = r.typname
    if r.kind != "base":
        return None
    if int_limit(name) is not None:
        return "int"
    if name in ("float4", "float8"):
        return "float"
    if name == "numeric":
        ps = _numeric(sql_type) if t.kind != "domain" else None
        if ps and ps[0] <= 38:
            return f"decimal({ps[0]},{ps[1]})"
        return "decimal(18,4)" if ps is None else f"decimal(38,{min(ps[1], 18)})"
    if name == "money":
        return "decimal(15,2)"
    return {
        "bool": "bool",
        "date": "date",
        "timestamp": "timestamp",
        "timestamptz": "timestamp",
        "uuid": "uuid",
        "json": "json",
        "jsonb": "json",
    }.get(name, "string" if name in STRINGS else None)


def _bounds(hint: ColumnHint | None, lo: Any, hi: Any, step: Any) -> tuple[Any, Any]:
    """The column's range: its CHECK's bounds (exclusive ones moved in by `step`) where it has
    them, the defaults lo..hi elsewhere (shifted to stay a range of the same width)."""
    if hint is None:
        return lo, hi
    width = hi - lo
    low = None if hint.min is None else hint.min + step if hint.min_exclusive else hint.min
    high = None if hint.max is None else hint.max - step if hint.max_exclusive else hint.max
    if low is not None and high is not None:
        return low, max(low, high)
    if low is not None:
        return low, max(hi, low + width)
    if high is not None:
        return min(lo, high - width), high
    return lo, hi


def number(v: Any) -> Any:
    return int(v) if isinstance(v, int | Decimal) and v == int(v) else float(v)


def choose(
    col: PgColumn, hint: ColumnHint | None, unique: bool, referenced: bool = False
) -> ColumnChoice:
    """`referenced`: another table's foreign key points at the column, so its values must be
    computable from the row index (a key generator, not a realistic one)."""
    """The spec entry of a column that is not a foreign key (those are set by the table)."""
    t = col.type.resolved()
    kind = spec_type(col.type, col.sql_type)
    fields: dict[str, Any] = {"type": kind or "string", "sql_type": col.sql_type}
    notes: list[str] = []
    if hint is not None and hint.values:
        values = [
            number(v) if kind in ("int", "float") or (kind or "").startswith("decimal") else str(v)
            for v in hint.values
        ]
        fields.update(generator="choice", values=values)
        return ColumnChoice(fields, ["values from its CHECK constraint"])
    gen = _generator(col, t, kind, hint, unique, notes, referenced)
    if gen is None:
        return ColumnChoice(fields, skip=f"type {col.sql_type} has no generator")
    fields.update(gen)
    return ColumnChoice(fields, notes)


def _generator(
    col: PgColumn,
    t: PgType,
    kind: str | None,
    hint: ColumnHint | None,
    unique: bool,
    notes: list[str],
    referenced: bool = False,
) -> dict[str, Any] | None:
    name, lname = t.typname, col.name.lower()
    if t.kind == "enum":
        return {"generator": "choice", "values": list(t.labels)}
    if kind == "int":
        top = int_limit(name)
        if unique:
            return {"generator": "sequence"}
        lo, hi = (1990, 2030) if re.search(r"year", lname) else (0, 100)
        lo, hi = _bounds(hint, lo, hi, 1)
        lo, hi = max(lo, -top - 1), min(hi, top)
        return {"generator": "integer", "min": number(lo), "max": number(hi)}
    if kind == "float":
        lo, hi = _bounds(hint, 0, 1000, 0.001)
        return {"generator": "float", "min": number(lo), "max": number(hi), "round": 3}
    if kind and kind.startswith("decimal"):
        p, s = map(int, kind[8:-1].split(","))
        ulp = Decimal(1).scaleb(-s)
        top = Decimal(10) ** (p - s) - ulp
        lo, hi = _bounds(hint, Decimal(0), min(top, Decimal(1000)), ulp)
        lo, hi = max(lo, -top), min(hi, top)
        return {"generator": "decimal", "min": number(lo), "max": number(hi)}
    if kind == "bool":
        return {"generator": "boolean"}
    if kind == "uuid":
        return {"generator": "uuid"}
    if kind == "json":
        return {
            "generator": "json",
            "fields": {
                "note": {"generator": "sentence", "max_words": 4},
                "score": {"type": "int", "generator": "integer", "min": 0, "max": 100},
            },
        }
    if kind == "date":
        if unique:
            return {"generator": "date", "start": "-30y", "end": "today"}
        start, end = _date_bounds(hint, "-5y", "today")
        if re.search(r"birth|dob", lname):
            start, end = "-90y", "-18y"
        return {"generator": "date", "start": start, "end": end}
    if kind == "timestamp":
        start, end = _date_bounds(hint, "-2y", "today")
        return {"generator": "timestamp", "start": start, "end": end}
    if kind == "string":
        return _string(col, t, hint, unique, notes, referenced)
    return _native(col, t, hint, notes)


def _date_bounds(hint: ColumnHint | None, start: str, end: str) -> tuple[str, str]:
    if hint is None:
        return start, end
    if hint.min is not None:
        start = str(hint.min)[:10]
    if hint.max is not None:
        end = str(hint.max)[:10]
    return start, end


def _string(
    col: PgColumn,
    t: PgType,
    hint: ColumnHint | None,
    unique: bool,
    notes: list[str],
    referenced: bool = False,
) -> dict[str, Any]:
    size = _length(col.sql_type) if col.type.kind != "domain" else None
    if hint is not None and hint.regex:
        notes.append("shape from its CHECK regex")
        return {
            "generator": "regex",
            "pattern": hint.regex,
            "case_insensitive": hint.case_insensitive,
        }
    if hint is not None and (
        (hint.max_length is not None and hint.max_length < 40) or (hint.min_length or 0) > 1
    ):  # a length the usual generators would miss
        lo = max(1, hint.min_length or 1)
        hi = max(lo, min(hint.max_length or lo + 12, lo + 12, size or lo + 12))
        notes.append("length from its CHECK constraint")
        return {"generator": "regex", "pattern": f"^[a-z]{{{lo},{hi}}}$"}
    by_name = next((g for p, g in _BY_NAME if re.search(p, col.name.lower())), None)
    if unique and by_name and not referenced and (size is None or size >= 40):
        gen = REGISTRY[by_name["generator"]]
        if gen.can_be_unique and by_name["generator"] not in ("regex", "choice"):
            notes.append("guessed from its name")
            return dict(by_name)
    if unique:
        width = min(size or 10, 10)
        if size is not None and size < 4:
            notes.append(f"unique in {size} characters: at most 26^{size} rows")
        return {"generator": "pattern", "pattern": "?" * width}
    if size is not None and size <= 3:
        if "country" in col.name.lower() and size >= 2:
            return {"generator": "country_code"}
        return {"generator": "pattern", "pattern": "?" * size}
    for pattern, gen in _BY_NAME:
        if re.search(pattern, col.name.lower()):
            notes.append("guessed from its name")
            return dict(gen)
    return {"generator": "sentence", "min_words": 1, "max_words": 3}


def _native(
    col: PgColumn, t: PgType, hint: ColumnHint | None, notes: list[str]
) -> dict[str, Any] | None:
    """Types that travel as their PostgreSQL text form."""
    name = t.typname
    if t.kind == "array" and t.element is not None:
        inner = choose(
            PgColumn(col.name, t.element, t.element.name, True, None, "", False, None), None, False
        )
        if inner.skip:
            return None
        element = {k: v for k, v in inner.fields.items() if k not in ("type", "sql_type")}
        return {
            "generator": "array",
            "of": element,
            "element_type": inner.fields["type"],
            "min_length": 0,
            "max_length": 3,
        }
    if t.kind == "range" and name in _RANGES:
        return {"generator": "range", "of": _RANGES[name]}
    simple = {
        "interval": {"generator": "interval"},
        "inet": {"generator": "ip_address"},
        "cidr": {"generator": "ip_address", "cidr": True},
        "macaddr": {"generator": "mac_address"},
        "macaddr8": {"generator": "mac_address", "bytes": 8},
        "bytea": {"generator": "bytes"},
        "tsvector": {"generator": "tsvector"},
        "time": {"generator": "time"},
        "timetz": {"generator": "time", "with_tz": True, "offsets": ["+00"]},
        "xml": {"generator": "choice", "values": ["<note/>", "<note>ok</note>"]},
    }
    if name == "bytea" and hint is not None and hint.octets != (None, None):
        lo, hi = hint.octets
        hi = hi if hi is not None else max(lo or 0, 32)
        return {
            "generator": "bytes",
            "min_length": lo if lo is not None else min(8, hi),
            "max_length": hi,
        }
    if name in simple:
        return dict(simple[name])
    if name in ("bit", "varbit"):
        size = _length(col.sql_type) or 8
        return {"generator": "bit_string", "length": size, "varying": name == "varbit"}
    return None
