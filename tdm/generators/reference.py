"""Foreign-key columns: pick a parent row index, then compute the parent's key from it.

Children never read parent data: parent keys are index-based (see Generator.index_based), so a
child batch only needs the parent's row count. How the parent row is picked:
- per_parent: the table's rows are counted per parent row, so row i belongs to the parent whose
  block of children contains i (children of one parent are contiguous);
- distinct: within each parent group, values are distinct (many-to-many link tables);
- self: a self-reference points at an earlier row (a tree); the first row has none, or points
  at itself when the column is NOT NULL;
- unique: a unique foreign key (one-to-one) outside per-parent counting: row i takes parent
  row permute(i), so no parent is taken twice (the table may not have more rows than the parent);
- sample: uniform, or zipf-skewed so a few parents get most children.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tdm.core.arrowstr import with_nulls
from tdm.core.errors import TdmError
from tdm.core.permute import mix64, permute, round_keys
from tdm.core.postgres_types import fit_text
from tdm.core.rand import RowRandom, key64, stream_key
from tdm.core.types import KINDS
from tdm.generators.base import ColumnInfo, GenContext, Generator, register
from tdm.spec.model import ForeignKeySpec


@register
class ForeignKeyGen(Generator):
    """Values of a parent's key, for a parent row picked per the foreign key's distribution."""

    name = "foreign_key"
    types = KINDS
    internal = True

    def __init__(
        self, fk: ForeignKeySpec, info: ColumnInfo, mode: str = "sample", null_ratio: float = 0.0
    ):
        super().__init__(fk, info)
        self.fk, self.mode, self.null_ratio = fk, mode, null_ratio
        self.position = fk.columns.index(info.name)
        self.index_based = mode in ("per_parent", "distinct", "unique") and null_ratio == 0
        self._keys = round_keys(key64(info.seed, info.table, "fk", *fk.columns, count=2))

    def parent_column(self, plan) -> str:
        target = (
            self.fk.references.columns or plan.spec.tables[self.fk.references.table].primary_key
        )
        return target[self.position]

    def parent_index(self, idx: np.ndarray, plan, rr: RowRandom | None) -> np.ndarray:
        """Parent row per child row; -1 where the reference is null."""
        parent_rows = plan.rows[self.fk.references.table]
        table = self.info.table
        if self.mode == "per_parent":
            return plan.parent_of(table, idx)
        if self.mode == "distinct":
            group, j = plan.parent_of(table, idx), plan.ordinal(table, idx)
            offset = mix64(group.astype(np.uint64) ^ self._keys[0]) % np.uint64(parent_rows)
            slot = (offset + j.astype(np.uint64)) % np.uint64(parent_rows)
            return permute(slot, parent_rows, self._keys).astype(np.int64)
        if self.mode == "unique":
            if len(idx) and int(idx.max()) >= parent_rows:
                raise TdmError(
                    f"{table}.{', '.join(self.fk.columns)} is a unique reference to "
                    f"{self.fk.references.table}, which has {parent_rows:,} rows: {table} can "
                    f"have at most as many; lower its rows or count them per "
                    f"{self.fk.references.table}"
                )
            return permute(idx.astype(np.uint64), parent_rows, self._keys).astype(np.int64)
        if self.mode == "self":
            u = rr.random()
            out = np.floor(u * idx).astype(np.int64)
            out[idx == 0] = -1 if self.null_ratio else 0
            return out
        if self.fk.distribution == "zipf":
            rank = rr.draw(lambda g, n: g.zipf(self.fk.a, n)) - 1
            slot = (rank % parent_rows).astype(np.uint64)
            return permute(slot, parent_rows, self._keys).astype(np.int64)
        return rr.index(parent_rows)

    def generate(self, ctx: GenContext) -> pa.Array:
        rr = RowRandom(
            stream_key(self.info.seed, self.info.table, "fk", *self.fk.columns), ctx.start, ctx.stop
        )
        parent = self.parent_index(ctx.idx, ctx.plan, rr)
        null = parent < 0
        if self.null_ratio:
            null |= rr.mask(self.null_ratio)
        return self._values(parent, null, ctx)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        parent = self.parent_index(idx, ctx.plan, None)
        return self._values(parent, parent < 0, ctx)

    def _values(self, parent: np.ndarray, null: np.ndarray, ctx: GenContext) -> pa.Array:
        plan = ctx.plan
        pgen = plan.gens[self.fk.references.table][self.parent_column(plan)]
        pctx = GenContext(pgen.info, 0, 0, rng=None, plan=plan)
        values = pgen.values_at(np.where(null, 0, parent), pctx)
        values = fit_text(
            values,
            plan.spec.tables[self.fk.references.table].columns[self.parent_column(plan)].sql_type,
        )
        return with_nulls(values, null)
