"""PostgreSQL array literals: '{"a","b"}', '{1,2,3}'.

An array's elements come from a nested generator run over a virtual row space (element k of row
i is virtual row i * slots + k), so they stay a function of the row index.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tdm.core.arrowstr import join, with_nulls
from tdm.core.rand import RowRandom
from tdm.core.types import parse_type
from tdm.generators.base import REGISTRY, ColumnInfo, GenContext, Generator, register
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
