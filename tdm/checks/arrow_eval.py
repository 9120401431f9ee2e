"""The plainest PostgreSQL expressions evaluated by Arrow compute, without a DuckDB query.

Conditions and computed columns are mostly a column compared with a constant (`method = 'card'`,
`status IN (...)`, `ship_days IS NOT NULL`), two columns compared, or a little arithmetic
(`quantity * unit_price`, `ordered_at + ship_days * interval '1 day'`). DuckDB evaluates any of
them in ~7 ms per 100k-row batch, its fixed cost mostly (~0.4 s of a 1M-row retail run): the
forms below take Arrow a fraction of a millisecond. The meaning is SQL's, as in DuckDB: NULL
propagates, AND/OR/NOT are three-valued, x IN (...) is NULL for a NULL x, integer and interval
arithmetic raise on overflow, decimals are exact. Only these forms, on these types, are taken:

- a column; a string or integer constant; TRUE/FALSE;
- =, <>, <, <=, >, >= between two strings, integers, floats, decimals or booleans, a float and
  an integer, or two columns of one date or timestamp type;
- a decimal and an integer constant compared (the constant in the decimal's type, if it fits);
- x IN (constants of x's kind), x IS [NOT] NULL, x IS [NOT] TRUE/FALSE, x IS [NOT] DISTINCT
  FROM y, AND, OR, NOT; coalesce(a, b, ...) of booleans, or of integers or decimals of one type
  with integer constants; CAST of integers or decimals AS numeric(p, s) losing no digit;
- +, - and * of integers, floats and decimals (an integer with a decimal included); a timestamp
  plus or minus an integer times (or just) an interval of seconds, minutes, hours, days or weeks.

Anything else, or any error (an overflow, a type not listed), returns None, and the caller asks
DuckDB, which gives its own result or message (tdm.checks.evaluate).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from tdm.checks.parse import parse
from tdm.checks.terms import column_name, literal, unwrap

Node = Callable[[pa.Table], pa.Array | pa.ChunkedArray | pa.Scalar]

_MICROS = {"SECOND": 10**6, "MINUTE": 60 * 10**6, "HOUR": 3600 * 10**6, "DAY": 86400 * 10**6}
_MICROS["WEEK"] = 7 * _MICROS["DAY"]
_UNITS = {"s": 10**6, "ms": 10**3, "us": 1, "ns": None}  # micros per unit (ns: not taken)


class _Unsupported(Exception):
    pass


def evaluate(expr: str, table: pa.Table, value_column: str | None = None) -> pa.Array | None:
    """The expression on every row of `table` (an array of its rows), or None when it is not one
    of the forms above or Arrow fails on it."""
    run = _compile(expr, value_column)
    if run is None:
        return None
    try:
        out = run(table)
    except (_Unsupported, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if isinstance(out, pa.Scalar):
        return None  # reads no column: DuckDB's answer, not a broadcast
    return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out


@functools.lru_cache(maxsize=4096)
def _compile(expr: str, value_column: str | None) -> Node | None:
    try:
        return _node(parse(expr), value_column)
    except _Unsupported:
        return None
    except Exception:  # a parse error: DuckDB's path reports it
        return None


def _node(node, value_column: str | None) -> Node:  # one branch per form
    from sqlglot import exp

    node = unwrap(node)
    if isinstance(node, exp.Column):
        name = column_name(node, value_column)
        return lambda t: _column(t, name)
    if isinstance(node, exp.Literal | exp.Boolean | exp.Neg):
        ok, value = literal(node)
        if not ok or not isinstance(value, str | bool | int) or value is None:
            raise _Unsupported
        scalar = pa.scalar(value, pa.int64() if type(value) is int else None)
        return lambda t: scalar
    if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
        compare = _COMPARE[type(node).__name__]
        left, right = _node(node.this, value_column), _node(node.expression, value_column)
        return lambda t: _compared(compare, left(t), right(t))
    if isinstance(node, exp.In):
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise _Unsupported
        values = [literal(e) for e in node.expressions]
        if not values or not all(ok and isinstance(v, str | int) for ok, v in values):
            raise _Unsupported
        kinds = {type(v) for _, v in values}
        if len(kinds) > 1 or bool in kinds:
            raise _Unsupported
        this = _node(node.this, value_column)
        return lambda t: _within(this(t), [v for _, v in values])
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        this = _node(node.this, value_column)
        test = pc.is_valid if node.args.get("negate") else pc.is_null
        return lambda t: test(_array(this(t)))
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Boolean):
        this, truth = _node(node.this, value_column), node.expression.this
        flip = bool(node.args.get("negate"))
        return lambda t: _is(_boolean(_array(this(t))), truth, flip)
    if isinstance(node, exp.NullSafeEQ | exp.NullSafeNEQ):
        left, right = _node(node.this, value_column), _node(node.expression, value_column)
        same = isinstance(node, exp.NullSafeEQ)
        return lambda t: _not_distinct(left(t), right(t), same)
    if isinstance(node, exp.Cast):
        this, to = _node(node.this, value_column), _decimal(node.args["to"])
        return lambda t: _cast(this(t), to)
    if isinstance(node, exp.And | exp.Or):
        both = pc.and_kleene if isinstance(node, exp.And) else pc.or_kleene
        left, right = _node(node.this, value_column), _node(node.expression, value_column)
        return lambda t: both(_boolean(left(t)), _boolean(right(t)))
    if isinstance(node, exp.Not):
        this = _node(node.this, value_column)
        return lambda t: pc.invert(_boolean(this(t)))
    if isinstance(node, exp.Coalesce):
        parts = [_node(p, value_column) for p in [node.this, *node.expressions]]
        return lambda t: _coalesced([p(t) for p in parts])
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        return _arithmetic(node, value_column)
    raise _Unsupported


def _column(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise _Unsupported
    column = table.column(name)
    if isinstance(column.type, pa.BaseExtensionType):
        raise _Unsupported
    return column


def _array(value) -> pa.Array | pa.ChunkedArray:
    if isinstance(value, pa.Scalar):
        raise _Unsupported
    return value


_KINDS = (
    ("text", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
    ("int", pa.types.is_integer),
    ("float", pa.types.is_floating),
    ("bool", pa.types.is_boolean),
    ("decimal", pa.types.is_decimal),
    ("timestamp", pa.types.is_timestamp),
    ("date", pa.types.is_date),
)


def _kind(value) -> str:
    return next((kind for kind, test in _KINDS if test(value.type)), "other")


def _boolean(value):
    if _kind(value) != "bool":
        raise _Unsupported
    return value


_COMPARE = {
    "EQ": pc.equal,
    "NEQ": pc.not_equal,
    "GT": pc.greater,
    "GTE": pc.greater_equal,
    "LT": pc.less,
    "LTE": pc.less_equal,
}
_COMPARABLE = {("text", "text"), ("int", "int"), ("float", "float"), ("float", "int"),
               ("int", "float"), ("bool", "bool"), ("decimal", "decimal")}  # fmt: skip


def _is(value, truth: bool, flip: bool):
    """x IS TRUE / IS FALSE (never NULL), or IS NOT ... with `flip`."""
    out = pc.fill_null(value if truth else pc.invert(value), False)
    return pc.invert(out) if flip else out


def _not_distinct(left, right, same: bool):
    """x IS NOT DISTINCT FROM y (`same`), or IS DISTINCT FROM: NULLs compare equal, never NULL."""
    equal = _compared(pc.equal, left, right)
    both = pc.and_(pc.is_null(left), pc.is_null(right))
    out = pc.or_(pc.fill_null(equal, False), both)
    return out if same else pc.invert(out)


def _decimal(dtype) -> pa.DataType:
    """The Arrow type of CAST(... AS numeric(p, s)); _Unsupported for any other type."""
    from sqlglot import exp

    params = [p.this for p in dtype.expressions if isinstance(p, exp.DataTypeParam)]
    if dtype.this != exp.DataType.Type.DECIMAL or len(params) != 2:
        raise _Unsupported  # other types, and numeric without a scale: DuckDB's
    precision, scale = (int(p.this) for p in params)
    if not 0 <= scale <= precision <= 38:
        raise _Unsupported
    return pa.decimal128(precision, scale)


def _cast(value, to: pa.DataType):
    """Integers and decimals into numeric(p, s), when no digit is lost (rounding: DuckDB's)."""
    if _kind(value) not in ("int", "decimal") or isinstance(value, pa.Scalar):
        raise _Unsupported
    return value.cast(to)  # safe: ArrowInvalid where a value would be rounded or not fit


def _constant(scalar: pa.Scalar, to: pa.DataType) -> pa.Scalar:
    """An integer constant in `to` (a decimal or integer type), exactly; ArrowInvalid when it
    does not fit (the caller then leaves it to DuckDB)."""
    if pa.types.is_decimal(to):
        return pa.scalar(Decimal(scalar.as_py()), to)
    return scalar.cast(to)


def _coalesced(values: list):
    """coalesce of booleans, or of integers or decimals of one type with integer constants."""
    first = _array(values[0])
    kind = _kind(first)
    if kind == "bool":
        return pc.coalesce(*(_boolean(v) for v in values))
    if kind not in ("int", "decimal"):
        raise _Unsupported
    rest = []
    for v in values[1:]:
        if isinstance(v, pa.Scalar) and _kind(v) == "int":
            v = _constant(v, first.type)
        elif v.type != first.type:
            raise _Unsupported
        rest.append(v)
    return pc.coalesce(first, *rest)


def _compared(compare, left, right):
    if _kind(left) == "decimal" and isinstance(right, pa.Scalar) and _kind(right) == "int":
        right = _constant(right, left.type)  # amount <> 0
    if _kind(right) == "decimal" and isinstance(left, pa.Scalar) and _kind(left) == "int":
        left = _constant(left, right.type)
    kinds = (_kind(left), _kind(right))
    same_type = left.type == right.type and kinds[0] in ("timestamp", "date")
    if kinds not in _COMPARABLE and not same_type:
        raise _Unsupported
    if isinstance(left, pa.Scalar) and isinstance(right, pa.Scalar):
        raise _Unsupported
    return compare(left, right)


def _within(value, values: list):
    value = _array(value)
    kind = _kind(value)
    if kind != ("text" if isinstance(values[0], str) else "int"):
        raise _Unsupported
    found = pc.is_in(value, value_set=pa.array(values, value.type))
    return pc.if_else(pc.is_null(value), pa.scalar(None, pa.bool_()), found)  # NULL IN (...)


def _arithmetic(node, value_column: str | None) -> Node:
    from sqlglot import exp

    sign = {exp.Add: 1, exp.Sub: -1, exp.Mul: 0}[type(node)]
    left, right = node.this, node.expression
    if sign and _has_interval(right):  # timestamp +/- interval
        stamps, span = _node(left, value_column), _span(right, value_column)
        return lambda t: _shifted(stamps(t), span(t), sign)
    a, b = _node(left, value_column), _node(right, value_column)
    op = {1: pc.add_checked, -1: pc.subtract_checked, 0: pc.multiply_checked}[sign]
    return lambda t: _numbers(op, a(t), b(t))


def _numbers(op, a, b):
    kinds = {_kind(a), _kind(b)}
    if not kinds <= {"int", "float", "decimal"} or kinds == {"float", "decimal"}:
        raise _Unsupported
    if isinstance(a, pa.Scalar) and isinstance(b, pa.Scalar):
        raise _Unsupported
    return op(a, b)


def _has_interval(node) -> bool:
    from sqlglot import exp

    return any(isinstance(n, exp.Interval) for n in node.walk())


def _interval(node) -> int | None:
    """Microseconds of an interval constant of one fixed unit (interval '1 day'), else None."""
    from sqlglot import exp

    node = unwrap(node)
    if not isinstance(node, exp.Interval):
        return None
    unit = node.args.get("unit")
    ok, amount = literal(node.this)
    if unit is None or not ok or not isinstance(amount, str):
        return None
    name = unit.name.upper().rstrip("S")
    try:
        count = int(amount.strip())
    except ValueError:
        return None
    return count * _MICROS[name] if name in _MICROS else None


def _span(node, value_column: str | None) -> Callable[[pa.Table], tuple[object, int]]:
    """An interval, or an integer times (or times by) one: (the integers or 1, microseconds)."""
    from sqlglot import exp

    node = unwrap(node)
    micros = _interval(node)
    if micros is not None:
        return lambda t: (None, micros)
    if isinstance(node, exp.Mul):
        for count, interval in ((node.this, node.expression), (node.expression, node.this)):
            micros = _interval(interval)
            if micros is not None and _interval(count) is None:
                times = _node(count, value_column)
                return lambda t: (times(t), micros)
    raise _Unsupported


def _shifted(stamps, span: tuple[object, int], sign: int):
    times, micros = span
    if _kind(stamps) != "timestamp" or isinstance(stamps, pa.Scalar):
        raise _Unsupported
    unit = _UNITS.get(stamps.type.unit)
    if unit is None or micros % unit:
        raise _Unsupported
    step = micros // unit
    if times is None:
        amount = pa.scalar(step, pa.int64())
    else:
        if _kind(times) != "int" or isinstance(times, pa.Scalar):
            raise _Unsupported
        amount = pc.multiply_checked(times.cast(pa.int64()), pa.scalar(step, pa.int64()))
    duration = amount.cast(pa.duration(stamps.type.unit))
    return (pc.add_checked if sign > 0 else pc.subtract_checked)(stamps, duration)
