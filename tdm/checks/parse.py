"""PostgreSQL CHECK expressions read with sqlglot: parsed once each, the columns they read, and
their names qualified or not (the hints generation takes from them: tdm.checks.hints).

The input is what PostgreSQL prints: pg_get_constraintdef() without its `CHECK (...)`, or a domain
check where the checked value is written VALUE. Unquoted names fold to lower case, as in PostgreSQL.
sqlglot is imported on first use."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from tdm.checks.terms import column_name
from tdm.core.errors import TdmError

if TYPE_CHECKING:
    from sqlglot import exp


class CheckSyntaxError(TdmError):
    """A CHECK expression that is not a PostgreSQL condition."""


_PREFIX = re.compile(r"^\s*CHECK\s*(?=\()", re.IGNORECASE)
_SUFFIX = re.compile(r"\)\s*(?:NO\s+INHERIT|NOT\s+VALID|NOT\s+ENFORCED)\s*$", re.IGNORECASE)


def clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse(expr: str) -> exp.Expr:
    """The expression as a sqlglot tree; CheckSyntaxError when it is not a PostgreSQL condition."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, SqlglotError

    text = _PREFIX.sub("", expr)
    while match := _SUFFIX.search(text):  # pg_get_constraintdef's trailing NOT VALID / NO INHERIT
        text = text[: match.start() + 1]
    where = f'the CHECK expression "{clip(expr)}"'
    if not text.strip():
        raise CheckSyntaxError(f"{where} is empty")
    try:
        tree = sqlglot.parse_one(text, read="postgres")
    except ParseError as error:
        first = error.errors[0] if error.errors else {}
        reason = str(first.get("description") or error).splitlines()[0]
        reason = re.sub(r"<class '(?:[\w.]+\.)?(\w+)'>", r"\1", reason)
        if first.get("line") is not None:
            reason += f" (line {first['line']}, column {first.get('col')})"
        raise CheckSyntaxError(f"cannot parse {where}: {reason}") from None
    except SqlglotError as error:
        raise CheckSyntaxError(f"cannot parse {where}: {str(error).splitlines()[0]}") from None
    if not isinstance(tree, exp.Condition | exp.Filter):  # FILTER: an aggregate, as written
        raise CheckSyntaxError(f"{where} is not a condition but a {tree.key.upper()} statement")
    if tree.find(exp.Query, exp.Subquery):
        raise CheckSyntaxError(
            f"{where} has a subquery, which PostgreSQL does not allow in a CHECK"
        )
    return tree


@functools.lru_cache(maxsize=4096)
def qualified(expr: str) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The columns the expression reads unqualified (its own row's), and those it reads as
    table.column, in the order they first appear, outside aggregates (those read child rows:
    tdm.checks.aggregate); parsed once per expression, like columns_of: generation asks for
    every batch."""
    from sqlglot import exp

    own, other = {}, {}
    for c in parse(expr).find_all(exp.Column, bfs=False):
        if c.find_ancestor(exp.AggFunc, exp.Filter) is not None:
            continue
        if c.table:
            other[(c.table.lower(), column_name(c, None))] = None
        else:
            own[column_name(c, None)] = None
    return tuple(own), tuple(other)


def unqualified(expr: str, names: dict[tuple[str, str], str]) -> str:
    """The expression (PostgreSQL) with each table.column in `names` read as the quoted column
    names[(table, column)] of the row instead."""
    return _unqualified(expr, tuple(sorted(names.items())))


@functools.lru_cache(maxsize=4096)
def _unqualified(expr: str, pairs: tuple) -> str:
    from sqlglot import exp

    names = dict(pairs)

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.table:
            key = (node.table.lower(), column_name(node, None))
            if key in names:
                return exp.column(exp.to_identifier(names[key], quoted=True))
        return node

    return parse(expr).transform(swap).sql(dialect="postgres")


def columns_of(expr: str, value_column: str | None = None) -> list[str]:
    """The columns the expression reads, in the order they first appear."""
    return list(_columns(expr, value_column))


@functools.lru_cache(maxsize=4096)
def _columns(expr: str, value_column: str | None) -> tuple[str, ...]:
    """Parsing costs ~1 ms, and checks are read for every batch: once per expression."""
    from sqlglot import exp

    names = (column_name(c, value_column) for c in parse(expr).find_all(exp.Column, bfs=False))
    return tuple(dict.fromkeys(names))
