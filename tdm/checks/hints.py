"""The hints generation can honour by construction from a PostgreSQL CHECK expression (value
lists, bounds, patterns, lengths, column-vs-column comparisons), read from the expression parsed
by tdm.checks.parse. Every hint is implied by the check (a row that passes the check satisfies
it); `Hints.exact` says whether the hints also imply the check."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from tdm.checks.model import Collector, Hints
from tdm.checks.parse import parse
from tdm.checks.terms import Read, Value, array_items, column, column_name, literal, unwrap

if TYPE_CHECKING:
    from sqlglot import exp

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "=", "neq": "<>"}
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>"}
_NEGATE = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "=": "<>", "<>": "="}
_LIKE_SPECIAL = frozenset(".^$|?*+()[]{}\\")


class _Term(NamedTuple):
    """One side of a comparison: a column (`col`), a constant (`val`), the length of a column
    (`len`, measured in `chars`, `bytes` or `trim`: characters of btrim(x)), btrim(x) (`trim`)."""

    kind: str
    name: str = ""
    value: Value | None = None
    measure: str = ""


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
