"""Perturbation: bounded keyed noise on numbers, and shuffling a column's values among rows."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    decimal_units,
    keyed_numbers,
    register,
    unit_interval,
    units_decimal,
)
from tdm.masking.strategies.fpe import Pseudonymizer


class NoiseParams(Model):
    relative: float = Field(0.1, gt=0, lt=1, description="largest change, as a fraction of |v|")


@register
class Noise(Strategy):
    """Each number v moved to v * (1 + e), |e| < relative, with e a keyed function of v: the same
    value gets the same noisy value everywhere. |change| <= relative * |v| < |v|, so the sign is
    kept and 0 stays 0; integers and decimals are cut towards v to their unit (never past the
    bound)."""

    name = "noise"
    Params = NoiseParams
    types = ("int", "float", "decimal")
    summary: ClassVar[str] = "v * (1 ± up to relative), keyed per value, sign kept"

    def factors(self, values: pa.Array) -> np.ndarray:
        """e per row, in (-relative, relative)."""
        u = unit_interval(keyed_numbers(values, self.key, self.domain()))
        return (2.0 * u - 1.0) * self.p.relative

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        t = values.type
        e = self.factors(values)
        nulls = pc.is_null(values).to_numpy(False)
        if pa.types.is_floating(t):
            v = pc.fill_null(values, 0.0).to_numpy().astype(np.float64)
            return pa.array(v + v * e, mask=nulls)
        if pa.types.is_integer(t):
            v = pc.fill_null(values, 0).cast(pa.int64()).to_numpy()
            return pa.array(v + np.trunc(v * e).astype(np.int64), mask=nulls)
        units = decimal_units(values)
        if units is not None:
            return units_decimal(units + np.trunc(units * e).astype(np.int64), values)
        unit = Decimal(1).scaleb(-t.scale)
        with localcontext(prec=80):
            out = [
                None if v is None else v + (v * Decimal(float(f))).quantize(unit, "ROUND_DOWN")
                for v, f in zip(values.to_pylist(), e, strict=True)
            ]
        return pa.array(out, t)


@register
class Shuffle(Strategy):
    """The column's values permuted among the rows of each batch (nulls stay where they are),
    with a keyed permutation seeded by the table, the column and the batch's first row: each value
    survives, but no longer next to the rest of its row. It shuffles within a batch, so the
    result depends on the batch size; and it is no mapping, so it cannot mask keys."""

    name = "shuffle"
    summary: ClassVar[str] = "permute values among the rows of a batch (keyed, per batch)"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        rows = np.flatnonzero(pc.is_valid(values).to_numpy(False))
        fpe = Pseudonymizer(self.key, f"shuffle/{self.column.table}/{self.column.name}")
        blocks = np.zeros((len(rows), 2), dtype=np.uint64)
        blocks[:, 0] = batch.start + rows
        order = np.argsort(fpe.prf(blocks.view(np.uint8)), kind="stable")
        source = np.arange(len(values))
        source[rows] = rows[order]
        return values.take(pa.array(source))
