"""The `expression` generator: a column computed from other columns of the same row by a
PostgreSQL expression (`sql: quantity * unit_price`, `sql: ordered_at + ship_days * interval
'1 day'`), evaluated by DuckDB like a `check:` (tdm.checks). It lives in the plan layer because
generators may not read tdm.checks; importing tdm.plan registers it.

Values follow their inputs: a row drawn again by a check gets its computed columns again, and
every version is validated against the expression (a row rule, tdm.validation.suite)."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.checks import CheckSyntaxError, columns_of, computed
from tdm.core.errors import TdmError
from tdm.generators import GenContext, Generator, register


class ExpressionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sql: str = Field(
        min_length=1,
        max_length=4000,
        description="a PostgreSQL expression over the row's other columns, e.g. "
        "quantity * unit_price",
    )


@register
class Expression(Generator):
    """A value computed from other columns of the row: totals that add up, dates in order."""

    name = "expression"
    types = ("int", "float", "decimal", "string", "date", "timestamp", "bool")
    Params = ExpressionParams
    summary: ClassVar[str] = "computed from the row's other columns: sql: quantity * unit_price"

    def depends_on(self) -> tuple[str, ...]:
        try:
            return tuple(columns_of(self.p.sql))
        except CheckSyntaxError:
            return ()  # reported by problems()

    def problems(self):
        try:
            reads = columns_of(self.p.sql)
        except CheckSyntaxError as error:
            return [("sql", str(error), "write a PostgreSQL expression, e.g. quantity * price")]
        if self.info.name in reads:
            return [("sql", f"{self.info.name} cannot be computed from itself", None)]
        if not reads:
            return [("sql", "reads no column of the row", "use choice with one value")]
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        data = pa.table({c: ctx.row[c] for c in self.depends_on()})
        values = computed(data, self.p.sql, f"{self.info.table}.{self.info.name}")
        try:
            return values.cast(self.info.type.arrow)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise TdmError(
                f"column {self.info.table}.{self.info.name}: {self.p.sql} gives "
                f"{values.type}, which does not fit {self.info.type}: {error}"
            ) from None
