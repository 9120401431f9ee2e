"""Dates and timestamps in absolute or relative ranges ('2020-01-01', '-5y', 'today')."""

from __future__ import annotations

import calendar
import datetime as dt
import re

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from tdm.core import histogram
from tdm.generators.base import GenContext, Generator, register

_REL = re.compile(r"^([+-]\d+)\s*([dwmy])$")
_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}
_EPOCH = dt.date(1970, 1, 1)


def resolve(when: str, today: dt.date) -> dt.date:
    """'today', '-5y', '+30d', '-6m', '-2w' (relative to `today`) or an ISO date; ValueError
    when it is none of them or falls outside the years 1-9999."""
    text = str(when).strip().lower()
    if text in ("today", "now"):
        return today
    m = _REL.match(text)
    try:
        if not m:
            return dt.date.fromisoformat(text)
        amount, unit = int(m.group(1)), m.group(2)
        if unit in "dw":
            return today + dt.timedelta(days=amount * (7 if unit == "w" else 1))
        months = today.year * 12 + today.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = divmod(months, 12)
        day = min(today.day, calendar.monthrange(year, month + 1)[1])
        return dt.date(year, month + 1, day)
    except (OverflowError, ValueError, calendar.IllegalMonthError) as e:
        if not m:
            raise ValueError(str(e)) from None
        raise ValueError(
            f"{when} from {today} is not a date between 0001-01-01 and 9999-12-31"
        ) from None


def edge_seconds(when: str, today: dt.date) -> int:
    """A histogram edge as seconds since 1970-01-01 UTC: what `start`/`end` accept (a day's
    midnight) or an ISO timestamp (UTC unless it names an offset); ValueError otherwise."""
    try:
        return (resolve(when, today) - _EPOCH).days * 86_400
    except ValueError:
        stamp = dt.datetime.fromisoformat(str(when).strip())
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    delta = stamp - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return delta.days * 86_400 + delta.seconds


class RangeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str = "-1y"
    end: str = "today"
    # uniform, 'recent' (more values near the end) or 'histogram' (edges and weights)
    distribution: str = "uniform"
    edges: tuple[str, ...] | None = None  # histogram: bin i is [edges[i], edges[i + 1])
    weights: tuple[float, ...] | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text(cls, v):
        if isinstance(v, dt.date):
            return v.isoformat()
        try:
            resolve(str(v), dt.date(2000, 1, 1))
        except ValueError:
            raise ValueError(
                f"cannot read date {v!r}; use an ISO date (2024-01-31), 'today', "
                "or a relative one like -5y, -6m, -2w, +30d"
            ) from None
        return str(v)

    @field_validator("distribution")
    @classmethod
    def _dist(cls, v):
        if v not in ("uniform", "recent", "histogram"):
            raise ValueError("distribution must be uniform, recent or histogram")
        return v

    @field_validator("edges", mode="before")
    @classmethod
    def _edges(cls, v):
        if not isinstance(v, list | tuple):
            return v
        out = []
        for e in v:
            text = e.isoformat() if isinstance(e, dt.date | dt.datetime) else str(e)
            try:
                edge_seconds(text, dt.date(2000, 1, 1))
            except ValueError:
                raise ValueError(
                    f"cannot read histogram edge {e!r}; use an ISO date (2024-01-31), a "
                    "timestamp (2024-01-31T08:30:00), 'today' or a relative date like -6m"
                ) from None
            out.append(text)
        return out

    @model_validator(mode="after")
    def _histogram(self):
        if self.distribution != "histogram":
            if self.edges is not None or self.weights is not None:
                raise ValueError("edges and weights belong to distribution: histogram")
            return self
        if self.edges is None or self.weights is None:
            raise ValueError(
                "histogram distribution needs edges and weights (e.g. edges: [2024-01-01, "
                "2025-01-01, 2026-01-01], weights: [1, 3])"
            )
        return self


class _Range(Generator):
    Params = RangeParams
    can_be_unique = True
    unit = 86_400  # seconds per whole value drawn from a histogram: days

    def seconds(self) -> list[int]:
        """The histogram's edges in seconds since 1970-01-01 UTC."""
        return [edge_seconds(e, self.info.today) for e in self.p.edges or ()]

    def bounds(self) -> tuple[dt.date, dt.date]:
        if self.p.distribution == "histogram":
            s = self.seconds()  # the last edge is never drawn: the day of the second before
            first = _EPOCH + dt.timedelta(days=-(-s[0] // 86_400))
            return first, _EPOCH + dt.timedelta(days=(s[-1] - 1) // 86_400)
        return resolve(self.p.start, self.info.today), resolve(self.p.end, self.info.today)

    def problems(self):
        if self.p.distribution == "histogram":
            return self._histogram_problems()
        try:
            lo, hi = self.bounds()
        except ValueError as e:
            return [("start", str(e), "use a nearer date, or another reference_date")]
        if lo > hi:
            return [
                ("start", f"impossible range: start {lo} is after end {hi}", "swap start and end")
            ]
        return []

    def _histogram_problems(self) -> list[tuple[str, str, str | None]]:
        try:
            s = self.seconds()
        except ValueError as e:
            return [("edges", str(e), "use nearer dates, or another reference_date")]
        if self.info.unique or getattr(self.p, "per_parent", False):
            return [("distribution", "a histogram cannot be unique or per parent", None)]
        assert self.p.edges is not None and self.p.weights is not None
        for i in range(1, len(s)):
            if s[i] <= s[i - 1]:
                message = f"histogram edges must increase: {self.p.edges[i]} is not after "
                return [("edges", message + self.p.edges[i - 1], None)]
        units = [x / self.unit for x in s]
        problem = histogram.histogram_problem(units, self.p.weights)
        problem = problem or histogram.whole_problem(units, self.p.weights)
        return [("edges", problem, None)] if problem else []

    def _histogram(self, ctx: GenContext) -> np.ndarray:
        """Whole units (days or seconds) drawn from the histogram."""
        assert self.p.weights is not None
        units = [x / self.unit for x in self.seconds()]
        return histogram.draw(ctx.rng, units, self.p.weights, whole=True)

    def _units(self) -> tuple[int, int]:
        lo, hi = self.bounds()
        return (lo - _EPOCH).days, (hi - _EPOCH).days

    def _draw(self, ctx: GenContext, lo: int, hi: int) -> np.ndarray:
        u = ctx.rng.random()
        if self.p.distribution == "recent":
            u = 1 - u**3  # denser near the end
        return lo + np.floor(u * (hi - lo + 1)).astype(np.int64).clip(0, hi - lo)


class DateParams(RangeParams):
    # Day by day within each parent group of a per-parent table: start, start + 1 day, ...
    # (a key such as (employee_id, shift_date) is then unique by construction).
    per_parent: bool = False


@register
class Date(_Range):
    """Calendar dates between start and end (inclusive)."""

    name = "date"
    reproducible = True  # depends on ctx.rng alone
    types = ("date",)
    Params = DateParams

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique or params.per_parent

    def capacity(self) -> int:
        lo, hi = self._units()
        return hi - lo + 1

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.index_based:
            return self.at(ctx.idx, ctx)
        if self.p.distribution == "histogram":
            return pa.array(self._histogram(ctx).astype(np.int32), type=pa.date32())
        lo, hi = self._units()
        return pa.array(self._draw(ctx, lo, hi).astype(np.int32), type=pa.date32())

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        lo, _ = self._units()
        if self.p.per_parent:
            days = lo + ctx.plan.ordinal(self.info.table, idx)
            return pa.array(days.astype(np.int32), type=pa.date32())
        days = lo + self.unique_slots(idx, self.capacity())
        return pa.array(days.astype(np.int32), type=pa.date32())


@register
class Timestamp(_Range):
    """UTC instants between start and end, to the second."""

    name = "timestamp"
    reproducible = True  # depends on ctx.rng alone
    types = ("timestamp",)
    unit = 1

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    def capacity(self) -> int:
        lo, hi = self._units()
        return (hi - lo + 1) * 86_400

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return self.at(ctx.idx, ctx)
        if self.p.distribution == "histogram":
            return pa.array(self._histogram(ctx) * 1_000_000, type=pa.timestamp("us", tz="UTC"))
        lo, hi = self._units()
        seconds = self._draw(ctx, lo * 86_400, hi * 86_400 + 86_399)
        return pa.array(seconds * 1_000_000, type=pa.timestamp("us", tz="UTC"))

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        lo, _ = self._units()
        seconds = lo * 86_400 + self.unique_slots(idx, self.capacity())
        return pa.array(seconds * 1_000_000, type=pa.timestamp("us", tz="UTC"))
