"""How a version's rows travel into existing tables: binary COPY (pgpq) when every column has a
binary form PostgreSQL's receive functions take from the Arrow type, CSV otherwise (PostgreSQL
then parses each value as its input function would: enums, arrays, ranges, inet ...)."""

from __future__ import annotations

import pgpq
import pyarrow as pa
from pgpq import encoders as pg_encoders
from pgpq import schema as pg_schema

from tdm.core.types import LogicalType
from tdm.targets.postgres.catalog import PgType
from tdm.targets.postgres.load import uuid_bytes

# live type -> (logical kinds it takes in binary, the Arrow type sent)
_BINARY: dict[str, tuple[tuple[str, ...], pa.DataType]] = {
    "int2": (("int",), pa.int16()),
    "int4": (("int",), pa.int32()),
    "int8": (("int",), pa.int64()),
    "float4": (("float",), pa.float32()),
    "float8": (("float",), pa.float64()),
    "bool": (("bool",), pa.bool_()),
    "text": (("string",), pa.string()),
    "varchar": (("string",), pa.string()),
    "bpchar": (("string",), pa.string()),
    "json": (("json", "string"), pa.string()),
    "jsonb": (("json", "string"), pa.string()),
    "date": (("date",), pa.date32()),
    "timestamptz": (("timestamp",), pa.timestamp("us", tz="UTC")),
    "timestamp": (("timestamp",), pa.timestamp("us")),
    "uuid": (("uuid",), pa.binary(16)),
}


class BinaryCopy:
    def __init__(self, schema: pa.Schema, live: dict[str, str]):
        self.schema = schema
        encoders = {
            f.name: pg_encoders.StringEncoderBuilder.new_with_output(f, pg_schema.Jsonb())
            if live[f.name] == "jsonb"
            else pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(f)
            for f in schema
        }
        self.encoder = pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(schema, encoders)

    def header(self) -> bytes:
        return self.encoder.write_header()

    def finish(self) -> bytes:
        return self.encoder.finish()

    def encode(self, part: pa.Table) -> bytes:
        arrays = []
        for field in self.schema:
            arr = part.column(field.name)
            if field.type == pa.binary(16):
                arr = uuid_bytes(arr, field.name)
            elif arr.type != field.type:
                arr = arr.cast(field.type)  # safe cast: a value that does not fit is an error
            arrays.append(arr)
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        return b"".join(self.encoder.write_batch(b) for b in table.to_batches())


def binary_copy(
    columns: list[str], kinds: dict[str, LogicalType], live: dict[str, PgType]
) -> BinaryCopy | None:
    """The binary encoder for these columns, or None when one of them needs CSV."""
    fields, names = [], {}
    for c in columns:
        t = live[c].resolved()
        name = "text" if t.kind == "enum" else t.typname if t.kind == "base" else ""
        found = _BINARY.get(name)
        if found is None or kinds[c].kind not in found[0]:
            return None
        fields.append(pa.field(c, found[1]))
        names[c] = name
    return BinaryCopy(pa.schema(fields), names)
