"""Numbers: sequences, integers and floats from distributions, decimals, booleans."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.core import histogram
from tdm.core.arrowstr import join
from tdm.core.distributions import DistributionSpec
from tdm.generators.base import GenContext, Generator, register

INT64_MAX = 2**63 - 1


class SequenceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: int = 1
    step: int = Field(1, description="must not be 0")
    # Number rows within each parent group of a per-parent table (1, 2, 3 per order).
    per_parent: bool = False
    prefix: str = ""  # string columns: prefix + zero-padded number, e.g. ORD-000123
    width: int = Field(0, ge=0, le=30)


@register
class Sequence(Generator):
    """start, start+step, ... by row index: the usual surrogate primary key."""

    name = "sequence"
    types = ("int", "string")
    Params = SequenceParams
    can_be_unique = True
    index_based = True

    def problems(self):
        out = []
        if self.p.step == 0:
            out.append(("step", "step 0 makes every value equal", "use step: 1"))
        if self.info.type.kind == "int" and (self.p.prefix or self.p.width):
            out.append(("prefix", "prefix/width apply to string sequences", "set type: string"))
        return out

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        pos = ctx.plan.ordinal(self.info.table, idx) if self.p.per_parent else idx
        values = self.p.start + pos * self.p.step
        if self.info.type.kind == "int":
            return pa.array(values, type=pa.int64())
        text = pa.array(values).cast(pa.string())
        if self.p.width:
            text = pa.compute.utf8_lpad(text, self.p.width, "0")
        return join(self.p.prefix, text) if self.p.prefix else text


class IntegerParams(DistributionSpec):
    pass


@register
class Integer(Generator):
    """Whole numbers from a distribution; `unique: true` permutes a uniform [min, max] range."""

    name = "integer"
    reproducible = True  # depends on ctx.rng alone
    types = ("int",)
    Params = IntegerParams
    can_be_unique = True

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    def problems(self):
        lo, hi = self.p.bounds()
        out = []
        if self.info.unique and self.p.distribution != "uniform":
            out.append(
                (
                    "distribution",
                    "unique integers must be uniform over min..max",
                    "use distribution: uniform with min and max",
                )
            )
        if max(abs(lo), abs(hi)) > INT64_MAX and np.isfinite(lo) and np.isfinite(hi):
            out.append(("max", "range exceeds 64-bit integers", "narrow min/max"))
        if self.p.distribution == "uniform" and np.ceil(lo) > np.floor(hi):
            out.append(("min", f"no whole number between {lo:g} and {hi:g}", "widen the range"))
        whole = self.p.whole_problem()
        if whole:
            out.append(("edges", whole, None))
        return out

    def capacity(self) -> int | None:
        lo, hi = self.p.bounds()
        if np.isfinite(lo) and np.isfinite(hi):
            return int(np.floor(hi) - np.ceil(lo) + 1)
        return None

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return self.at(ctx.idx, ctx)
        return pa.array(self.p.sample(ctx.rng, integer=True), type=pa.int64())

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        lo = int(np.ceil(self.p.bounds()[0]))
        return pa.array(lo + self.unique_slots(idx, self.capacity()), type=pa.int64())


class FloatParams(DistributionSpec):
    round: int | None = Field(None, ge=0, le=15, description="decimal places")


@register
class Float(Generator):
    """Real numbers from a distribution (uniform, normal, lognormal, ...), optionally rounded."""

    name = "float"
    reproducible = True  # depends on ctx.rng alone
    types = ("float",)
    Params = FloatParams

    def generate(self, ctx: GenContext) -> pa.Array:
        values = self.p.sample(ctx.rng, integer=False)
        if self.p.round is not None:
            values = np.round(values, self.p.round)
        return pa.array(values, type=pa.float64())


class DecimalParams(DistributionSpec):
    pass


@register
class Decimal(Generator):
    """Exact decimals (prices, amounts) at the column's scale, from a distribution."""

    name = "decimal"
    reproducible = True  # depends on ctx.rng alone
    types = ("decimal",)
    Params = DecimalParams

    def problems(self):
        t = self.info.type
        limit = 10.0 ** (t.precision - t.scale)
        lo, hi = self.p.bounds()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return [
                (
                    "max",
                    f"{self.p.distribution} is unbounded; decimal({t.precision},{t.scale}) "
                    f"holds values below {limit:g}",
                    "set min and max",
                )
            ]
        whole = self._scaled_edges()
        if whole and self.p.weights and histogram.whole_problem(whole, self.p.weights):
            return [
                (
                    "edges",
                    f"a histogram bin holds no value of scale {t.scale}",
                    "give it weight 0 or move its edges",
                )
            ]
        if max(abs(lo), abs(hi)) >= limit:
            return [
                (
                    "max",
                    f"values up to {max(abs(lo), abs(hi)):g} do not fit "
                    f"decimal({t.precision},{t.scale}) (below {limit:g})",
                    "raise the precision or narrow min/max",
                )
            ]
        return []

    def _scaled_edges(self) -> list[float] | None:
        """A histogram's edges in units of the scale (bins then hold whole units: the values of
        [edge, next edge) at the column's scale); None for other distributions."""
        if self.p.distribution != "histogram" or self.p.edges is None:
            return None
        return [round(e * 10.0**self.info.type.scale, 6) for e in self.p.edges]

    def generate(self, ctx: GenContext) -> pa.Array:
        scale = self.info.type.scale
        whole = self._scaled_edges()
        if whole is not None:
            unscaled = histogram.draw(ctx.rng, whole, self.p.weights, whole=True)
            lo, hi = self.p.min, self.p.max
            if lo is not None or hi is not None:
                lo = None if lo is None else np.ceil(round(lo * 10.0**scale, 6))
                hi = None if hi is None else np.floor(round(hi * 10.0**scale, 6))
                unscaled = np.clip(unscaled, lo, hi).astype(np.int64)
        else:
            unscaled = np.rint(self.p.sample(ctx.rng, integer=False) * 10.0**scale).astype(np.int64)
        words = np.empty((len(unscaled), 2), dtype=np.int64)
        words[:, 0] = unscaled
        words[:, 1] = unscaled >> 63  # sign extension to 128 bits
        return pa.Array.from_buffers(
            self.info.type.arrow, len(unscaled), [None, pa.py_buffer(words)]
        )


class BooleanParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    p: float = Field(0.5, ge=0.0, le=1.0, description="probability of true")


@register
class Boolean(Generator):
    """True with probability p."""

    name = "boolean"
    reproducible = True  # depends on ctx.rng alone
    types = ("bool",)
    Params = BooleanParams
    summary: ClassVar[str] = "true with probability p"

    def generate(self, ctx: GenContext) -> pa.Array:
        return pa.array(ctx.rng.random() < self.p.p, type=pa.bool_())
