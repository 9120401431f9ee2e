"""PostgreSQL CHECK expressions read with sqlglot: the columns they read, and the hints generation
can honour by construction (value lists, bounds, patterns, lengths, column-vs-column comparisons).

The input is what PostgreSQL prints: pg_get_constraintdef() without its `CHECK (...)`, or a domain
check where the checked value is written VALUE. Unquoted names fold to lower case, as in PostgreSQL.
Every hint is implied by the check (a row that passes the check satisfies it); `Hints.exact` says
whether the hints also imply the check. sqlglot is imported on first use."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, NamedTuple

from tdm.checks.model import Collector, Hints
from tdm.checks.terms import Read, Value, array_items, column, column_name, literal, unwrap
from tdm.core.errors import TdmError

if TYPE_CHECKING:
    from sqlglot import exp


class CheckSyntaxError(TdmError):
    """A CHECK expression that is not a PostgreSQL condition."""


_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>"}
_NEGATE = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "=": "<>", "<>": "="}
_PREFIX = re.compile(r"^\s*CHECK\s*(?=\()", re.IGNORECASE)
_SUFFIX = re.compile(r"\)\s*(?:NO\s+INHERIT|NOT\s+VALID|NOT\s+ENFORCED)\s*$", re.IGNORECASE)
_LIKE_SPECIAL = frozenset(".^$|?*+()[]{}\\")


class _Term(NamedTuple):
    """One side of a comparison: a column (`col`), a constant (`val`), the length of a column
    (`len`, measured in `chars`, `bytes` or `trim`: characters of btrim(x)), btrim(x) (`trim`)."""

    kind: str
    name: str = ""
    value: Value | None = None
    measure: str = ""


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


def hints(expr: str, value_column: str | None = None) -> Hints:
    """What generation can honour by construction; `exact` when that is the whole check."""
    acc = Collector(value_column)
    taken = [_take(node, neg, acc) for node, neg in _flat(parse(expr), False, want_and=True)]
    return acc.hints(exact=all(taken))


def _flat(node: exp.Expr, neg: bool, want_and: bool) -> list[tuple[exp.Expr, bool]]:
    """The operands of a chain of AND (or of OR), through parentheses and NOT, as (condition,
    negated) pairs: De Morgan's laws hold in SQL's three-valued logic."""
    from sqlglot import exp

    while isinstance(node, exp.Paren | exp.Not):
        neg ^= isinstance(node, exp.Not)
        node = node.this
    if isinstance(node, exp.And | exp.Or) and (isinstance(node, exp.And) != neg) == want_and:
        return _flat(node.this, neg, want_and) + _flat(node.expression, neg, want_and)
    return [(node, neg)]


def _is_null(node: exp.Expr, neg: bool, acc: Collector) -> str | None:
    """The column of `x IS NULL` (or of NOT `x IS NOT NULL`)."""
    from sqlglot import exp

    if not (isinstance(node, exp.Is) and isinstance(unwrap(node.expression), exp.Null)):
        return None
    return column(node.this, acc.value_column) if bool(node.args.get("negate")) == neg else None


def _take(node: exp.Expr, neg: bool, acc: Collector) -> bool:
    """Capture one condition (NOT-ed when `neg`) into `acc`; False when not captured whole."""
    from sqlglot import exp

    name = column(node.this, acc.value_column) if node.this is not None else None
    if isinstance(node, exp.And | exp.Or):
        return _take_or(_flat(node, neg, want_and=False), acc)
    if isinstance(node, exp.Is) and isinstance(unwrap(node.expression), exp.Null):
        if name is None or _is_null(node, neg, acc):
            return False  # `x IS NULL` alone forces NULL: no hint says that
        acc.col(name).not_null = True
        return True
    if node.key in _OPS:
        op = _NEGATE[_OPS[node.key]] if neg else _OPS[node.key]
        return _comparison(node.this, op, node.expression, acc)
    if isinstance(node, exp.Column):  # a boolean column
        return acc.values(column_name(node, acc.value_column), [not neg])
    if isinstance(node, exp.Boolean):
        return bool(node.this) != neg
    if neg or node.args.get("negate"):
        return False  # NOT IN, NOT BETWEEN, !~, NOT LIKE
    if isinstance(node, exp.Between) and not node.args.get("symmetric"):
        return _between(node, acc)
    if isinstance(node, exp.In) and not any(node.args.get(k) for k in ("query", "unnest", "field")):
        return _values(name, [literal(e) for e in node.expressions], acc)
    if isinstance(node, exp.RegexpLike | exp.RegexpILike) and name is not None:
        ok, pattern = literal(node.expression)
        flags = literal(node.args.get("flag"))[1] if node.args.get("flag") else ""
        if not ok or not isinstance(pattern, str) or flags not in ("", "c", "i"):
            return False
        return acc.regex(name, pattern, isinstance(node, exp.RegexpILike) or flags == "i")
    if isinstance(node, exp.Like | exp.ILike | exp.Escape):
        return _like(node, acc)
    return False


def _take_or(disjuncts: list[tuple[exp.Expr, bool]], acc: Collector) -> bool:
    """`x IS NULL OR <conditions on x>`, and OR-ed value lists of one column; nothing else (a hint
    from one side of an OR is not implied by the check)."""
    nulls, subs = set[str](), list[Collector]()
    for node, neg in disjuncts:
        name = _is_null(node, neg, acc)
        if name is not None:
            nulls.add(name)
            continue
        sub = Collector(acc.value_column)
        if not all([_take(n, g, sub) for n, g in _flat(node, neg, want_and=True)]):
            return False
        subs.append(sub)
    if len(subs) == 1 and len(nulls) == 1:
        (name,) = nulls
        if not subs[0].only(name):
            return False
        subs[0].col(name).nullable_ok = True
        return acc.merge(subs[0])
    names = {sub.values_only() for sub in subs}
    if len(subs) < 2 or len(names) != 1 or None in names or not nulls <= names:
        return False
    (name,) = names
    union = Collector(acc.value_column)
    union.values(name, [v for sub in subs for v in sub.col(name).values or []])
    union.col(name).nullable_ok = bool(nulls)
    return acc.merge(union)


def _values(name: str | None, items: list[Read] | None, acc: Collector) -> bool:
    """`name IN (items)`; a NULL among the items lets every value pass, so it is not captured."""
    if name is None or items is None or not all(ok and v is not None for ok, v in items):
        return False
    return acc.values(name, [v for _, v in items if v is not None])


def _term(node: exp.Expr, acc: Collector) -> _Term | None:
    from sqlglot import exp

    name = column(node, acc.value_column)
    if name is not None:
        return _Term("col", name)
    ok, value = literal(node)
    if ok:
        return _Term("val", value=value)
    node = unwrap(node)
    if isinstance(node, exp.Trim) and not node.expression:
        name = column(node.this, acc.value_column)
        return _Term("trim", name) if name is not None else None
    args, measure = list[exp.Expr](), "chars"
    if isinstance(node, exp.Length) and not node.args.get("encoding"):
        args = [node.this]
    elif isinstance(node, exp.Anonymous) and node.name.lower() == "octet_length":
        args, measure = list(node.expressions), "bytes"
    inner = _term(args[0], acc) if len(args) == 1 else None
    if inner is not None and inner.kind == "trim" and measure == "chars":
        return _Term("len", inner.name, measure="trim")
    return _Term("len", inner.name, measure=measure) if inner and inner.kind == "col" else None


def _comparison(left: exp.Expr, op: str, right: exp.Expr, acc: Collector) -> bool:
    from sqlglot import exp

    if isinstance(unwrap(right), exp.Any):
        items = array_items(unwrap(right).this)
        return op == "=" and _values(column(left, acc.value_column), items, acc)
    lhs, rhs = _term(left, acc), _term(right, acc)
    if lhs is None or rhs is None:
        return False
    if lhs.kind == "val":
        lhs, rhs, op = rhs, lhs, _FLIP[op]
    if rhs.kind == "col":
        return lhs.kind == "col" and acc.pair(lhs.name, op, rhs.name)
    value = rhs.value
    if rhs.kind != "val" or value is None:
        return False
    if lhs.kind == "col" and op in ("=", "<>"):
        if op == "=":
            return acc.values(lhs.name, [value])
        if value == "":
            acc.lengths(lhs.name, 1, None)
        return value == ""
    if lhs.kind == "col":
        return acc.bound(lhs.name, value, op)
    if lhs.kind == "trim":
        if op == "<>" and value == "":
            acc.not_empty(lhs.name)
        return op == "<>" and value == ""
    if not isinstance(value, int) or isinstance(value, bool) or op == "<>":
        return False
    low = {">": value + 1, ">=": value, "=": value}.get(op)
    high = {"<": value - 1, "<=": value, "=": value}.get(op)
    return _length(lhs, low, high, acc)


def _length(term: _Term, low: int | None, high: int | None, acc: Collector) -> bool:
    """`low <= length(term) <= high`."""
    if term.measure == "chars":
        acc.lengths(term.name, low, high)
        return True
    if term.measure == "bytes":  # bytes >= characters: only an upper bound carries over
        acc.lengths(term.name, None, high)
        hint = acc.col(term.name)
        lo, hi = hint.octets
        hint.octets = (
            low if lo is None else max(lo, low or lo),
            high if hi is None else min(hi, high if high is not None else hi),
        )
        return False
    if low is not None and low >= 1:  # length(btrim(x)) >= n: not blank, at least n long
        acc.not_empty(term.name)
        acc.lengths(term.name, low, None)
    return low == 1 and high is None


def _between(node: exp.Between, acc: Collector) -> bool:
    term = _term(node.this, acc)
    (ok_low, low), (ok_high, high) = literal(node.args["low"]), literal(node.args["high"])
    if term is None or not (ok_low and ok_high):
        return False
    if term.kind == "col":
        return all([acc.bound(term.name, low, ">="), acc.bound(term.name, high, "<=")])
    if term.kind != "len" or type(low) is not int or type(high) is not int:
        return False
    return _length(term, low, high, acc)


def _like(node: exp.Expr, acc: Collector) -> bool:
    """LIKE / ILIKE, captured as an anchored regular expression."""
    from sqlglot import exp

    escape: Value | None = "\\"
    if isinstance(node, exp.Escape):
        ok, escape = literal(node.expression)
        node = node.this
        if not ok or node.args.get("negate"):
            return False
    name, (ok, pattern) = column(node.this, acc.value_column), literal(node.expression)
    if name is None or not ok or not isinstance(pattern, str):
        return False
    if not isinstance(escape, str) or len(escape) > 1:
        return False
    out, chars = ["^"], iter(pattern)
    for ch in chars:
        if escape and ch == escape:
            escaped = next(chars, None)
            if escaped is None:
                return False  # PostgreSQL: LIKE pattern must not end with escape character
            out.append("\\" + escaped if escaped in _LIKE_SPECIAL else escaped)
        else:
            out.append({"%": ".*", "_": "."}.get(ch, "\\" + ch if ch in _LIKE_SPECIAL else ch))
    return acc.regex(name, "".join(out) + "$", isinstance(node, exp.ILike))
