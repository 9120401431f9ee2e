"""PostgreSQL-native values as the text PostgreSQL's input functions read: interval, inet/cidr,
macaddr, bit strings, bytea, tsvector and time. They travel as strings; PostgreSQL parses them."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tdm.core.arrowstr import HEX, concat_rows, fixed_width, join
from tdm.core.permute import mix64
from tdm.core.rand import key64
from tdm.generators import pools
from tdm.generators.base import GenContext, Generator, register

DAY = 86_400
MONTH = 30 * DAY  # PostgreSQL compares intervals with 30-day months and 12-month years
_UNITS = {
    **dict.fromkeys(("us", "usec", "usecs", "microsecond", "microseconds"), 1e-6),
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 1e-3),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), DAY),
    **dict.fromkeys(("w", "week", "weeks"), 7 * DAY),
    **dict.fromkeys(("mon", "mons", "month", "months"), MONTH),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), 12 * MONTH),
}
_TOKEN = re.compile(
    r"\s*(?:(?P<time>[+-]?\d+:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)"
    r"|(?P<num>[+-]?\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+)|(?P<ago>ago))\s*"
)
INTERVAL_HINT = "write it as PostgreSQL does, e.g. '1 day', '00:30:00', '2 years 3 mons'"


def parse_interval(text: Any) -> tuple[float, bool]:
    """PostgreSQL interval text -> (seconds, with 30-day months; whether it names months or
    years); ValueError when it cannot be read."""
    if not isinstance(text, str):
        raise ValueError(f"write intervals as quoted text, got {text!r}")
    s, pos, total, months, ago = text.strip().lower(), 0, 0.0, False, False
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos or ago:
            raise ValueError(f"cannot read interval {text!r} at {s[pos:]!r}")
        pos = m.end()
        if m["time"]:
            sign = -1 if m["time"].startswith("-") else 1
            parts = [float(p) for p in m["time"].lstrip("+-").split(":")]
            total += sign * sum(p * f for p, f in zip(parts, (3600, 60, 1), strict=False))
        elif m["num"]:
            if m["unit"] not in _UNITS:
                raise ValueError(f"unknown interval unit {m['unit']!r} in {text!r}")
            total += float(m["num"]) * _UNITS[m["unit"]]
            months |= _UNITS[m["unit"]] >= MONTH
        else:
            ago = True
    if not s:
        raise ValueError("empty interval")
    return (-total if ago else total), months


_TWO = pa.array([f"{i:02d}" for i in range(100)])


def clock(seconds: np.ndarray) -> pa.Array:
    """Seconds within a day (0..86400) -> 'HH:MM:SS'."""
    colon = (pa.array([":"]), np.zeros(len(seconds), dtype=np.int64))
    h, rest = np.divmod(seconds, 3600)
    return concat_rows((_TWO, h), colon, (_TWO, rest // 60), colon, (_TWO, rest % 60))


def _unit(count: np.ndarray, sign: pa.Array, word: str) -> pa.Array:
    """'3 days' ('-3 days' for negatives, '1 day'), null where count is 0."""
    text = join(sign, pa.array(count).cast(pa.string()), pc.if_else(count == 1, word, word + "s"))
    return pc.if_else(pa.array(count == 0), pa.nulls(len(count), pa.string()), text)


class IntervalParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: str = Field("0 seconds", description="PostgreSQL interval text, e.g. '1 day'")
    max: str = Field("30 days", description="PostgreSQL interval text, e.g. '2 years'")

    @field_validator("min", "max", mode="before")
    @classmethod
    def _readable(cls, v):
        try:
            parse_interval(v)
        except ValueError as e:
            raise ValueError(f"{e}; {INTERVAL_HINT}") from None
        return v


@register
class Interval(Generator):
    """PostgreSQL intervals between min and max, to the second, e.g. '3 days 04:05:06'."""

    name = "interval"
    reproducible = True  # depends on ctx.rng alone
    types = ("string",)
    Params = IntervalParams
    summary = "PostgreSQL interval text between min and max ('3 days 04:05:06')"

    def bounds(self) -> tuple[int, int, bool]:
        (lo, m1), (hi, m2) = parse_interval(self.p.min), parse_interval(self.p.max)
        return int(np.ceil(lo)), int(np.floor(hi)), m1 or m2

    def problems(self):
        lo, hi, _ = self.bounds()
        if lo > hi:
            return [("min", f"min {self.p.min!r} is above max {self.p.max!r}", "swap them")]
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        lo, hi, months = self.bounds()
        s = ctx.rng.integers(lo, hi)
        sign = pc.if_else(pa.array(s < 0), "-", "")
        a = np.abs(s)
        years, mons = (a // (12 * MONTH), a % (12 * MONTH) // MONTH) if months else (0 * a, 0 * a)
        days, secs = (a % MONTH if months else a) // DAY, a % DAY
        parts = [_unit(n, sign, w) for n, w in ((years, " year"), (mons, " mon"), (days, " day"))]
        bare = (years == 0) & (mons == 0) & (days == 0)
        t = join(sign, clock(secs))
        parts.append(pc.if_else(pa.array((secs == 0) & ~bare), pa.nulls(len(s), pa.string()), t))
        return pc.binary_join_element_wise(*parts, " ", null_handling="skip")


def _noise(gen: Generator, idx: np.ndarray, purpose: str) -> np.ndarray:
    """64 random-looking bits per row index (values of index-based rows)."""
    return mix64(
        idx.astype(np.uint64) ^ key64(gen.info.seed, gen.info.table, gen.info.name, purpose)[0]
    )


def _top_mask(keep: np.ndarray | int) -> np.ndarray:
    """uint64 masks keeping the top `keep` (clipped to 0..64) bits."""
    keep = np.asarray(keep, dtype=np.int64)
    shifted = np.uint64(0xFFFFFFFFFFFFFFFF) << (64 - keep).clip(0, 63).astype(np.uint64)
    return np.where(keep <= 0, np.uint64(0), shifted)


def random_bits(gen: Generator, ctx: GenContext, idx: np.ndarray, width: int, m: int):
    """(rows, words) uint64 holding `width` random bits (the low bits of word 0 when width <= 64,
    else words 0, 1, ...). For a unique column they are a function of the row index, and the top
    m (<= 62) bits of the value are a keyed permutation of it: distinct rows, distinct values."""
    words = -(-width // 64)
    if not gen.info.unique:
        return ctx.rng.draw(lambda g, n: g.bit_generator.random_raw((n, words)))
    out = np.stack([_noise(gen, idx, f"bits{w}") for w in range(words)], axis=1)
    top = min(width, 64)
    slot = gen.unique_slots(idx, 2**m).astype(np.uint64)
    out[:, 0] &= ~(np.uint64((1 << m) - 1) << np.uint64(top - m))
    out[:, 0] |= slot << np.uint64(top - m)
    return out


def hex_groups(raw: np.ndarray, group: int, sep: str) -> pa.Array:
    """(rows, bytes) uint8 -> lower-case hex in groups of `group` bytes joined by `sep`."""
    n, size = raw.shape
    hexed = np.stack([HEX[raw >> 4], HEX[raw & 0xF]], axis=2).reshape(n, size // group, 2 * group)
    seps = np.full((n, size // group, 1), ord(sep), dtype=np.uint8)
    return fixed_width(np.concatenate([hexed, seps], axis=2).reshape(n, -1)[:, :-1])


_OCTETS = pa.array([str(i) for i in range(256)])


class IpParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(4, description="4 or 6")
    cidr: bool = Field(False, description="network addresses with host bits zero")
    prefix: int | None = Field(None, ge=0, le=128, description="prefix length")

    @field_validator("version")
    @classmethod
    def _version(cls, v):
        if v not in (4, 6):
            raise ValueError("version must be 4 or 6")
        return v


@register
class IpAddress(Generator):
    """IPv4/IPv6 addresses (inet text), or networks with host bits zero (cidr)."""

    name = "ip_address"
    types = ("string",)
    Params = IpParams
    can_be_unique = True
    summary = "inet or cidr text: '10.1.2.3', '10.12.0.0/16', IPv6 in full form"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique
        self.width = 32 if params.version == 4 else 128
        self.prefix = params.prefix
        if params.cidr and info.unique and params.prefix is None:
            self.prefix = 24 if params.version == 4 else 64  # unique networks: a fixed prefix

    def problems(self):
        if self.prefix is not None and self.prefix > self.width:
            return [("prefix", f"IPv{self.p.version} prefixes are 0..{self.width}", None)]
        return []

    def _unique_bits(self) -> int:
        return min(self.prefix if self.p.cidr and self.prefix is not None else self.width, 62)

    def capacity(self) -> int:
        return 2 ** self._unique_bits()

    def generate(self, ctx: GenContext) -> pa.Array:
        return self.at(ctx.idx, ctx)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        n = len(idx)
        prefix = None if self.prefix is None else np.full(n, self.prefix, dtype=np.int64)
        if self.p.cidr and prefix is None:  # not unique: a prefix per row
            prefix = ctx.rng.integers(8, 30) if self.width == 32 else ctx.rng.integers(32, 64)
        bits = random_bits(self, ctx, idx, self.width, self._unique_bits())
        if self.width == 32:
            addr = bits[:, 0] & np.uint64(0xFFFFFFFF)
            if self.p.cidr:
                addr &= _top_mask(prefix + 32)
            dot = (pa.array(["."]), np.zeros(n, dtype=np.int64))
            octets = [(_OCTETS, (addr >> np.uint64(s)) & np.uint64(255)) for s in (24, 16, 8, 0)]
            text = concat_rows(octets[0], dot, octets[1], dot, octets[2], dot, octets[3])
        else:
            if self.p.cidr:
                bits[:, 0] &= _top_mask(prefix)
                bits[:, 1] &= _top_mask(prefix - 64)
            text = hex_groups(bits.astype(">u8").view(np.uint8).reshape(n, 16), 2, ":")
        return text if prefix is None else join(text, "/", pa.array(prefix).cast(pa.string()))


class MacParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    bytes: int = Field(6, description="6 (macaddr) or 8 (macaddr8)")

    @field_validator("bytes")
    @classmethod
    def _size(cls, v):
        if v not in (6, 8):
            raise ValueError("bytes must be 6 (macaddr) or 8 (macaddr8)")
        return v


@register
class MacAddress(Generator):
    """MAC addresses 'xx:xx:xx:xx:xx:xx' (macaddr), or 8 bytes (macaddr8)."""

    name = "mac_address"
    types = ("string",)
    Params = MacParams
    can_be_unique = True
    summary = "macaddr text 'xx:xx:xx:xx:xx:xx' (bytes: 8 for macaddr8)"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    def capacity(self) -> int:
        return 2 ** min(8 * self.p.bytes, 62)

    def generate(self, ctx: GenContext) -> pa.Array:
        return self.at(ctx.idx, ctx)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        width = 8 * self.p.bytes
        bits = random_bits(self, ctx, idx, width, min(width, 62))
        raw = bits[:, :1].astype(">u8").view(np.uint8).reshape(len(idx), 8)
        return hex_groups(raw[:, 8 - self.p.bytes :], 1, ":")


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


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_OFFSET = re.compile(r"^[+-](\d{2})(?::([0-5]\d))?$")


def parse_clock(text: Any) -> int:
    """'HH:MM[:SS]' -> seconds after midnight (24:00:00 allowed); ValueError otherwise."""
    m = _CLOCK.match(text) if isinstance(text, str) else None
    if not m:
        hint = " (YAML reads unquoted 12:30 as a number: quote it)" if isinstance(text, int) else ""
        raise ValueError(f"cannot read time {text!r}; write 'HH:MM' or 'HH:MM:SS'{hint}")
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if mi > 59 or s > 59 or h * 3600 + mi * 60 + s > DAY:
        raise ValueError(f"time {text!r} is not between 00:00:00 and 24:00:00")
    return h * 3600 + mi * 60 + s


class TimeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str = Field("00:00", description="'HH:MM[:SS]'")
    end: str = Field("23:59:59", description="'HH:MM[:SS]'; before start wraps past midnight")
    with_tz: bool = Field(False, description="append a UTC offset (timetz)")
    offsets: list[str] = Field(
        ["+00", "+01:00", "+02:00", "-05:00", "+05:30", "+09:00"], min_length=1
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, v):
        parse_clock(v)
        return v

    @field_validator("offsets")
    @classmethod
    def _offsets(cls, v):
        for o in v:
            m = _OFFSET.match(o)
            if not m or int(m[1]) > 15:
                raise ValueError(f"offset {o!r} is not like '+00', '+02:00' or '-05:30'")
        return v


@register
class Time(Generator):
    """Times of day 'HH:MM:SS' between start and end; with_tz appends a UTC offset (timetz)."""

    name = "time"
    reproducible = True  # depends on ctx.rng alone
    types = ("string",)
    Params = TimeParams
    summary = "time text 'HH:MM:SS' (with_tz: timetz with an offset like '+02:00')"

    def generate(self, ctx: GenContext) -> pa.Array:
        lo, hi = parse_clock(self.p.start), parse_clock(self.p.end)
        span = hi - lo if lo <= hi else DAY - lo + hi
        t = lo + ctx.rng.integers(0, span)
        text = clock(t % DAY if lo > hi else t)  # 24:00:00 only as an end, not wrapped
        if not self.p.with_tz:
            return text
        return join(text, pa.array(self.p.offsets).take(ctx.rng.index(len(self.p.offsets))))
