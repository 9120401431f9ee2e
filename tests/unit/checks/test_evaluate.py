"""CHECK expressions evaluated on Arrow tables by DuckDB (tdm.checks.evaluate), with PostgreSQL's
meaning: NULL passes, decimals compare exactly, `~` finds a match, LIKE escapes with backslash."""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from tdm.checks import CheckSyntaxError, Hints, failing, hints, to_duckdb, unsupported
from tdm.core.errors import TdmError

UTC = dt.UTC


def fails(table: pa.Table, expr: str, value_column: str | None = None) -> list[int]:
    """The failing row positions of one check."""
    got = failing(table, {"c": expr}, {"c": value_column} if value_column else None)["c"]
    assert got.dtype == np.int64
    return got.tolist()


def decimals(values: list[str | None], precision: int, scale: int) -> pa.Array:
    return pa.array(
        [None if v is None else Decimal(v) for v in values], pa.decimal128(precision, scale)
    )


@pytest.mark.parametrize(
    ("expr", "value_column", "sql"),
    [
        (
            "((code)::text ~ '^[A-Z]{3}$'::text)",
            None,
            """(REGEXP_MATCHES(CAST(("code") AS TEXT), '^[A-Z]{3}$', 's'))""",
        ),
        ("(email ~* '^[^@]+@'::text)", None, """(REGEXP_MATCHES("email", '^[^@]+@', 'is'))"""),
        ("(email !~ 'x'::text)", None, """(NOT REGEXP_MATCHES("email", 'x', 's'))"""),
        (
            "((price >= (0)::numeric) AND (price <= 9999.99))",
            None,
            '(("price" >= 0) AND ("price" <= 9999.99))',
        ),
        ("(x > '-1.5'::numeric)", None, '("x" > (-1.5))'),
        ('("OrderId" > 0)', None, '("OrderId" > 0)'),
        (
            "((VALUE >= 1901) AND (VALUE <= 2155))",
            "Year",
            '(("Year" >= 1901) AND ("Year" <= 2155))',
        ),
        ("(x ~~ 'a\\_%'::text)", None, """("x" LIKE 'a\\_%' ESCAPE '\\')"""),
    ],
)
def test_to_duckdb(expr: str, value_column: str | None, sql: str) -> None:
    assert to_duckdb(expr, value_column) == sql


def test_decimal_bounds_compare_exactly() -> None:
    table = pa.table({"price": decimals(["9.99", "29.99", "30.00", "9.98", None, "10.00"], 4, 2)})
    assert fails(table, "((price >= 9.99) AND (price <= 29.99))") == [2, 3]
    wide = pa.table({"price": decimals(["0.00", "9999.99", "10000.00", "-0.01", None], 10, 2)})
    assert fails(wide, "((price >= (0)::numeric) AND (price <= 9999.99))") == [2, 3]
    exact = pa.table({"x": decimals(["1.2344", "1.2345", "1.2346"], 10, 4)})
    assert fails(exact, "(x <= '1.2345'::numeric)") == [2]


def test_varchar_any_array_and_in_list() -> None:
    table = pa.table({"status": ["draft", "paid", "void", None, "Paid"]})
    expr = (
        "((status)::text = ANY ((ARRAY['draft'::character varying, "
        "'paid'::character varying])::text[]))"
    )
    assert fails(table, expr) == [2, 4]
    assert fails(table, "(status = ANY ('{draft,paid}'::text[]))") == [2, 4]
    assert fails(table, "((status)::text <> ALL ((ARRAY['void'::character varying])::text[]))") == [
        2
    ]
    assert fails(table, "(status = ANY (ARRAY['draft'::text, NULL::text]))") == []  # NULL: unknown


def test_regular_expressions_find_a_match_as_in_postgresql() -> None:
    table = pa.table({"code": ["ABC", "abc", "ABCD", None, "xABCx", "a\nb"]})
    assert fails(table, "((code)::text ~ '^[A-Z]{3}$'::text)") == [1, 2, 4, 5]
    assert fails(table, "(code ~ 'ABC'::text)") == [1, 5]  # found anywhere
    assert fails(table, "(code ~* '^abc'::text)") == [4, 5]
    assert fails(table, "(code !~ 'B'::text)") == [0, 2, 4]
    assert fails(table, "(code ~ 'a.b'::text)") == [0, 1, 2, 4]  # `.` matches a newline


def test_lengths_and_blanks() -> None:
    table = pa.table({"name": ["héllo", "hello!", "", "   ", None, " x "]})
    assert fails(table, "(length((name)::text) <= 5)") == [1]
    assert fails(table, "(char_length(name) >= 1)") == [2]
    assert fails(table, "(btrim(name) <> ''::text)") == [2, 3]
    assert fails(table, "(octet_length(name) <= 5)") == [0, 1]


def test_like_escapes_with_backslash() -> None:
    table = pa.table({"sku": ["a_b", "axb", "A_B", None]})
    assert fails(table, "((sku)::text ~~ 'a\\_b'::text)") == [1, 2]
    assert fails(table, "(sku ~~* 'a\\_b'::text)") == [1]


def test_two_columns_with_nulls() -> None:
    t = [dt.datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3)]
    table = pa.table(
        {
            "created_at": pa.array([t[1], t[1], t[1], None, t[2]], pa.timestamp("us", tz="UTC")),
            "deleted_at": pa.array([None, t[2], t[0], t[0], t[1]], pa.timestamp("us", tz="UTC")),
        }
    )
    assert fails(table, "((deleted_at IS NULL) OR (deleted_at >= created_at))") == [2, 4]
    days = pa.table(
        {
            "starts_on": pa.array(
                [dt.date(2024, 1, 1), None, dt.date(2024, 1, 5), dt.date(2024, 1, 5)]
            ),
            "ends_on": pa.array(
                [dt.date(2024, 1, 1), dt.date(2024, 1, 1), None, dt.date(2024, 1, 4)]
            ),
        }
    )
    assert fails(days, "(ends_on >= starts_on)") == [3]
    assert fails(days, "(ends_on > starts_on)") == [0, 3]


def test_integer_division_truncates_as_in_postgresql() -> None:
    table = pa.table(
        {"qty": [3, 4, -7, None], "price": decimals(["3.00", "2.00", "-7.00", None], 6, 2)}
    )
    assert fails(table, "((qty / 2) = 1)") == [1, 2]
    assert fails(table, "((qty / 2) >= '-3'::integer)") == []
    assert fails(table, "((price / (2)::numeric) = 1.5)") == [1, 2]


def test_null_counting_checks() -> None:
    table = pa.table({"a": [1, None, None, 2], "b": [None, 1, None, 2]})
    assert fails(table, "(num_nonnulls(a, b) = 1)") == [2, 3]
    assert fails(table, "(num_nulls(a, b) = 0)") == [0, 1, 2]
    assert fails(table, "(NOT ((a IS NULL) AND (b IS NULL)))") == [2]


def test_dates_and_timestamps_against_constants() -> None:
    table = pa.table(
        {
            "born_on": pa.array(
                [dt.date(1900, 1, 1), dt.date(1900, 1, 2), None, dt.date(1850, 5, 5)]
            ),
            "at": pa.array(
                [
                    dt.datetime(2019, 12, 31, 23, tzinfo=UTC),
                    dt.datetime(2020, 1, 1, tzinfo=UTC),
                    None,
                    dt.datetime(2021, 1, 1, tzinfo=UTC),
                ],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    assert fails(table, "(born_on > '1900-01-01'::date)") == [0, 3]
    assert fails(table, "(at >= '2020-01-01 00:00:00+00'::timestamp with time zone)") == [0]


def test_domain_check_on_value() -> None:
    table = pa.table(
        {"Year": [1901, 2155, 1900, None, 2156], "zip": ["12345", "1234", None, "x", "99999"]}
    )
    assert fails(table, "((VALUE >= 1901) AND (VALUE <= 2155))", "Year") == [2, 4]
    assert fails(table, "(VALUE ~ '^\\d{5}$'::text)", "zip") == [1, 3]


def test_mixed_case_and_spaced_column_names() -> None:
    table = pa.table({"OrderId": [1, 0, -3, None], "unit price": [1.5, 0.0, 2.0, -1.0]})
    assert fails(table, '("OrderId" > 0)') == [1, 2]
    assert fails(table, '("unit price" > (0)::numeric)') == [1, 3]


def test_many_checks_in_one_call_on_a_large_chunked_table() -> None:
    rng = np.random.default_rng(3)
    qty = rng.integers(-5, 100, 200_000)
    rating = rng.integers(0, 7, 200_000)
    table = pa.table({"qty": qty, "rating": rating})
    chunked = pa.concat_tables([table.slice(0, 70_000), table.slice(70_000)])
    got = failing(
        chunked, {"qty": "(qty > 0)", "rating": "(rating BETWEEN 1 AND 5)", "none": "(qty < 1000)"}
    )
    assert list(got) == ["qty", "rating", "none"]
    np.testing.assert_array_equal(got["qty"], np.flatnonzero(qty <= 0))
    np.testing.assert_array_equal(got["rating"], np.flatnonzero((rating < 1) | (rating > 5)))
    assert got["none"].size == 0


def test_edges() -> None:
    empty = pa.table({"qty": pa.array([], pa.int64())})
    assert fails(empty, "(qty > 0)") == []
    assert failing(empty, {}) == {}
    clash = pa.table({"__tdm_row": [5, -1], "qty": [-1, 1]})
    assert fails(clash, "(qty > 0)") == [0]
    assert fails(clash, "(__tdm_row > 0)") == [1]


def test_errors_name_the_check() -> None:
    table = pa.table({"code": ["12", "ABC"], "qty": [1, 2]})
    with pytest.raises(TdmError, match=r'CHECK "as_int".*cannot be evaluated on the data.*ABC'):
        failing(table, {"ok": "(qty > 0)", "as_int": "((code)::integer > 0)"})
    with pytest.raises(TdmError, match=r'CHECK "gone".*reads column "price"'):
        failing(table, {"gone": "(price > 0)"})
    with pytest.raises(CheckSyntaxError, match=r'CHECK "broken".*cannot parse'):
        failing(table, {"broken": "(qty > "})
    with pytest.raises(TdmError, match=r'CHECK "nope".*foo'):
        failing(table, {"nope": "(foo(qty) > 0)"})


def test_unsupported() -> None:
    schema = pa.schema(
        [
            ("qty", pa.int64()),
            ("code", pa.string()),
            ("price", pa.decimal128(10, 2)),
            ("Id", pa.int32()),
        ]
    )
    for ok in [
        "(qty > 0)",
        "((code)::text ~ '^[A-Z]+$'::text)",
        "((price >= (0)::numeric) AND (price <= 9999.99))",
        '("Id" > 0)',
        "(num_nonnulls(qty, code) = 1)",
        "((code)::integer > 0)",  # fails only on data that does not cast
    ]:
        assert unsupported(ok, schema) is None, ok
    assert unsupported("(VALUE > 0)", schema, "qty") is None
    assert 'reads column "nope"' in unsupported("(nope > 0)", schema)
    assert 'reads column "id"' in unsupported("(id > 0)", schema)  # unquoted folds: not "Id"
    assert "foo" in unsupported("(foo(qty) > 0)", schema)
    assert "not a condition" in unsupported("(qty + 1)", schema)
    assert "cannot parse" in unsupported("(qty >", schema)
    assert "SIMILAR TO" in unsupported("((code)::text SIMILAR TO 'a%'::text)", schema)
    assert "DuckDB cannot evaluate" in unsupported(
        "(code ~ '(a)\\1'::text)", schema
    )  # backreference


OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
OPS |= {"=": operator.eq, "<>": operator.ne}


def satisfies(hint: Hints, row: dict[str, int | None]) -> bool:
    """Whether a row of integers satisfies every hint (NULL satisfies all but not_null)."""
    for name, h in hint.per_column.items():
        v = row[name]
        if v is None:
            if h.not_null:
                return False
            continue
        low = h.min is None or (v > h.min if h.min_exclusive else v >= h.min)
        high = h.max is None or (v < h.max if h.max_exclusive else v <= h.max)
        if not (low and high and (h.values is None or v in h.values)):
            return False
    pairs = [(row[p.left], p.op, row[p.right]) for p in hint.pairs]
    return all(x is None or y is None or OPS[op](x, y) for x, op, y in pairs)


@pytest.mark.parametrize(
    "expr",
    [
        "(a > 0)",
        "((a >= 1) AND (a <= 5))",
        "(a BETWEEN 2 AND 4)",
        "(NOT ((a < 1) OR (a > 4)))",
        "((a > 0) AND (a > 2) AND (a >= 2))",
        "((a <> b) AND (a > (- 2)))",
        "((a IS NULL) OR (a >= b))",
        "((a IS NULL) OR ((a > 0) AND (a < 3)))",
        "((a = 1) OR (a = 2) OR (a IS NULL))",
        "(a = ANY (ARRAY[1, 3]))",
        "((a IN (1, 2, 3)) AND (b IN (3, 4)))",
        "(a IS NOT NULL)",
        "((a > 0) OR (b > 0))",
        "((a > 0) AND ((a + b) > 2))",
        "((a IS NULL) OR ((a > 0) AND (b > 0)))",
        "(num_nonnulls(a, b) = 1)",
        "((a = 1) OR (a > 3))",
    ],
)
def test_hints_agree_with_evaluation(expr: str) -> None:
    """Every row that passes the check satisfies its hints; when exact, the converse too."""
    rng = np.random.default_rng(11)
    cols = {c: [None if x < 0 else int(x) for x in rng.integers(-2, 7, 400)] for c in "ab"}
    fail = set(fails(pa.table(cols), expr))
    hint = hints(expr)
    for i in range(400):
        ok = satisfies(hint, {"a": cols["a"][i], "b": cols["b"][i]})
        assert ok or i in fail, (expr, i)
        assert not hint.exact or not ok or i not in fail, (expr, i)


def test_casts_to_the_databases_own_types_read_as_text() -> None:
    """An enum's labels, as PostgreSQL prints a CHECK over them (DuckDB has no such type)."""
    table = pa.table({"status": ["paid", "shipped", "shipped"], "shipped_at": [None, None, 1]})
    expr = (
        "((status <> ALL (ARRAY['shipped'::app.order_status, 'delivered'::app.order_status]))"
        " OR (shipped_at IS NOT NULL))"
    )
    assert fails(table, expr) == [1]
    moods = pa.table({"moods": [["happy"], ["sad"], None]})
    assert fails(moods, "(moods <@ '{happy}'::app.mood[])") == [1]
