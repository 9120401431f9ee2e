"""Business data: company names, job titles, Luhn-valid card numbers and ISO 13616 IBANs.

Card numbers and IBANs are built as digit matrices; check digits are computed column by column
with numpy, so a million values take no Python loop per value.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache, partial
from typing import ClassVar, Literal

import faker.providers.bank as bank
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from tdm.arrowstr import fixed_width, numbers_to_digits
from tdm.generators.base import GenContext, Generator, register
from tdm.generators.location import PoolGenerator, territory
from tdm.generators.pools import faker, provider_values, sampled
from tdm.generators.shapes import domain, fill_unique, split_domain


@register
class Company(PoolGenerator):
    """Company names of the locale ('Ball PLC', 'Fechner Kusch AG & Co. OHG')."""

    name = "company"
    loader = partial(sampled, method="company")
    summary: ClassVar[str] = "company name of the row's locale"


@register
class JobTitle(PoolGenerator):
    """Job titles from the locale's Faker job list (uniform)."""

    name = "job_title"
    loader = partial(provider_values, attribute="jobs")
    summary: ClassVar[str] = "job title of the row's locale"


def _ragged(chars: np.ndarray, lengths: np.ndarray) -> pa.StringArray:
    """Row i is the first lengths[i] bytes of chars[i]."""
    keep = np.arange(chars.shape[1]) < lengths[:, None]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    data = np.ascontiguousarray(chars)[keep]
    return pa.StringArray.from_buffers(len(chars), pa.py_buffer(offsets), pa.py_buffer(data))


def _grouped(chars: np.ndarray, template: list[int]) -> np.ndarray:
    """Spread a byte matrix over a template of source columns (-1: a space)."""
    src = np.array(template)
    return np.where(src >= 0, chars[:, np.maximum(src, 0)], ord(" ")).astype(np.uint8)


def _spaced(sizes: list[int]) -> list[int]:
    out, col = [], 0
    for i, size in enumerate(sizes):
        out += ([-1] if i else []) + list(range(col, col + size))
        col += size
    return out


# ---- credit cards ------------------------------------------------------------------------------

# scheme, first prefix, last prefix, prefix digits, card length, weight
_PREFIXES = [
    ("visa", 4, 4, 1, 16, 52.0),
    ("mastercard", 51, 55, 2, 16, 27.0),
    ("mastercard2", 2221, 2720, 4, 16, 3.0),
    ("amex", 34, 34, 2, 15, 4.0),
    ("amex", 37, 37, 2, 15, 7.0),
    ("discover", 6011, 6011, 4, 16, 4.0),
    ("discover", 65, 65, 2, 16, 3.0),
]
ACCOUNT_DIGITS = 11  # permuted digits of unique cards (the shortest free run: discover 6011)
Scheme = Literal["visa", "mastercard", "amex", "discover"]


def luhn_complete(d: np.ndarray, length: np.ndarray) -> None:
    """Set d[i, length[i]-1] to the Luhn check digit of d[i, :length[i]-1], in place."""
    pos = np.arange(d.shape[1])
    payload = pos < (length - 1)[:, None]
    double = payload & (pos % 2 == (length % 2)[:, None])
    v = np.where(payload, d, 0).astype(np.int64)
    v = np.where(double, np.where(v > 4, 2 * v - 9, 2 * v), v)
    d[np.arange(len(d)), length - 1] = (10 - v.sum(axis=1) % 10) % 10


class CreditCardParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    schemes: tuple[Scheme, ...] = ("visa", "mastercard", "amex", "discover")
    format: Literal["plain", "spaced"] = "plain"  # spaced: 4-4-4-4, amex 4-6-5
    mastercard_2_series: bool = Field(False, description="also issue 2221-2720 prefixes")


@register
class CreditCard(Generator):
    """Luhn-valid card numbers of real scheme prefixes and lengths (test numbers, not issued)."""

    name = "credit_card"
    types = ("string",)
    Params = CreditCardParams
    can_be_unique = True
    summary: ClassVar[str] = "Luhn-valid card number (visa, mastercard, amex, discover)"

    def problems(self):
        if not self.p.schemes:
            return [("schemes", "no card schemes given", "e.g. schemes: [visa, mastercard]")]
        return []

    def capacity(self) -> int | None:
        return 10**ACCOUNT_DIGITS if self.info.unique else None

    def _table(self) -> list[tuple]:
        wanted = set(self.p.schemes) | ({"mastercard2"} if "mastercard" in self.p.schemes
                                        and self.p.mastercard_2_series else set())
        return [row for row in _PREFIXES if row[0] in wanted]

    def generate(self, ctx: GenContext) -> pa.Array:
        table = self._table()
        lo, hi, width, length, weight = (np.array(c) for c in list(zip(*table, strict=True))[1:])
        entry = ctx.rng.weighted_index(np.cumsum(weight) / weight.sum())
        prefix = lo[entry] + (ctx.rng.random() * (hi - lo + 1)[entry]).astype(np.int64)
        d = ctx.rng.digits(16)
        w, n = width[entry], length[entry]
        cols = np.arange(4)
        head = np.take_along_axis(numbers_to_digits(prefix, 4),
                                  np.clip(4 - w[:, None] + cols, 0, 3), axis=1)
        d[:, :4] = np.where(cols < w[:, None], head, d[:, :4])
        if self.info.unique:
            acct = numbers_to_digits(self.unique_slots(ctx.idx, 10**ACCOUNT_DIGITS), ACCOUNT_DIGITS)
            at = (n - 1 - ACCOUNT_DIGITS)[:, None] + np.arange(ACCOUNT_DIGITS)
            np.put_along_axis(d, at, acct, axis=1)
        luhn_complete(d, n)
        chars = d + np.uint8(ord("0"))
        if self.p.format == "plain":
            return _ragged(chars, n)
        amex = np.where(n == 15, 1, 0)
        templates = [_spaced([4, 4, 4, 4]), [*_spaced([4, 6, 5]), -1, -1]]
        both = np.stack([_grouped(chars, t) for t in templates])
        return _ragged(both[amex, np.arange(len(d))], np.array([19, 17])[amex])


# ---- IBANs -------------------------------------------------------------------------------------


@cache
def bban_formats() -> dict[str, str]:
    """Country -> BBAN format ('#' digit, '?' letter) from Faker's locale bank providers."""
    out = {}
    for mod in pkgutil.iter_modules(bank.__path__):
        cls = importlib.import_module(f"{bank.__name__}.{mod.name}").Provider
        if "bban_format" in cls.__dict__ and "country_code" in cls.__dict__:
            out.setdefault(cls.country_code, cls.bban_format)
    return out


@cache
def locale_country(locale: str) -> str:
    """The IBAN country of a locale's bank provider, or GB when it has none of its own."""
    for provider in faker(locale, "bank").providers:
        for cls in type(provider).__mro__:
            if cls is not bank.Provider and "bban_format" in cls.__dict__:
                code = cls.country_code
                return code if code in bban_formats() and code == territory(locale) else "GB"
    return "GB"


def iban_check(country: str, bban: np.ndarray) -> np.ndarray:
    """ISO 13616 check digits (2..98) of a BBAN byte matrix, computed column-wise mod 97."""
    tail = np.frombuffer((country + "00").encode(), dtype=np.uint8)
    cols = np.concatenate([bban, np.broadcast_to(tail, (len(bban), 4))], axis=1).astype(np.int64)
    r = np.zeros(len(bban), dtype=np.int64)
    for j in range(cols.shape[1]):
        c = cols[:, j]
        letter = c >= ord("A")
        r = np.where(letter, r * 100 + c - ord("A") + 10, r * 10 + c - ord("0")) % 97
    return 98 - r


class IbanParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    country: str | None = Field(None, description="force one country, e.g. DE")
    format: Literal["plain", "spaced"] = "plain"  # spaced: groups of 4 as printed


@register
class Iban(Generator):
    """Valid IBANs (mod-97 check digits) in the BBAN format of the row's locale's country.

    Locales without a bank format of their own (en_US, ja_JP, ...) give GB IBANs. Unique IBANs
    permute the last BBAN positions (up to 2**62 values per country).
    """

    name = "iban"
    types = ("string",)
    Params = IbanParams
    can_be_unique = True
    summary: ClassVar[str] = "valid IBAN of the row's locale's country (or a given country)"

    def problems(self):
        if self.p.country is not None and self.p.country not in bban_formats():
            return [("country", f"no IBAN format known for {self.p.country!r}",
                     f"use one of {', '.join(sorted(bban_formats()))}")]
        return []

    def _countries(self) -> list[str]:
        if self.p.country:
            return [self.p.country]
        return [locale_country(loc) for loc in self.info.locales]

    def capacity(self) -> int | None:
        if not self.info.unique:
            return None
        return min(domain(split_domain(bban_formats()[c])[1]) for c in set(self._countries()))

    def generate(self, ctx: GenContext) -> pa.Array:
        countries = self._countries()
        loc = ctx.locale if ctx.locale is not None and len(countries) > 1 \
            else np.zeros(ctx.n, dtype=np.int64)
        row_country = np.array(countries)[loc]
        u = ctx.rng.draw(lambda g, n: g.random((n, 30), dtype=np.float32))
        parts, order = [], []
        for code in sorted(set(countries)):
            rows = np.flatnonzero(row_country == code)
            parts.append(self._build(code, rows, u[rows], ctx.idx[rows]))
            order.append(rows)
        out = pa.concat_arrays(parts)
        return out.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))

    def _build(self, code: str, rows: np.ndarray, u: np.ndarray, idx: np.ndarray) -> pa.Array:
        fmt = bban_formats()[code]
        raw = np.frombuffer(fmt.encode(), dtype=np.uint8)
        bban = np.tile(raw, (len(rows), 1))
        for j, ch in enumerate(fmt):
            if ch in "#?":
                radix, base = (10, ord("0")) if ch == "#" else (26, ord("A"))
                bban[:, j] = base + np.minimum(u[:, j] * radix, radix - 1).astype(np.uint8)
        if self.info.unique:
            tail = split_domain(fmt)[1]
            slots = self.unique_slots(idx, domain(tail))
            bban[:, len(fmt) - len(tail):] = np.frombuffer(
                fill_unique(tail, slots).buffers()[2], dtype=np.uint8
            )[: len(rows) * len(tail)].reshape(len(rows), len(tail))
        check = numbers_to_digits(iban_check(code, bban), 2) + np.uint8(ord("0"))
        cc = np.broadcast_to(np.frombuffer(code.encode(), dtype=np.uint8), (len(rows), 2))
        chars = np.concatenate([cc, check, bban], axis=1)
        if self.p.format == "spaced":
            whole, rest = divmod(chars.shape[1], 4)
            chars = _grouped(chars, _spaced([4] * whole + ([rest] if rest else [])))
        return fixed_width(chars)
