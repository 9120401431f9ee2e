"""The spec's `subset:` block: which rows of the source to extract, closed over foreign keys so
the subset loads with every constraint enforced (tdm.source.subset computes it; docs/source.md).

    subset:
      roots:
        - {table: orders, where: "ordered_at >= now() - interval '30 days'"}
        - {table: customers, percent: 5}
      children: {max_per_parent: 10}      # or true
      relationships:                       # foreign keys the database does not declare
        - {columns: events.user_ref, references: users.id}
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from tdm.core.errors import Problem, did_you_mean, problem_at
from tdm.core.names import IDENTIFIER, IDENTIFIER_MAX

Name = Annotated[str, StringConstraints(pattern=IDENTIFIER, max_length=IDENTIFIER_MAX)]
_COLUMNS = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\.\s*([A-Za-z_]\w*)|\(([^)]*)\))\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubsetRoot(_Strict):
    """Rows a subset starts from: those meeting `where` (SQL over the table), a deterministic
    `percent` of them (by a hash of the row's key and the seed), or all rows when neither."""

    table: Name
    where: str | None = Field(None, min_length=1, max_length=10_000)
    percent: float | None = Field(None, gt=0, le=100)


class ChildrenSpec(_Strict):
    """Also take the rows that reference chosen rows; at most `max_per_parent` per parent row
    and foreign key (the first by the child's key), and never into the tables in `skip`."""

    max_per_parent: int | None = Field(None, ge=1)
    skip: list[Name] = []


class Relationship(_Strict):
    """A foreign key the database does not declare: `events.user_ref -> users.id`, or
    `events(a, b) -> users(x, y)`."""

    table: Name
    columns: list[Name] = Field(min_length=1)
    parent: Name
    parent_columns: list[Name] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, v: Any) -> Any:
        if not isinstance(v, dict) or "parent" in v:
            return v
        if set(v) != {"columns", "references"}:
            raise ValueError("write {columns: table.column, references: table.column}")
        child, parent = _split(v["columns"]), _split(v["references"])
        if len(child[1]) != len(parent[1]):
            raise ValueError(
                f"{len(child[1])} column(s) reference {len(parent[1])}: give as many on each side"
            )
        return {"table": child[0], "columns": child[1], "parent": parent[0],
                "parent_columns": parent[1]}  # fmt: skip


def _split(text: Any) -> tuple[str, list[str]]:
    m = _COLUMNS.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"cannot read {text!r}; write 'table.column' or 'table(col_a, col_b)'")
    table, one, many = m.groups()
    return table, [one] if one else [c.strip() for c in many.split(",") if c.strip()]


class SubsetSpec(_Strict):
    roots: list[SubsetRoot] = Field(min_length=1)
    children: bool | ChildrenSpec = False
    relationships: list[Relationship] = []

    @field_validator("children", mode="before")
    @classmethod
    def _children(cls, v: Any) -> Any:
        if not isinstance(v, bool | dict | ChildrenSpec):
            raise ValueError("children is true, false or {max_per_parent: N, skip: [tables]}")
        return v

    @property
    def child_rules(self) -> ChildrenSpec | None:
        """How children are taken, or None when they are not."""
        if self.children is True:
            return ChildrenSpec()
        return self.children or None


def subset_problems(subset: SubsetSpec, tables: dict[str, Any], has_source: bool) -> list[Problem]:
    """What the spec's tables say about `subset:`: it needs a source, and every table and column
    it names must be an extracted table (and its column) of the spec."""
    if not has_source:
        return [problem_at(("subset",), "subset: needs a source: to take the rows from",
                           "add source: {url: ...} and source: true on the tables")]  # fmt: skip
    out: list[Problem] = []
    extracted = [t for t, s in tables.items() if s.source is not None]

    def table(at: tuple, name: str) -> bool:
        if name in extracted:
            return True
        hint = did_you_mean(name, extracted)
        out.append(problem_at(at, f"{name!r} is not an extracted table of this spec",
                              hint or f"name one of: {', '.join(extracted)}"))  # fmt: skip
        return False

    def columns(at: tuple, name: str, cols: list[str]) -> None:
        for c in cols:
            if c not in tables[name].columns:
                out.append(problem_at(at, f"{name} has no column {c!r}",
                                      did_you_mean(c, tables[name].columns)))  # fmt: skip

    for name in extracted:
        if tables[name].source.where:
            out.append(problem_at(("tables", name, "source", "where"),
                "with subset:, a table's rows are chosen by the subset; source.where could "
                "leave out a row a chosen row needs", "write it as a root: "
                f"subset.roots: [{{table: {name}, where: ...}}]"))  # fmt: skip
    for i, root in enumerate(subset.roots):
        table(("subset", "roots", i, "table"), root.table)
    rules = subset.child_rules
    for i, name in enumerate(rules.skip if rules else []):
        table(("subset", "children", "skip", i), name)
    for i, rel in enumerate(subset.relationships):
        at = ("subset", "relationships", i)
        if table((*at, "columns"), rel.table):
            columns((*at, "columns"), rel.table, rel.columns)
        if table((*at, "references"), rel.parent):
            columns((*at, "references"), rel.parent, rel.parent_columns)
    return out
