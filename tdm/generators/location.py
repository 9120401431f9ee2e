"""Places: street addresses, cities, postcodes, countries, ISO country codes and phone numbers.

Addresses, postcodes and phone numbers come from shapes of the locale's Faker values (digits
turned into placeholders), so each row gets fresh digits in a format the locale really uses.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from functools import cache, partial
from typing import ClassVar

import numpy as np
import pyarrow as pa
from faker.providers.date_time import Provider as DateTimeProvider
from pydantic import BaseModel, ConfigDict, Field

from tdm.core.arrowstr import join, take
from tdm.generators.base import GenContext, Generator, register
from tdm.generators.pools import distinct, pick, pick_unique, sampled
from tdm.generators.shapes import (
    ShapePool,
    domain,
    fill_unique,
    index_below,
    random_u16,
    slot_count,
    split_domain,
    to_shape,
)

SHAPE_SAMPLES = 2048


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- locale shapes -----------------------------------------------------------------------------


@cache
def _combined(loader: Callable[[str], tuple[str, ...]], locales: tuple[str, ...]):
    groups = [loader(loc) for loc in locales]
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return ShapePool([s for g in groups for s in g]), offsets, sizes


def fill_locale_shapes(ctx: GenContext, loader: Callable[[str], tuple[str, ...]]) -> pa.Array:
    """Each row takes a shape of its own locale (loader: locale -> shapes) and fills it."""
    pool, offsets, sizes = _combined(loader, ctx.info.locales)
    bits = random_u16(ctx.rng, 2 + 2 * pool.groups).view(np.uint32)  # shape, then its slots
    if ctx.locale is None or len(sizes) == 1:
        which = index_below(bits[:, 0], sizes[0])
    else:
        which = index_below(bits[:, 0], sizes.take(ctx.locale))
        which += offsets.take(ctx.locale)
    return pool.fill_bits(which, bits[:, 1:])


def phone_shape(value: str, cc: str) -> str:
    """'+49(0) 800615824' -> '+49(0) %########': keeps the country code, trunk zeros and an
    international '00' prefix; the first significant digit is 1-9, the rest any digit."""
    out, pos, significant = [], 0, False
    for i, m in enumerate(re.finditer(r"\d+", value)):
        run = m.group()
        out.append(value[pos : m.start()])
        pos = m.end()
        if cc and m.start() > 0 and value[m.start() - 1] == "+" and run.startswith(cc):
            out.append(cc)
            run = run[len(cc) :]
        elif i == 0 and run.startswith("00") and len(run) <= 5:
            out.append(run)
            continue
        if significant:
            out.append("#" * len(run))
            continue
        zeros = len(run) - len(run.lstrip("0"))
        out.append(run[:zeros])
        if run[zeros:]:
            out.append("%" + "#" * (len(run) - zeros - 1))
            significant = True
    out.append(value[pos:])
    return "".join(out)


@cache
def phone_shapes(locale: str) -> tuple[str, ...]:
    """Shapes of ~1000 Faker phone numbers of the locale (repeats keep Faker's frequencies)."""
    values = sampled(locale, "phone_number", 1000).to_pylist()
    codes = [m.group(1) for v in values if (m := re.search(r"\+(\d+)", v))]
    cc = ""
    if codes:
        cc = codes[0][:3]
        for c in codes:
            while not c.startswith(cc):
                cc = cc[:-1]
    return tuple(phone_shape(v, cc) for v in values)


def territory(locale: str) -> str | None:
    """'de_DE' -> 'DE'; None for locales without a country ('la', 'en')."""
    part = locale.split("_")[-1] if "_" in locale else ""
    return part if part in set(_codes()) else None


# ---- loaders (module-level and cached so pools are built once per process) --------------------


@cache
def _codes() -> tuple[str, ...]:
    return tuple(sorted({c.alpha_2_code for c in DateTimeProvider.countries}))


@cache
def country_codes(locale: str) -> pa.StringArray:
    """ISO 3166 alpha-2 codes (the same list in every locale)."""
    return pa.array(list(_codes()), type=pa.string())


@cache
def countries(locale: str) -> pa.StringArray:
    """Country names in the locale's language, deduplicated (Faker's country())."""
    return pa.array(sorted(set(sampled(locale, "country").to_pylist())), type=pa.string())


@cache
def street_shapes(locale: str) -> tuple[str, ...]:
    return tuple(to_shape(v) for v in sampled(locale, "street_address", SHAPE_SAMPLES).to_pylist())


def _postcode_shape(value: str) -> str:
    return re.sub(r"[A-Z]", "?", re.sub(r"\d", "#", value))


@cache
def postcode_shapes(locale: str) -> tuple[str, ...]:
    """Digits -> '#'; letters -> '?' unless constant across the locale's values of that shape."""
    values = sampled(locale, "postcode", SHAPE_SAMPLES).to_pylist()
    groups: dict[str, list[str]] = defaultdict(list)
    for v in values:
        groups[_postcode_shape(v)].append(v)
    fixed = {}
    for shape, members in groups.items():
        chars = list(shape)
        if len(members) >= 20:
            for i, ch in enumerate(shape):
                if ch == "?" and len({m[i] for m in members}) == 1:
                    chars[i] = members[0][i]
        fixed[shape] = "".join(chars)
    return tuple(fixed[_postcode_shape(v)] for v in values)


CITY = partial(sampled, method="city")


# ---- generators --------------------------------------------------------------------------------


class PoolGenerator(Generator):
    """Values drawn from a per-locale pool; unique by permuting the merged distinct pool."""

    types = ("string",)
    Params = _Params
    can_be_unique = True
    loader: ClassVar[Callable[[str], pa.Array]]

    def capacity(self) -> int | None:
        if not self.info.unique:
            return None
        return len(distinct(type(self).loader, self.info.locales))

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return pick_unique(ctx, self, type(self).loader)
        return pick(ctx, type(self).loader)


@register
class StreetAddress(Generator):
    """House number and street in the locale's format, e.g. '4821 Smith Forges Apt. 307'."""

    name = "street_address"
    types = ("string",)
    Params = _Params
    summary: ClassVar[str] = "street and building number in the locale's format"

    def generate(self, ctx: GenContext) -> pa.Array:
        return fill_locale_shapes(ctx, street_shapes)


@register
class City(PoolGenerator):
    """City names of the locale."""

    name = "city"
    loader = CITY
    summary: ClassVar[str] = "city name of the row's locale"


@register
class Postcode(Generator):
    """Postal codes in the locale's format ('#####', 'A9 9AA', '999-9999')."""

    name = "postcode"
    types = ("string",)
    Params = _Params
    summary: ClassVar[str] = "postal code in the locale's format"

    def generate(self, ctx: GenContext) -> pa.Array:
        return fill_locale_shapes(ctx, postcode_shapes)


@register
class Country(PoolGenerator):
    """Country names in the locale's language (uniform over countries)."""

    name = "country"
    loader = countries
    summary: ClassVar[str] = "country name in the locale's language"


class CountryCodeParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    of_locale: bool = False  # the country of the row's locale (en_US -> US) instead of random


@register
class CountryCode(Generator):
    """ISO 3166-1 alpha-2 codes: random, or the country of the row's locale."""

    name = "country_code"
    types = ("string",)
    Params = CountryCodeParams
    can_be_unique = True
    summary: ClassVar[str] = "ISO 3166-1 alpha-2 country code (random or the row's locale)"

    def problems(self):
        out = []
        if self.p.of_locale:
            bad = [loc for loc in self.info.locales if territory(loc) is None]
            if bad:
                out.append(
                    (
                        "of_locale",
                        f"locale(s) {', '.join(bad)} name no country",
                        "use locales like en_US or de_DE",
                    )
                )
            if self.info.unique:
                out.append(
                    (
                        "of_locale",
                        "of_locale gives one code per locale, so it cannot be unique",
                        "drop unique or of_locale",
                    )
                )
        return out

    def capacity(self) -> int | None:
        return len(_codes()) if self.info.unique else None

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.p.of_locale:
            codes = pa.array([territory(loc) for loc in ctx.info.locales], type=pa.string())
            loc = ctx.locale if ctx.locale is not None else np.zeros(ctx.n, dtype=np.int64)
            return take(codes, loc)
        if self.info.unique:
            return pick_unique(ctx, self, country_codes)
        return pick(ctx, country_codes)


# ---- phone numbers -----------------------------------------------------------------------------


class PhoneParams(_Params):
    format: str | None = Field(None, description="explicit shape, e.g. '+1-###-###-####'")


@register
class Phone(Generator):
    """Phone numbers in the formats of the row's locale, or in one explicit shape."""

    name = "phone"
    types = ("string",)
    Params = PhoneParams
    can_be_unique = True
    summary: ClassVar[str] = "phone number in the locale's formats or an explicit '#' shape"

    def problems(self):
        if self.p.format is not None and slot_count(self.p.format) == 0:
            return [
                (
                    "format",
                    "format has no placeholders",
                    "use '#' (digit), '%' (1-9), '?' (letter), e.g. '+1-###-###-####'",
                )
            ]
        if self.info.unique and self.p.format is None:
            return [
                (
                    "format",
                    "unique phone numbers need an explicit format",
                    "add format: '+1-###-###-####'",
                )
            ]
        return []

    def capacity(self) -> int | None:
        if not self.info.unique or self.p.format is None:
            return None
        return domain(split_domain(self.p.format)[1])

    def generate(self, ctx: GenContext) -> pa.Array:
        fmt = self.p.format
        if fmt is None:
            return fill_locale_shapes(ctx, phone_shapes)
        zeros = np.zeros(ctx.n, dtype=np.int64)
        if not self.info.unique:
            return _one_shape(fmt).fill(zeros, ctx.rng)
        head, tail = split_domain(fmt)
        tail_values = fill_unique(tail, self.unique_slots(ctx.idx, domain(tail)))
        return join(_one_shape(head).fill(zeros, ctx.rng), tail_values) if head else tail_values


@cache
def _one_shape(shape: str) -> ShapePool:
    return ShapePool([shape])
