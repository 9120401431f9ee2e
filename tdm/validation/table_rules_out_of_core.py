"""A rule across tables (tdm.validation.table_rules) on tables too big for memory: the keys
and the columns read of the parent and child tables are streamed into a Spill
(tdm.validation.spill), joined there once (DuckDB, spilling to disk) into each row's parent
values and each child row's position; then the rule's table is read one batch at a time, with
the parent values and child rows of that batch's row range, and checked as in memory
(tdm.validation.rule_reads.off_rule). The joins are not sorted: a sort of the whole join held
more than the spill's memory limit (payments.amount of the 100M-row retail example: the limit
doubled to 1 GB and the process peaked 440 MB higher), and a batch's rows are found by their
range anyway (the children's sorted then, a batch at a time)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tdm.core.databases import quote_identifier as quote
from tdm.core.errors import TdmError
from tdm.validation.results import EXAMPLES
from tdm.validation.rule_reads import RuleReads, off_rule
from tdm.validation.spill import ROW, Spill

OF = "__tdm_of"  # a child row's parent: the global row index in the rule's table
CHILD = "__tdm_child"  # a child row's own global row index (their order within a parent)


class RuleError(Exception):
    """The rule cannot be evaluated on the data (`error`); `rows`: the rule table's rows."""

    def __init__(self, error: TdmError, rows: int):
        super().__init__(str(error))
        self.error, self.rows = error, rows


def restore(values: pa.ChunkedArray | pa.Array, to: pa.DataType) -> pa.Array:
    """A column read back from DuckDB as the Arrow type it was stored with."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if isinstance(to, pa.BaseExtensionType):
        return pa.ExtensionArray.from_storage(to, values.cast(to.storage_type))
    return values if values.type == to else values.cast(to)


def _schema(plan, table: str, columns: list[str]) -> pa.Schema:
    return plan.schema(table).empty_table().select(columns).schema


def _on(left: str, left_columns: list[str], right: str, right_columns: list[str]) -> str:
    pairs = zip(left_columns, right_columns, strict=True)
    return " AND ".join(f"{left}.{quote(a)} = {right}.{quote(b)}" for a, b in pairs)


def _load(spill: Spill, plan, table: str, columns: list[str], keys: list[str]) -> str:
    return spill.load(table, columns, _schema(plan, table, columns), keys)[0]


def _parent_values(spill: Spill, plan, reads: RuleReads) -> str:
    """A table of ROW and the parent's values, for each row of the rule's table with a parent."""
    mine = _load(spill, plan, reads.table, reads.fk_columns, reads.fk_columns)
    parent = _load(spill, plan, reads.parent, reads.parent_columns, reads.target)
    values = ", ".join(f"p.{quote(c)}" for c in reads.parent_values)
    name = spill.name()
    spill.execute(
        f"CREATE TABLE {name} AS SELECT t.{ROW}, {values} FROM {mine} AS t JOIN {parent} AS p "
        f"ON {_on('t', reads.fk_columns, 'p', reads.target)}"
    )
    return name


def _child_rows(spill: Spill, plan, reads: RuleReads, kid) -> str:
    """A table of each child row's read columns, its parent's row (OF) and its own (CHILD)."""
    mine = _load(spill, plan, reads.table, kid.target, kid.target)
    rows = _load(spill, plan, kid.table, kid.columns, kid.fk_columns)
    columns = ", ".join(f"c.{quote(c)}" for c in kid.columns)
    name = spill.name()
    spill.execute(
        f"CREATE TABLE {name} AS SELECT t.{ROW} AS {OF}, c.{ROW} AS {CHILD}, {columns} "
        f"FROM {rows} AS c JOIN {mine} AS t ON {_on('c', kid.fk_columns, 't', kid.target)}"
    )
    return name


def _range(column: str, start: int, stop: int) -> str:
    return f"WHERE {column} >= {start} AND {column} < {stop}"


def rule_out_of_core(
    spill: Spill, plan, table: str, name: str, gen, reads: RuleReads
) -> tuple[int, int, list[int]]:
    """The rule table's rows, the rows off the rule and the first few of them; RuleError when
    the rule cannot be evaluated on some batch."""
    made = []
    try:
        joined = _parent_values(spill, plan, reads) if reads.parent else None
        made += [joined] if joined else []
        kids = [(kid, _child_rows(spill, plan, reads, kid)) for kid in reads.children]
        made += [k for _, k in kids]
        parent_key = (reads.parent, tuple(reads.parent_columns))
        pschema = spill.schemas[parent_key] if joined is not None else None
        start, count, examples = 0, 0, []
        rows = spill.store.manifest(spill.dataset, spill.version)["tables"][table]["rows"]
        for data in spill.store.batches(spill.dataset, spill.version, table, reads.own):
            stop = start + data.num_rows
            parent = {}
            if joined is not None:
                found = spill.arrow(f"SELECT * FROM {joined} {_range(ROW, start, stop)}")
                at = np.full(data.num_rows, -1, dtype=np.int64)
                at[found[ROW].to_numpy() - start] = np.arange(found.num_rows)
                take = pa.array(at, mask=at < 0)
                parent = {
                    c: restore(found[c], pschema.field(c).type).take(take)
                    for c in reads.parent_values
                }
            children = {}
            for kid, rows_of in kids:
                found = spill.arrow(
                    f"SELECT * FROM {rows_of} {_range(OF, start, stop)} ORDER BY {OF}, {CHILD}"
                )
                kschema = spill.schemas[kid.table, tuple(kid.columns)]
                crows = pa.table(
                    [restore(found[c], kschema.field(c).type) for c in kid.columns],
                    schema=kschema,
                )
                children[kid.lower] = (crows, found[OF].to_numpy() - start)
            try:
                bad = off_rule(plan, table, name, gen, data, parent, children)
            except TdmError as error:
                raise RuleError(error, rows) from None
            count += len(bad)
            examples += [start + int(r) for r in bad[: EXAMPLES - len(examples)]]
            start = stop
        return start, count, examples
    finally:
        for made_table in made:
            spill.execute(f"DROP TABLE {made_table}")
