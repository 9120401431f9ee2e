"""Pydantic's validation errors in the words of the spec: what the field must be, what it got, and
a fix; never a class name, an error code or "Input should be"."""

from __future__ import annotations

import re
from typing import Any

from tdm.core.errors import did_you_mean, shorten

# What a value of each model is, for "must be a mapping" errors (pydantic names the class).
_SHAPES = {
    "DatasetSpec": "a spec is a mapping with dataset, seed and tables",
    "TableSpec": "a table is a mapping with rows, primary_key and columns",
    "ColumnSpec": "a column is a mapping such as {type: int, generator: sequence}",
    "MaskSpec": "a mask is a strategy name, or {strategy: <name>, <parameter>: ...}",
    "SourceTable": "source is true, or {table: ..., where: ..., key: ...}",
    "SourceSpec": 'source is {url: "${SOURCE_URL}"}',
    "MaskingPolicy": "masking is {defaults: {<category>: <mask>}, min_confidence: <number>}",
    "PrivacySpec": "privacy is {quasi_identifiers: {<table>: [[<column>, ...]]}, k: <number>}",
    "ForeignKeySpec": "a foreign key is {columns: ..., references: ...}",
    "Reference": "a reference is 'table', 'table.column' or 'table(col_a, col_b)'",
    "RowsPerParent": "rows is a whole number or {per: <table>, distribution: ...}",
}
_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}
_KINDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "dict": "a mapping ({key: value, ...})",
    "list": "a list ([a, b, ...])",
    "date": "a date like 2026-01-31",
    "datetime": "a timestamp like 2026-01-31T12:00:00Z",
}
_WHOLE_NUMBERS = {"int_from_float": "a whole number"}


def _number(value: Any) -> str:
    """1 rather than 1.0, 10,000,000 rather than 10000000."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def field_name(loc: tuple) -> str:
    """The name the user wrote for the place an error is at: its last key (list positions and
    pydantic's markers skipped), or 'the value'."""
    if loc and loc[-1] == "[key]":
        return "the name"
    for part in reversed(loc):
        if isinstance(part, str) and part != "[key]":
            return part
    return "the value"


def worded(error: dict[str, Any]) -> tuple[str, str | None]:
    """(message, fix) for one pydantic error (an item of `ValidationError.errors()`)."""
    kind, msg, ctx = error["type"], error["msg"], error.get("ctx") or {}
    loc = tuple(error["loc"])
    name, got = field_name(loc), shorten(error.get("input"))
    if kind in ("value_error", "assertion_error"):
        return re.sub(r"^(Value error|Assertion failed), ", "", msg), None
    if kind in ("model_type", "model_attributes_type", "dataclass_type"):
        shape = _SHAPES.get(str(ctx.get("class_name")), f"{name} must be a mapping")
        return f"{shape}; got {got}", None
    if kind in _BOUNDS:
        sign, key = _BOUNDS[kind]
        value = error.get("input")
        shown = _number(value) if isinstance(value, int | float) else got
        return f"{name} must be {sign} {_number(ctx.get(key))}, got {shown}", None
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(str(error.get("input")), choices, cutoff=0.75)
        return f"{name} must be one of: {', '.join(choices)}; got {got}", hint
    if kind == "finite_number":
        return f"{name} must be a finite number, got {got}", None
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return f"{name} needs at least {'one entry' if least == 1 else f'{least} entries'}", None
    if kind == "too_long":
        return f"{name} has too many entries (at most {ctx.get('max_length')})", None
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        if least == 1:
            return f"{name} must not be empty", None
        return f"{name} needs at least {least} characters, got {got}", None
    if kind == "string_too_long":
        return f"{name} must have at most {ctx.get('max_length')} characters (got {got})", None
    if kind == "string_pattern_mismatch":
        return f"{got} is not a valid {name}", f"it must match {ctx.get('pattern')}"
    if kind in _WHOLE_NUMBERS:
        return f"{name} must be {_WHOLE_NUMBERS[kind]}, got {got}", None
    base = kind.split("_")[0]
    if (base in _KINDS and kind.endswith(("_type", "_parsing"))) or kind.startswith("date"):
        want = _KINDS.get(base, _KINDS["date"])
        return f"{name} must be {want}, got {got}", None
    return f"{name}: {re.sub(r'^Input should be', 'must be', msg)}", None
