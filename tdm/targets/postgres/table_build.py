"""The build of one table in a staging schema, in ONE transaction on its own connection: CREATE
TABLE (types, NOT NULL, CHECK), `COPY ... FROM STDIN (FORMAT binary, FREEZE)` of its batches
(Arrow encoded by pgpq), then its primary key and unique constraints, indexes, comments and
ANALYZE of its key columns (one index build each, after the rows are in). The batches come from
the version's files (a load) or straight from the batches a run produces
(tdm.targets.postgres.early)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import pgpq
import psycopg
import pyarrow as pa
import sqlalchemy as sa
from pgpq import encoders as pg_encoders
from pgpq import schema as pg_schema
from sqlalchemy.schema import AddConstraint, CreateIndex, SetColumnComment, SetTableComment

from tdm.spec.model import DatasetSpec
from tdm.targets.postgres.load import _DIALECT, _Cancelled, _wire_batches, _wire_type
from tdm.targets.postgres.meta import _q


@dataclass(frozen=True)
class TableBuild:
    name: str
    create: str
    copy: str
    after: list[str]  # keys, indexes, comments, ANALYZE: once the rows are in
    schema: pa.Schema  # of the rows on the wire
    kinds: dict  # column -> its logical type

    @classmethod
    def of(cls, table: sa.Table, spec: DatasetSpec, analyze_all: bool = False) -> TableBuild:
        columns = spec.tables[table.name].columns
        kinds = {c: col.logical for c, col in columns.items()}
        ddl = _DIALECT.ddl_compiler(_DIALECT, None)
        name = ddl.preparer.format_table(table)
        parts = [ddl.get_column_specification(c) for c in table.columns]
        # sorted: a table's constraints and indexes are sets, and an early load
        # (tdm.targets.postgres.early) is adopted only if its statements are the load's
        parts += sorted(
            ddl.process(c) for c in table.constraints if isinstance(c, sa.CheckConstraint)
        )
        keys = {
            str(AddConstraint(c).compile(dialect=_DIALECT))
            for c in [table.primary_key, *table.constraints]
            if isinstance(c, sa.UniqueConstraint)
            or (isinstance(c, sa.PrimaryKeyConstraint) and c.columns)
        }  # the primary key is listed twice
        after = sorted(keys)
        after += sorted(str(CreateIndex(ix).compile(dialect=_DIALECT)) for ix in table.indexes)
        if table.comment:
            after.append(str(SetTableComment(table).compile(dialect=_DIALECT)))
        after += [
            str(SetColumnComment(c).compile(dialect=_DIALECT)) for c in table.columns if c.comment
        ]  # columns in the spec's order
        keyed = [] if analyze_all else _keyed(table)
        after.append(f"ANALYZE {name}" + (f" ({', '.join(map(_q, keyed))})" if keyed else ""))
        return cls(
            name=table.name,
            create=f"CREATE TABLE {name} ({', '.join(parts)})",
            copy=f"COPY {name} ({', '.join(_q(c) for c in columns)}) "
            "FROM STDIN (FORMAT binary, FREEZE)",
            after=after,
            schema=pa.schema([pa.field(c, _wire_type(kinds[c])) for c in columns]),
            kinds=kinds,
        )

    def run(
        self, conn: psycopg.Connection, parts: Iterable[pa.Table], stop: threading.Event
    ) -> int:
        """Create, fill and key the table in one transaction; returns the rows COPY stored.
        `stop` set (another table failed) raises _Cancelled at the next batch."""
        encoders = {
            f.name: pg_encoders.StringEncoderBuilder.new_with_output(f, pg_schema.Jsonb())
            if self.kinds[f.name].kind == "json"
            else pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(f)
            for f in self.schema
        }
        with conn.transaction():
            conn.execute(self.create)
            encoder = pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(self.schema, encoders)
            with conn.cursor() as cur:
                with cur.copy(self.copy) as copy:
                    copy.write(encoder.write_header())
                    for part in parts:
                        if stop.is_set():
                            raise _Cancelled
                        for batch in _wire_batches(part, self.schema, self.kinds, self.name):
                            copy.write(encoder.write_batch(batch))
                    copy.write(encoder.finish())
                rows = cur.rowcount
            for sql in self.after:
                if stop.is_set():
                    raise _Cancelled
                conn.execute(sql)
        return rows


def _keyed(table: sa.Table) -> list[str]:
    """The columns of the table's keys, unique constraints, foreign keys and indexes, which
    ANALYZE gives statistics at once: what joins and key lookups are planned with. The other
    columns' statistics are left to autovacuum (an ANALYZE of some columns leaves the table's
    count of changed rows as it was, so autovacuum still analyzes the whole table): analyzing
    them too took as long again (0.57 s against 0.26 s for the 1M-row example's six tables), on
    the server cores the run shares."""
    cols = {c.name for ix in table.indexes for c in ix.columns}
    keys = (sa.PrimaryKeyConstraint, sa.UniqueConstraint, sa.ForeignKeyConstraint)
    for constraint in table.constraints:
        if isinstance(constraint, keys):
            cols |= {c.name for c in constraint.columns}
    return [c.name for c in table.columns if c.name in cols]
