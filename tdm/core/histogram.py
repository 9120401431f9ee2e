"""Piecewise-uniform (histogram) distributions: checking and drawing them. Profiling builds them
from a source under the k rule (tdm.introspect.profile.bins).

Bin i is the half-open interval [edges[i], edges[i + 1]) with weight weights[i]; a draw picks a
bin by weight, then a value uniformly inside it. Whole numbers (integers, days, seconds) inside
bin i are ceil(edges[i]) .. ceil(edges[i + 1]) - 1, so the last edge itself is never drawn.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np

from tdm.core.rand import RowRandom

MAX_BINS = 10_000
_INT_LIMIT = 2**62


def histogram_problem(edges: Sequence[float], weights: Sequence[float]) -> str | None:
    """Why `edges`/`weights` are not a histogram, in the spec's words; None when they are."""
    if len(edges) < 2:
        return f"a histogram needs at least 2 edges, got {len(edges)}"
    if len(edges) - 1 > MAX_BINS:
        return f"a histogram has at most {MAX_BINS:,} bins, got {len(edges) - 1:,}"
    if len(weights) != len(edges) - 1:
        return (
            f"{len(edges)} edges make {len(edges) - 1} bins, so give {len(edges) - 1} weights "
            f"(got {len(weights)})"
        )
    if not all(math.isfinite(e) for e in edges):
        return "histogram edges must be finite numbers"
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        if not a < b:
            return (
                f"histogram edges must increase: edge {i + 2} ({b:g}) is not above edge "
                f"{i + 1} ({a:g})"
            )
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not sum(weights) > 0:
        return "histogram weights must be finite and >= 0, with a positive sum"
    return None


def whole_bins(edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The first whole number of each bin and how many it holds (0 for a bin holding none)."""
    e = np.clip(np.ceil(np.asarray(edges, dtype=np.float64)), -_INT_LIMIT, _INT_LIMIT)
    first = e[:-1].astype(np.int64)
    return first, e[1:].astype(np.int64) - first


def whole_problem(edges: Sequence[float], weights: Sequence[float]) -> str | None:
    """For whole-number draws: a bin with weight that holds no whole number."""
    _, count = whole_bins(edges)
    for i, (n, w) in enumerate(zip(count.tolist(), weights, strict=True)):
        if w > 0 and n < 1:
            return (
                f"histogram bin {i + 1} [{edges[i]:g}, {edges[i + 1]:g}) holds no whole number; "
                "give it weight 0 or move its edges"
            )
    return None


def draw(
    rr: RowRandom, edges: Sequence[float], weights: Sequence[float], whole: bool
) -> np.ndarray:
    """One value per row: float64 inside the bins, or int64 whole numbers when `whole`."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w)
    u = rr.draw(lambda g, n: g.random((n, 2)))
    # side='right' steps over zero-weight bins; the min guards a product rounded up to the sum
    last = int(np.flatnonzero(w > 0)[-1])
    b = np.minimum(np.searchsorted(cum, u[:, 0] * cum[-1], side="right"), last)
    if whole:
        first, count = whole_bins(edges)
        step = np.minimum(np.floor(u[:, 1] * count[b]).astype(np.int64), count[b] - 1)
        return first[b] + step
    e = np.asarray(edges, dtype=np.float64)
    return e[b] + u[:, 1] * (e[b + 1] - e[b])


def mean(edges: Sequence[float], weights: Sequence[float]) -> float:
    e, w = np.asarray(edges, dtype=np.float64), np.asarray(weights, dtype=np.float64)
    return float(np.sum(w * (e[:-1] + e[1:]) / 2) / w.sum())
