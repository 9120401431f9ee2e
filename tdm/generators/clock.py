"""PostgreSQL interval and time-of-day values as the text PostgreSQL's input functions read:
interval ('3 days 04:05:06') and time/timetz ('HH:MM:SS', '+02:00'). They travel as strings;
PostgreSQL parses them."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tdm.core.arrowstr import concat_rows, join
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
