"""The simple strategies: keep, null, redact, partial, hash and substitute."""

from __future__ import annotations

import decimal
import hashlib
import hmac
import json
import uuid
from functools import cache
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from pydantic import Field, field_validator

from tdm.generators.pools import faker, provider_values, sampled
from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    byte_table,
    from_buffers,
    per_distinct,
    register,
    string_buffers,
    translate,
    with_nulls_of,
)
from tdm.masking.strategies.fpe import keyed_u64


class KeepParams(Model):
    reason: str | None = None  # why keeping the values is safe (shown by tdm scan)


@register
class Keep(Strategy):
    """The values as they are (for columns reviewed as not personal)."""

    name = "keep"
    Params = KeepParams
    bijective = True
    summary: ClassVar[str] = "leave the values as they are"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        return values


@register
class Null(Strategy):
    """Every value null (the column must be nullable where it is loaded)."""

    name = "null"
    summary: ClassVar[str] = "every value becomes null"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        return pa.nulls(len(values), values.type)


class RedactParams(Model):
    value: str | int | float | bool | None = Field(
        None, description="the constant; default REDACTED for text, zero/epoch otherwise"
    )
    keep_nulls: bool = Field(True, description="nulls stay null instead of the constant")


_DEFAULTS: dict[str, Any] = {
    "string": "REDACTED",
    "uuid": "00000000-0000-0000-0000-000000000000",
    "json": '"REDACTED"',
    "int": 0,
    "float": 0.0,
    "decimal": 0,
    "bool": False,
    "date": "1970-01-01",
    "timestamp": "1970-01-01T00:00:00Z",
}


@register
class Redact(Strategy):
    """One constant for every value."""

    name = "redact"
    Params = RedactParams
    summary: ClassVar[str] = "a constant (value: ..., default REDACTED / 0 / 1970-01-01)"

    def constant(self) -> pa.Scalar:
        """The constant as a scalar of the column's type (raises if it cannot be one)."""
        kind = self.column.type.kind
        value = _DEFAULTS[kind] if self.p.value is None else self.p.value
        if kind == "bool" and not isinstance(value, bool):
            raise ValueError("use true or false")
        if kind == "json":
            value = value if isinstance(value, str) else json.dumps(value)
            json.loads(value)  # must be JSON text
        elif kind == "uuid":
            value = str(uuid.UUID(str(value)))
        elif kind == "decimal":
            value = decimal.Decimal(str(value))
        elif kind in ("string", "date", "timestamp"):
            value = str(value)
        return pa.scalar(value).cast(self.column.type.arrow)

    def problems(self):
        try:
            self.constant()
        except (ValueError, TypeError, ArithmeticError, pa.ArrowException) as err:
            return [
                (
                    "value",
                    f"{self.p.value!r} is not a {self.column.type} value ({err})",
                    f"e.g. value: {_DEFAULTS[self.column.type.kind]!r}",
                )
            ]
        return []

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        out = pa.repeat(self.constant().cast(values.type), len(values))
        return with_nulls_of(out, values) if self.p.keep_nulls else out


# ---- partial -----------------------------------------------------------------------------------


class PartialParams(Model):
    keep_first: int = Field(0, ge=0, description="characters left visible at the start")
    keep_last: int = Field(0, ge=0, description="characters left visible at the end")
    char: str = Field("*", description="the masking character (one ASCII character)")
    separators: str = Field(" -.@_/()+:,", description="ASCII characters kept as they are")

    @field_validator("char")
    @classmethod
    def _one_ascii(cls, v: str) -> str:
        if len(v) != 1 or not 32 <= ord(v) < 127:
            raise ValueError("must be one printable ASCII character, e.g. '*' or 'X'")
        return v

    @field_validator("separators")
    @classmethod
    def _ascii(cls, v: str) -> str:
        if not v.isascii():
            raise ValueError("separators must be ASCII characters")
        return v


@register
class Partial(Strategy):
    """Hide every character but the first/last few; separators keep their place, so the masked
    value has the shape of the original ('****-****-****-1234')."""

    name = "partial"
    Params = PartialParams
    types = ("string",)
    summary: ClassVar[str] = "hide all but keep_first/keep_last characters ('****-1234')"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        arr = as_string(values)
        offsets, data = string_buffers(arr)
        lead = (data & 0xC0) != 0x80  # first byte of each UTF-8 character
        maskable = lead & ~translate(data, byte_table(self.p.separators)).view(bool)
        rank = np.zeros(len(data) + 1, dtype=np.int64)  # maskable characters before each byte
        np.cumsum(maskable, out=rank[1:])
        lengths = np.diff(offsets).astype(np.int64)
        first, last = rank[offsets[:-1] - offsets[0]], rank[offsets[1:] - offsets[0]]
        lo = np.repeat(first + self.p.keep_first, lengths)
        hi = np.repeat(last - self.p.keep_last, lengths)
        hidden = maskable & (rank[:-1] >= lo) & (rank[:-1] < hi)
        # continuation bytes of a hidden character go with it
        owner = np.maximum.accumulate(np.where(lead, np.arange(len(data)), 0))
        keep = lead | ~hidden[owner]
        out = np.where(hidden, np.uint8(ord(self.p.char)), data)[keep]
        kept = np.zeros(len(data) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept[1:])
        return from_buffers(kept[offsets - offsets[0]], out, arr)


# ---- keyed hash --------------------------------------------------------------------------------


class HashParams(Model):
    length: int = Field(16, ge=8, le=64, description="hex characters of HMAC-SHA256 kept")
    prefix: str = Field("", description="put before every hash, e.g. 'cust_'")


@register
class Hash(Strategy):
    """HMAC-SHA256 under the masking key, as hex: the same input gives the same token everywhere.
    Truncated hashes can collide, so this is not for keys (use pseudonymize)."""

    name = "hash"
    Params = HashParams
    types = ("string",)
    summary: ClassVar[str] = "keyed HMAC-SHA256 hex token (length: 8..64, prefix)"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        secret = self.key.derive(f"hash/{self.domain()}")
        p = self.p

        def tokens(distinct: pa.Array) -> pa.Array:
            return pa.array(
                [
                    p.prefix + hmac.new(secret, v.encode(), hashlib.sha256).hexdigest()[: p.length]
                    for v in distinct.to_pylist()
                ],
                pa.string(),
            )

        return per_distinct(as_string(values), tokens)


# ---- substitution from a pool ------------------------------------------------------------------


class SubstituteParams(Model):
    pool: str = Field(description="a Faker method or provider list: first_name, city, jobs, ...")
    locale: str | None = Field(None, description="the pool's locale; default the column's first")


POOL_EXAMPLES = (
    "first_name",
    "last_name",
    "name",
    "city",
    "street_name",
    "company",
    "job",
    "country",
    "first_names",
    "last_names",
)


@cache
def load_pool(locale: str, pool: str) -> pa.StringArray:
    """Values of a Faker method (sampled in Faker's frequencies) or of a provider's list."""

    fake = faker(locale, pool)
    if not pool.startswith("_") and any(callable(getattr(p, pool, None)) for p in fake.providers):
        out = sampled(locale, pool)
    else:
        out = provider_values(locale, pool)
    if len(out) == 0:
        raise LookupError(f"Faker pool {pool!r} of {locale} is empty")
    return out


@register
class Substitute(Strategy):
    """A realistic fake from a Faker pool, chosen by a keyed hash of the value: the same input
    gets the same fake in every table (not collision-free: two inputs can get one fake)."""

    name = "substitute"
    Params = SubstituteParams
    types = ("string",)
    summary: ClassVar[str] = "consistent fake from a Faker pool (pool: first_name|city|company...)"

    @property
    def locale(self) -> str:
        return self.p.locale or self.column.locales[0]

    def problems(self):
        try:
            load_pool(self.locale, self.p.pool)
        except Exception as err:  # Faker raises whatever the method raises
            return [
                (
                    "pool",
                    f"no Faker pool {self.p.pool!r} in {self.locale} ({err})",
                    "a Faker method or provider list, e.g. " + ", ".join(POOL_EXAMPLES),
                )
            ]
        return []

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        pool = load_pool(self.locale, self.p.pool)
        purpose = self.domain()

        def fakes(distinct: pa.Array) -> pa.Array:
            pick = keyed_u64(distinct, self.key, purpose) % np.uint64(len(pool))
            return pool.take(pa.array(pick.astype(np.int64)))

        return per_distinct(as_string(values), fakes)
