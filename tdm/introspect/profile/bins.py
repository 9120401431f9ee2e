"""Histograms of a source under the k rule (docs/introspection.md#histograms).

Cuts are the source's quantiles at j/B plus, toward both ends, 1/(2B), 1/(4B), ... (while such a
tail still holds k rows), so long tails get bins of their own. A value the quantiles meet twice
or more (it holds at least 1/B of the rows, so at least k) is an atom: it gets a bin one
resolution step wide, [v, v + step), and is drawn exactly. Every other edge is rounded to a grid
no finer than a fifth of its narrower neighbouring bin (powers of ten; seconds, minutes, hours,
days, 10^n days for timestamps), never finer than the column's resolution; the outer edges are
the k-th smallest value rounded down and the k-th largest rounded up. Bins holding fewer than k
rows are merged into a neighbour. Last, the k rule holds for the rounded edges as for values:
an edge stands for the values that round to it (its cell: [e - step/2, e + step/2), or
[e, e + step) for the lowest edge and [e - step, e) for the highest), and an edge whose cell
holds between 1 and k - 1 rows is rounded to a coarser grid, or left out, until none is. Only
the edges of an atom's bin are exempt: at least k rows hold the atom.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np


def probabilities(rows: int, k: int, bins: int) -> list[float]:
    """The cut probabilities for `rows` values: j/B (B at most `bins`, at most rows / k), and
    halving toward both ends while a tail holds at least k rows."""
    b = max(1, min(bins, rows // max(k, 1)))
    out = {j / b for j in range(1, b)}
    tail = 1 / (2 * b)
    while b > 1 and tail * rows >= k:
        out |= {tail, 1 - tail}
        tail /= 2
    return sorted(out)


def grid_step(width: float, resolution: float, units: Sequence[float] | None = None) -> float:
    """The grid an edge is rounded to: the largest unit (powers of ten, or `units`) at most a
    fifth of `width` (the narrower neighbouring bin), and never below `resolution`."""
    target = width / 5
    if units is not None:
        fitting = [u for u in units if u <= target]
        step = max(fitting) if fitting else min(units)
    else:
        step = 10.0 ** math.floor(math.log10(target)) if target > 0 else resolution
    return max(step, resolution)


Grid = dict[float, tuple[float, int]]  # edge -> (its grid step, -1 floor / 0 nearest / 1 ceiling)


def edges(
    quantiles: Sequence[float],
    low: float,
    high: float,
    resolution: float,
    whole: bool,
    units: Sequence[float] | None = None,
) -> tuple[list[float], set[float], Grid]:
    """Edges from the quantiles between `low` (the k-th smallest value) and `high` (the k-th
    largest), the atoms' edges among them (which merging keeps), and how the others were
    rounded. For whole numbers the top edge is a grid point above `high`, since the last edge is
    never drawn."""
    qs = [float(q) for q in quantiles]
    atoms = set()
    if resolution > 0:
        atoms = {q for q, n in Counter(qs).items() if n >= 2 and low <= q <= high}
    fixed = {_exact(a, resolution) for a in atoms} | {
        _exact(a + resolution, resolution) for a in atoms
    }
    cuts = sorted({low, high, *atoms, *(q for q in qs if low < q < high)})
    out = set(fixed)
    grid: Grid = {}
    for i, q in enumerate(cuts):
        if q in atoms:
            continue
        near = [cuts[j + 1] - cuts[j] for j in (i - 1, i) if 0 <= j < len(cuts) - 1]
        step = grid_step(min(near), resolution, units)
        side = -1 if i == 0 else 1 if i == len(cuts) - 1 else 0
        if side > 0 and whole:
            n = math.floor(q / step) + 1
        else:
            n = {-1: math.floor, 0: round, 1: math.ceil}[side](q / step)
        edge = _exact(n * step, step)
        if edge not in fixed:
            out.add(edge)
            grid[edge] = (step, side)
    return sorted(out), fixed, grid


Cells = Callable[[list[tuple[float, float, float]]], set[float]]


def cell(edge: float, step: float, side: int) -> tuple[float, float]:
    """The values an edge stands for: those rounding to it (half-open [lo, hi))."""
    if side < 0:
        return edge, edge + step
    if side > 0:
        return edge - step, edge
    return edge - step / 2, edge + step / 2


def avoid_rare(
    found: list[float],
    grid: Grid,
    rare: Cells,
    units: Sequence[float] | None = None,
    rounds: int = 8,
) -> list[float]:
    """The edges with none whose cell (`cell`) holds between 1 and k - 1 rows, as `rare` reports
    from (edge, lo, hi) triples: such an edge is rounded to a grid ten times (or one unit)
    coarser, the way it was rounded first, up to `rounds` times; interior edges still rare then
    are left out. Edges not in `grid` (atoms') are never moved."""
    found, grid = list(found), dict(grid)

    def check() -> set[float]:
        return rare([(e, *cell(e, *grid[e])) for e in found if e in grid])

    for _ in range(rounds):
        hit = check()
        if not hit:
            return found
        for e in hit:
            step, side = grid.pop(e)
            found.remove(e)
            bigger = next((u for u in units or () if u > step), step * 10)
            n = {-1: math.floor, 0: round, 1: math.ceil}[side](e / bigger)
            moved = _exact(n * bigger, bigger)
            if moved not in found:
                found.append(moved)
                grid[moved] = (bigger, side)
        found.sort()
    hit = check()
    return [e for e in found if e not in hit or grid[e][1] != 0]


def _exact(x: float, step: float) -> float:
    """x as the exact decimal of a grid of `step` (12.34, not 12.340000000000002)."""
    return float(round(x, max(0, -math.floor(math.log10(step))))) if step > 0 else x


def merge_small(
    edges: list[float], counts: list[int], k: int, keep: set[float] = frozenset()
) -> tuple[list[float], list[int]]:
    """Bins holding fewer than k rows merged into their smaller neighbour -- across an edge not
    in `keep` where there is one -- until none is left (one bin may hold fewer when all do)."""
    edges, counts = list(edges), list(counts)
    while len(counts) > 1:
        i = min(range(len(counts)), key=lambda j: (counts[j], j))
        if counts[i] >= k:
            break
        near = [j for j in (i - 1, i + 1) if 0 <= j < len(counts)]
        free = [j for j in near if edges[max(i, j)] not in keep] or near
        j = min(free, key=lambda j: (counts[j], j))
        lo, hi = min(i, j), max(i, j)
        counts[lo : hi + 1] = [counts[lo] + counts[hi]]
        del edges[hi]
    return edges, counts


def from_counts(
    values: np.ndarray, counts: np.ndarray, k: int, bins: int
) -> tuple[list[float], list[int]] | None:
    """A whole-number histogram of values held `counts` times each (e.g. children per parent),
    under the k rule as above. None when fewer than 2 bins remain."""
    order = np.argsort(values)
    v, c = np.asarray(values, dtype=np.float64)[order], np.asarray(counts, dtype=np.int64)[order]
    v, c = v[c > 0], c[c > 0]
    total = int(c.sum())
    if total < 2 * k or len(v) < 2:
        return None
    cum = np.cumsum(c)
    low = float(v[np.searchsorted(cum, k)])  # the k-th smallest: where cum first reaches k
    high = float(v[np.searchsorted(cum, total - k + 1)])  # the k-th largest
    if not low < high:
        return None
    probs = np.asarray(probabilities(total, k, bins))
    quantiles = v[np.searchsorted(cum, np.ceil(probs * total))].tolist()
    found, keep, grid = edges(quantiles, low, high, 1.0, whole=True)
    ends = np.concatenate([[0], cum])

    def rare(cells: list[tuple[float, float, float]]) -> set[float]:
        # rows in [lo, hi): parents with a count in it
        return {
            e
            for e, lo, hi in cells
            if 0 < ends[np.searchsorted(v, hi)] - ends[np.searchsorted(v, lo)] < k
        }

    found = avoid_rare(found, grid, rare)
    which = np.clip(np.searchsorted(found[1:-1], v, side="right"), 0, len(found) - 2)
    held = np.bincount(which, weights=c, minlength=len(found) - 1).astype(np.int64).tolist()
    found, held = merge_small(found, held, k, keep)
    return (found, held) if len(held) > 1 else None
