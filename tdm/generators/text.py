"""Patterns, UUIDs, words and sentences, and JSON documents built from other generators."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tdm.core.arrowstr import HEX, fixed_width, join, with_nulls
from tdm.core.permute import mix64
from tdm.core.rand import RowRandom, key64, stream_key
from tdm.core.types import parse_type
from tdm.generators import pools
from tdm.generators.base import REGISTRY, ColumnInfo, GenContext, Generator, register
from tdm.generators.shapes import ShapePool, domain, fill_unique, slot_count, split_domain


class PatternParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pattern: str = Field(min_length=1, description="'#' digit, '%' 1-9, '?' A-Z, rest literal")


@register
class Pattern(Generator):
    """Strings of a fixed shape, e.g. '###-##-####' or 'SKU-????-####'."""

    name = "pattern"
    reproducible = True  # depends on ctx.rng alone
    types = ("string",)
    Params = PatternParams
    can_be_unique = True

    def __init__(self, params, info):
        super().__init__(params, info)
        self.index_based = info.unique

    def problems(self):
        if slot_count(self.p.pattern) == 0 and not self.info.unique:
            return [
                (
                    "pattern",
                    "the pattern has no placeholder, so every value is the same",
                    "use # for digits, % for 1-9, ? for letters",
                )
            ]
        return []

    def capacity(self) -> int:
        return domain(self.p.pattern)

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return self.at(ctx.idx, ctx)
        return ShapePool([self.p.pattern]).fill(np.zeros(ctx.n, dtype=np.int64), ctx.rng)

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        """The tail (the last placeholders, up to 2**62 values) is a permutation of the row
        index; each further 2**62 of head is spread from the index with a key of its own."""
        head, tail = split_domain(self.p.pattern)
        values = fill_unique(tail, self.unique_slots(idx, domain(tail)))
        part = 0
        while head:
            head, chunk = split_domain(head)
            name = ("head", part) if part else ("head",)
            key = key64(self.info.seed, self.info.table, self.info.name, *name)[0]
            spread = mix64(idx.astype(np.uint64) ^ key)
            values = join(fill_unique(chunk, spread % np.uint64(domain(chunk))), values)
            part += 1
        return values


@register
class Uuid(Generator):
    """Random-looking version-4 UUIDs that are a bijection of the row index: unique keys."""

    name = "uuid"
    types = ("uuid", "string")
    can_be_unique = True
    index_based = True

    def at(self, idx: np.ndarray, ctx: GenContext) -> pa.Array:
        k = key64(self.info.seed, self.info.table, self.info.name, "uuid", count=2)
        x = mix64(idx.astype(np.uint64) ^ k[0])  # a bijection of uint64: distinct for distinct idx
        noise = mix64(idx.astype(np.uint64) ^ k[1])
        hi = (
            ((x >> np.uint64(16)) << np.uint64(16))
            | np.uint64(0x4000)
            | ((x >> np.uint64(4)) & np.uint64(0xFFF))
        )
        lo = (
            (np.uint64(0b10) << np.uint64(62))
            | ((x & np.uint64(0xF)) << np.uint64(58))
            | (noise & np.uint64((1 << 58) - 1))
        )
        raw = np.stack([hi, lo], axis=1).astype(">u8").view(np.uint8).reshape(-1, 16)
        hexed = np.stack([HEX[raw >> 4], HEX[raw & 0xF]], axis=2).reshape(-1, 32)
        dash = np.full((len(idx), 1), ord("-"), dtype=np.uint8)
        parts = [
            hexed[:, :8],
            dash,
            hexed[:, 8:12],
            dash,
            hexed[:, 12:16],
            dash,
            hexed[:, 16:20],
            dash,
            hexed[:, 20:],
        ]
        return fixed_width(np.concatenate(parts, axis=1))


def _words(locale: str) -> pa.Array:
    try:
        return pools.provider_values(locale, "word_list")
    except LookupError:
        return pools.provider_values("en_US", "word_list")


class SentenceParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_words: int = Field(4, ge=1, le=200)
    max_words: int = Field(12, ge=1, le=200)
    # how likely each word count min_words..max_words is (None: equally likely)
    weights: tuple[float, ...] | None = None


def _sentences(
    ctx: GenContext, rr: RowRandom, lo: int, hi: int, weights: tuple[float, ...] | None = None
) -> pa.Array:
    """One capitalised sentence of lo..hi words per row (by `weights` when given); rows
    `ctx.skip` (to be null) get no words."""
    words = pa.concat_arrays([_words(loc) for loc in ctx.info.locales[:1]])
    if weights is None:
        count = rr.integers(lo, hi)
    else:
        w = np.asarray(weights, dtype=np.float64)
        count = lo + rr.weighted_index(np.cumsum(w) / w.sum())
    if ctx.skip is not None:  # drawn all the same: the other rows' draws do not move
        count = np.where(ctx.skip, 0, count)
    which = rr.draw(lambda g, n: g.integers(0, len(words), (n, hi)))
    keep = np.arange(hi)[None, :] < count[:, None]
    offsets = np.concatenate([[0], np.cumsum(count)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), words.take(pa.array(which[keep])))
    return join(pc.utf8_capitalize(pc.binary_join(lists, " ")), ".")


@register
class Sentence(Generator):
    """One sentence of min_words..max_words words from the locale's word list."""

    name = "sentence"
    types = ("string",)
    Params = SentenceParams

    def problems(self):
        lo, hi, w = self.p.min_words, self.p.max_words, self.p.weights
        if lo > hi:
            return [("min_words", f"min_words {lo} > max_words {hi}", None)]
        if w is not None and len(w) != hi - lo + 1:
            return [("weights", f"{len(w)} weights for {hi - lo + 1} word counts", None)]
        if w is not None and not (all(0 <= x < math.inf for x in w) and sum(w) > 0):
            return [("weights", "weights must be finite, >= 0, with a positive sum", None)]
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        return _sentences(ctx, ctx.rng, self.p.min_words, self.p.max_words, self.p.weights)


class TextParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min_sentences: int = Field(1, ge=1, le=50)
    max_sentences: int = Field(4, ge=1, le=50)
    max_chars: int | None = Field(None, ge=1)


@register
class Text(Generator):
    """A paragraph of sentences, optionally cut to max_chars."""

    name = "text"
    types = ("string",)
    Params = TextParams

    def problems(self):
        if self.p.min_sentences > self.p.max_sentences:
            return [("min_sentences", "min_sentences > max_sentences", None)]
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        count = ctx.rng.integers(self.p.min_sentences, self.p.max_sentences)
        parts = []
        for i in range(self.p.max_sentences):
            sentence = _sentences(ctx, ctx.rng, 4, 12)
            parts.append(with_nulls(sentence, count <= i))
        text = pc.binary_join_element_wise(*parts, " ", null_handling="skip")
        return pc.utf8_slice_codeunits(text, 0, self.p.max_chars) if self.p.max_chars else text


class JsonParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    fields: dict[str, dict[str, Any]] = Field(min_length=1)


def _json_literal(values: pa.Array, kind: str) -> pa.Array:
    if kind in ("int", "float", "decimal"):
        text = values.cast(pa.string())
    elif kind == "bool":
        text = pc.if_else(values, "true", "false")
    elif kind == "json":
        text = values
    else:
        escaped = pc.replace_substring(
            pc.replace_substring(values.cast(pa.string()), "\\", "\\\\"), '"', '\\"'
        )
        text = join('"', escaped, '"')
    return pc.fill_null(text, "null")


@register
class Json(Generator):
    """A JSON object per row; each field is itself a generator spec: {type, generator, ...}."""

    name = "json"
    types = ("json", "string")
    Params = JsonParams

    def __init__(self, params, info):
        super().__init__(params, info)
        self.fields: dict[str, tuple[Generator, float]] = {}
        self._problems: list[tuple[str, str, str | None]] = []

        for field, spec in params.fields.items():
            spec = dict(spec)
            try:
                kind = parse_type(spec.pop("type", "string"))
            except ValueError as e:
                self._problems.append((f"fields.{field}.type", str(e), None))
                continue
            name, null_ratio = spec.pop("generator", None), float(spec.pop("null_ratio", 0))
            cls = REGISTRY.get(name or "")
            if cls is None or kind.kind not in cls.types:
                self._problems.append(
                    (
                        f"fields.{field}.generator",
                        f"needs a generator for {kind}, got {name!r}",
                        None,
                    )
                )
                continue
            try:
                sub = cls(
                    cls.Params.model_validate(spec),
                    ColumnInfo(
                        info.table,
                        f"{info.name}.{field}",
                        kind,
                        info.seed,
                        False,
                        info.today,
                        info.locales,
                    ),
                )
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                self._problems.append(
                    (
                        f"fields.{field}" + (f".{where}" if where else ""),
                        first["msg"].removeprefix("Value error, "),
                        None,
                    )
                )
                continue
            if sub.depends_on():
                self._problems.append((f"fields.{field}", "fields cannot read other columns", None))
            self._problems += [(f"fields.{field}.{p}", m, h) for p, m, h in sub.problems()]
            self.fields[field] = (sub, null_ratio)

    def problems(self):
        return self._problems

    def generate(self, ctx: GenContext) -> pa.Array:
        pieces: list[pa.Array | str] = ["{"]
        for i, (field, (sub, null_ratio)) in enumerate(self.fields.items()):
            rr = RowRandom(
                stream_key(self.info.seed, self.info.table, sub.info.name), ctx.start, ctx.stop
            )
            sub_ctx = GenContext(sub.info, ctx.start, ctx.stop, rr, {}, ctx.locale, ctx.plan)
            values = sub.generate(sub_ctx)
            if null_ratio:
                values = with_nulls(values, rr.mask(null_ratio))
            key = '"' + field.replace("\\", "\\\\").replace('"', '\\"') + '": '
            pieces += [(", " if i else "") + key, _json_literal(values, sub.info.type.kind)]
        pieces.append("}")
        return join(*pieces)
