"""People: first and last names, full names, emails and usernames, per locale.

Names come from Faker pools of the row's locale. Emails and usernames are ASCII slugs of names
(from columns of the same row, or drawn here); they are made unique by a row-index number.
Phone numbers are in location.py, with the other locale shapes.
"""

from __future__ import annotations

import re
from functools import cache, partial
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from tdm.core.arrowstr import (
    ascii_slug,
    concat_rows,
    distinct_index,
    join,
    join_styles,
    sep_after_digit,
    take,
)
from tdm.generators.base import GenContext, Generator, register
from tdm.generators.pools import distinct, pick, pick_unique, provider_values, sampled
from tdm.generators.shapes import (
    index_below,
    random_u16,
    weighted,
)

RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _names(locale: str, attribute: str, method: str) -> pa.StringArray:
    """Every name a provider lists (for unique columns), else the sampled pool."""
    try:
        return provider_values(locale, attribute)
    except LookupError:
        return sampled(locale, method)


_GENDERS = {"any": "first_name", "female": "first_name_female", "male": "first_name_male"}
FIRST = {g: partial(sampled, method=m) for g, m in _GENDERS.items()}
FIRST_ALL = {  # provider lists first_names, first_names_female, ...
    g: partial(_names, attribute=m.replace("_name", "_names"), method=m)
    for g, m in _GENDERS.items()
}
LAST = partial(sampled, method="last_name")
LAST_ALL = partial(_names, attribute="last_names", method="last_name")


class FirstNameParams(_Model):
    gender: Literal["any", "female", "male"] = "any"


@register
class FirstName(Generator):
    """Given names in the locale's frequencies; unique over the locale's full name list."""

    name = "first_name"
    types = ("string",)
    Params = FirstNameParams
    can_be_unique = True
    summary: ClassVar[str] = "given name of the row's locale (gender: any|female|male)"

    def capacity(self) -> int | None:
        return (
            len(distinct(FIRST_ALL[self.p.gender], self.info.locales)) if self.info.unique else None
        )

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            return pick_unique(ctx, self, FIRST_ALL[self.p.gender])
        return pick(ctx, FIRST[self.p.gender])


@register
class LastName(Generator):
    """Family names in the locale's frequencies; unique over the locale's full name list."""

    name = "last_name"
    types = ("string",)
    can_be_unique = True
    summary: ClassVar[str] = "family name of the row's locale"

    def capacity(self) -> int | None:
        return len(distinct(LAST_ALL, self.info.locales)) if self.info.unique else None

    def generate(self, ctx: GenContext) -> pa.Array:
        return pick_unique(ctx, self, LAST_ALL) if self.info.unique else pick(ctx, LAST)


class NameColumns(_Model):
    first_name: str | None = Field(None, description="column of the same row with first names")
    last_name: str | None = Field(None, description="column of the same row with last names")


def _columns(p: NameColumns) -> tuple[str, ...]:
    return tuple(c for c in (p.first_name, p.last_name) if c)


@register
class FullName(Generator):
    """'First Last' from the locale pools or from name columns of the same row."""

    name = "full_name"
    types = ("string",)
    Params = NameColumns
    can_be_unique = True
    summary: ClassVar[str] = "'First Last' from the locale pools or from name columns"

    def depends_on(self) -> tuple[str, ...]:
        return _columns(self.p)

    def problems(self):
        if self.info.unique and _columns(self.p):
            return [
                (
                    "first_name",
                    "a unique full_name cannot reuse name columns",
                    "drop first_name/last_name or unique",
                )
            ]
        return []

    def _pools(self) -> tuple[pa.Array, pa.Array]:
        return (
            distinct(FIRST_ALL["any"], self.info.locales),
            distinct(LAST_ALL, self.info.locales),
        )

    def capacity(self) -> int | None:
        if not self.info.unique:
            return None
        first, last = self._pools()
        return len(first) * len(last)

    def generate(self, ctx: GenContext) -> pa.Array:
        if self.info.unique:
            first, last = self._pools()
            slot = self.unique_slots(ctx.idx, len(first) * len(last))
            return join(take(first, slot // len(last)), " ", take(last, slot % len(last)))
        first = ctx.row[self.p.first_name] if self.p.first_name else pick(ctx, FIRST["any"])
        last = ctx.row[self.p.last_name] if self.p.last_name else pick(ctx, LAST)
        return pc.utf8_trim_whitespace(join(pc.fill_null(first, ""), " ", pc.fill_null(last, "")))


# ---- emails and usernames ----------------------------------------------------------------------
#
# Slugs are computed per distinct name (dictionary_encode), not per row; rows then only carry
# indices into small tables (first and last name parts per style, number suffixes and domains,
# see join_styles), and one take builds the strings (concat_rows).


@cache
def _slugged(locale: str, method: str) -> pa.Array:
    return ascii_slug(sampled(locale, method))


FIRST_SLUG = partial(_slugged, method="first_name")
LAST_SLUG = partial(_slugged, method="last_name")
_NUMBER_WEIGHTS = (0.25, 0.4, 0.2, 0.15)  # 1, 2, 3, 4 digits


@cache
def _numbers() -> pa.StringArray:
    return pa.array(["", *map(str, range(1, 10_000))])  # string of value i at i; 0: no number


def _number(width: np.ndarray, value: np.ndarray, ratio: float) -> np.ndarray:
    """A 1-4 digit number for about `ratio` of the rows, 0 for the rest (16 and 32 bits)."""
    weights = (1 - ratio, *(ratio * w for w in _NUMBER_WEIGHTS))  # no number, 1-4 digits
    low = np.array([0, 1, 10, 100, 1000], dtype=np.int32).take(weighted(weights).take(width))
    number = index_below(value, 9 * low)
    number += low
    return number


def _slugs(ctx: GenContext, column: str | None, pool, bits: np.ndarray, free):
    """Slugs of a name column, or of names drawn from the locale pools with the next `free`
    column of 32 `bits`: (table ending in '' for nulls, index per row, whether any row is
    null); names without letters give '' too."""
    if column:
        table, index = distinct_index(ctx.row[column])
        nulls = ctx.row[column].null_count > 0
        return pa.concat_arrays([ascii_slug(table), pa.array([""])]), index, nulls
    pools = [pool(loc) for loc in ctx.info.locales]
    sizes, bits = np.array([len(p) for p in pools]), bits[:, next(free)]
    if ctx.locale is None or len(pools) == 1:
        index = index_below(bits, sizes[0])
    else:
        index = index_below(bits, sizes.take(ctx.locale))
        index += np.concatenate([[0], np.cumsum(sizes)[:-1]]).take(ctx.locale)
    return pa.concat_arrays([*pools, pa.array([""])]), index, False


EMAIL_STYLES = {  # (first name as initial, separator), realistic mix
    "first.last": (False, "."),
    "firstlast": (False, ""),
    "f.last": (True, "."),
    "first_last": (False, "_"),
    "flast": (True, ""),
}
_EMAIL_MIX = {"first.last": 0.4, "firstlast": 0.2, "f.last": 0.1, "first_last": 0.1, "flast": 0.2}


class EmailParams(NameColumns):
    domains: tuple[str, ...] = RESERVED_DOMAINS
    format: Literal["mixed", "first.last", "firstlast", "f.last", "first_last", "flast"] = "mixed"
    numbers: float = Field(0.3, ge=0.0, le=1.0, description="share with a 1-4 digit number")


@cache
def _style_domain(mix: tuple[float, ...], domains: int) -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables from 16 random bits to a style (by weight) and a domain (uniform)."""
    both = weighted(tuple(w for w in mix for _ in range(domains))).astype(np.int32)
    return (both // domains).astype(np.uint8), (both % domains).astype(np.uint16)


@cache
def _tails(domains: tuple[str, ...]) -> pa.StringArray:
    """Number and domain, e.g. '42@example.com', at number * len(domains) + domain."""
    return pa.array([f"{n}@{d}" for n in _numbers().to_pylist() for d in domains])


@register
class Email(Generator):
    """Addresses like 'jane.doe42@example.com' from the row's names, on reserved domains."""

    name = "email"
    types = ("string",)
    Params = EmailParams
    can_be_unique = True
    summary: ClassVar[str] = "email from the row's names on reserved domains (example.com, ...)"

    def depends_on(self) -> tuple[str, ...]:
        return _columns(self.p)

    def problems(self):
        if not self.p.domains:
            return [("domains", "no domains given", "e.g. domains: [example.com]")]
        bad = [d for d in self.p.domains if not _DOMAIN.match(d)]
        if bad:
            return [("domains", f"not a domain name: {', '.join(bad)}", "e.g. example.com")]
        return []

    def generate(self, ctx: GenContext) -> pa.Array:
        p = self.p
        u = random_u16(ctx.rng, 4 + 2 * (not p.first_name) + 2 * (not p.last_name))
        bits = u.view(np.uint32)  # style and domain, number (16, 16, 32 bits), then 32 bits a
        free = iter(range(2, bits.shape[1]))  # name drawn from a pool
        first = _slugs(ctx, p.first_name, FIRST_SLUG, bits, free)
        last = _slugs(ctx, p.last_name, LAST_SLUG, bits, free)
        mix = [_EMAIL_MIX[k] if p.format == "mixed" else float(k == p.format) for k in EMAIL_STYLES]
        style, domain = _style_domain(tuple(mix), len(p.domains))
        style, domain = style.take(u[:, 0]), domain.take(u[:, 0])
        styles = list(EMAIL_STYLES.values())
        f, fi, ln, li = join_styles(first, last, style, styles, 40, "user")
        number = _number(u[:, 1], bits[:, 1], p.numbers)
        ln, li = sep_after_digit(f, fi, ln, li, (number > 0) | self.info.unique, ".")
        if not self.info.unique:
            number *= len(p.domains)
            return concat_rows((f, fi), (ln, li), (_tails(p.domains), number + domain))
        numbers, at = (
            pa.array(ctx.idx + 1).cast(pa.string()),
            pa.array([f"@{d}" for d in p.domains]),
        )
        return concat_rows((f, fi), (ln, li), (numbers, np.arange(ctx.n)), (at, domain))


USER_STYLES = [(True, ""), (False, "."), (False, "_"), (False, ""), (False, "")]
_USER_MIX = [0.25, 0.15, 0.1, 0.15, 0.1]  # jsmith, john.smith, john_smith, johnsmith, john
_WORDS_SHARE = 0.25  # 'word' style: two lorem words, e.g. 'quiaautem'


@cache
def _words() -> pa.StringArray:
    return ascii_slug(provider_values("en_US", "word_list"))


class UsernameParams(NameColumns):
    numbers: float = Field(0.5, ge=0.0, le=1.0, description="share with a 1-4 digit number")


@register
class Username(Generator):
    """Logins like 'jsmith42', 'anna_meier' or 'quiaautem7'; unique via a row-index number."""

    name = "username"
    types = ("string",)
    Params = UsernameParams
    can_be_unique = True
    summary: ClassVar[str] = "login name from the row's names or words, with digits"

    def depends_on(self) -> tuple[str, ...]:
        return _columns(self.p)

    def generate(self, ctx: GenContext) -> pa.Array:
        p = self.p
        u = random_u16(ctx.rng, 8 + 2 * (not p.first_name) + 2 * (not p.last_name))
        bits = u.view(np.uint32)  # style, number (16, 16, 32 bits), 2 words (32 bits each),
        free = iter(range(4, bits.shape[1]))  # then 32 bits a name drawn from a pool
        first = _slugs(ctx, p.first_name, FIRST_SLUG, bits, free)
        ln, li, _ = _slugs(ctx, p.last_name, LAST_SLUG, bits, free)
        words = _WORDS_SHARE / (1 - _WORDS_SHARE) * sum(_USER_MIX)  # 'style' 5: two words
        style = weighted((*_USER_MIX, words)).take(u[:, 0]).astype(np.int32)
        li[style == len(USER_STYLES) - 1] = len(ln) - 1  # first name only
        words = np.flatnonzero(style == len(USER_STYLES))
        style[words] = 0
        f, fi, ln, li = join_styles(first, (ln, li, True), style, USER_STYLES, 20, "user")
        fi[words] = len(f) + index_below(bits[words, 2], len(_words()))  # two words as F and L
        li[words] = len(ln) + index_below(bits[words, 3], len(_words()))
        f, ln = pa.concat_arrays([f, _words()]), pa.concat_arrays([ln, _words()])
        number = _number(u[:, 1], bits[:, 1], p.numbers)
        ln, li = sep_after_digit(f, fi, ln, li, (number > 0) | self.info.unique, "_")
        if not self.info.unique:
            return concat_rows((f, fi), (ln, li), (_numbers(), number))
        numbers = pa.array(ctx.idx + 1).cast(pa.string())
        return concat_rows((f, fi), (ln, li), (numbers, np.arange(ctx.n)))
