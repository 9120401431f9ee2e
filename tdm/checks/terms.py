"""The leaves of a PostgreSQL CHECK expression as printed. Constants as Python values:
`'a'::character varying`, `(0)::numeric`, `'-1'::integer`, `(- 1.5)`, `'1900-01-01'::date`,
`ARRAY[...]`, `'{a,b}'::text[]`. Columns by name (unquoted names fold to lower case, VALUE stands
for a domain's column), through the casts that keep their value (`(x)::text`)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlglot import exp

Value = str | int | float | Decimal | bool | dt.date  # dt.datetime is a dt.date
Bound = int | float | Decimal | dt.date
Read = tuple[bool, Value | None]  # (understood, value); None for NULL

TEXT = frozenset({"TEXT", "VARCHAR", "NVARCHAR", "BPCHAR", "NAME"})  # not char: char(1)
INTEGER = frozenset({"TINYINT", "SMALLINT", "INT", "MEDIUMINT", "BIGINT"})
FLOAT = frozenset({"DOUBLE", "FLOAT"})
_INT = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+)")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")
_TRUE = frozenset({"t", "true", "y", "yes", "on", "1"})
_FALSE = frozenset({"f", "false", "n", "no", "off", "0"})


def unwrap(node: exp.Expr) -> exp.Expr:
    """`node` without the parentheses around it."""
    from sqlglot import exp

    while isinstance(node, exp.Paren):
        node = node.this
    return node


def type_name(dtype: exp.DataType) -> str:
    """DECIMAL, TEXT, ...; with `()` appended when the type has parameters (numeric(5,2))."""
    return dtype.this.name + ("()" if dtype.expressions else "")


def transparent(dtype: exp.DataType) -> bool:
    """Whether a cast of a column to this type keeps its value (text to text, number to numeric)."""
    return type_name(dtype) in TEXT | {"DECIMAL", "DOUBLE"}


def column_name(node: exp.Column, value_column: str | None) -> str:
    """A column's name: unquoted names fold to lower case; VALUE stands for `value_column`."""
    ident = node.args["this"]
    if ident.args.get("quoted"):
        return ident.name
    name = ident.name.lower()
    return value_column if value_column is not None and name == "value" else name


def column(node: exp.Expr, value_column: str | None) -> str | None:
    """The column `node` reads as it is (through parentheses and lossless casts), or None."""
    from sqlglot import exp

    node = unwrap(node)
    while isinstance(node, exp.Cast) and transparent(node.args["to"]):
        node = unwrap(node.this)
    return column_name(node, value_column) if isinstance(node, exp.Column) else None


def number(text: str) -> Read:
    """A numeric literal: int, Decimal when written with a point, float with an exponent."""
    text = text.strip()
    if _INT.fullmatch(text):
        return True, int(text)
    if _DECIMAL.fullmatch(text):
        return True, Decimal(text)
    if _FLOAT.fullmatch(text):
        return True, float(text)
    return False, None


def literal(node: exp.Expr | None) -> Read:
    """The constant `node` is, when it is one."""
    from sqlglot import exp

    if node is None:
        return False, None
    node = unwrap(node)
    if isinstance(node, exp.Neg):
        ok, value = literal(node.this)
        if ok and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return True, -value
        return False, None
    if isinstance(node, exp.Literal):
        return (True, node.this) if node.is_string else number(node.this)
    if isinstance(node, exp.Boolean):
        return True, bool(node.this)
    if isinstance(node, exp.Null):
        return True, None
    if isinstance(node, exp.Cast):
        ok, value = literal(node.this)
        return convert(value, node.args["to"]) if ok and value is not None else (ok, value)
    return False, None


def convert(value: Value, dtype: exp.DataType) -> Read:
    """`value::dtype` as PostgreSQL computes it, for the types whose constants it prints."""
    name = type_name(dtype)
    text = value if isinstance(value, str) else None
    if name in TEXT:
        if text is not None or (isinstance(value, int | Decimal) and not isinstance(value, bool)):
            return True, str(value)
    elif name in INTEGER:
        ok, read = number(text) if text is not None else (True, value)
        if ok and isinstance(read, int) and not isinstance(read, bool):
            return True, read
    elif name == "DECIMAL" or name in FLOAT:
        ok, read = number(text) if text is not None else (True, value)
        if ok and isinstance(read, int | Decimal | float) and not isinstance(read, bool):
            return True, float(read) if name in FLOAT and isinstance(read, Decimal) else read
    elif name == "BOOLEAN":
        if isinstance(value, bool) or (text is not None and text.lower() in _TRUE | _FALSE):
            return True, value if isinstance(value, bool) else text.lower() in _TRUE
    elif text is not None and name in ("DATE", "TIMESTAMP", "TIMESTAMPTZ"):
        try:
            if name == "DATE":
                return True, dt.date.fromisoformat(text.strip())
            stamp = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return False, None
        if (stamp.tzinfo is not None) == (name == "TIMESTAMPTZ"):
            return True, stamp
    return False, None


def array_items(node: exp.Expr) -> list[Read] | None:
    """The elements of `ARRAY[...]` or `'{...}'::type[]` (through casts), or None."""
    from sqlglot import exp

    node = unwrap(node)
    if isinstance(node, exp.Array):
        return [literal(e) for e in node.expressions]
    if not (isinstance(node, exp.Cast) and node.args["to"].this == exp.DataType.Type.ARRAY):
        return None
    element = node.args["to"].expressions[0] if node.args["to"].expressions else None
    inner = unwrap(node.this)
    if isinstance(inner, exp.Literal) and inner.is_string:
        texts = pg_array(inner.this)
        items: list[Read] | None = None if texts is None else [(True, t) for t in texts]
    else:
        items = array_items(inner)
    if items is None or element is None:
        return items
    return [convert(v, element) if ok and v is not None else (ok, v) for ok, v in items]


def pg_array(text: str) -> list[str | None] | None:
    """A one-dimensional PostgreSQL array literal (`{a,"b c",NULL}`) as its element texts."""
    text = text.strip()
    if len(text) < 2 or text[0] != "{" or text[-1] != "}":
        return None
    body, items, i = text[1:-1], [], 0
    if not body.strip():
        return []
    while True:
        while i < len(body) and body[i].isspace():
            i += 1
        quoted, chars = i < len(body) and body[i] == '"', []
        i += quoted
        while i < len(body) and ((quoted and body[i] != '"') or (not quoted and body[i] != ",")):
            if body[i] in '{}"' and not quoted:
                return None  # nested arrays and stray quotes
            if body[i] == "\\":
                i += 1
            chars.append(body[i : i + 1])
            i += 1
        if quoted:
            if i >= len(body):
                return None
            i += 1
        item = "".join(chars) if quoted else "".join(chars).strip()
        items.append(None if not quoted and item.upper() == "NULL" else item)
        while i < len(body) and body[i].isspace():
            i += 1
        if i >= len(body):
            return items
        if body[i] != ",":
            return None
        i += 1
