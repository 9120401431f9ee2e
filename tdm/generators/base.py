"""The generator interface and registry.

A generator turns a block of row indices into one pyarrow array. It draws randomness only through
`ctx.rng` (per-row, chunk-addressed streams), so values never depend on how rows are batched.
Generators marked `index_based` compute values from the row index alone: those can be primary keys
and foreign-key targets, because a child can compute its parent's key from a parent row index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from tdm.core.permute import permute, round_keys
from tdm.core.rand import CHUNK, RowRandom, key64, stream_key
from tdm.core.types import LogicalType

REGISTRY: dict[str, type[Generator]] = {}


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ColumnInfo:
    """What a generator knows about its column and dataset when it is built."""

    table: str
    name: str
    type: LogicalType
    seed: int
    unique: bool = False
    today: dt.date = dt.date(2026, 1, 1)
    locales: tuple[str, ...] = ("en_US",)
    rows: int | None = None  # table row count, when known before planning

    def stream(self, purpose: str = "values") -> int:
        return stream_key(self.seed, self.table, self.name, purpose)

    def permutation_keys(self) -> np.ndarray:
        return round_keys(key64(self.seed, self.table, self.name, "permutation", count=2))


class PlanView(Protocol):
    """What generators read of the plan (tdm.plan.model.Plan): row counts, the spec, every
    column's generator, and the parent row of rows counted per parent."""

    spec: Any
    gens: dict[str, dict[str, Generator]]
    rows: dict[str, int]

    def parent_of(self, table: str, idx: np.ndarray) -> np.ndarray: ...

    def ordinal(self, table: str, idx: np.ndarray) -> np.ndarray: ...

    def children_of(self, table: str, start: int, stop: int) -> tuple[int, int]: ...

    def generate(self, table: str, start: int, stop: int) -> pa.Table: ...


@dataclass
class GenContext:
    """One batch of one column: rows [start, stop) of the table."""

    info: ColumnInfo
    start: int
    stop: int
    rng: RowRandom
    row: dict[str, pa.Array] = field(default_factory=dict)  # columns generated earlier in the row
    locale: np.ndarray | None = None  # index into info.locales per row; None when one locale
    plan: PlanView | None = None
    # rows that will be null whatever is generated (the column's null_ratio): a generator may
    # leave building their values out, as long as the other rows' values are the same
    skip: np.ndarray | None = None

    @property
    def n(self) -> int:
        return self.stop - self.start

    @property
    def idx(self) -> np.ndarray:
        return np.arange(self.start, self.stop, dtype=np.int64)


class Generator:
    """Base class: subclasses set `name`, `types`, `Params` and implement `generate`."""

    name: ClassVar[str]
    types: ClassVar[tuple[str, ...]]  # logical type kinds it can produce
    Params: ClassVar[type[BaseModel]] = NoParams
    # Values are a function of the row index alone (instances may decide, e.g. unique patterns).
    index_based: bool = False
    can_be_unique: ClassVar[bool] = False  # supports `unique: true` by construction
    summary: ClassVar[str] = ""
    internal: ClassVar[bool] = False  # not for specs to name (e.g. foreign_key, set by references)
    # Values depend on ctx.rng alone (no other column, locale or plan state): the values of any
    # rows can be drawn again from their chunks, so `at` works and the column can be referenced.
    reproducible: ClassVar[bool] = False

    def __init__(self, params: Any, info: ColumnInfo):
        self.p = params
        self.info = info

    def depends_on(self) -> tuple[str, ...]:
        """Columns of the same row this generator reads from ctx.row."""
        return ()

    def capacity(self) -> int | None:
        """How many distinct values it can produce (None: more than any table needs)."""
        return None

    def problems(self) -> list[tuple[str, str, str | None]]:
        """Extra checks on the params: (param, message, hint) triples."""
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        return self.at(ctx.idx, ctx)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        """Values for arbitrary row indices; only index-based generators implement it."""
        raise NotImplementedError(f"generator {self.name} is not index-based")

    def values_at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        """What `generate` gives rows `idx`: computed (index-based) or drawn again (reproducible:
        the chunks holding those rows are drawn again)."""
        return self.at(idx, ctx) if self.index_based else redrawn_at(self, idx, ctx)

    # helpers for unique-by-construction generators
    def unique_slots(self, idx: np.ndarray, domain: int) -> np.ndarray:
        """Distinct positions in [0, domain) for distinct row indices (a keyed permutation)."""
        return permute(idx.astype(np.uint64), domain, self.info.permutation_keys()).astype(np.int64)


def redrawn_at(gen: Generator, idx: np.ndarray, ctx: GenContext) -> pa.Array:
    """The values `gen.generate` gives rows `idx` in any batching: their chunks drawn again."""
    if not len(idx):
        return gen.generate(GenContext(gen.info, 0, 0, RowRandom(gen.info.stream(), 0, 0)))
    chunks = np.unique(idx // CHUNK)
    total = ctx.plan.rows[gen.info.table] if ctx.plan is not None else int(idx.max()) + 1
    parts = []
    for c in chunks.tolist():
        start, stop = c * CHUNK, min((c + 1) * CHUNK, max(total, int(idx.max()) + 1))
        rr = RowRandom(gen.info.stream(), start, stop)
        parts.append(gen.generate(GenContext(gen.info, start, stop, rr, plan=ctx.plan)))
    where = np.searchsorted(chunks, idx // CHUNK) * CHUNK + idx % CHUNK
    return pa.concat_arrays(parts).take(pa.array(where))


def register(cls: type[Generator]) -> type[Generator]:
    if cls.name in REGISTRY:
        raise ValueError(f"generator {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls
