"""Picking from a list of values, optionally weighted."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.generators.base import GenContext, Generator, register


class ChoiceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    values: list[Any] = Field(min_length=1)
    weights: list[float] | None = None


@register
class Choice(Generator):
    """One of `values` per row, by `weights` if given (e.g. order status)."""

    name = "choice"
    reproducible = True  # depends on ctx.rng alone
    types = ("string", "int", "float", "bool", "decimal", "date")
    Params = ChoiceParams
    can_be_unique = True

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    def problems(self):
        out = []
        w = self.p.weights
        if w is not None:
            if len(w) != len(self.p.values):
                out.append(
                    (
                        "weights",
                        f"{len(w)} weights for {len(self.p.values)} values",
                        "give one weight per value",
                    )
                )
            elif not all(0 <= x < math.inf for x in w) or sum(w) <= 0:
                out.append(("weights", "weights must be finite, >= 0, with a positive sum", None))
        if len(set(map(repr, self.p.values))) != len(self.p.values) and self.info.unique:
            out.append(("values", "values repeat, so they cannot be unique", "remove duplicates"))
        try:
            self._pool()
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            out.append(
                (
                    "values",
                    f"values do not fit type {self.info.type}: {e}",
                    f"give {self.info.type} values",
                )
            )
        return out

    def capacity(self) -> int:
        return len(self.p.values)

    def _pool(self) -> pa.Array:
        return pa.array(self.p.values).cast(self.info.type.arrow)

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return self.at(ctx.idx, ctx)
        pool = self._pool()
        if self.p.weights is None:
            which = ctx.rng.index(len(pool))
        else:
            w = np.asarray(self.p.weights, dtype=np.float64)
            which = ctx.rng.weighted_index(np.cumsum(w) / w.sum())
        return pool.take(pa.array(which))

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        return self._pool().take(pa.array(self.unique_slots(idx, len(self.p.values))))
