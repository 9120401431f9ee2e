"""The dataset spec: pydantic models of a `schemas/*.yaml` file.

The models check shape and field-level rules; `tdm.plan.check` checks what spans fields
(generators, references, uniqueness, cycles). `tdm.plan.loading.load_spec` runs both and reports
every problem at once.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

from tdm.core.distributions import DistributionSpec
from tdm.core.errors import TdmError
from tdm.spec.columns import (  # noqa: F401  (re-exported: the spec's names in one place)
    COLUMN_FIELDS,
    ColumnSpec,
    ForeignKeySpec,
    Identifier,
    MaskSpec,
    Reference,
    StrictModel,
    _as_list,
)
from tdm.spec.privacy import PrivacySpec
from tdm.spec.subset import SubsetSpec

# Bounds that keep every row index and count exact in int64 and float64 arithmetic, and one
# batch (the unit held in memory) to a size a worker can hold.
MAX_ROWS = 10**15
MAX_BATCH_SIZE = 10_000_000


class RowsPerParent(DistributionSpec):
    """`rows: {per: customers, distribution: poisson, lam: 3}`: child rows per parent row."""

    per: Identifier
    distribution: Literal["fixed", "uniform", "poisson", "geometric", "zipf", "histogram"] = (
        "poisson"
    )


def _rows_kind(v: Any) -> str:
    return "per" if isinstance(v, dict | RowsPerParent) else "count"


# Tags 'count'/'per' appear in pydantic error locations; spec_load strips them.
Rows = Annotated[
    Annotated[int, Tag("count")] | Annotated[RowsPerParent, Tag("per")],
    Discriminator(_rows_kind),
]


class SourceTable(StrictModel):
    """Where an extracted table's rows come from: `source: true` or {table, where, key}."""

    table: str | None = None  # name in the source, optionally schema-qualified; default: ours
    where: str | None = None  # SQL condition the rows must meet
    key: list[Identifier] | None = None  # ordering for keyset pagination; default: primary key

    _lists = field_validator("key", mode="before")(lambda cls, v: _as_list(v))

    @model_validator(mode="before")
    @classmethod
    def _from_bool(cls, v: Any) -> Any:
        return {} if v is True else v


class TableSpec(StrictModel):
    rows: Rows | None = None  # required for generated tables; extracted ones count the source
    source: SourceTable | None = None
    primary_key: list[Identifier] = []
    columns: dict[Identifier, ColumnSpec] = Field(min_length=1)
    foreign_keys: list[ForeignKeySpec] = []
    unique: list[list[Identifier]] = []
    description: str | None = None
    expect: list[dict[str, Any]] = []  # extra table-level GX expectations
    # CHECK constraints (PostgreSQL expressions over this table's columns), by name: rows that
    # fail one are drawn again (tdm.plan.repair); a list is named check_1, check_2, ...
    check: dict[Identifier, Annotated[str, StringConstraints(min_length=1, max_length=10_000)]] = {}
    # Document targets (MongoDB): child tables whose rows are embedded as arrays in this table's
    # documents (each child must reference this table); they get no collection of their own.
    embed: list[Identifier] = []

    _lists = field_validator("primary_key", mode="before")(lambda cls, v: _as_list(v))

    @field_validator("check", mode="before")
    @classmethod
    def _checks(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [v]
        if isinstance(v, list):
            return {f"check_{i}": text for i, text in enumerate(v, 1)}
        return v

    @field_validator("rows", mode="before")
    @classmethod
    def _rows(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, int | dict):
            raise ValueError("rows must be a whole number or {per: <table>, distribution: ...}")
        if isinstance(v, int) and not 0 <= v <= MAX_ROWS:
            raise ValueError(f"rows must be between 0 and {MAX_ROWS:,}, got {v:,}")
        return v

    @model_validator(mode="after")
    def _rows_or_source(self) -> TableSpec:
        if self.rows is None and self.source is None:
            raise ValueError(
                "missing required field 'rows' (or `source:` for a table extracted "
                "from the source database)"
            )
        if self.rows is not None and self.source is not None:
            raise ValueError(
                "an extracted table (source:) takes its row count from the source; remove rows"
            )
        return self

    @property
    def all_foreign_keys(self) -> list[ForeignKeySpec]:
        """Table-level foreign keys plus the `references:` shorthand on columns."""
        fks = list(self.foreign_keys)
        for name, col in self.columns.items():
            if col.references:  # both parts validated already: no need to validate again
                fks.append(
                    ForeignKeySpec.model_construct(columns=[name], references=col.references)
                )
        return fks

    def per_parent_fk(self) -> ForeignKeySpec | None:
        """The foreign key whose parent rows this table's rows are counted per."""
        if not isinstance(self.rows, RowsPerParent):
            return None
        return next(
            (fk for fk in self.all_foreign_keys if fk.references.table == self.rows.per), None
        )

    def foreign_key_of(self, column: str) -> ForeignKeySpec | None:
        found = next((fk for fk in self.foreign_keys if column in fk.columns), None)
        col = self.columns.get(column)
        if found is None and col is not None and col.references:
            return ForeignKeySpec.model_construct(columns=[column], references=col.references)
        return found

    def nullable(self, column: str) -> bool:
        col = self.columns[column]
        return col.optional and column not in self.primary_key


class SourceSpec(StrictModel):
    """The database extracted tables are read from. Put secrets in ${VARIABLES}."""

    url: str


class MaskingPolicy(StrictModel):
    # Strategy per detected PII category (email, phone, first_name, ...), for columns without mask.
    defaults: dict[str, MaskSpec] = {}
    min_confidence: float = Field(0.5, gt=0.0, le=1.0)  # findings below this are only reported


class DatasetSpec(StrictModel):
    dataset: Identifier
    description: str | None = None
    source: SourceSpec | None = None
    masking: MaskingPolicy = MaskingPolicy()
    privacy: PrivacySpec | None = None  # None: left out of the version id (tdm.store.ids)
    # Extract only these rows and every row they need (tdm.source.subset); None: whole tables.
    subset: SubsetSpec | None = None
    seed: int = Field(0, ge=0, lt=2**63)
    locales: dict[str, float] = {"en_US": 1.0}
    batch_size: int = Field(10_000, gt=0, le=MAX_BATCH_SIZE)
    # Relative dates ('-5y') count from here. 'today' is resolved when the spec is loaded and is
    # then part of the version id, so a version stays reproducible.
    reference_date: dt.date | Literal["today"] = "today"

    @field_validator("reference_date", mode="before")
    @classmethod
    def _reference_date(cls, v: Any) -> Any:
        if v == "today" or isinstance(v, dt.date):
            return v
        try:
            return dt.date.fromisoformat(str(v))
        except ValueError:
            raise ValueError(
                f"reference_date must be 'today' or a date like 2026-01-31, got {v!r}"
            ) from None

    tables: dict[Identifier, TableSpec] = Field(min_length=1)

    @field_validator("locales", mode="before")
    @classmethod
    def _locales(cls, v: Any) -> Any:
        if isinstance(v, str):
            return {v: 1.0}
        if isinstance(v, list):
            return {loc: 1.0 for loc in v}
        return v

    @field_validator("locales")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ValueError("give at least one locale, e.g. en_US")
        if any(w <= 0 for w in v.values()):
            raise ValueError("locale weights must be > 0")
        return v

    @property
    def today(self) -> dt.date:
        return (
            dt.datetime.now(dt.UTC).date()
            if self.reference_date == "today"
            else self.reference_date
        )

    def resolved(self) -> DatasetSpec:
        """The spec with 'today' pinned to a date: what a version is built from."""
        return self.model_copy(update={"reference_date": self.today})

    def with_overrides(self, seed: int | None = None, scale: float | None = None) -> DatasetSpec:
        """The spec under another seed, or with every absolute row count multiplied by `scale`
        (rounded, at least 1 where it was at least 1)."""
        update: dict[str, Any] = {}
        if seed is not None:
            if not 0 <= seed < 2**63:
                raise TdmError(f"a seed is a whole number with 0 <= seed < 2**63, got {seed}")
            update["seed"] = seed
        if scale is not None and scale != 1:
            if not (math.isfinite(scale) and scale > 0):
                raise TdmError(f"the scale must be a finite number above 0, got {scale}")
            tables = {}
            for name, t in self.tables.items():
                if isinstance(t.rows, int) and t.rows:
                    scaled = t.rows * scale
                    if scaled > MAX_ROWS:
                        raise TdmError(
                            f"--scale {scale:g} gives {name} {scaled:.3g} rows; a table has at "
                            f"most {MAX_ROWS:,} rows"
                        )
                    t = t.model_copy(update={"rows": max(1, round(scaled))})
                tables[name] = t
            update["tables"] = tables
        return self.model_copy(update=update)
