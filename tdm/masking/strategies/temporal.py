"""Dates and times: a keyed shift per entity, and generalisation (dates to month/year/decade,
numbers to ranges)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    decimal_units,
    integer_like,
    keyed_numbers,
    register,
    units_decimal,
)

_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


class DateShiftParams(Model):
    days: int = Field(ge=1, description="the largest shift, in days, either way")
    entity: str | None = Field(
        None,
        description="column of the same row whose value picks the shift (e.g. customer_id)"
        "; default the column itself",
    )


@register
class DateShift(Strategy):
    """Every date moved by a keyed number of days in [-days, -1] or [1, days], picked by the raw
    value of the `entity` column: all dates of one customer move together, so intervals between
    them (age at order, days to ship) stay true, in every table that names the same entity."""

    name = "date_shift"
    Params = DateShiftParams
    types = ("date", "timestamp", "string")
    summary: ClassVar[str] = "shift by ±1..days, the same shift for all dates of one entity"
    presentation = ("entity",)  # the shift is a function of the entity's value, not its name

    def needs(self) -> tuple[str, ...]:
        e = self.p.entity
        return (e,) if e and e != self.column.name else ()

    def shifts(self, entity: pa.Array) -> np.ndarray:
        """Days to add per row: never 0, so no date is left where it was."""
        days = self.p.days
        r = (keyed_numbers(entity, self.key, self.domain()) % np.uint64(2 * days)).astype(np.int64)
        return np.where(r < days, r - days, r - days + 1)

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            return self.texts(values, batch)
        entity = values if not self.needs() else batch.columns[self.p.entity]
        if isinstance(entity, pa.ChunkedArray):
            entity = entity.combine_chunks()
        shift = self.shifts(entity)
        t = values.type
        if pa.types.is_timestamp(t):
            step, storage = _PER_DAY[t.unit], pa.int64()
        elif pa.types.is_date64(t):
            step, storage = _PER_DAY["ms"], pa.int64()
        else:
            step, storage = 1, pa.int32()
        raw = integer_like(values)
        out = pa.array(raw + shift * step, mask=pc.is_null(values).to_numpy(False))
        return out.cast(storage).cast(t)

    def texts(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        """Dates as text ('1990-05-01', '1990-05-01T10:00:00Z'): the leading ISO date is shifted
        and the rest of the text kept. Text that does not start with an ISO date becomes null:
        it cannot be shifted, and cannot be trusted to hold no date."""
        values = as_string(values)
        head = pc.utf8_slice_codeunits(values, 0, 10)
        parsed = pc.strptime(head, format="%Y-%m-%d", unit="s", error_is_null=True)
        dates = parsed.cast(pa.date32())
        shifted = self.mask(dates, batch if self.needs() else MaskBatch({}, batch.start))
        return pc.binary_join_element_wise(
            shifted.cast(pa.string()), pc.utf8_slice_codeunits(values, 10), ""
        )


class GeneralizeParams(Model):
    to: Literal["day", "week", "month", "quarter", "year", "decade"] | None = Field(
        None, description="dates and timestamps: the first instant of their month, year, ..."
    )
    step: float | None = Field(
        None, gt=0, description="numbers: floored to a multiple of step (e.g. 10: 37 -> 30)"
    )


_TEMPORAL_UNIT = {
    "day": (1, "day"),
    "week": (1, "week"),
    "month": (1, "month"),
    "quarter": (1, "quarter"),
    "year": (1, "year"),
    "decade": (10, "year"),
}


@register
class Generalize(Strategy):
    """Coarser values of the same type: dates to the start of their month/year/decade, numbers
    floored to a multiple of `step` (ages to decades, salaries to bands)."""

    name = "generalize"
    Params = GeneralizeParams
    types = ("date", "timestamp", "int", "float", "decimal")
    summary: ClassVar[str] = "dates to month/year/decade (to:), numbers to multiples (step:)"

    def problems(self):
        kind, p = self.column.type.kind, self.p
        if kind in ("date", "timestamp"):
            if p.to is None:
                return [("to", f"a {kind} column needs `to`", "to: month, year or decade")]
            if p.step is not None:
                return [("step", f"step is for numbers, not {kind} columns", "remove step")]
            return []
        if p.step is None:
            return [("step", f"a {kind} column needs `step`", "e.g. step: 10")]
        if p.to is not None:
            return [("to", f"to is for dates, not {kind} columns", "remove to")]
        if kind == "int" and p.step != int(p.step):
            return [("step", f"step {p.step} is not a whole number", "e.g. step: 10")]
        scale = self.column.type.scale or 0
        if kind == "decimal" and Decimal(str(p.step)) % Decimal(1).scaleb(-scale) != 0:
            return [
                (
                    "step",
                    f"step {p.step} has more than {scale} decimals",
                    "a multiple of the column's smallest unit",
                )
            ]
        return []

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        t = values.type
        if pa.types.is_temporal(t):
            multiple, unit = _TEMPORAL_UNIT[self.p.to or "year"]
            return pc.floor_temporal(values, multiple=multiple, unit=unit)
        step = self.p.step
        if pa.types.is_integer(t):
            return _floor_int(values, max(1, int(step)))
        if pa.types.is_floating(t):
            v = values.to_numpy(zero_copy_only=False)
            return pa.array(np.floor(v / step) * step, mask=pc.is_null(values).to_numpy(False))
        units = decimal_units(values)
        if units is not None:
            unit_step = int(Decimal(str(step)).scaleb(t.scale))
            return units_decimal(np.floor_divide(units, unit_step) * unit_step, values)
        d = Decimal(str(step))
        with localcontext(prec=80):  # decimal128 holds up to 38 digits
            return pa.array(
                [
                    None if v is None else (v / d).to_integral_value(ROUND_FLOOR) * d
                    for v in values.to_pylist()
                ],
                t,
            )


def _floor_int(values: pa.Array, step: int) -> pa.Array:
    v = pc.fill_null(values, 0).cast(pa.int64()).to_numpy()
    return pa.array(np.floor_divide(v, step) * step, mask=pc.is_null(values).to_numpy(False))
