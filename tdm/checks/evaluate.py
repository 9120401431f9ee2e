"""PostgreSQL CHECK expressions evaluated on Arrow tables by DuckDB, vectorised: sqlglot translates
them (read postgres, write duckdb) with PostgreSQL's meaning kept where the dialects differ, and one
in-memory DuckDB query evaluates every check. sqlglot and duckdb are imported on first use."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.checks import arrow_eval
from tdm.checks.parse import clip, columns_of, parse
from tdm.checks.terms import TEXT, column_name, literal, pg_array, unwrap
from tdm.core.databases import quote_identifier
from tdm.core.errors import TdmError

if TYPE_CHECKING:
    import duckdb
    from sqlglot import exp

_TABLE = "checked"


def to_duckdb(expr: str, value_column: str | None = None) -> str:
    """The expression as DuckDB SQL, every identifier quoted (VALUE as `value_column`). PostgreSQL's
    meaning is kept: `~` finds a match (regexp_matches, `.` matching newlines too), `~*` ignores
    case, LIKE escapes with backslash, `(0)::numeric` stays exact, num_nonnulls/num_nulls work.
    PostgreSQL's integer `/` needs DuckDB's `SET integer_division = true` (as `failing` runs it).
    TdmError when DuckDB has no equivalent."""
    from sqlglot import exp
    from sqlglot.errors import ErrorLevel, SqlglotError

    holder = exp.Paren(this=parse(expr))
    for node in reversed(list(holder.walk(bfs=False))):  # children before their parents
        new = _rewrite(node, value_column, expr)
        if new is not node:
            node.replace(new)
    try:
        return holder.this.sql(dialect="duckdb", identify=True, unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        reason = str(error).splitlines()[0]
        raise TdmError(f'cannot write the CHECK "{clip(expr)}" for DuckDB: {reason}') from None


def failing(
    table: pa.Table, checks: Mapping[str, str], value_columns: Mapping[str, str] | None = None
) -> dict[str, np.ndarray]:
    """For each named check (name -> PostgreSQL expression), the positions of the rows where it is
    FALSE (ascending int64); NULL passes, as in a CHECK constraint. `value_columns` names the
    column a domain check's VALUE stands for (check name -> column)."""
    import duckdb

    value_columns = value_columns or {}
    sqls = {
        name: _compiled(name, expr, value_columns.get(name), table.schema)
        for name, expr in checks.items()
    }
    out: dict[str, np.ndarray] = {}
    for name, expr in checks.items():  # the plainest by Arrow (tdm.checks.arrow_eval)
        found = arrow_eval.evaluate(expr, table, value_columns.get(name))
        if found is not None and pa.types.is_boolean(found.type):
            false = pc.fill_null(pc.invert(found), False)
            out[name] = np.flatnonzero(np.asarray(false.to_numpy(zero_copy_only=False)))
            del sqls[name]
    if not sqls:
        return {name: out[name] for name in checks}
    row = "__tdm_row"
    while row.lower() in {n.lower() for n in table.column_names}:
        row += "_"
    data = table.append_column(row, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    lists = [f"list({quote_identifier(row)}) FILTER (WHERE NOT ({sql}))" for sql in sqls.values()]
    con = None
    try:
        con = _connect(data)
        result = con.sql(f"SELECT {', '.join(lists)} FROM {_TABLE}").to_arrow_table()
        con.unregister(_TABLE)
    except duckdb.Error as error:
        for name, sql in sqls.items():  # find the check that fails, to name it
            try:
                if con is not None:
                    con.sql(f"SELECT count(*) FROM {_TABLE} WHERE NOT ({sql})").fetchall()
            except duckdb.Error as failure:
                what = _what(name, checks[name])
                reason = _reason(failure)
                raise TdmError(f"{what} cannot be evaluated on the data: {reason}") from None
        raise TdmError(f"DuckDB cannot evaluate the CHECKs: {_reason(error)}") from None
    for i, name in enumerate(sqls):
        rows = result.column(i).combine_chunks().flatten().to_numpy(zero_copy_only=False)
        out[name] = np.sort(rows.astype(np.int64, copy=False))
    return {name: out[name] for name in checks}  # in the checks' order


def computed(table: pa.Table, expr: str, name: str) -> pa.Array:
    """The value of a PostgreSQL expression on every row of `table`, in row order (DuckDB): a
    computed column, `name` its name for messages."""
    try:
        sql = _duckdb_sql(expr, None)
    except TdmError as error:
        raise type(error)(f"column {name}: {error}") from None
    found = arrow_eval.evaluate(expr, table)  # the plainest by Arrow, without a query
    if found is not None:
        return found
    failure = f"column {name}: the expression {clip(expr)} cannot be evaluated on the data"
    result = query(table, f"SELECT {sql} FROM {_TABLE}", failure)
    return result.column(0).combine_chunks()


def query(table: pa.Table, sql: str, failure: str) -> pa.Table:
    """The result of `sql` over `table` (registered as _TABLE) in this thread's DuckDB; a
    TdmError `failure: <DuckDB's reason>` when DuckDB refuses it."""
    import duckdb

    con = None
    try:
        con = _connect(table)
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as error:
        raise TdmError(f"{failure}: {_reason(error)}") from None
    finally:
        if con is not None:
            con.unregister(_TABLE)


def unsupported(expr: str, schema: pa.Schema, value_column: str | None = None) -> str | None:
    """None when DuckDB can evaluate the check on a table of this schema; otherwise why not (the
    expression does not parse, reads a column the table lacks, uses what DuckDB does not have, or is
    not a condition). Errors that depend on the data (a failing cast) show only in `failing`."""
    import duckdb

    try:
        sql = _compiled("", expr, value_column, schema)
    except TdmError as error:
        return str(error)
    con = None
    try:
        con = _connect(schema.empty_table())
        relation = con.sql(f"SELECT ({sql}) AS ok FROM {_TABLE}")
        relation.fetchall()
        kind = str(relation.types[0])
    except duckdb.Error as error:
        return f"DuckDB cannot evaluate it: {_reason(error)}"
    finally:
        if con is not None:
            with contextlib.suppress(duckdb.Error):
                con.unregister(_TABLE)
    return None if kind in ("BOOLEAN", '"NULL"', "NULL") else f"it is not a condition but {kind}"


def _what(name: str, expr: str) -> str:
    return f'the CHECK "{name}" ({clip(expr)})' if name else f'the CHECK "{clip(expr)}"'


@functools.lru_cache(maxsize=4096)
def _duckdb_sql(expr: str, value_column: str | None) -> str:
    """to_duckdb once per expression (parsing costs ~1 ms, and checks run on every batch)."""
    return to_duckdb(expr, value_column)


def _compiled(name: str, expr: str, value_column: str | None, schema: pa.Schema) -> str:
    """The check as DuckDB SQL, once it is known to read only columns of `schema`."""
    try:
        sql = _duckdb_sql(expr, value_column)
        missing = [c for c in columns_of(expr, value_column) if c not in schema.names]
    except TdmError as error:
        raise type(error)(f'the CHECK "{name}": {error}' if name else str(error)) from None
    if missing:
        have = clip(", ".join(f'"{n}"' for n in schema.names) or "none")
        raise TdmError(
            f'{_what(name, expr)} reads column "{missing[0]}", which the table does not have '
            f"(it has {have})"
        )
    return sql


_local = threading.local()


def _connect(table: pa.Table) -> duckdb.DuckDBPyConnection:
    """This thread's in-memory DuckDB (made once: a connection costs ~20 ms) with `table`
    registered, no access to files, integers divided as PostgreSQL does and times read as UTC."""
    import duckdb

    con = getattr(_local, "con", None)
    if con is None or getattr(_local, "pid", None) != os.getpid():  # not across a fork
        con = duckdb.connect(":memory:", config={"enable_external_access": False})
        con.execute("SET integer_division = true")  # as in PostgreSQL: 7 / 2 = 3
        with contextlib.suppress(duckdb.Error):  # without ICU, timestamptz is UTC anyway
            con.execute("SET TimeZone = 'UTC'")
        _local.con, _local.pid = con, os.getpid()
    con.register(_TABLE, table)
    return con


def _reason(error: Exception) -> str:
    return " ".join(str(error).split("\n\n")[0].split())


def _rewrite(node: exp.Expr, value_column: str | None, expr: str) -> exp.Expr:
    """`node` in the DuckDB form of its PostgreSQL meaning (its children are rewritten already)."""
    from sqlglot import exp

    if isinstance(node, exp.Column):
        return exp.Column(this=exp.Identifier(this=column_name(node, value_column), quoted=True))
    if isinstance(node, exp.Cast):
        return _cast(node)
    if isinstance(node, exp.RegexpLike | exp.RegexpILike):
        flag = node.args.get("flag")
        ok, flags = literal(flag) if flag is not None else (True, "")
        if not ok or not isinstance(flags, str) or set(flags) - set("ic"):
            raise TdmError(f'the CHECK "{clip(expr)}" uses regular expression flags DuckDB lacks')
        ci = isinstance(node, exp.RegexpILike) or flags.endswith("i")
        options = exp.Literal.string("is" if ci else "s")  # PostgreSQL's `.` matches newlines
        return exp.Anonymous(
            this="regexp_matches", expressions=[node.this, node.expression, options]
        )
    if isinstance(node, exp.Like | exp.ILike) and not isinstance(node.parent, exp.Escape):
        return exp.Escape(this=node.copy(), expression=exp.Literal.string("\\"))
    if isinstance(node, exp.SimilarTo):
        raise TdmError(f'the CHECK "{clip(expr)}" uses SIMILAR TO, which DuckDB reads differently')
    if isinstance(node, exp.Anonymous):
        name, args = node.name.lower(), list(node.expressions)
        if name in ("num_nonnulls", "num_nulls") and args:
            count = [_null_count(a.copy(), name == "num_nulls") for a in args]
            total = count[0]
            for term in count[1:]:
                total = exp.Add(this=total, expression=term)
            return exp.Paren(this=total)
        if name == "octet_length" and len(args) == 1:  # of text: DuckDB's strlen counts bytes
            return exp.Anonymous(this="strlen", expressions=args)
    return node


def _null_count(arg: exp.Expr, nulls: bool) -> exp.Expr:
    from sqlglot import exp

    one, zero = exp.Literal.number(1), exp.Literal.number(0)
    test = exp.Is(this=arg, expression=exp.Null())
    return exp.Case(
        ifs=[exp.If(this=test, true=one if nulls else zero)], default=zero if nulls else one
    )


def _cast(node: exp.Cast) -> exp.Expr:
    """Casts that mean otherwise in DuckDB: unconstrained numeric (DuckDB's DECIMAL is (18,3), so
    `(1.2345)::numeric` would round), PostgreSQL array literals (`'{a,b}'::text[]`), and the
    database's own types (`'paid'::app.order_status`), which DuckDB does not have: their values
    travel as text."""
    from sqlglot import exp

    to, inner = node.args["to"], unwrap(node.this)
    own = exp.DataType.Type.USERDEFINED
    if to.this == own or (
        to.this == exp.DataType.Type.ARRAY and to.expressions and to.expressions[0].this == own
    ):
        text = "VARCHAR[]" if to.this == exp.DataType.Type.ARRAY else "VARCHAR"
        node = exp.cast(node.this, exp.DataType.build(text))
        to = node.args["to"]
    if to.this == exp.DataType.Type.DECIMAL and not to.expressions:
        if isinstance(inner, exp.Column):
            return node.this  # DuckDB compares numbers of any types exactly
        ok, value = literal(node)
        if ok and isinstance(value, int | Decimal) and not isinstance(value, bool):
            number = exp.Literal.number(
                str(abs(value)) if isinstance(value, int) else format(abs(value), "f")
            )
            return exp.Paren(this=exp.Neg(this=number)) if value < 0 else number
        return node
    if to.this == exp.DataType.Type.ARRAY and isinstance(inner, exp.Literal) and inner.is_string:
        texts = pg_array(inner.this)
        element = to.expressions[0] if to.expressions else None
        if texts is None or element is None:
            return node
        items = [
            exp.Null() if t is None else exp.cast(exp.Literal.string(t), element.copy())
            for t in texts
        ]
        return exp.Array(expressions=items)
    if (
        to.this.name in TEXT
        and not to.expressions
        and isinstance(inner, exp.Literal)
        and inner.is_string
    ):
        return inner
    return node
