"""The histogram distribution: draws follow the bins' CDF, stay inside the edges, are whole
numbers when asked, depend on the row index alone, and bad edges/weights are clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from tdm.core.distributions import DistributionSpec
from tdm.core.rand import RowRandom

N = 100_000
EDGES = [0.0, 1.0, 5.0, 20.0, 100.0]
WEIGHTS = [10.0, 40.0, 30.0, 20.0]


def hist(**extra) -> DistributionSpec:
    return DistributionSpec(distribution="histogram", edges=EDGES, weights=WEIGHTS, **extra)


def cdf(x: np.ndarray, edges=EDGES, weights=WEIGHTS) -> np.ndarray:
    """The piecewise-linear CDF of the histogram."""
    cum = np.concatenate([[0.0], np.cumsum(weights) / np.sum(weights)])
    return np.interp(x, edges, cum)


def ks_one_sample(values: np.ndarray, f) -> float:
    x = np.sort(values)
    n = len(x)
    fx = f(x)
    return float(max(np.max(np.arange(1, n + 1) / n - fx), np.max(fx - np.arange(n) / n)))


def test_float_draws_follow_the_histogram_cdf_inside_its_edges():
    x = hist().sample(RowRandom(1, 0, N), integer=False)
    assert x.dtype == np.float64
    assert x.min() >= 0.0 and x.max() < 100.0
    assert ks_one_sample(x, cdf) < 0.01  # ~0.0043 is the 5% critical value at this N
    shares = np.histogram(x, bins=EDGES)[0] / N
    np.testing.assert_allclose(shares, np.array(WEIGHTS) / 100, atol=0.01)


def test_whole_draws_are_integers_of_each_half_open_bin():
    spec = DistributionSpec(
        distribution="histogram", edges=[0, 1, 2, 10.5, 12], weights=[5, 0, 3, 2]
    )
    x = spec.sample(RowRandom(2, 0, N), integer=True)
    assert x.dtype == np.int64
    counts = np.bincount(x, minlength=12)
    assert counts[1] == 0  # the bin [1, 2) has weight 0
    assert counts[0] / N == pytest.approx(0.5, abs=0.01)  # [0, 1) holds 0 alone
    assert set(np.unique(x)) == {0, *range(2, 12)}  # [2, 10.5) is 2..10; [10.5, 12) is 11
    assert counts[11] / N == pytest.approx(0.2, abs=0.01)
    # inside a bin the whole numbers are equally likely: 2..10 share 30%
    np.testing.assert_allclose(counts[2:11] / N, 0.3 / 9, atol=0.005)


def test_clamping_and_bounds_and_mean():
    spec = hist(min=2, max=50)
    x = spec.sample(RowRandom(3, 0, N), integer=True)
    assert x.min() == 2 and x.max() == 50
    assert hist().bounds() == (0.0, 100.0)
    assert hist().expected() == pytest.approx((0.5 * 10 + 3 * 40 + 12.5 * 30 + 60 * 20) / 100)


def test_a_value_depends_on_its_row_index_alone():
    whole = hist().sample(RowRandom(9, 0, 10_000), integer=True)
    parts = [
        hist().sample(RowRandom(9, a, b), integer=True) for a, b in ((0, 4097), (4097, 10_000))
    ]
    assert np.array_equal(whole, np.concatenate(parts))
    assert not np.array_equal(whole, hist().sample(RowRandom(10, 0, 10_000), integer=True))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"edges": [0, 1]}, "histogram distribution needs weights"),
        ({"edges": [0], "weights": []}, "a histogram needs at least 2 edges, got 1"),
        ({"edges": [0, 1, 1], "weights": [1, 1]}, "edge 3 (1) is not above edge 2 (1)"),
        ({"edges": [0, 5, 2], "weights": [1, 1]}, "histogram edges must increase"),
        ({"edges": [0, 1, 2], "weights": [1]}, "3 edges make 2 bins, so give 2 weights (got 1)"),
        ({"edges": [0, 1], "weights": [-1]}, "weights must be finite and >= 0"),
        ({"edges": [0, 1], "weights": [0]}, "with a positive sum"),
        ({"edges": [0, float("inf")], "weights": [1]}, "edges must be finite"),
    ],
)
def test_bad_histograms_are_clear_errors(params, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DistributionSpec(distribution="histogram", **params)


def test_edges_belong_to_histograms_and_whole_draws_need_whole_numbers():
    with pytest.raises(ValidationError, match="edges and weights belong to distribution"):
        DistributionSpec(distribution="poisson", lam=2, edges=[0, 1], weights=[1])
    narrow = DistributionSpec(distribution="histogram", edges=[0, 0.2, 0.7, 3], weights=[1, 1, 1])
    assert "bin 2 [0.2, 0.7) holds no whole number" in narrow.whole_problem()
    with pytest.raises(ValueError, match="holds no whole number"):
        narrow.sample(RowRandom(1, 0, 10), integer=True)
    assert narrow.sample(RowRandom(1, 0, 10), integer=False).shape == (10,)
    assert hist().whole_problem() is None
