"""PostgreSQL array and range literals: '{"a","b"}', '{1,2,3}', '[10,20)', '[2024-01-01,...)'.

An array's elements come from a nested generator run over a virtual row space (element k of row
i is virtual row i * slots + k), so they stay a function of the row index. Disjoint ranges put
row i inside slot i of [min, max): an exclusion constraint on && holds by construction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tdm.core.arrowstr import join, with_nulls
from tdm.core.permute import mix64
from tdm.core.rand import RowRandom, key64
from tdm.core.types import parse_type
from tdm.generators.base import REGISTRY, ColumnInfo, GenContext, Generator, register
from tdm.generators.native import DAY, INTERVAL_HINT, parse_interval
from tdm.generators.temporal import resolve
from tdm.spec.problems import pydantic_problems

ELEMENT_KINDS = ("string", "int", "float", "decimal", "bool", "date", "timestamp", "uuid")
SMALL_POOL = 64  # distinct arrays from a pool this small are exact weighted samples
CANDIDATES = 2  # distinct arrays without a unique mode: candidates drawn per element slot


def pg_elements(values: pa.Array, kind: str) -> pa.Array:
    """Values as PostgreSQL array elements: text double-quoted with \\ and " escaped, numbers
    and booleans bare, nulls as NULL."""
    if kind in ("int", "float", "decimal"):
        text = values.cast(pa.string())
    elif kind == "bool":
        text = pc.if_else(values, "t", "f")
    else:
        text = values.cast(pa.string())
        text = pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), '"', '\\"')
        text = join('"', text, '"')
    return pc.fill_null(text, "NULL")


class ArrayParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    of: dict[str, Any] = Field(description="the element generator: {generator: <name>, ...}")
    element_type: str = Field("string", description="logical type of the elements")
    min_length: int = Field(0, ge=0, le=1000)
    max_length: int = Field(3, ge=0, le=1000)
    distinct: bool = Field(False, description="no element repeats within an array")


@register
class Array(Generator):
    """PostgreSQL array literals of min_length..max_length elements from a nested generator."""

    name = "array"
    types = ("string",)
    Params = ArrayParams
    summary = "array literal '{\"a\",\"b\"}' / '{1,2}' of elements from a nested generator"

    def __init__(self, params, info):
        super().__init__(params, info)
        self._problems: list[tuple[str, str, str | None]] = []
        self.sub: Generator | None = None
        self.unique_sub: Generator | None = None  # distinct arrays: the unique mode, if any
        self.null_ratio = 0.0
        try:
            self.kind = parse_type(params.element_type)
        except ValueError as e:
            self._problems.append(("element_type", str(e), None))
            return
        if self.kind.kind not in ELEMENT_KINDS:
            self._problems.append(
                ("element_type", f"arrays of {self.kind} are not supported", _kinds_hint())
            )
            return
        self._build(dict(params.of))

    def _build(self, spec: dict[str, Any]) -> None:
        name = spec.pop("generator", None)
        try:
            self.null_ratio = float(spec.pop("null_ratio", 0))
        except (TypeError, ValueError):
            self._problems.append(("of.null_ratio", "null_ratio must be a number 0..1", None))
        cls = REGISTRY.get(name) if isinstance(name, str) else None
        if cls is None or cls.internal or self.kind.kind not in cls.types:
            fits = sorted(n for n, g in REGISTRY.items() if self.kind.kind in g.types)
            self._problems.append(
                (
                    "of.generator",
                    f"needs a generator of {self.kind} elements, got {name!r}",
                    "one of: " + ", ".join(n for n in fits if not REGISTRY[n].internal),
                )
            )
            return
        try:
            params = cls.Params.model_validate(spec)
        except ValidationError as err:
            for p in pydantic_problems(err, cls.Params, {}, ("of",)):
                self._problems.append((p.path, p.message, p.hint))
            return
        info = self.info
        sub_info = ColumnInfo(
            info.table,
            f"{info.name}.element",
            self.kind,
            info.seed,
            False,
            info.today,
            info.locales,
        )
        self.sub = cls(params, sub_info)
        if self.sub.depends_on() or getattr(params, "per_parent", False):
            self._problems.append(("of", "array elements cannot read other columns or rows", None))
        self._problems += [(f"of.{p}", m, h) for p, m, h in self.sub.problems()]
        if self.p.distinct and cls.can_be_unique:
            unique = cls(params, dataclasses.replace(sub_info, unique=True))
            if unique.index_based and not unique.problems():
                self.unique_sub = unique
        cap = (self.unique_sub or self.sub).capacity()
        if self.p.distinct and cap is not None and cap < self.p.max_length:
            self._problems.append(
                (
                    "max_length",
                    f"distinct arrays of {self.p.max_length} elements, but the element "
                    f"generator makes only {cap} distinct values",
                    "lower max_length, or widen the element generator",
                )
            )

    def problems(self):
        out = list(self._problems)
        if self.p.min_length > self.p.max_length:
            out.append(("min_length", "min_length is above max_length", "swap them"))
        return out

    def generate(self, ctx: GenContext) -> pa.Array:
        lengths = ctx.rng.integers(self.p.min_length, self.p.max_length)
        slots = self.p.max_length * (CANDIDATES if self._dedupes() else 1)
        if slots == 0 or self.sub is None:
            return pa.array(np.full(ctx.n, "{}", dtype=object), type=pa.string())
        start, stop = ctx.start * slots, ctx.stop * slots  # the virtual rows of these rows
        rr = RowRandom(self.sub.info.stream(), start, stop)
        locale = None if ctx.locale is None else np.repeat(ctx.locale, slots)
        vctx = GenContext(self.sub.info, start, stop, rr, {}, locale, None)
        if self.unique_sub is not None:
            values = self.unique_sub.at(self._distinct_slots(ctx, lengths, slots).ravel(), vctx)
        else:
            values = self.sub.generate(vctx)
        if self.null_ratio:
            values = with_nulls(
                values, RowRandom(self.sub.info.stream("nulls"), start, stop).mask(self.null_ratio)
            )
        keep = np.arange(slots)[None, :] < lengths[:, None]
        if self._dedupes():
            keep = self._first_distinct(values, lengths, slots)
            lengths = keep.sum(axis=1)
        offsets = np.zeros(ctx.n + 1, dtype=np.int32)
        np.cumsum(lengths, out=offsets[1:])
        elements = pg_elements(values.filter(pa.array(keep.ravel())), self.kind.kind)
        joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), elements), ",")
        return join("{", joined, "}")

    def _distinct_slots(self, ctx: GenContext, lengths: np.ndarray, m: int) -> np.ndarray:
        """(rows, m) indices for the unique mode, the first lengths[i] of row i distinct: its
        virtual rows when the capacity is vast; a weighted sample without replacement from a
        small pool (the smallest exponential keys over weights, choice weights kept); else a
        random subset of [0, capacity) (sorted draws from [0, capacity - length] plus 0, 1, 2,
        ... increase strictly; nearly uniform for pools well above max_length), shuffled."""
        sub, cap = self.unique_sub, self.unique_sub.capacity()
        if cap is None or cap >= 2**62:
            return ctx.idx[:, None] * m + np.arange(m)
        rr = RowRandom(self.sub.info.stream("distinct"), ctx.start, ctx.stop)
        if cap <= SMALL_POOL:
            keys = -np.log1p(-rr.draw(lambda g, n: g.random((n, cap))))
            weights = getattr(sub.p, "weights", None)
            if weights is not None:  # choice: slot s holds value unique_slots(s)
                w = np.asarray(weights, dtype=np.float64)[sub.unique_slots(np.arange(cap), cap)]
                keys = keys / np.where(w > 0, w, 1e-300)
            return np.argsort(keys, axis=1)[:, :m]
        u = rr.draw(lambda g, n: g.random((n, 2, m)))
        used = np.arange(m)[None, :] < lengths[:, None]
        room = (cap - lengths)[:, None]
        x = np.sort(np.where(used, np.floor(u[:, 0] * (room + 1)), np.inf), axis=1)
        x = np.minimum(np.where(used, x, 0).astype(np.int64), room) + np.arange(m)
        order = np.argsort(np.where(used, u[:, 1], 2.0), axis=1)
        return np.where(used, np.take_along_axis(x, order, axis=1), 0)

    def _dedupes(self) -> bool:
        return self.p.distinct and self.unique_sub is None

    @staticmethod
    def _first_distinct(values: pa.Array, lengths: np.ndarray, slots: int) -> np.ndarray:
        """(rows, slots) mask of the first `lengths` distinct values of each row's candidates."""
        codes = pc.dictionary_encode(values)
        code = pc.fill_null(codes.indices, len(codes.dictionary)).to_numpy().astype(np.int64)
        row = np.repeat(np.arange(len(lengths), dtype=np.int64), slots)
        _, first = np.unique(row * (len(codes.dictionary) + 1) + code, return_index=True)
        new = np.zeros(len(code), dtype=bool)
        new[first] = True
        new = new.reshape(-1, slots)
        return new & (np.cumsum(new, axis=1) <= lengths[:, None])


def _kinds_hint() -> str:
    return "element_type is one of: " + ", ".join(ELEMENT_KINDS).replace("decimal", "decimal(p,s)")


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
