"""The parts of a table in the spec: columns, their masks and references, foreign keys.

`tdm.spec.model` builds tables and the dataset from them (and re-exports these names).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tdm.core.names import IDENTIFIER, IDENTIFIER_MAX
from tdm.core.types import LogicalType, parse_type

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER, max_length=IDENTIFIER_MAX)]

# Column keys that are not generator parameters.
COLUMN_FIELDS = (
    "type",
    "generator",
    "null_ratio",
    "unique",
    "description",
    "references",
    "mask",
    "allow",
    "expect",
    "sql_type",
    "when",
)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


_REF = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\.\s*([A-Za-z_]\w*)|\(([^)]*)\))?\s*$")


class Reference(StrictModel):
    table: Identifier
    columns: list[Identifier] | None = None  # None: the parent's primary key

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, v: Any) -> Any:
        """Accept 'customers', 'customers.id' and 'orders(order_id, line_no)'."""
        if not isinstance(v, str):
            if isinstance(v, dict) and "columns" in v:
                v = {**v, "columns": _as_list(v["columns"])}
            return v
        m = _REF.match(v)
        if not m:
            raise ValueError(
                f"cannot read reference {v!r}; write 'table', 'table.column' or "
                "'table(col_a, col_b)'"
            )
        table, one, many = m.groups()
        if one:
            return {"table": table, "columns": [one]}
        if many is not None:
            return {"table": table, "columns": [c.strip() for c in many.split(",") if c.strip()]}
        return {"table": table}


class MaskSpec(BaseModel):
    """`mask: email` or `mask: {strategy: partial, keep_last: 4}`: other keys are parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    strategy: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, v: Any) -> Any:
        return {"strategy": v} if isinstance(v, str) else v

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ColumnSpec(BaseModel):
    """One column. Keys other than COLUMN_FIELDS are parameters of its generator."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str
    generator: str | None = None
    null_ratio: float = Field(0.0, ge=0.0, le=1.0)
    unique: bool | None = None
    description: str | None = None
    references: Reference | None = None  # shorthand for a one-column foreign key
    mask: MaskSpec | None = None  # how values are masked before anything is written
    allow: str | None = None  # why this column may keep its values although it looks like PII
    expect: list[dict[str, Any]] = []  # extra GX expectations: {type: expect_..., <arguments>}
    # The database's own type of the column ('smallint', 'varchar(40)', 'order_status', ...):
    # what `tables: existing` loads check against; strings are cut to a varchar(n)/char(n) length.
    sql_type: str | None = Field(None, min_length=1, max_length=200)
    # A condition on other columns of the row (SQL, as in `check:`): where it does not hold the
    # value is NULL, elsewhere it is generated (`card_number ... when: "method = 'card'"`).
    when: str | None = Field(None, min_length=1, max_length=10_000)

    @field_validator("type")
    @classmethod
    def _known_type(cls, v: str) -> str:
        return str(parse_type(v))

    @property
    def logical(self) -> LogicalType:
        return parse_type(self.type)

    @property
    def optional(self) -> bool:
        """May be NULL by its spec: a null_ratio, a `when:`, or computed (NULL from NULL)."""
        return self.null_ratio > 0 or self.when is not None or self.generator == "expression"

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ForeignKeySpec(StrictModel):
    """Child columns that take their values from a parent row picked by index."""

    columns: list[Identifier] = Field(min_length=1)
    references: Reference
    # How parent rows are picked: uniformly, or skewed so a few parents get most children.
    distribution: Literal["uniform", "zipf"] = "uniform"
    a: float = Field(1.3, gt=1.0, description="zipf exponent when distribution is zipf")
    # In a per-parent table: the values inside one parent's group are all different (many-to-many).
    distinct_per_parent: bool = False

    _lists = field_validator("columns", mode="before")(lambda cls, v: _as_list(v))
