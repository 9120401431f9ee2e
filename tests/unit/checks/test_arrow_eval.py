"""The plainest expressions by Arrow (tdm.checks.arrow_eval) give what DuckDB gives, NULLs,
three-valued logic and exact decimals included; every other form is left to DuckDB."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from tdm.checks import arrow_eval, evaluate
from tdm.checks.evaluate import _duckdb_sql, computed, failing, query

N = 2_000
rng = np.random.default_rng(11)


def _nulls(values: pa.Array, share: float = 0.15) -> pa.Array:
    mask = pa.array(rng.random(len(values)) < share)
    return pa.compute.if_else(mask, pa.nulls(len(values), values.type), values)


def _decimals(scale: int, precision: int) -> pa.Array:
    cents = rng.integers(-50_000, 50_000, N)
    text = [str(Decimal(int(c)).scaleb(-scale)) for c in cents]
    return pa.array(text).cast(pa.decimal128(precision, scale))


START = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
TABLE = pa.table(
    {
        "i": _nulls(pa.array(rng.integers(-5, 6, N))),
        "j": _nulls(pa.array(rng.integers(-3, 4, N).astype(np.int32))),
        "big": pa.array(np.full(N, 2**62, dtype=np.int64)),
        "f": _nulls(pa.array(rng.normal(size=N))),
        "d": _nulls(_decimals(2, 10)),
        "e": _nulls(_decimals(3, 12)),
        "s": _nulls(pa.array(rng.choice(["card", "wallet", "bank", "Card", ""], N))),
        "t": _nulls(pa.array(rng.choice(["card", "bank", "x"], N))),
        "b": _nulls(pa.array(rng.random(N) < 0.5)),
        "at": _nulls(
            pa.array([START + dt.timedelta(hours=int(h)) for h in rng.integers(0, 9000, N)])
        ),
        "later": _nulls(
            pa.array([START + dt.timedelta(hours=int(h)) for h in rng.integers(0, 9000, N)])
        ),
        "day": _nulls(
            pa.array(
                [dt.date(2024, 1, 1) + dt.timedelta(days=int(k)) for k in rng.integers(0, 400, N)]
            )
        ),
        "Mixed": pa.array(rng.integers(0, 3, N)),
    }
)

CONDITIONS = [
    "s = 'card'",
    "s <> 'card'",
    "'card' = s",
    "s < t",
    "s >= t",
    "i > 2",
    "i <= -2",
    "-3 < i",
    "i = j",
    "f > 0",
    "f < i",
    "i >= f",
    "d > e",
    "d = d",
    "at >= later",
    "at < later",
    "day > day",
    "b = TRUE",
    "b <> b",
    "s IN ('card', 'wallet')",
    "s NOT IN ('card', 'wallet')",
    "i IN (1, 2, 3)",
    "NOT (i IN (1, 2, 3))",
    "s IS NULL",
    "s IS NOT NULL",
    "d IS NULL",
    "s = 'card' AND i > 0",
    "s = 'card' OR i > 0",
    "NOT (s = 'card' OR i > 0) AND (f IS NULL OR j < 0)",
    "coalesce((i > 0), false)",
    "coalesce((s = 'card'), (i > 0), true)",
    "at + i * interval '1 day' >= later",
    '"Mixed" = 1',
]
VALUES = [
    "i * j",
    "i + j",
    "i - 3",
    "2 * i",
    "f * i",
    "f + f",
    "i * d",
    "d * i",
    "d + e",
    "d - e",
    "d * e",
    "at + i * interval '1 day'",
    "at + interval '1 day' * j",
    "at - i * interval '3 hours'",
    "at + interval '90 minutes'",
    "at - interval '2 weeks'",
    "at + (j * interval '1 second')",
    "i",
    '"Mixed"',
    "coalesce(d, 0)",
    "coalesce(i, 7)",
    "coalesce(d, 0) + e",
    "CAST(d AS decimal(14, 3))",
    "CAST((i * d) AS decimal(12, 2))",
    "(i * d)::numeric(20, 4)",
    "CAST(i AS decimal(20, 0))",
]
LEFT_TO_DUCKDB = [
    "i / 2",  # division: PostgreSQL's integer division, DuckDB's setting
    "d > 10000000000",  # does not fit the decimal's type
    "coalesce(d, 0.5)",
    "coalesce(i, j)",  # of two types
    "f > 0.5",  # a decimal constant
    "s ~ '^c'",
    "at > '2024-06-01'",
    "at + interval '1 month'",
    "day + interval '1 day'",
    "lower(s) = 'card'",
    "i IN (1, NULL)",
    "s IN ('card', 1)",
    "i BETWEEN 1 AND 3",
    "s IS TRUE",
    "CAST(e AS decimal(12, 2))",  # rounds: DuckDB's rounding
    "CAST(d AS decimal(3, 2))",  # does not fit
    "CAST(d AS numeric)",
    "CAST(f AS decimal(10, 2))",
    "s IS NOT DISTINCT FROM i",
    "cast(i AS text) = '1'",
    "d + f",
    "1 + 2",
    "big + big",  # overflows: DuckDB's own answer or message
    "big * 4",
    "mixed = 1",  # not the column's spelling: DuckDB matches names without case
    "nope = 1",
    "s = ",
]


def duck(expr: str) -> pa.Array:
    return query(TABLE, f"SELECT {_duckdb_sql(expr, None)} FROM checked", "x").column(0)


def same(ours: pa.Array, theirs: pa.ChunkedArray) -> bool:
    return ours.to_pylist() == theirs.combine_chunks().to_pylist()


@pytest.mark.parametrize("expr", CONDITIONS)
def test_conditions_match_duckdb(expr):
    ours = arrow_eval.evaluate(expr, TABLE)
    assert ours is not None and ours.type == pa.bool_()
    assert same(ours, duck(expr))
    assert 0 < ours.null_count < N or "coalesce" in expr or "IS" in expr or "Mixed" in expr


@pytest.mark.parametrize("expr", VALUES)
def test_arithmetic_matches_duckdb(expr):
    ours = arrow_eval.evaluate(expr, TABLE)
    assert ours is not None
    theirs = duck(expr)
    if pa.types.is_decimal(ours.type):  # exact: the same numbers at any scale
        assert [None if v is None else Decimal(v) for v in ours.to_pylist()] == [
            None if v is None else Decimal(v) for v in theirs.to_pylist()
        ]
    else:
        assert same(ours, theirs)


@pytest.mark.parametrize("expr", LEFT_TO_DUCKDB)
def test_other_forms_are_left_to_duckdb(expr):
    assert arrow_eval.evaluate(expr, TABLE) is None


def test_failing_rows_are_those_duckdb_finds(monkeypatch):
    checks = {f"c{k}": expr for k, expr in enumerate([*CONDITIONS, "i / 2 > 1", "s ~ '^c'"])}
    ours = failing(TABLE, checks)
    assert list(ours) == list(checks)  # in the checks' order, DuckDB's ones among them
    monkeypatch.setattr(arrow_eval, "evaluate", lambda *a, **k: None)
    theirs = failing(TABLE, checks)
    assert {k: v.tolist() for k, v in ours.items()} == {k: v.tolist() for k, v in theirs.items()}
    assert sum(len(v) for v in ours.values()) > N


def test_computed_columns_take_the_arrow_path_without_a_query(monkeypatch):
    asked = []
    real = evaluate.query
    monkeypatch.setattr(evaluate, "query", lambda *a: asked.append(a[1]) or real(*a))
    out = computed(TABLE, "i * d", "t.total")
    assert asked == [] and out.type == pa.decimal128(30, 2)
    computed(TABLE, "i / 2", "t.half")
    assert len(asked) == 1


@pytest.mark.parametrize("order", ["made per parent", "shuffled"])
def test_plain_aggregates_per_parent_match_duckdb(monkeypatch, order):
    """Sums of decimals and counts per parent without a query: what DuckDB's query gives,
    parents without children included (sum NULL, count 0), and parents whose values are all
    NULL (sum NULL); children made parent by parent are summed as runs (numpy), others by
    Arrow's group-by; other aggregates go to DuckDB."""
    from tdm.checks import aggregate

    groups = 700
    parent = np.sort(rng.choice(np.arange(0, groups, 2), N))  # odd parents have no children
    totals = _nulls(_decimals(2, 12)).to_pylist()
    totals[: int(np.searchsorted(parent, 10))] = [None] * int(np.searchsorted(parent, 10))
    line_total = pa.array([None, *totals], pa.decimal128(12, 2)).slice(1)  # an offset
    children = pa.table({"line_total": line_total, "qty": TABLE.column("i")})
    if order == "shuffled":
        shuffle = rng.permutation(N)
        parent, children = parent[shuffle], children.take(pa.array(shuffle))
    sqls = [
        'sum("line_total")',
        'count("__tdm_parent")',
        'count("line_total")',
        'sum("line_total")',
    ]
    plans = [aggregate._plain(s) for s in sqls]
    runs = aggregate._in_order(children, parent, groups, plans)
    assert (runs is not None) == (order == "made per parent")
    ours = aggregate._by_arrow(children, parent, groups, sqls)
    assert ours is not None
    monkeypatch.setattr(aggregate, "_by_arrow", lambda *a: None)
    theirs = aggregate.grouped(children, parent, groups, sqls, "t.x")
    assert [a.to_pylist() for a in ours] == [a.to_pylist() for a in theirs]
    assert [a.type for a in ours] == [a.type for a in theirs]
    assert ours[0].null_count >= groups // 2 + 5 and ours[1].to_pylist()[1] == 0
    assert ours[0].to_pylist()[0] is None and ours[1].to_pylist()[0] > 0  # all NULL there
    others = (
        'sum("qty")',
        'avg("line_total")',
        'max("line_total")',
        'sum(DISTINCT "qty")',
        "count(*)",
    )
    for other in others:
        monkeypatch.undo()
        assert aggregate._by_arrow(children, parent, groups, [other]) is None


def test_runs_too_wide_for_64_bits_are_summed_by_arrow():
    """Sums that could overflow 64-bit integers (or of decimals above 18 digits) are not
    summed as runs; Arrow's group-by gives them."""
    from tdm.checks import aggregate

    parent = np.array([0] * 10 + [1])  # ten values of 18 digits: past 2**63 together
    big = pa.array([Decimal("9" * 16 + ".99")] * 11, pa.decimal128(18, 2))
    wide = pa.array([Decimal("1.00")] * 11, pa.decimal128(20, 2))
    for column in (big, wide):
        children = pa.table({"v": column})
        assert aggregate._in_order(children, parent, 2, [("sum", "v")]) is None
        sums = aggregate._by_arrow(children, parent, 2, ['sum("v")'])
        assert sums[0].to_pylist() == [column[0].as_py() * 10, column[0].as_py()]
