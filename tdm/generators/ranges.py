"""PostgreSQL range literals: '[10,20)', '[2024-01-01,2024-02-01)'.

Disjoint ranges put row i inside slot i of [min, max): an exclusion constraint on && holds by
construction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from tdm.core.arrowstr import join
from tdm.core.permute import mix64
from tdm.core.rand import key64
from tdm.generators.base import GenContext, Generator, register
from tdm.generators.clock import DAY, INTERVAL_HINT, parse_interval
from tdm.generators.temporal import resolve


class BadParam(ValueError):
    """A range parameter that cannot be used: args are (param, message, hint)."""


RANGE_TYPES = {
    "int": "int4range",
    "bigint": "int8range",
    "numeric": "numrange",
    "date": "daterange",
    "timestamp": "tsrange",
    "timestamptz": "tstzrange",
}
_LIMITS = {"int": 2**31 - 1, "bigint": 2**63 - 1}
_DEFAULTS = {"date": ("-1y", "today"), "timestamp": ("-1y", "today")}


class RangeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    of: Literal["int", "bigint", "numeric", "date", "timestamp", "timestamptz"] = "int"
    min: int | float | str | dt.datetime | dt.date | None = Field(
        None, description="lowest lower bound"
    )
    max: int | float | str | dt.datetime | dt.date | None = Field(
        None, description="highest upper bound"
    )
    max_span: int | float | str | None = Field(
        None, description="longest range: a number (days for date/time ranges) or interval text"
    )
    disjoint: bool = Field(False, description="ranges of different rows never overlap")
    scale: int = Field(2, ge=0, le=12, description="decimals of numeric bounds")


@register
class Range(Generator):
    """Non-empty PostgreSQL ranges '[lo,hi)' in min..max; disjoint: true never overlaps rows."""

    name = "range"
    types = ("string",)
    Params = RangeParams
    can_be_unique = True
    summary = "range literal '[lo,hi)' (int4/int8/num/date/ts/tstz range); disjoint: no overlap"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = params.disjoint
        self.error: tuple[str, str, str | None] | None = None
        try:
            self.lo, self.hi, self.span = self._units()
        except BadParam as e:
            self.error = e.args
            self.lo, self.hi, self.span = 0, 1, 1

    def _kind(self) -> str:
        return {"int": "int", "bigint": "int", "numeric": "numeric", "date": "date"}.get(
            self.p.of, "timestamp"
        )

    def _bound(self, value: Any, param: str) -> int:
        """A bound in units of the subtype: integers, 10**-scale, days or seconds."""
        kind = self._kind()
        try:
            if kind == "int":
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"{value!r} is not a whole number")
                return value
            if kind == "numeric":
                if isinstance(value, bool | dt.date):
                    raise ValueError(f"{value!r} is not a number")
                try:
                    return int(Decimal(str(value)).scaleb(self.p.scale).to_integral_value())
                except InvalidOperation:
                    raise ValueError(f"{value!r} is not a number") from None
            if isinstance(value, dt.datetime):
                return _seconds(value)
            if isinstance(value, dt.date):
                days = (value - dt.date(1970, 1, 1)).days
                return days if kind == "date" else days * DAY
            days = (resolve(str(value), self.info.today) - dt.date(1970, 1, 1)).days
            return days if kind == "date" else days * DAY
        except (ValueError, TypeError) as e:
            if kind == "timestamp" and isinstance(value, str):
                try:
                    return _seconds(dt.datetime.fromisoformat(value))
                except ValueError:
                    pass
            hint = {
                "int": "give a whole number",
                "numeric": "give a number",
                "date": "give an ISO date (2024-01-31), 'today' or -5y, -6m, +30d",
            }.get(kind, "give an ISO timestamp (2024-01-31T08:00:00), a date, 'today' or -30d")
            raise BadParam(
                param, f"cannot read {param} {value!r} for a {self.p.of} range: {e}", hint
            ) from None

    def _units(self) -> tuple[int, int, int]:
        kind = self._kind()
        default = _DEFAULTS.get(kind, (0, 1000))
        lo = self._bound(default[0] if self.p.min is None else self.p.min, "min")
        hi = self._bound(default[1] if self.p.max is None else self.p.max, "max")
        limit = _LIMITS.get(self.p.of)
        if limit is not None and (lo < -limit - 1 or hi > limit):
            raise BadParam("max", f"{self.p.of} bounds are {-limit - 1}..{limit}", None)
        if lo >= hi:
            raise BadParam(
                "min",
                f"min {lo} is not below max {hi}: no room for a range",
                "give a min below max",
            )
        if hi - lo >= 2**62:
            raise BadParam("max", "min..max is too wide", "narrow it, or lower scale")
        span = self.p.max_span
        if span is None:
            return lo, hi, max(1, (hi - lo) // 10)
        if isinstance(span, str):
            if kind not in ("date", "timestamp"):
                raise BadParam(
                    "max_span",
                    f"max_span of a {RANGE_TYPES[self.p.of]} is a number",
                    "give the longest range as a number",
                )
            try:
                seconds = parse_interval(span)[0]
            except ValueError as e:
                raise BadParam("max_span", str(e), INTERVAL_HINT) from None
            units = seconds // DAY if kind == "date" else seconds
        else:
            units = span * (10**self.p.scale if kind == "numeric" else 1)
            units = units * DAY if kind == "timestamp" else units
        if units < 1:
            raise BadParam(
                "max_span",
                f"max_span {span!r} is shorter than one {_UNIT[kind]}",
                "give a longer max_span",
            )
        return lo, hi, int(min(units, hi - lo))

    def problems(self):
        if self.error is not None:
            return [self.error]
        out = []
        if self.info.unique and not self.p.disjoint:
            out.append(("unique", "ranges are unique only when disjoint", "add disjoint: true"))
        if self.p.disjoint and self.info.rows and (self.hi - self.lo) < self.info.rows:
            out.append(
                (
                    "max",
                    f"{self.info.rows:,} disjoint non-empty ranges need {self.info.rows:,} "
                    f"{_UNIT[self._kind()]}s, but min..max holds {self.hi - self.lo:,}",
                    "widen min..max, or lower rows",
                )
            )
        return out

    def capacity(self) -> int | None:
        return self.hi - self.lo if self.p.disjoint else None

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.p.disjoint:
            return self.at(ctx.idx, ctx)
        u = ctx.rng.draw(lambda g, n: g.random((n, 2)))
        span = 1 + np.minimum((u[:, 0] * self.span).astype(np.int64), self.span - 1)
        room = self.hi - self.lo - span  # lower bounds lo..hi-span
        lo = self.lo + np.minimum((u[:, 1] * (room + 1)).astype(np.int64), room)
        return self._text(lo, lo + span)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        """Row i lies in slot i of [min, max) cut into one slot per row."""
        rows = self.info.rows or (ctx.plan.rows.get(self.info.table) if ctx.plan else None)
        if not rows and self.p.max_span is None:
            raise ValueError(
                f"{self.info.table}.{self.info.name}: disjoint ranges need the row count, "
                "or max_span to make slots of"
            )
        width = (self.hi - self.lo) // rows if rows else self.span  # no rows: slots of max_span
        if width < 1:
            raise ValueError(
                f"{self.info.table}.{self.info.name}: {rows} disjoint ranges do not fit in min..max"
            )
        keys = key64(self.info.seed, self.info.table, self.info.name, "slot", count=2)
        u = [(mix64(idx.astype(np.uint64) ^ k) >> np.uint64(11)) * 2.0**-53 for k in keys]
        longest = min(self.span, width)
        span = 1 + np.minimum((u[0] * longest).astype(np.int64), longest - 1)
        start = self.lo + idx * width
        lo = start + np.minimum((u[1] * (width - span + 1)).astype(np.int64), width - span)
        return self._text(lo, lo + span)

    def _text(self, lo: np.ndarray, hi: np.ndarray) -> pa.Array:
        return join("[", self._value(lo), ",", self._value(hi), ")")

    def _value(self, units: np.ndarray) -> pa.Array:
        kind = self._kind()
        if kind == "int":
            return pa.array(units).cast(pa.string())
        if kind == "numeric":
            if not self.p.scale:
                return pa.array(units).cast(pa.string())
            whole, frac = np.divmod(np.abs(units), 10**self.p.scale)
            sign = pc.if_else(pa.array(units < 0), "-", "")
            digits = pc.utf8_lpad(pa.array(frac).cast(pa.string()), self.p.scale, "0")
            return join(sign, pa.array(whole).cast(pa.string()), ".", digits)
        if kind == "date":
            return pa.array(units.astype(np.int32), type=pa.date32()).cast(pa.string())
        text = pa.array(units, type=pa.timestamp("s")).cast(pa.string())
        return join('"', text, '+00"' if self.p.of == "timestamptz" else '"')


_UNIT = {"int": "integer", "numeric": "step of 10**-scale", "date": "day", "timestamp": "second"}


def _seconds(value: dt.datetime) -> int:
    """A datetime as seconds since 1970 (UTC; naive ones are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return int((value - dt.datetime(1970, 1, 1)).total_seconds())
