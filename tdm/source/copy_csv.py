"""PostgreSQL COPY output to Arrow: the SQL cast that puts each column in the text form the
CSV parser reads, the CSV parsing with explicit column types, and the Arrow typing of read
columns (`_logical`, `_conform`)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv

from tdm.core.postgres_types import postgres_type
from tdm.core.types import LogicalType
from tdm.spec.model import TableSpec

# The type each logical kind is parsed as from CSV (timestamps are UTC text, tagged afterwards).
_PARSE_TYPE = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "string": pa.string(),
    "uuid": pa.string(),
    "json": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
}


def _pg_expr(col: str, t: LogicalType) -> str:
    """A column cast in SQL to the text form the CSV parser reads as t."""
    cast = f"({col})::{postgres_type(t, short=True)}"
    if t.kind == "timestamp":
        # naive timestamps are UTC (the session time zone), aware ones are converted to UTC
        return f"({cast} AT TIME ZONE 'UTC')"
    if t.kind in ("uuid", "json"):  # read as their canonical text
        return f"{cast}::text"
    return cast


def _parse_csv(data: bytes, kinds: list[LogicalType]) -> list[pa.ChunkedArray]:
    """PostgreSQL CSV (NULL unquoted empty, '' quoted, t/f booleans) -> one array per column."""
    if not data:
        return [pa.chunked_array([], type=_parse_type(k)) for k in kinds]
    names = [f"c{i}" for i in range(len(kinds))]
    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=any(k.kind in ("string", "json") for k in kinds),
            ignore_empty_lines=False,  # a one-column row holding NULL is an empty line
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: _parse_type(k) for n, k in zip(names, kinds, strict=True)},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    return [table.column(n) for n in names]


def _parse_type(t: LogicalType) -> pa.DataType:
    return pa.decimal128(t.precision, t.scale) if t.kind == "decimal" else _PARSE_TYPE[t.kind]


def _logical(table: TableSpec, field: pa.Field) -> LogicalType:
    col = table.columns.get(field.name)
    if col is not None:
        return col.logical
    for kind, arrow in _PARSE_TYPE.items():
        if field.type == arrow and kind not in ("uuid", "json"):
            return LogicalType(kind)
    if pa.types.is_decimal(field.type):
        return LogicalType("decimal", field.type.precision, field.type.scale)
    if pa.types.is_timestamp(field.type):
        return LogicalType("timestamp")
    return LogicalType("string")


def _conform(arr: pa.Array | pa.ChunkedArray, typ: pa.DataType) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr if arr.type == typ else arr.cast(typ)
