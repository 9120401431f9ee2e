"""The plan of a dataset: table order, row counts, batch blocks, and batch generation.

Batch k of every table holds its rows [k * batch_size, (k+1) * batch_size); a dataset has as many
batch partitions as its biggest table needs, and smaller tables leave the later batches empty. Any
batch can be generated anywhere, in any order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tdm.core.arrowstr import with_nulls
from tdm.core.errors import Problem, SpecError
from tdm.core.postgres_types import fit_text
from tdm.core.rand import RowRandom, stream_key
from tdm.core.settings import interpolate
from tdm.generators.base import GenContext, Generator
from tdm.generators.reference import ForeignKeyGen
from tdm.plan.computed import Expression, spec_table
from tdm.plan.per_parent import PerParent
from tdm.plan.repair import only_when, repair
from tdm.plan.reuse import KeptRows
from tdm.spec.model import MAX_BATCH_SIZE, DatasetSpec, TableSpec

Gens = dict[str, dict[str, Generator]]


# Batch partitions a run takes (Dagster partition keys). Dagster advises at most 100,000 per
# asset; each batch also leaves its files and check results, and a run lists all of them.
MAX_BATCHES = 25_000
# Counting child rows per parent row draws a count per parent row when planning (~1 s per 10M).
MAX_COUNTED_PARENTS = 50_000_000


@dataclass
class Plan:
    spec: DatasetSpec
    gens: Gens
    order: list[str]  # parents before children: the load order
    rows: dict[str, int]
    columns: dict[str, list[str]]  # generation order in each table (dependencies first)
    per_parent: dict[str, PerParent] = field(default_factory=dict)
    source: Path | None = None  # the spec file
    masks: dict[str, dict[str, Any]] = field(default_factory=dict)  # see tdm.masking.policy
    # Keep the batch partitions of an earlier plan of the same spec (another seed, or the spec
    # file edited since the code location loaded): the last batch then takes any extra rows.
    fixed_batches: int | None = None
    source_hash: str | None = None  # the spec's digest (tdm.spec.digest) when this plan was made
    _reader: Any = field(default=None, repr=False, compare=False)
    # the chosen rows of a `subset:` (tdm.source.subset.Subset), chosen once when planning
    subset: Any = field(default=None, repr=False, compare=False)
    # the source snapshot `tdm generate` holds open for the run (tdm.source.snapshot)
    exported_snapshot: str | None = field(default=None, repr=False, compare=False)
    # plans made from this one for runs (tdm.plan.loading.plan_for_run), newest last
    runs: dict[tuple, Plan] = field(default_factory=dict, repr=False, compare=False)
    # rows whose check failed on their first draw, per table and check (tdm.plan.repair)
    redrawn: dict[str, dict[str, int]] = field(default_factory=dict, repr=False, compare=False)
    # generated rows that computed columns of other tables read again (tdm.plan.reuse)
    kept: KeptRows = field(default_factory=KeptRows, repr=False, compare=False)

    def __getstate__(self) -> dict:
        # connections do not cross processes, nor do the plans of other runs
        return {**self.__dict__, "_reader": None, "runs": {}}

    def reader(self):
        """The source database reader (extracted tables only), opened on first use."""
        if self._reader is None:
            # imported here: the database drivers weigh ~30 MB and are only for extracted data
            from tdm.source import SourceReader

            where = f"{self.source or self.spec.dataset}: source.url"
            self._reader = SourceReader(interpolate(self.spec.source.url, where))
            self._reader.use_snapshot(self.exported_snapshot)
        return self._reader

    @functools.cached_property
    def reread(self) -> frozenset[str]:
        """The tables a computed column of another table reads (generates again): only their
        rows are worth keeping (tdm.plan.reuse); keeping others would only hold memory."""
        out: set[str] = set()
        for tname, columns in self.gens.items():
            for gen in columns.values():
                if isinstance(gen, Expression):
                    out |= {spec_table(self.spec, t) or t for t in gen.tables()} - {tname}
        return frozenset(out)

    def extracted(self, table: str) -> bool:
        return self.spec.tables[table].source is not None

    def snapshot(self) -> str | None:
        """Fingerprint of the source rows this plan reads (None for fully generated data)."""
        if self.subset is not None:  # the chosen rows and their xmins, in one snapshot
            return self.subset.fingerprint
        tables = {t: s for t, s in self.spec.tables.items() if s.source is not None}
        return self.reader().snapshot(tables) if tables else None

    @property
    def name(self) -> str:
        return self.spec.dataset

    @property
    def batches(self) -> int:
        if self.fixed_batches:
            return self.fixed_batches
        return max(1, *(-(-n // self.spec.batch_size) for n in self.rows.values()))

    def table_batches(self, table: str) -> int:
        """How many batches hold rows of this table (the rest are empty)."""
        return min(self.batches, -(-self.rows[table] // self.spec.batch_size))

    def check_batches(self) -> None:
        """A SpecError naming the fix when the dataset would need more than MAX_BATCHES batch
        partitions (`tdm generate` streams batches without partitions: no limit there)."""
        if self.batches <= MAX_BATCHES:
            return
        table = max(self.rows, key=lambda t: self.rows[t])
        rows, size = self.rows[table], -(-self.rows[table] // MAX_BATCHES)
        fix = (
            f"set `batch_size: {size}` or more, or lower the rows"
            if size <= MAX_BATCH_SIZE
            else f"lower the rows of {table} to {MAX_BATCHES * MAX_BATCH_SIZE:,} or fewer "
            f"({MAX_BATCHES:,} batches of at most {MAX_BATCH_SIZE:,} rows)"
        )
        raise SpecError(
            str(self.source or self.name),
            [
                Problem(
                    "batch_size",
                    f"{rows:,} rows of {table} in batches of {self.spec.batch_size:,} make "
                    f"{self.batches:,} batch partitions; a run takes at most {MAX_BATCHES:,}",
                    f"{fix}; `tdm generate` writes any row count without partitions",
                )
            ],
        )

    def batch_keys(self) -> list[str]:
        """The batch partitions: Dagster partition keys b0000, b0001, ..."""
        self.check_batches()
        width = max(4, len(str(self.batches - 1)))
        return [f"b{i:0{width}d}" for i in range(self.batches)]

    def block(self, table: str, batch: int) -> tuple[int, int]:
        """Rows of the table in this batch; with fixed_batches the last one takes the rest."""
        n, size, last = self.rows[table], self.spec.batch_size, self.table_batches(table) - 1
        if batch > last:
            return n, n
        return min(n, batch * size), n if batch == last else min(n, (batch + 1) * size)

    def parent_of(self, table: str, idx: np.ndarray) -> np.ndarray:
        return self.per_parent[table].parent_of(idx)

    def ordinal(self, table: str, idx: np.ndarray) -> np.ndarray:
        return self.per_parent[table].ordinal(idx)

    def children_of(self, table: str, start: int, stop: int) -> tuple[int, int]:
        """The rows [first, last) of `table` (counted per a parent) whose parents are the
        parent's rows [start, stop)."""
        per = self.per_parent[table]
        return per.end(start - 1), per.end(stop - 1)

    def schema(self, table: str) -> pa.Schema:
        spec = self.spec.tables[table]
        return pa.schema(
            [
                pa.field(
                    name, col.logical.arrow, nullable=_nullable(spec, name, self.gens[table][name])
                )
                for name, col in spec.columns.items()
            ]
        )

    def locales(self, table: str, start: int, stop: int) -> np.ndarray:
        """The locale (index into spec.locales) of rows [start, stop). Rows counted per a parent
        row take their parent's locale, so a German customer's addresses and orders are German
        too; other rows draw theirs by the locale weights."""
        per = self.per_parent.get(table)
        if per is not None and stop > start:
            parents = per.parent_of(np.arange(start, stop, dtype=np.int64))
            first = int(parents.min())
            parent = self.spec.tables[table].rows.per
            return self.locales(parent, first, int(parents.max()) + 1)[parents - first]
        weights = np.array(list(self.spec.locales.values()), dtype=np.float64)
        rr = RowRandom(stream_key(self.spec.seed, table, "__locale__"), start, stop)
        return rr.weighted_index(np.cumsum(weights) / weights.sum())

    def generate(self, table: str, start: int, stop: int) -> pa.Table:
        """Rows [start, stop) of a table: a pure function of (spec, seed, table, row index)."""
        spec = self.spec.tables[table]
        if spec.source is not None and self.subset is not None:
            from tdm.source.subset.read import read_subset

            schema = self.schema(table)
            return read_subset(self.reader(), table, spec, self.subset, start, stop, schema)
        if spec.source is not None:
            return self.reader().read(table, spec, start, stop, self.schema(table))
        counts = self.redrawn.setdefault(table, {})
        if table in self.reread and (taken := self.kept.take(table, start, stop)) is not None:
            made, failed = taken  # made already by a step whose computed column read them
            for check, n in failed.items():
                counts[check] = counts.get(check, 0) + n
            return made
        locale = self.locales(table, start, stop) if len(self.spec.locales) > 1 else None
        row: dict[str, pa.Array] = {}

        def column(name: str, purpose: str, row: dict[str, pa.Array]) -> pa.Array:
            gen = self.gens[table][name]
            rr = RowRandom(gen.info.stream(purpose), start, stop)
            ratio, nulls = spec.columns[name].null_ratio, None
            if ratio and not isinstance(gen, ForeignKeyGen):
                stream = gen.info.stream("nulls" if purpose == "values" else f"nulls/{purpose}")
                nulls = RowRandom(stream, start, stop).mask(ratio)
            ctx = GenContext(gen.info, start, stop, rr, row, locale, self, skip=nulls)
            values = gen.generate(ctx)
            if nulls is not None:
                values = with_nulls(values, nulls)
            return fit_text(values, spec.columns[name].sql_type)

        for name in self.columns[table]:
            row[name] = column(name, "values", row)
        row = only_when(spec, row)
        failed: dict[str, np.ndarray] = {}
        row = repair(
            table,
            spec,
            {c: self.gens[table][c] for c in self.columns[table]},
            row,
            lambda name, attempt, row: column(name, f"redraw{attempt}", row),
            failed,
        )
        for check, rows in failed.items():
            counts[check] = counts.get(check, 0) + len(rows)
        made = pa.Table.from_arrays([row[c] for c in spec.columns], schema=self.schema(table))
        if table in self.reread:
            self.kept.keep(table, start, stop, made, failed, total=self.rows[table])
        return made

    def generate_again(self, table: str, start: int, stop: int) -> pa.Table:
        """Rows [start, stop) of another table, which a computed column reads: from the rows
        this process generated already where they cover them (tdm.plan.reuse), else generated."""
        if self.spec.tables[table].source is None:
            kept = self.kept.rows(table, start, stop)
            if kept is not None:
                return kept
        return self.generate(table, start, stop)


def _nullable(spec: TableSpec, name: str, gen: Generator) -> bool:
    if spec.source is not None:  # the source decides; only key columns are known to be set
        return name not in spec.primary_key
    return spec.columns[name].optional or (isinstance(gen, ForeignKeyGen) and gen.mode == "self")
