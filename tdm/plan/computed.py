"""The `expression` generator: a column computed from other columns of the same row by a
PostgreSQL expression (`sql: quantity * unit_price`, `sql: ordered_at + ship_days * interval
'1 day'`), evaluated by DuckDB like a `check:` (tdm.checks). It lives in the plan layer because
generators may not read tdm.checks; importing tdm.plan registers it.

In a table whose rows are counted per parent (`rows: {per: orders}`), it may also read the
parent row's columns as `orders.ordered_at`: the parent rows of the batch (a contiguous range,
children being in parent order) are generated again, a pure function of their index, so the
batch still reads nothing another process wrote. Likewise it may aggregate the rows of a table
counted per its own (`coalesce(sum(order_items.line_total), 0)` in orders): the batch's child
rows, also a contiguous range, are generated again and aggregated per parent row (DuckDB, with
PostgreSQL's meaning: sum over no rows is NULL, count 0). Tables may not read each other in a
cycle (tdm.plan.table_reads).

Values follow their inputs: a row drawn again by a check gets its computed columns again, and
every version is validated against the expression (a row rule, tdm.validation.suite)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.checks import (
    Aggregate,
    CheckSyntaxError,
    aggregates,
    computed,
    grouped,
    placeholder,
    qualified,
    unqualified,
)
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


def spec_table(spec, lower: str) -> str | None:
    """The spec's name of the table an expression names as `lower` (names fold to lower case,
    as in PostgreSQL), or None."""
    return next((t for t in spec.tables if t.lower() == lower), None)


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

    def children(self) -> tuple[Aggregate, ...]:
        """The aggregates over child rows it reads; none when it does not parse."""
        try:
            return aggregates(self.p.sql).aggregates
        except CheckSyntaxError:
            return ()

    def tables(self) -> set[str]:
        """The other tables it reads (lower case): its parent's and its children's."""
        return {t for t, _ in self.reads()[1]} | {a.table for a in self.children()}

    def problems(self):
        try:
            qualified(self.p.sql)
            aggregates(self.p.sql)
        except CheckSyntaxError as error:
            return [("sql", str(error), "write a PostgreSQL expression, e.g. quantity * price")]
        own, other = self.reads()
        if self.info.name in own:
            return [("sql", f"{self.info.name} cannot be computed from itself", None)]
        if not own and not other and not self.children():
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
        parent = {}
        if other:  # the parent row's values: its rows regenerated (a pure function of its index)
            name = spec_table(ctx.plan.spec, other[0][0])
            of = ctx.plan.parent_of(self.info.table, ctx.idx)
            first = int(of.min()) if len(of) else 0
            rows = ctx.plan.generate_again(name, first, int(of.max()) + 1 if len(of) else 0)
            at = pa.array(of - first)
            parent = {c: rows.column(c).take(at) for _, c in other}
        children = {}
        for table in dict.fromkeys(a.table for a in self.children()):
            child = spec_table(ctx.plan.spec, table)
            first, last = ctx.plan.children_of(child, ctx.start, ctx.stop)
            of = ctx.plan.parent_of(child, np.arange(first, last, dtype=np.int64)) - ctx.start
            children[table] = (ctx.plan.generate_again(child, first, last), of)
        return self.evaluate(ctx.n, {c: ctx.row[c] for c in own}, parent, children)

    def evaluate(
        self,
        n: int,
        own: dict[str, pa.Array],
        parent: dict[str, pa.Array],
        children: dict[str, tuple[pa.Table, np.ndarray]],
    ) -> pa.Array:
        """The column for `n` rows from the columns it reads of them (`own`), of each row's
        parent row (`parent`, by column) and of the child tables it aggregates (lower-case name
        -> their rows and the position of each one's parent among the `n`)."""
        where = f"{self.info.table}.{self.info.name}"
        data = dict(own)
        sql = self.p.sql
        if self.children():
            sql, found = aggregates(sql)
            for table, (rows, of) in children.items():
                mine = [i for i, a in enumerate(found) if a.table == table]
                values = grouped(rows, of, n, [found[i].sql for i in mine], where)
                data |= {placeholder(i): v for i, v in zip(mine, values, strict=True)}
        if parent:
            other = self.reads()[1]
            names = {(t, c): f"{t}.{c}" for t, c in other}
            data |= {f"{t}.{c}": parent[c] for t, c in other}
            me = self.info.table.lower()
            sql = unqualified(sql, names | {(me, c): c for c in own})
        table = pa.table(data) if data else pa.table({"_": pa.nulls(n)})
        values = computed(table, sql, where)
        try:
            return values.cast(self.info.type.arrow)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise TdmError(
                f"column {where}: {self.p.sql} gives {values.type}, which does not fit "
                f"{self.info.type}: {error}"
            ) from None
