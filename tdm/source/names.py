"""Source table names and resolved tables: identifier parsing and quoting, the relation and
column descriptions a backend reports, and `_Target` (a spec table resolved against them)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql as _pg_dialect

from tdm.core.errors import TdmError
from tdm.spec.model import TableSpec

# Always-quoted identifiers ("a""b"): standard SQL, valid for PostgreSQL and SQLite alike.
_quote = _pg_dialect.dialect().identifier_preparer.quote_identifier
_NAME_PART = re.compile(r'\s*("(?:[^"]|"")+"|[^".]+)\s*(?:\.|$)')


@dataclass(frozen=True)
class _Column:
    name: str
    type: str  # as the source declares it, e.g. "numeric(10,2)"
    category: str  # PostgreSQL "typcategory:typname" of the (base) type; "" for SQLite
    notnull: bool


@dataclass(frozen=True)
class _Relation:
    sql: str  # quoted, e.g. "public"."customers"
    display: str  # for messages, e.g. public.customers
    kind: str  # table, view, ...
    columns: dict[str, _Column]
    heap: bool  # PostgreSQL: rows carry xmin


@dataclass(frozen=True)
class _Target:
    """A spec table resolved against the source: what every query about it needs."""

    name: str
    rel: _Relation
    key: tuple[str, ...]
    where: str | None

    @property
    def about(self) -> str:
        return f"table {self.name} (source {self.rel.kind} {self.rel.display})"

    def filter(self, *extra: str) -> str:
        conds = ([f"({self.where})"] if self.where else []) + list(extra)
        return f" WHERE {' AND '.join(conds)}" if conds else ""

    def order(self, descending: bool = False) -> str:
        """ORDER BY the source's key columns, qualified: a bare name would mean the output
        column of that name, which is the column cast to its spec type, whose order may differ
        from the key's (text vs number) and which no index serves. No key (a subsetted
        PostgreSQL table): the physical order, ctid."""
        if not self.key:
            return f"{self.rel.sql}.ctid" + (" DESC" if descending else "")
        return ", ".join(
            f"{self.rel.sql}.{_quote(k)}" + (" DESC" if descending else "") for k in self.key
        )

    def key_list(self) -> str:
        return ", ".join(_quote(k) for k in self.key)


def split_name(text: str) -> list[str]:
    """'schema.table' / '"My Schema"."Orders"' -> its parts, unquoted. Bare parts keep their case:
    the name is matched exactly as written."""
    parts, pos, text = [], 0, text.strip()
    while pos < len(text):
        m = _NAME_PART.match(text, pos)
        if not m or m.end() == pos:
            raise TdmError(
                f"cannot read the source table name {text!r}; write table, "
                'schema.table or "Quoted Name"'
            )
        part = m.group(1).strip()
        parts.append(part[1:-1].replace('""', '"') if part.startswith('"') else part)
        pos = m.end()
    if not 1 <= len(parts) <= 2 or text.endswith("."):
        raise TdmError(f"the source table name {text!r} should be table or schema.table")
    return parts


def _key_of(name: str, table: TableSpec) -> tuple[str, ...]:
    key = (table.source.key if table.source else None) or table.primary_key
    if not key:
        raise TdmError(
            f"table {name}: an extracted table needs a key to read it in batches (keyset "
            "pagination); declare primary_key, or source.key with columns unique in the source"
        )
    return tuple(key)
