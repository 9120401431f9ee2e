"""The `expression` generator: a column computed from other columns of the same row by a
PostgreSQL expression (`sql: quantity * unit_price`, `sql: ordered_at + ship_days * interval
'1 day'`), evaluated by DuckDB like a `check:` (tdm.checks). It lives in the plan layer because
generators may not read tdm.checks; importing tdm.plan registers it.

In a table whose rows are counted per parent (`rows: {per: orders}`), it may also read the
parent row's columns as `orders.ordered_at`: the parent rows of the batch (a contiguous range,
children being in parent order) are generated again, a pure function of their index, so the
batch still reads nothing another process wrote.

Values follow their inputs: a row drawn again by a check gets its computed columns again, and
every version is validated against the expression (a row rule, tdm.validation.suite)."""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.checks import CheckSyntaxError, computed, qualified, unqualified
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
    """A value computed from other columns of the row, and of its parent row in the table its
    rows are counted per (`orders.ordered_at` in a table with rows: {per: orders}): totals that
    add up, dates in order."""

    name = "expression"
    types = ("int", "float", "decimal", "string", "date", "timestamp", "bool")
    Params = ExpressionParams
    summary: ClassVar[str] = "computed from the row's other columns: sql: quantity * unit_price"

    def depends_on(self) -> tuple[str, ...]:
        return tuple(self.reads()[0])

    def reads(self) -> tuple[list[str], list[tuple[str, str]]]:
        """(columns of the row it reads, (table, column) of other tables it reads); nothing
        when it does not parse (reported by problems())."""
        try:
            own, other = qualified(self.p.sql)
        except CheckSyntaxError:
            return [], []
        me = self.info.table.lower()
        own_too = [c for t, c in other if t == me and c not in own]
        return [*own, *own_too], [(t, c) for t, c in other if t != me]

    def problems(self):
        try:
            qualified(self.p.sql)
        except CheckSyntaxError as error:
            return [("sql", str(error), "write a PostgreSQL expression, e.g. quantity * price")]
        own, other = self.reads()
        if self.info.name in own:
            return [("sql", f"{self.info.name} cannot be computed from itself", None)]
        if not own and not other:
            return [("sql", "reads no column", "use choice with one value")]
        tables = {t for t, _ in other}
        if len(tables) > 1:
            return [
                ("sql", f"reads columns of {len(tables)} other tables: {', '.join(sorted(tables))}",
                 "read the row's own columns and those of the one table its rows are counted "
                 "per (rows: {per: ...})"),
            ]  # fmt: skip
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        own, other = self.reads()
        data = {c: ctx.row[c] for c in own}
        sql = self.p.sql
        if other:  # the parent row's values: its rows regenerated (a pure function of its index)
            parent = next(t for t in ctx.plan.spec.tables if t.lower() == other[0][0])
            of = ctx.plan.parent_of(self.info.table, ctx.idx)
            first = int(of.min()) if len(of) else 0
            rows = ctx.plan.generate(parent, first, int(of.max()) + 1 if len(of) else 0)
            at = pa.array(of - first)
            names = {(t, c): f"{t}.{c}" for t, c in other}
            for (_, c), name in names.items():
                data[name] = rows.column(c).take(at)
            me = self.info.table.lower()
            sql = unqualified(sql, names | {(me, c): c for c in own})
        data = pa.table(data) if data else pa.table({"_": pa.nulls(ctx.n)})
        values = computed(data, sql, f"{self.info.table}.{self.info.name}")
        try:
            return values.cast(self.info.type.arrow)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise TdmError(
                f"column {self.info.table}.{self.info.name}: {self.p.sql} gives "
                f"{values.type}, which does not fit {self.info.type}: {error}"
            ) from None
