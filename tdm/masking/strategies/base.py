"""The masking-strategy interface, its registry and the helpers the strategies share.

A strategy maps one column of a batch to a masked column of the same length and Arrow type. Keyed
strategies derive everything from the masking key and their *domain* (strategy name + the
parameters that change the mapping), never from the table or the run: under one key the same
input gets the same output in every table, run, version and environment, so primary keys and the
foreign keys that reference them stay joinable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from tdm.core.errors import TdmError
from tdm.core.types import KINDS, LogicalType
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies.fpe import Pseudonymizer, ShortValues, keyed_u64

STRATEGIES: dict[str, type[Strategy]] = {}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(Model):
    pass


@dataclass(frozen=True)
class MaskColumn:
    table: str
    name: str
    type: LogicalType
    locales: tuple[str, ...] = ("en_US",)


@dataclass
class MaskBatch:
    columns: dict[str, pa.Array] = field(default_factory=dict)  # raw columns, for needs()
    start: int = 0  # index of the batch's first row in the table


class Strategy:
    """Base class: subclasses set name, Params, types, summary and implement `mask`."""

    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams
    types: ClassVar[tuple[str, ...]] = KINDS
    bijective: ClassVar[bool] = False  # distinct inputs -> distinct outputs
    summary: ClassVar[str] = ""
    # parameters that do not change which output an input gets (left out of the domain)
    presentation: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Any, column: MaskColumn, key: MaskingKey):
        self.p = params
        self.column = column
        self.key = key

    def problems(self) -> list[tuple[str, str, str | None]]:
        """(param, message, hint) for parameters that validate but cannot work."""
        return []

    def needs(self) -> tuple[str, ...]:
        """Other columns of the same row that `apply` reads from batch.columns."""
        return ()

    def domain(self) -> str:
        """Same strategy + same mapping parameters -> same domain -> same output per input.
        Parameters left at their defaults are left out, so adding a parameter later keeps every
        existing mapping."""
        params = self.p.model_dump(
            mode="json", exclude_defaults=True, exclude=set(self.presentation)
        )
        return self.name + json.dumps(params, sort_keys=True, separators=(",", ":"))

    @cached_property
    def fpe(self) -> Pseudonymizer:
        return Pseudonymizer(self.key, self.domain())

    def apply(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        """The masked values: same length and Arrow type as `values`."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if len(values) == 0:
            return values
        try:
            out = self.mask(values, batch)
        except ShortValues as short:
            raise TdmError(
                f"{self.column.table}.{self.column.name}: mask {self.name!r} cannot pseudonymise "
                f"it: {short}, and NIST SP 800-38G forbids format-preserving encryption over "
                "fewer than 1,000,000 values (a few known pairs would reveal the rest). Choose a "
                "mask that needs no large domain: hash (keyed, one-way), substitute (values from "
                "a pool), redact or null; or keep fewer characters (keep_first/keep_last), or "
                "store integers in a type of at least int32"
            ) from None
        if isinstance(out, pa.ChunkedArray):
            out = out.combine_chunks()
        if out.type != values.type:
            out = out.cast(values.type)
        assert len(out) == len(values), f"{self.name} changed the number of values"
        return out

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        raise NotImplementedError


def register(cls: type[Strategy]) -> type[Strategy]:
    if cls.name in STRATEGIES:
        raise ValueError(f"mask strategy {cls.name!r} registered twice")
    STRATEGIES[cls.name] = cls
    return cls


# ---- helpers -----------------------------------------------------------------------------------


def as_string(values: pa.Array) -> pa.StringArray:
    """A string array with offset 0 (large_string and string_view are cast)."""
    if values.type != pa.string():
        values = values.cast(pa.string())
    return values if values.offset == 0 else pa.concat_arrays([values])


def string_buffers(values: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a string array with offset 0; the bytes are a writable copy."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[: len(values) + 1]
    data = values.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offsets, data[offsets[0] : offsets[-1]].copy()


def from_buffers(offsets: np.ndarray, data: np.ndarray, like: pa.Array) -> pa.StringArray:
    """A string array from offsets and bytes, null where `like` is null."""
    offsets = (offsets - offsets[0]).astype(np.int32)
    out = pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))
    return with_nulls_of(out, like)


def with_nulls_of(out: pa.Array, like: pa.Array) -> pa.Array:
    if like.null_count == 0:
        return out
    return pc.if_else(pc.is_valid(like), out, pa.nulls(len(out), out.type))


def translate(values: np.ndarray, table: bytes) -> np.ndarray:
    """values[i] -> table[values[i]] for a uint8 array (bytes.translate: a C loop)."""
    return np.frombuffer(values.tobytes().translate(table), dtype=np.uint8)


def byte_table(chars: str | bytes, value: int = 1) -> bytes:
    """A 256-byte translate table: `value` for the given ASCII characters, 0 elsewhere."""
    table = bytearray(256)
    for ch in chars.encode() if isinstance(chars, str) else chars:
        table[ch] = value
    return bytes(table)


def per_distinct(values: pa.Array, fn) -> pa.Array:
    """fn over the distinct values only (as an Arrow array), then back to every row."""
    encoded = pc.dictionary_encode(values)
    mapped = fn(encoded.dictionary)
    return mapped.take(encoded.indices)


def integer_like(values: pa.Array) -> np.ndarray | None:
    """int64 numbers for integer, date and timestamp arrays (nulls as 0); None for other types."""
    t = values.type
    if pa.types.is_integer(t):
        return pc.fill_null(values, 0).cast(pa.int64()).to_numpy()
    if pa.types.is_date32(t):
        return pc.fill_null(values.cast(pa.int32()), 0).to_numpy().astype(np.int64)
    if pa.types.is_date64(t) or pa.types.is_timestamp(t):
        return pc.fill_null(values.cast(pa.int64()), 0).to_numpy()
    return None


def keyed_numbers(values: pa.Array, key: MaskingKey, purpose: str) -> np.ndarray:
    """A keyed uint64 per value, the same for the same value in any table.

    Integer, date and timestamp values go through the AES PRF (one vectorised call); the others
    (text, decimals, floats) through HMAC-SHA256 of their text, once per distinct value."""
    numbers = integer_like(values)
    if numbers is None and pa.types.is_floating(values.type):
        numbers = pc.fill_null(values, 0.0).to_numpy().astype(np.float64).view(np.int64)
    if numbers is None:
        return keyed_u64(values, key, purpose)
    blocks = np.zeros((len(numbers), 2), dtype=np.uint64)
    blocks[:, 0] = numbers.view(np.uint64)
    blocks[:, 1] = 0x6E756D62657273  # "numbers": apart from the Feistel rounds' inputs
    return Pseudonymizer(key, f"numbers/{purpose}").prf(blocks.view(np.uint8))


def unit_interval(u: np.ndarray) -> np.ndarray:
    """uint64 -> float64 in [0, 1), from the top 53 bits."""
    return (u >> np.uint64(11)).astype(np.float64) * 2.0**-53


# ---- decimals as scaled integers ---------------------------------------------------------------


def decimal_units(values: pa.Array) -> np.ndarray | None:
    """The unscaled integers of a decimal128 array of precision <= 18 (nulls as 0), or None."""
    t = values.type
    if not pa.types.is_decimal128(t) or t.precision > 18:
        return None
    values = pc.fill_null(values, pa.scalar(0, t))
    if values.offset:
        values = pa.concat_arrays([values])
    raw = np.frombuffer(values.buffers()[1], dtype=np.int64)[: 2 * len(values)]
    return raw[0::2].copy()  # little-endian two's complement: the low word holds the value


def units_decimal(units: np.ndarray, like: pa.Array) -> pa.Array:
    """Inverse of decimal_units, null where `like` is null."""
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63  # sign extension
    out = pa.Array.from_buffers(like.type, len(units), [None, pa.py_buffer(words)])
    return with_nulls_of(out, like)
