"""Histograms built from a source under the k rule (tdm.introspect.profile.bins): every bin holds
at least k rows, edges lie on a rounded grid (no rare value of the source), values many rows hold
get a bin of their own, and the result follows the source closely."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from tdm.checks import ColumnHint
from tdm.introspect.profile import bins
from tdm.introspect.profile.follow import _inside, _lengths


def build(x: np.ndarray, k: int, resolution: float, whole: bool) -> tuple[list, list]:
    """What the profile does in SQL, in numpy: percentile_disc quantiles, k-th values, counts."""
    s = np.sort(x)
    probs = bins.probabilities(len(s), k, 32)
    quantiles = np.quantile(s, probs, method="inverted_cdf")
    edges, keep, _ = bins.edges(quantiles, s[k - 1], s[-k], resolution, whole)
    held = np.bincount(
        np.searchsorted(edges[1:-1], s, side="right"), minlength=len(edges) - 1
    ).tolist()
    return bins.merge_small(edges, held, k, keep)


def test_no_edge_is_a_value_of_a_continuous_source_and_every_bin_holds_k():
    rng = np.random.default_rng(1)
    x = rng.lognormal(3, 1, 5000)  # every value distinct, no two on a grid of powers of ten
    edges, held = build(x, 10, 0.0, whole=False)
    assert not set(edges) & set(x.tolist())
    assert min(held) >= 10 and sum(held) == len(x)
    assert edges[0] <= np.sort(x)[9] and edges[-1] >= np.sort(x)[-10]
    assert edges[0] > x.min() and edges[-1] < x.max()  # the k - 1 extremes stay hidden
    inner = np.diff(edges)
    for e, left, right in zip(edges[1:-1], inner[:-1], inner[1:], strict=True):
        # a multiple of a power of ten no finer than 1/50 of its narrower neighbouring bin
        step = 10.0 ** np.ceil(np.log10(min(left, right) / 50))
        assert abs(e / step - round(e / step)) < 1e-6, (e, step)


@pytest.mark.parametrize("k", [1, 10, 100])
def test_the_histogram_follows_the_source(k):
    rng = np.random.default_rng(2)
    x = np.round(rng.lognormal(3, 0.9, 20_000), 2)
    edges, held = build(x, k, 0.01, whole=False)
    cum = np.concatenate([[0], np.cumsum(held)]) / len(x)
    s = np.sort(x)
    ecdf = np.searchsorted(s, s, side="right") / len(s)
    model = np.interp(s, edges, cum)
    assert np.max(np.abs(ecdf - model)) < 0.02
    assert min(held) >= k


def test_a_value_many_rows_hold_gets_a_bin_of_its_own():
    rng = np.random.default_rng(3)
    x = np.concatenate([np.full(3000, 18), rng.integers(19, 90, 7000)])
    edges, held = build(x, 10, 1.0, whole=True)
    assert edges[:2] == [18, 19] and held[0] == 3000
    assert edges[-1] == np.sort(x)[-10] + 1  # whole numbers: the last edge is never drawn


def test_small_bins_merge_into_their_smaller_neighbour_but_not_across_kept_edges():
    assert bins.merge_small([0, 1, 2, 3], [50, 3, 40], 10) == ([0, 1, 3], [50, 43])
    assert bins.merge_small([0, 1, 2, 3], [50, 3, 40], 10, keep={2}) == ([0, 2, 3], [53, 40])
    assert bins.merge_small([0, 1], [3], 10) == ([0, 1], [3])


def test_children_per_parent_keep_their_zero_and_merge_a_rare_tail():
    values = np.array([0, 1, 2, 3, 4, 5, 40, 90])
    counts = np.array([500, 300, 100, 50, 30, 12, 3, 1])
    edges, held = bins.from_counts(values, counts, 10, 32)
    assert edges[:3] == [0, 1, 2] and held[:2] == [500, 300]
    assert sum(held) == counts.sum() and min(held) >= 10
    assert 90 not in edges and 91 not in edges  # the single parent with 90 stays hidden
    assert bins.from_counts(np.array([0, 1]), np.array([5, 4]), 10, 32) is None


def test_text_generators_follow_a_length_histogram():
    entry = {"type": "string", "generator": "sentence", "min_words": 1, "max_words": 3}
    # lengths 6-12 held by 80 rows, 13-40 by 20: mostly one or two words of ~5.5 characters
    assert _lengths(entry, [6, 13, 41], [80, 20])
    assert entry["min_words"] == 1 and entry["max_words"] == 6
    assert entry["weights"][0] + entry["weights"][1] > 3 * sum(entry["weights"][2:])
    text = {"type": "string", "generator": "text", "max_sentences": 2}
    assert _lengths(text, [20, 100, 400], [50, 50])
    assert text["max_chars"] == 399 and text["min_sentences"] == 1 and text["max_sentences"] == 8
    assert not _lengths({"type": "string", "generator": "email"}, [6, 13, 41], [80, 20])


def test_outer_edges_move_inside_what_a_check_allows():
    positive = ColumnHint(min=0, min_exclusive=True)
    assert _inside([0, 5, 10], positive, None, 1.0) == [1, 5, 10]  # x > 0: whole from 1
    assert _inside([0, 5, 10], ColumnHint(min=0), None, 1.0) == [0, 5, 10]
    assert _inside([0, 5, 10], ColumnHint(max=8), None, 1.0) == [0, 5, 9]  # 8 still drawn
    assert _inside([0, 5, 10], ColumnHint(max=8, max_exclusive=True), None, 0.01) == [0, 5, 8]
    assert _inside([0.0, 0.5, 1.0], positive, None, 0.0) is None  # floats cannot start above 0
    assert _inside([0, 5, 10], ColumnHint(min=5), None, 1.0) is None  # the first bin vanishes
    days = ColumnHint(min=dt.date(1970, 1, 11))
    assert _inside([0, 30, 60], days, 86_400, 1.0) == [10, 30, 60]
