"""The registered `regex` generator: strings that fully match a regular expression, drawn from
the pattern's node tree, or, for a unique column, spelled from the row index through the
pattern's fixed positions."""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.core.permute import mix64
from tdm.core.rand import RowRandom, key64
from tdm.generators.base import GenContext, Generator, register
from tdm.generators.regex.compiler import MAX_WIDTH, Compiled, compile_pattern
from tdm.generators.regex.nodes import fixed_shape, to_strings
from tdm.generators.regex.syntax import Unsupported

UNIQUE_LIMIT = 2**62  # largest permutation domain


class RegexParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pattern: str = Field(min_length=1, description="a POSIX regular expression, as for ~")
    max_repeat: int = Field(8, ge=1, le=MAX_WIDTH, description="the cap for *, + and {n,}")
    case_insensitive: bool = Field(False, description="match as ~* does")


@register
class Regex(Generator):
    """Strings that fully match a regular expression, e.g. '^[A-Z]{2}[0-9]{2}$' (a CHECK)."""

    name = "regex"
    reproducible = True  # depends on ctx.rng alone
    types = ("string",)
    Params = RegexParams
    can_be_unique = True
    summary = "strings matching a regular expression (e.g. a CHECK constraint's ~ pattern)"

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    @cached_property
    def compiled(self) -> Compiled | Unsupported:
        try:
            c = compile_pattern(self.p.pattern, self.p.case_insensitive, self.p.max_repeat)
        except Unsupported as e:
            return e
        if self.info.unique and not c.root.fixed:  # unique: one fixed shape of the pattern
            c = Compiled(fixed_shape(c.root), c.dtype, c.python)
        return c

    def _tree(self) -> Compiled:
        if isinstance(self.compiled, Unsupported):
            raise ValueError(f"regex {self.p.pattern!r}: {self.compiled.message}")
        return self.compiled

    def problems(self):
        c = self.compiled
        if isinstance(c, Unsupported):
            return [("pattern", c.message, c.hint)]
        rows = min(64, self.capacity() or 64)
        sample = self._values(np.arange(rows, dtype=np.int64), None).to_pylist()
        bad = [v for v in sample if not c.python.search(v)]
        if bad:
            return [
                (
                    "pattern",
                    f"values built from the pattern do not match it (e.g. {bad[0]!r})",
                    "check where the anchors ^ and $ are",
                )
            ]
        return []

    @cached_property
    def _positions(self) -> tuple[list[np.ndarray], list[list[int]]]:
        """Alphabets of each position of a fixed pattern, and the varying positions in groups
        (least significant first) whose domains fit a permutation; group 0 is the last ones."""
        alphabets = self._tree().root.positions()
        groups: list[list[int]] = [[]]
        size = 1
        for i in reversed(range(len(alphabets))):
            r = len(alphabets[i])
            if r == 1:
                continue
            if size * r > UNIQUE_LIMIT:
                groups.append([])
                size = 1
            groups[-1].append(i)
            size *= r
        return alphabets, groups

    def capacity(self) -> int | None:
        c = self.compiled
        if isinstance(c, Unsupported) or not c.root.fixed:
            return None
        alphabets, groups = self._positions
        return math.prod(len(alphabets[i]) for i in groups[0])

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return self.at(ctx.idx, ctx)
        return self._values(None, ctx.rng)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        return self._values(idx, None)

    def _values(self, idx: np.ndarray | None, rr: RowRandom | None) -> pa.StringArray:
        """Drawn values for rr's rows, or distinct values spelled from the row indices idx."""
        c = self._tree()
        if idx is None or not self.info.unique:
            if rr is None:
                rr = RowRandom(self.info.stream("check"), 0, len(idx))
            return to_strings(c.root.gen(rr, rr.n, ()), c.root.fixed)
        if not c.root.fixed:
            raise ValueError(f"regex {self.p.pattern!r}: unique values need a fixed shape")
        alphabets, groups = self._positions
        out = np.empty((len(idx), len(alphabets)), dtype=c.dtype)
        for i, a in enumerate(alphabets):
            if len(a) == 1:
                out[:, i] = a[0]
        for part, group in enumerate(groups):
            if not group:
                continue
            size = math.prod(len(alphabets[i]) for i in group)
            if part == 0:
                rest = self.unique_slots(idx, size).astype(np.uint64)
            else:  # beyond 2**62 values: spread from the index with a key of its own
                key = key64(self.info.seed, self.info.table, self.info.name, "regex", part)[0]
                rest = mix64(idx.astype(np.uint64) ^ key) % np.uint64(size)
            for i in group:
                r = np.uint64(len(alphabets[i]))
                out[:, i] = alphabets[i].take((rest % r).astype(np.int64))
                rest //= r
        return to_strings(out, True)
