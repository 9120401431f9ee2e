"""People: first and last names, full names, emails, usernames and phone numbers, per locale.

Names come from Faker pools of the row's locale. Emails and usernames are ASCII slugs of names
(from columns of the same row, or drawn here); they are made unique by a row-index number.
"""

from __future__ import annotations

import re
from functools import cache, partial
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from tdm.arrowstr import ascii_slug, join, take
from tdm.generators.base import GenContext, Generator, register
from tdm.generators.location import fill_locale_shapes, phone_shapes
from tdm.generators.pools import distinct, pick, pick_unique, provider_values, sampled
from tdm.generators.shapes import ShapePool, domain, fill_unique, slot_count, split_domain

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


FIRST = {g: partial(sampled, method=m) for g, m in
         (("any", "first_name"), ("female", "first_name_female"), ("male", "first_name_male"))}
FIRST_ALL = {g: partial(_names, attribute=a, method=m) for g, a, m in
             (("any", "first_names", "first_name"),
              ("female", "first_names_female", "first_name_female"),
              ("male", "first_names_male", "first_name_male"))}
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
        return len(distinct(FIRST_ALL[self.p.gender], self.info.locales)) if self.info.unique \
            else None

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


def _row_names(gen: Generator, ctx: GenContext) -> tuple[pa.Array, pa.Array]:
    """First and last names: from the named columns, else drawn from the locale pools."""
    first = ctx.row[gen.p.first_name] if gen.p.first_name else pick(ctx, FIRST["any"])
    last = ctx.row[gen.p.last_name] if gen.p.last_name else pick(ctx, LAST)
    return first, last


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
            return [("first_name", "a unique full_name cannot reuse name columns",
                     "drop first_name/last_name or unique")]
        return []

    def _pools(self) -> tuple[pa.Array, pa.Array]:
        return (distinct(FIRST_ALL["any"], self.info.locales),
                distinct(LAST_ALL, self.info.locales))

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
        first, last = _row_names(self, ctx)
        return pc.utf8_trim_whitespace(join(pc.fill_null(first, ""), " ", pc.fill_null(last, "")))


# ---- emails and usernames ----------------------------------------------------------------------

_NUMBER_WEIGHTS = np.cumsum([0.25, 0.4, 0.2, 0.15])  # 1, 2, 3, 4 digits


def _number(ctx: GenContext, ratio: float) -> pa.Array:
    """A 1-4 digit number for about `ratio` of the rows, '' for the rest (three draws)."""
    has = ctx.rng.random() < ratio
    width = ctx.rng.weighted_index(_NUMBER_WEIGHTS)
    low = 10 ** width
    value = low + (ctx.rng.random() * (9 * low)).astype(np.int64)
    return pc.if_else(pa.array(has), pa.array(value).cast(pa.string()), "")


def _with_number(base: pa.Array, number: pa.Array, sep: str) -> pa.Array:
    """base + number; `sep` in between when base ends in a digit, so the number stays readable
    (and a row-index number keeps the whole string unique)."""
    needs = pc.and_(pc.match_substring_regex(base, r"[0-9]$"), pc.not_equal(number, ""))
    return join(pc.if_else(needs, join(base, sep), base), number)


def _compose(first: pa.Array, last: pa.Array, style: np.ndarray, styles: list[tuple[bool, str]],
             limit: int, fallback: str) -> pa.Array:
    """Slugs joined per style (initial?, separator); separators only between non-empty parts."""
    f, ln = ascii_slug(first), ascii_slug(last)
    initial = take(pa.array([s[0] for s in styles]), style)
    sep = take(pa.array([s[1] for s in styles]), style)
    f = pc.if_else(initial, pc.utf8_slice_codeunits(f, 0, 1), f)
    both = pc.and_(pc.not_equal(f, ""), pc.not_equal(ln, ""))
    base = join(f, pc.if_else(both, sep, ""), ln)
    base = pc.replace_substring_regex(pc.utf8_slice_codeunits(base, 0, limit), r"[._]+$", "")
    return pc.if_else(pc.equal(base, ""), fallback, base)


EMAIL_STYLES = {  # (first name as initial, separator), realistic mix
    "first.last": (False, "."), "firstlast": (False, ""), "f.last": (True, "."),
    "first_last": (False, "_"), "flast": (True, ""),
}
_EMAIL_MIX = {"first.last": 0.4, "firstlast": 0.2, "f.last": 0.1, "first_last": 0.1, "flast": 0.2}


class EmailParams(NameColumns):
    domains: tuple[str, ...] = RESERVED_DOMAINS
    format: Literal["mixed", "first.last", "firstlast", "f.last", "first_last", "flast"] = "mixed"
    numbers: float = Field(0.3, ge=0.0, le=1.0, description="share with a 1-4 digit number")


def _pick_style(ctx: GenContext, fmt: str, names: list[str], mix: dict[str, float]) -> np.ndarray:
    cum = np.cumsum([mix[k] for k in names]) / sum(mix.values())
    drawn = ctx.rng.weighted_index(cum)
    return drawn if fmt == "mixed" else np.full(ctx.n, names.index(fmt), dtype=np.int64)


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
        first, last = _row_names(self, ctx)
        names = list(EMAIL_STYLES)
        style = _pick_style(ctx, self.p.format, names, _EMAIL_MIX)
        base = _compose(first, last, style, [EMAIL_STYLES[k] for k in names], 40, "user")
        number = _number(ctx, self.p.numbers)
        if self.info.unique:
            number = pa.array(ctx.idx + 1).cast(pa.string())
        pool = pa.array(list(self.p.domains), type=pa.string())
        dom = take(pool, ctx.rng.index(len(pool)))
        return join(_with_number(base, number, "."), "@", dom)


USER_STYLES = [(True, ""), (False, "."), (False, "_"), (False, ""), (False, "")]
_USER_MIX = [0.25, 0.15, 0.1, 0.15, 0.1]  # jsmith, john.smith, john_smith, johnsmith, john
_WORDS_SHARE = 0.25  # 'word' style: two lorem words, e.g. 'quiaautem'


@cache
def _words(locale: str) -> pa.StringArray:
    return provider_values("en_US", "word_list")


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
        first, last = _row_names(self, ctx)
        cum = np.cumsum(_USER_MIX) / sum(_USER_MIX)
        style = ctx.rng.weighted_index(cum)
        only_first = pa.array(style == len(USER_STYLES) - 1)
        last = pc.if_else(only_first, "", pc.fill_null(last, ""))
        base = _compose(first, last, style, USER_STYLES, 20, "user")
        words = join(pick(ctx, _words), pick(ctx, _words))
        base = pc.if_else(pa.array(ctx.rng.random() < _WORDS_SHARE), ascii_slug(words), base)
        number = _number(ctx, self.p.numbers)
        if self.info.unique:
            number = pa.array(ctx.idx + 1).cast(pa.string())
        return _with_number(base, number, "_")


# ---- phone numbers -----------------------------------------------------------------------------


class PhoneParams(_Model):
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
            return [("format", "format has no placeholders", "use '#' (digit), '%' (1-9), "
                     "'?' (letter), e.g. '+1-###-###-####'")]
        if self.info.unique and self.p.format is None:
            return [("format", "unique phone numbers need an explicit format",
                     "add format: '+1-###-###-####'")]
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
            return ShapePool([fmt]).fill(zeros, ctx.rng)
        head, tail = split_domain(fmt)
        tail_values = fill_unique(tail, self.unique_slots(ctx.idx, domain(tail)))
        return join(ShapePool([head]).fill(zeros, ctx.rng), tail_values) if head else tail_values
