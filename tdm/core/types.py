"""Logical column types of the spec and their Arrow representation."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pyarrow as pa

KINDS = ("int", "float", "decimal", "bool", "string", "date", "timestamp", "uuid", "json")
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


@dataclass(frozen=True)
class LogicalType:
    kind: str
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        return f"decimal({self.precision},{self.scale})" if self.kind == "decimal" else self.kind

    @property
    def arrow(self) -> pa.DataType:
        if self.kind == "decimal":
            return pa.decimal128(self.precision, self.scale)
        return _ARROW[self.kind]

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float", "decimal")


_ARROW: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    # UUIDs and JSON travel as canonical text; targets map them to native types.
    "uuid": pa.string(),
    "json": pa.string(),
}


def parse_type(text: str) -> LogicalType:
    """Parse 'int', 'decimal(10,2)', ... ; raises ValueError with the accepted forms."""
    t = str(text).strip().lower()
    if t in KINDS and t != "decimal":
        return LogicalType(t)
    m = _DECIMAL.match(t)
    if m:
        precision, scale = int(m.group(1)), int(m.group(2))
        if not 1 <= precision <= 38:
            raise ValueError(f"decimal precision must be 1..38, got {precision}")
        if scale > precision:
            raise ValueError(f"decimal scale {scale} exceeds precision {precision}")
        return LogicalType("decimal", precision, scale)
    aliases = {
        "integer": "int",
        "bigint": "int",
        "double": "float",
        "boolean": "bool",
        "text": "string",
        "varchar": "string",
        "datetime": "timestamp",
        "numeric": "decimal(p,s)",
    }
    close = aliases.get(t) or next(iter(difflib.get_close_matches(t, KINDS, n=1)), None)
    raise ValueError(
        f"unknown type {text!r}{f' (did you mean {close}?)' if close else ''}; use one of: int, "
        "float, decimal(p,s), bool, string, date, timestamp, uuid, json"
    )
