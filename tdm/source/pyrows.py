"""Python row values (as SQLite returns them) to Arrow arrays, one converter per logical kind,
each giving the value PostgreSQL's cast would (decimals rounded half-even, jsonb key order)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from tdm.core.types import LogicalType
from tdm.source.copy_csv import _parse_type


def _py_ints(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str):
            return int(v.strip())
        return v

    return pa.array([None if v is None else conv(v) for v in values], type=pa.int64())


def _py_floats(values: list, t: LogicalType) -> pa.Array:
    return pa.array([None if v is None else float(v) for v in values], type=pa.float64())


def _py_decimals(values: list, t: LogicalType) -> pa.Array:
    quantum = decimal.Decimal(1).scaleb(-t.scale)

    def conv(v):
        d = decimal.Decimal(str(v).strip()) if not isinstance(v, decimal.Decimal) else v
        return d.quantize(quantum, rounding=decimal.ROUND_HALF_EVEN)

    return pa.array([None if v is None else conv(v) for v in values], type=_parse_type(t))


_TRUE = {"1", "t", "true", "y", "yes", "on"}
_FALSE = {"0", "f", "false", "n", "no", "off"}


def _py_bools(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        s = str(v).strip().lower()
        if s in _TRUE or s == "1.0":
            return True
        if s in _FALSE or s == "0.0":
            return False
        raise ValueError(f"{v!r} is not a boolean")

    return pa.array([None if v is None else conv(v) for v in values], type=pa.bool_())


def _py_strings(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return v if isinstance(v, str) else v.decode() if isinstance(v, bytes) else str(v)

    return pa.array([None if v is None else conv(v) for v in values], type=pa.string())


def _py_dates(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return dt.date.fromisoformat(str(v).strip()[:10])

    return pa.array([None if v is None else conv(v) for v in values], type=pa.date32())


def _py_timestamps(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        ts = dt.datetime.fromisoformat(str(v).strip())
        return ts.replace(tzinfo=dt.UTC) if ts.tzinfo is None else ts.astimezone(dt.UTC)

    return pa.array(
        [None if v is None else conv(v) for v in values], type=pa.timestamp("us", tz="UTC")
    )


def _py_uuids(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return str(uuid.UUID(bytes=v) if isinstance(v, bytes) else uuid.UUID(str(v).strip()))

    return pa.array([None if v is None else conv(v) for v in values], type=pa.string())


def _jsonb_order(value: Any) -> Any:
    """Objects with keys in PostgreSQL jsonb order (shorter first, then bytewise)."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return {k: _jsonb_order(value[k]) for k in keys}
    if isinstance(value, list):
        return [_jsonb_order(v) for v in value]
    return value


def _py_json(values: list, t: LogicalType) -> pa.Array:
    def conv(v):
        return json.dumps(_jsonb_order(json.loads(v)), ensure_ascii=False)

    return pa.array([None if v is None else conv(v) for v in values], type=pa.string())


_FROM_PY: dict[str, Callable[[list, LogicalType], pa.Array]] = {
    "int": _py_ints,
    "float": _py_floats,
    "decimal": _py_decimals,
    "bool": _py_bools,
    "string": _py_strings,
    "date": _py_dates,
    "timestamp": _py_timestamps,
    "uuid": _py_uuids,
    "json": _py_json,
}
