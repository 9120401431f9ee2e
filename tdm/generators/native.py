"""PostgreSQL-native values as the text PostgreSQL's input functions read: bit strings, bytea and
tsvector. They travel as strings; PostgreSQL parses them. (Intervals and times of day are in
clock.py, network addresses in network.py.)"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from tdm.core.arrowstr import HEX, fixed_width
from tdm.generators import pools
from tdm.generators.base import GenContext, Generator, register


def ragged(chars: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """The first lengths[i] bytes of row i of a (rows, width) ASCII matrix, as strings."""
    rows, width = chars.shape
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise ValueError("more than 2 GiB of text in one batch; lower batch_size")
    data = chars[np.arange(width)[None, :] < lengths[:, None]]
    return pa.StringArray.from_buffers(
        rows, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)
    )


def random_bytes(ctx: GenContext, size: int) -> np.ndarray:
    """(rows, size) uniform random bytes."""
    words = ctx.rng.draw(lambda g, n: g.bit_generator.random_raw((n, max(1, -(-size // 8)))))
    return words.view(np.uint8).reshape(ctx.n, -1)[:, :size]


class BitParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    length: int = Field(ge=1, le=100_000, description="bits: bit(length) or varbit(length)")
    varying: bool = Field(False, description="lengths 1..length (varbit)")


@register
class BitString(Generator):
    """Bit strings '0101...' of `length` bits (bit(n)), or 1..length when varying (varbit(n))."""

    name = "bit_string"
    types = ("string",)
    Params = BitParams
    summary = "bit(n) text '0101...'; varying: true for varbit(n), lengths 1..length"

    def generate(self, ctx: GenContext) -> pa.Array:
        n = self.p.length
        bits = np.unpackbits(random_bytes(ctx, -(-n // 8)), axis=1)[:, :n] + np.uint8(ord("0"))
        if not self.p.varying:
            return fixed_width(bits)
        return ragged(bits, ctx.rng.integers(1, n))


class BytesParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_length: int = Field(8, ge=0, le=100_000, description="bytes")
    max_length: int = Field(32, ge=0, le=100_000, description="bytes")


@register
class Bytes(Generator):
    """Random bytes as PostgreSQL bytea hex text, e.g. '\\x0a1bff'."""

    name = "bytes"
    types = ("string",)
    Params = BytesParams
    summary = "bytea hex text '\\x0a1b...' of min_length..max_length bytes"

    def problems(self):
        if self.p.min_length > self.p.max_length:
            return [("min_length", "min_length is above max_length", "swap them")]
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        size = self.p.max_length
        raw = random_bytes(ctx, size)
        chars = np.empty((ctx.n, 2 + 2 * size), dtype=np.uint8)
        chars[:, 0], chars[:, 1] = ord("\\"), ord("x")
        chars[:, 2::2], chars[:, 3::2] = HEX[raw >> 4], HEX[raw & 0xF]
        return ragged(chars, 2 + 2 * ctx.rng.integers(self.p.min_length, size))


@cache
def lexemes() -> pa.StringArray:
    """Faker's en_US words, lower-cased, distinct, in byte order, quoted as tsvector prints them."""
    words = sorted({w.lower() for w in pools.provider_values("en_US", "word_list").to_pylist()})
    quoted = ["'" + w.replace("\\", "\\\\").replace("'", "''") + "'" for w in words]
    return pa.array(quoted, type=pa.string())


class TsvectorParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_words: int = Field(1, ge=0, le=500)
    max_words: int = Field(8, ge=0, le=500)


@register
class Tsvector(Generator):
    """tsvector text: min_words..max_words distinct English lexemes, sorted and quoted."""

    name = "tsvector"
    types = ("string",)
    Params = TsvectorParams
    summary = "tsvector text like 'brown' 'fox' 'quick' (distinct, sorted lexemes)"

    def problems(self):
        if self.p.min_words > self.p.max_words:
            return [("min_words", "min_words is above max_words", "swap them")]
        if self.p.max_words > len(lexemes()):
            return [("max_words", f"the word list has {len(lexemes())} words", None)]
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        pool, k = lexemes(), self.p.max_words
        count = ctx.rng.integers(self.p.min_words, k)
        # sorted draws from [0, N-k] plus 0, 1, ..., k-1: strictly increasing, so distinct
        x = ctx.rng.draw(lambda g, n: g.integers(0, len(pool) - k, (n, k), endpoint=True))
        keep = np.arange(k)[None, :] < count[:, None]
        x = np.sort(np.where(keep, x, len(pool)), axis=1) + np.arange(k)
        offsets = np.zeros(ctx.n + 1, dtype=np.int32)
        np.cumsum(count, out=offsets[1:])
        lists = pa.ListArray.from_arrays(pa.array(offsets), pool.take(pa.array(x[keep])))
        return pc.binary_join(lists, " ")
