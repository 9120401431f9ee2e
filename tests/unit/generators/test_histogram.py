"""`distribution: histogram` on the integer, decimal, date and timestamp generators and on
per-parent row counts: values stay in their bins at the column's resolution, follow the weights,
do not depend on batching, and bad histograms are refused with the path and the reason."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from tdm.plan.loading import load_spec
from tests.unit.helpers import make, run
from tests.unit.specs import CUSTOMERS, problems_of, write

N = 40_000


def test_integer_histogram_follows_weights_per_bin():
    gen = make(
        "integer", "int", distribution="histogram", edges=[18, 30, 31, 65], weights=[2, 5, 3]
    )
    assert gen.problems() == []
    x = run(gen, 0, N).to_numpy()
    assert x.min() >= 18 and x.max() <= 64
    assert np.mean(x == 30) == pytest.approx(0.5, abs=0.01)  # [30, 31) is 30 alone
    assert np.mean(x < 30) == pytest.approx(0.2, abs=0.01)
    assert run(gen, 5, 9).to_pylist() == x[5:9].tolist()  # any batch, the same rows


def test_integer_histogram_with_a_bin_holding_no_whole_number_is_a_problem():
    gen = make(
        "integer", "int", distribution="histogram", edges=[0, 0.5, 0.8, 3], weights=[1, 1, 1]
    )
    [(param, message, _)] = gen.problems()
    assert param == "edges" and "bin 2 [0.5, 0.8) holds no whole number" in message


def test_decimal_histogram_draws_values_of_the_scale_in_half_open_bins():
    gen = make(
        "decimal",
        "decimal(8,2)",
        distribution="histogram",
        edges=[1.5, 1.51, 2.0, 9.99],
        weights=[30, 50, 20],
    )
    assert gen.problems() == []
    x = run(gen, 0, N).cast(pa.float64()).to_numpy()
    assert np.mean(x == 1.5) == pytest.approx(0.3, abs=0.01)  # an atom: [1.50, 1.51)
    assert x.min() == 1.5 and x.max() <= 9.98
    cents = np.round(x * 100)
    assert np.allclose(x * 100, cents)
    assert np.mean((x >= 1.51) & (x < 2.0)) == pytest.approx(0.5, abs=0.01)
    narrow = make(
        "decimal", "decimal(8,2)", distribution="histogram", edges=[1.001, 1.009, 2], weights=[1, 1]
    )
    assert "holds no value of scale 2" in narrow.problems()[0][1]


def test_date_histogram_draws_days_of_each_bin():
    gen = make(
        "date",
        "date",
        distribution="histogram",
        edges=["2024-01-01", "2024-01-02", dt.date(2024, 2, 1), "2025-01-01"],
        weights=[1, 1, 2],
    )
    assert gen.problems() == []
    assert gen.bounds() == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    days = run(gen, 0, N).to_pylist()
    assert min(days) == dt.date(2024, 1, 1) and max(days) <= dt.date(2024, 12, 31)
    assert days.count(dt.date(2024, 1, 1)) / N == pytest.approx(0.25, abs=0.01)
    january = sum(dt.date(2024, 1, 2) <= d < dt.date(2024, 2, 1) for d in days)
    assert january / N == pytest.approx(0.25, abs=0.01)


def test_timestamp_histogram_takes_dates_and_timestamps_as_edges():
    gen = make(
        "timestamp",
        "timestamp",
        distribution="histogram",
        edges=["2024-01-01", "2024-01-01T06:00:00", "2024-01-01T06:00:01", "2024-01-02"],
        weights=[1, 2, 1],
    )
    assert gen.problems() == []
    values = run(gen, 0, N).cast(pa.int64()).to_numpy() // 1_000_000
    six = int(dt.datetime(2024, 1, 1, 6, tzinfo=dt.UTC).timestamp())
    assert np.mean(values == six) == pytest.approx(0.5, abs=0.01)  # one second wide: exact
    assert values.min() >= six - 6 * 3600 and values.max() < six + 18 * 3600


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"edges": ["2024-02-01", "2024-01-01"], "weights": [1]}, "2024-01-01 is not after"),
        ({"edges": ["2024-01-01", "2024-02-01"], "weights": [1, 2]}, "give 1 weights"),
        (
            {"edges": ["2024-01-01T06:00:00", "2024-01-01T12:00:00"], "weights": [1]},
            "no whole number",
        ),
    ],
)
def test_bad_date_histograms_are_problems(params, message):
    gen = make("date", "date", distribution="histogram", **params)
    assert message in gen.problems()[0][1]


def test_date_histogram_needs_readable_edges_and_no_unique():
    with pytest.raises(ValueError, match="cannot read histogram edge 'soon'"):
        make("date", "date", distribution="histogram", edges=["soon", "2024-01-01"], weights=[1])
    with pytest.raises(ValueError, match="needs edges and weights"):
        make("date", "date", distribution="histogram")
    with pytest.raises(ValueError, match="belong to distribution: histogram"):
        make("date", "date", edges=["2024-01-01", "2024-02-01"], weights=[1])
    unique = make(
        "date",
        "date",
        unique=True,
        distribution="histogram",
        edges=["2024-01-01", "2024-02-01"],
        weights=[1],
    )
    assert "cannot be unique" in unique.problems()[0][1]


def test_rows_per_parent_follow_a_histogram(tmp_path):
    spec = CUSTOMERS.replace("rows: 10", "rows: 20000") + (
        "  orders:\n"
        "    rows: {per: customers, distribution: histogram, edges: [0, 1, 2, 10],"
        " weights: [50, 30, 20]}\n"
        "    columns:\n"
        "      customer_id: {type: int, references: customers}\n"
    )
    plan = load_spec(write(tmp_path, spec))
    per = plan.per_parent["orders"]
    counts = np.diff(per.ends(0, per.parents), prepend=0)
    assert np.mean(counts == 0) == pytest.approx(0.5, abs=0.015)
    assert np.mean(counts == 1) == pytest.approx(0.3, abs=0.015)
    assert counts.max() == 9 and np.mean(counts >= 2) == pytest.approx(0.2, abs=0.015)
    assert plan.rows["orders"] == counts.sum()


def test_a_bad_rows_histogram_names_the_path(tmp_path):
    spec = CUSTOMERS + (
        "  orders:\n"
        "    rows: {per: customers, distribution: histogram, edges: [0, 2, 1], weights: [1, 1]}\n"
        "    columns:\n"
        "      customer_id: {type: int, references: customers}\n"
    )
    [problem] = problems_of(write(tmp_path, spec))
    assert "edges must increase" in problem.message
    assert "orders" in str(problem.path) and "rows" in str(problem.path)


def test_sentence_word_counts_follow_weights_and_bad_weights_are_problems():
    gen = make("sentence", min_words=1, max_words=3, weights=[6, 0, 4])
    assert gen.problems() == []
    words = np.array([len(s.split()) for s in run(gen, 0, 20_000).to_pylist()])
    assert set(np.unique(words)) == {1, 3}
    assert np.mean(words == 1) == pytest.approx(0.6, abs=0.015)
    plain = make("sentence", min_words=1, max_words=3)
    assert len({len(s.split()) for s in run(plain, 0, 1000).to_pylist()}) == 3
    assert (
        "2 weights for 3 word counts"
        in make("sentence", min_words=1, max_words=3, weights=[1, 1]).problems()[0][1]
    )
    assert (
        "positive sum"
        in make("sentence", min_words=1, max_words=2, weights=[0, 0]).problems()[0][1]
    )
