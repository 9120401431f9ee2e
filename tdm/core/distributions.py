"""Numeric distributions shared by numeric generators, per-parent row counts and key skew."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from tdm.core import histogram
from tdm.core.rand import RowRandom

MAX_LAM = 1e15  # numpy draws Poisson values for lam up to ~9.2e18 only
Name = Literal[
    "fixed", "uniform", "normal", "lognormal", "poisson", "geometric", "zipf", "histogram"
]

# parameter -> (distributions that need it, rule, description)
_NEEDS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("min", "max"),
    "normal": ("mean", "std"),
    "lognormal": ("mean", "sigma"),
    "poisson": ("lam",),
    "geometric": ("p",),
    "zipf": ("a",),
    "histogram": ("edges", "weights"),
}
_EXAMPLE = {
    "fixed": "value: 3",
    "uniform": "min: 0, max: 100",
    "normal": "mean: 50, std: 10",
    "lognormal": "mean: 3, sigma: 0.5",
    "poisson": "lam: 3",
    "geometric": "p: 0.3",
    "zipf": "a: 1.5",
    "histogram": "edges: [0, 10, 50, 200], weights: [5, 3, 1]",
}


class DistributionSpec(BaseModel):
    """`distribution` plus its parameters. For non-uniform ones, `min`/`max` clamp the result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: Name = "uniform"
    value: float | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    sigma: float | None = None
    lam: float | None = None
    p: float | None = None
    a: float | None = None
    # histogram: bin i is [edges[i], edges[i + 1]) with weight weights[i] (tdm.core.histogram)
    edges: tuple[float, ...] | None = None
    weights: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> DistributionSpec:
        d = self.distribution
        missing = [k for k in _NEEDS[d] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{d} distribution needs {', '.join(missing)} (e.g. {_EXAMPLE[d]})")
        for name in ("value", "min", "max", "mean", "std", "sigma", "lam", "p", "a"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v}")
        rules = {
            "std": (self.std, lambda v: v > 0, "must be > 0"),
            "sigma": (self.sigma, lambda v: v > 0, "must be > 0"),
            "lam": (self.lam, lambda v: v > 0, "must be > 0"),
            "p": (self.p, lambda v: 0 < v <= 1, "must be in (0, 1]"),
            "a": (self.a, lambda v: v > 1, "must be > 1"),
        }
        for name, (v, ok, rule) in rules.items():
            if v is not None and not ok(v):
                raise ValueError(f"{name} {rule}, got {v:g}")
        if self.lam is not None and self.lam > MAX_LAM:
            raise ValueError(f"lam must be <= {MAX_LAM:g}, got {self.lam:g}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"impossible range: min {self.min:g} > max {self.max:g}")
        if (self.edges is not None or self.weights is not None) and d != "histogram":
            raise ValueError("edges and weights belong to distribution: histogram")
        if d == "histogram":
            assert self.edges is not None and self.weights is not None
            problem = histogram.histogram_problem(self.edges, self.weights)
            if problem:
                raise ValueError(problem)
        return self

    def whole_problem(self) -> str | None:
        """Why whole numbers cannot be drawn (a histogram bin holding none); None: they can."""
        if self.distribution != "histogram":
            return None
        assert self.edges is not None and self.weights is not None
        return histogram.whole_problem(self.edges, self.weights)

    def sample(self, rr: RowRandom, integer: bool) -> np.ndarray:
        d = self.distribution
        if d == "fixed":
            out = np.full(rr.n, self.value, dtype=np.float64)
        elif d == "uniform":
            if integer:
                return rr.integers(int(np.ceil(self.min)), int(np.floor(self.max)))
            lo, hi = self.min, self.max
            out = rr.draw(lambda g, n: g.uniform(lo, hi, n))
        elif d == "normal":
            out = rr.draw(lambda g, n: g.normal(self.mean, self.std, n))
        elif d == "lognormal":
            out = rr.draw(lambda g, n: g.lognormal(self.mean, self.sigma, n))
        elif d == "poisson":
            out = rr.draw(lambda g, n: g.poisson(self.lam, n)).astype(np.float64)
        elif d == "histogram":
            assert self.edges is not None and self.weights is not None
            problem = self.whole_problem() if integer else None
            if problem:
                raise ValueError(problem)
            out = histogram.draw(rr, self.edges, self.weights, integer)
            if integer:
                return out if self.min is None and self.max is None else self._clip_whole(out)
        elif d == "geometric":
            # Count of failures before the first success: 0, 1, 2, ... (mean (1-p)/p).
            out = rr.draw(lambda g, n: g.geometric(self.p, n) - 1).astype(np.float64)
        else:  # zipf: 1, 2, 3, ...
            out = rr.draw(lambda g, n: g.zipf(self.a, n)).astype(np.float64)
        if self.min is not None or self.max is not None:
            out = np.clip(out, self.min, self.max)
        if not integer:
            return out
        # beyond int64 the cast is undefined; clipping keeps absurd parameters deterministic
        return np.clip(np.rint(out), -(2**62), 2**62).astype(np.int64)

    def _clip_whole(self, out: np.ndarray) -> np.ndarray:
        lo = -(2**62) if self.min is None else int(np.clip(np.ceil(self.min), -(2**62), 2**62))
        hi = 2**62 if self.max is None else int(np.clip(np.floor(self.max), -(2**62), 2**62))
        return np.clip(out, lo, hi)

    def bounds(self) -> tuple[float, float]:
        """The smallest and largest value the distribution can produce."""
        natural = {
            "fixed": (self.value, self.value),
            "uniform": (self.min, self.max),
            "normal": (-np.inf, np.inf),
            "lognormal": (0.0, np.inf),
            "poisson": (0.0, np.inf),
            "geometric": (0.0, np.inf),
            "zipf": (1.0, np.inf),
            "histogram": (self.edges[0], self.edges[-1]) if self.edges else (None, None),
        }[self.distribution]
        lo = natural[0] if self.min is None else max(natural[0], self.min)
        hi = natural[1] if self.max is None else min(natural[1], self.max)
        return lo, hi

    def expected(self) -> float | None:
        """The mean before clamping, where it is finite."""
        return {
            "fixed": self.value,
            "uniform": None if self.min is None else (self.min + self.max) / 2,
            "normal": self.mean,
            "lognormal": None
            if self.mean is None
            else float(np.exp(self.mean + self.sigma**2 / 2)),
            "poisson": self.lam,
            "geometric": None if self.p is None else (1 - self.p) / self.p,
            "zipf": None,
            "histogram": None
            if not (self.edges and self.weights)
            else histogram.mean(self.edges, self.weights),
        }[self.distribution]
