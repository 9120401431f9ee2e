"""CHECK expressions as PostgreSQL prints them (tdm.checks.parse): the columns they read, and hints
that are always implied by the check, `exact` only when they imply it back."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest

from tdm.checks import CheckSyntaxError, ColumnHint, Pair, columns_of, hints
from tdm.core.errors import TdmError

H = ColumnHint
UTC = dt.UTC

# (expression, value_column, per_column, pairs, exact)
CASES = [
    (
        "((status)::text = ANY ((ARRAY['draft'::character varying, "
        "'paid'::character varying])::text[]))",
        None,
        {"status": H(values=["draft", "paid"])},
        [],
        True,
    ),
    (
        "(status = ANY (ARRAY['a'::text, 'b'::text]))",
        None,
        {"status": H(values=["a", "b"])},
        [],
        True,
    ),
    ("(kind IN ('a', 'b', 'a'))", None, {"kind": H(values=["a", "b"])}, [], True),
    ("(qty = ANY (ARRAY[1, 2, 3]))", None, {"qty": H(values=[1, 2, 3])}, [], True),
    (
        '(x = ANY (\'{a,"b c","q\\"d"}\'::text[]))',
        None,
        {"x": H(values=["a", "b c", 'q"d'])},
        [],
        True,
    ),
    ("(active = true)", None, {"active": H(values=[True])}, [], True),
    ("(active)", None, {"active": H(values=[True])}, [], True),
    ("(NOT active)", None, {"active": H(values=[False])}, [], True),
    (
        "((price >= (0)::numeric) AND (price <= 9999.99))",
        None,
        {"price": H(min=0, max=Decimal("9999.99"))},
        [],
        True,
    ),
    ("(qty > 0)", None, {"qty": H(min=0, min_exclusive=True)}, [], True),
    ("((qty >= 1) AND (qty <= 100))", None, {"qty": H(min=1, max=100)}, [], True),
    ("(rating BETWEEN 1 AND 5)", None, {"rating": H(min=1, max=5)}, [], True),
    ("((rating >= 1) AND (rating <= 5))", None, {"rating": H(min=1, max=5)}, [], True),
    ("(0 < qty)", None, {"qty": H(min=0, min_exclusive=True)}, [], True),
    ("(NOT (qty > 5))", None, {"qty": H(max=5)}, [], True),
    ("(NOT ((qty < 1) OR (qty > 9)))", None, {"qty": H(min=1, max=9)}, [], True),
    # negative numbers, as PostgreSQL prints them and as written
    ("(x > '-1'::integer)", None, {"x": H(min=-1, min_exclusive=True)}, [], True),
    ("(x > (- 1))", None, {"x": H(min=-1, min_exclusive=True)}, [], True),
    ("(x >= -1.5)", None, {"x": H(min=Decimal("-1.5"))}, [], True),
    ("(x <= '-1.50'::numeric)", None, {"x": H(max=Decimal("-1.50"))}, [], True),
    ("(x < (-2)::numeric)", None, {"x": H(max=-2, max_exclusive=True)}, [], True),
    ("(x >= '3000000000'::bigint)", None, {"x": H(min=3_000_000_000)}, [], True),
    # the tightest bound wins; at an equal bound, exclusive wins
    (
        "((x > 0) AND (x > 5) AND (x >= 5) AND (x < 10) AND (x <= 9))",
        None,
        {"x": H(min=5, min_exclusive=True, max=9)},
        [],
        True,
    ),
    ("((x IN (1, 2, 3)) AND (x IN (2, 3, 4)))", None, {"x": H(values=[2, 3])}, [], True),
    ("((code)::text ~ '^[A-Z]{3}$'::text)", None, {"code": H(regex="^[A-Z]{3}$")}, [], True),
    (
        "(email ~* '^[^@]+@[^@]+$'::text)",
        None,
        {"email": H(regex="^[^@]+@[^@]+$", case_insensitive=True)},
        [],
        True,
    ),
    ("((sku)::text ~~ 'AB\\_%'::text)", None, {"sku": H(regex="^AB_.*$")}, [], True),
    ("(sku ~~* 'a.b%')", None, {"sku": H(regex="^a\\.b.*$", case_insensitive=True)}, [], True),
    ("(length((name)::text) <= 40)", None, {"name": H(max_length=40)}, [], True),
    ("(char_length(sku) = 8)", None, {"sku": H(min_length=8, max_length=8)}, [], True),
    ("(length(sku) BETWEEN 2 AND 10)", None, {"sku": H(min_length=2, max_length=10)}, [], True),
    ("((length(x) > 2) AND (length(x) < 9))", None, {"x": H(min_length=3, max_length=8)}, [], True),
    ("(btrim(name) <> ''::text)", None, {"name": H(not_empty=True, min_length=1)}, [], True),
    ("(length(btrim(name)) > 0)", None, {"name": H(not_empty=True, min_length=1)}, [], True),
    ("(name <> ''::text)", None, {"name": H(min_length=1)}, [], True),
    ("(name IS NOT NULL)", None, {"name": H(not_null=True)}, [], True),
    ("(NOT (name IS NULL))", None, {"name": H(not_null=True)}, [], True),
    (
        "((deleted_at IS NULL) OR (deleted_at >= created_at))",
        None,
        {"deleted_at": H(nullable_ok=True)},
        [Pair("deleted_at", ">=", "created_at")],
        True,
    ),
    (
        "((a IS NULL) OR ((a > 0) AND (a < 10)))",
        None,
        {"a": H(min=0, min_exclusive=True, max=10, max_exclusive=True, nullable_ok=True)},
        [],
        True,
    ),
    (
        "(((x)::text = 'a'::text) OR ((x)::text = 'b'::text) OR (x IS NULL))",
        None,
        {"x": H(values=["a", "b"], nullable_ok=True)},
        [],
        True,
    ),
    ("(ends_on >= starts_on)", None, {}, [Pair("ends_on", ">=", "starts_on")], True),
    ("(ends_at > starts_at)", None, {}, [Pair("ends_at", ">", "starts_at")], True),
    ("(NOT (ends_at <= starts_at))", None, {}, [Pair("ends_at", ">", "starts_at")], True),
    (
        "((discount >= (0)::numeric) AND (discount < total))",
        None,
        {"discount": H(min=0)},
        [Pair("discount", "<", "total")],
        True,
    ),
    ("((VALUE >= 1901) AND (VALUE <= 2155))", "year", {"year": H(min=1901, max=2155)}, [], True),
    ("(VALUE ~ '^\\d{5}$'::text)", "zip", {"zip": H(regex="^\\d{5}$")}, [], True),
    (
        "(born_on > '1900-01-01'::date)",
        None,
        {"born_on": H(min=dt.date(1900, 1, 1), min_exclusive=True)},
        [],
        True,
    ),
    (
        "(at >= '2020-01-01 00:00:00+00'::timestamp with time zone)",
        None,
        {"at": H(min=dt.datetime(2020, 1, 1, tzinfo=UTC))},
        [],
        True,
    ),
    (
        "(at < '2030-06-01 12:30:00'::timestamp without time zone)",
        None,
        {"at": H(max=dt.datetime(2030, 6, 1, 12, 30), max_exclusive=True)},
        [],
        True,
    ),
    ('("OrderId" > 0)', None, {"OrderId": H(min=0, min_exclusive=True)}, [], True),
    ("(qty > 0) NOT VALID", None, {"qty": H(min=0, min_exclusive=True)}, [], True),
    # not captured whole: exact=False, and only what the check implies is kept
    ("(NOT ((a IS NULL) AND (b IS NULL)))", None, {}, [], False),
    ("(num_nonnulls(a, b) = 1)", None, {}, [], False),
    ("((a > 0) OR (b > 0))", None, {}, [], False),
    (
        "((qty > 0) AND ((a > 0) OR (b > 0)))",
        None,
        {"qty": H(min=0, min_exclusive=True)},
        [],
        False,
    ),
    ("((a = 1) OR (a > 5))", None, {}, [], False),
    ("((a IS NULL) OR ((a > 0) AND (b > 0)))", None, {}, [], False),
    ("((a IS NULL) OR (b IS NULL))", None, {}, [], False),
    ("(((a + b) > c))", None, {}, [], False),
    (
        "(((price * qty) <= 1000) AND (qty > 0))",
        None,
        {"qty": H(min=0, min_exclusive=True)},
        [],
        False,
    ),
    ("(lower(email) = email)", None, {}, [], False),
    ("((qty)::integer > 0)", None, {}, [], False),
    ("(x NOT IN (1, 2))", None, {}, [], False),
    ("(NOT (x = ANY (ARRAY[1, 2])))", None, {}, [], False),
    ("(x IN (1, NULL))", None, {}, [], False),
    ("(x !~ '^a'::text)", None, {}, [], False),
    ("(x !~~ 'a%'::text)", None, {}, [], False),
    ("(x BETWEEN SYMMETRIC 1 AND 5)", None, {}, [], False),
    ("(x NOT BETWEEN 1 AND 5)", None, {}, [], False),
    ("(x IS NULL)", None, {}, [], False),
    ("(x <> 5)", None, {}, [], False),
    ("(x > 'm'::text)", None, {}, [], False),
    ("(born_on < CURRENT_DATE)", None, {}, [], False),
    ("(octet_length(x) <= 10)", None, {"x": H(max_length=10, octets=(None, 10))}, [], False),
    ("(octet_length(x) >= 10)", None, {"x": H(octets=(10, None))}, [], False),
    ("(octet_length(x) = 32)", None, {"x": H(max_length=32, octets=(32, 32))}, [], False),
    ("(length(btrim(x)) >= 3)", None, {"x": H(not_empty=True, min_length=3)}, [], False),
    ("((x ~ '^a'::text) AND (x ~ 'b$'::text))", None, {"x": H(regex="^a")}, [], False),
    ("((x >= '2020-01-01'::date) AND (x > 5))", None, {"x": H(min=dt.date(2020, 1, 1))}, [], False),
]


@pytest.mark.parametrize(("expr", "value_column", "per_column", "pairs", "exact"), CASES)
def test_hints(
    expr: str,
    value_column: str | None,
    per_column: dict[str, ColumnHint],
    pairs: list[Pair],
    exact: bool,
) -> None:
    got = hints(expr, value_column)
    assert got.per_column == per_column
    assert got.pairs == pairs
    assert got.exact is exact


def test_numbers_keep_their_written_kind() -> None:
    price = hints("((price >= (0)::numeric) AND (price <= 9999.99))").per_column["price"]
    assert type(price.min) is int and type(price.max) is Decimal
    assert hints("(x = 1.50)").per_column["x"].values == [Decimal("1.50")]
    assert type(hints("(x < 1e3)").per_column["x"].max) is float
    stamp = hints("(at >= '2020-01-01 00:00:00'::timestamp)").per_column["at"].min
    assert isinstance(stamp, dt.datetime) and stamp.tzinfo is None


def test_true_is_not_one_in_value_lists() -> None:
    assert hints("((x IN (1, 2)) AND (x IN (true, 2)))").per_column["x"].values == [2]


def test_a_hint_from_one_side_of_an_or_is_never_kept() -> None:
    for expr in [
        "((a > 0) OR (b > 0))",
        "((a >= 1) OR (a IS NULL AND b > 0))",
        "(((status)::text = 'x'::text) OR (qty > 5))",
        "((a ~ '^x'::text) OR (a = 'y'::text) OR (b = 1))",
    ]:
        got = hints(expr)
        assert (got.per_column, got.pairs, got.exact) == ({}, [], False), expr


@pytest.mark.parametrize(
    ("expr", "value_column", "columns"),
    [
        (
            "((deleted_at IS NULL) OR (deleted_at >= created_at))",
            None,
            ["deleted_at", "created_at"],
        ),
        ("(length((name)::text) <= 40)", None, ["name"]),
        ("(num_nonnulls(b, a, b) = 1)", None, ["b", "a"]),
        ("(((a + b) > c))", None, ["a", "b", "c"]),
        ('(("OrderId" > 0) AND (qty > "OrderId"))', None, ["OrderId", "qty"]),
        ('("unit price" > (0)::numeric)', None, ["unit price"]),
        ("(Qty > 0)", None, ["qty"]),
        ("((VALUE >= 1901) AND (VALUE <= 2155))", "year", ["year"]),
        ("(VALUE ~ '^\\d{5}$'::text)", "Zip Code", ["Zip Code"]),
        ("(value > 0)", None, ["value"]),
        ("(CURRENT_DATE > '2000-01-01'::date)", None, []),
    ],
)
def test_columns_of(expr: str, value_column: str | None, columns: list[str]) -> None:
    assert columns_of(expr, value_column) == columns


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("(x > ", "cannot parse"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("SELECT 1", "not a condition"),
        ("(x > (SELECT max(y) FROM t))", "subquery"),
        ("(x = ANY (SELECT y FROM t))", "subquery"),
        ("(x > 0); DROP TABLE t", "not a condition"),
    ],
)
def test_syntax_errors_name_the_expression(expr: str, says: str) -> None:
    for read in (columns_of, hints):
        with pytest.raises(CheckSyntaxError) as caught:
            read(expr)
        assert isinstance(caught.value, TdmError)
        assert says in str(caught.value)
        assert f'"{" ".join(expr.split())}"' in str(caught.value)


def test_long_expressions_are_clipped_in_messages() -> None:
    expr = "(" + " AND ".join(f"(c{i} > {i})" for i in range(100)) + " AND"
    with pytest.raises(CheckSyntaxError) as caught:
        hints(expr)
    assert "(c0 > 0)" in str(caught.value)
    assert "(c99 > 99)" not in str(caught.value)
    assert len(str(caught.value)) < 400


def test_importing_the_package_loads_neither_sqlglot_nor_duckdb() -> None:
    code = "import sys, tdm.checks; print('sqlglot' in sys.modules, 'duckdb' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
