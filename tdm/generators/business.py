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

from tdm.core.arrowstr import drop_bytes, fixed_width, numbers_to_digits, spaced
from tdm.generators.base import GenContext, Generator, register
from tdm.generators.location import PoolGenerator, territory
from tdm.generators.pools import faker, provider_values, sampled
from tdm.generators.shapes import (
    ShapePool,
    domain,
    fill_unique,
    index_below,
    random_u16,
    split_domain,
    weighted,
)


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


# ---- credit cards ------------------------------------------------------------------------------

# scheme, first prefix, last prefix, card length, weight
_PREFIXES = [
    ("visa", 4, 4, 16, 52.0),
    ("mastercard", 51, 55, 16, 27.0),
    ("mastercard2", 2221, 2720, 16, 3.0),
    ("amex", 34, 34, 15, 4.0),
    ("amex", 37, 37, 15, 7.0),
    ("discover", 6011, 6011, 16, 4.0),
    ("discover", 65, 65, 16, 3.0),
]
ACCOUNT_DIGITS = 11  # permuted digits of unique cards (the shortest free run: discover 6011)
Scheme = Literal["visa", "mastercard", "amex", "discover"]


@cache
def _card_table(entries: tuple[tuple, ...]):
    """The prefix range of each 16-bit value (by weight); per range: first option and count,
    card length; per option (one prefix): the head (first 5 digits, 15-digit cards padded with a
    leading 0) with its free digits 0, and 10**free."""
    ranges = weighted(tuple(e[4] for e in entries))
    heads = [("0" * (16 - e[3]) + str(p)) for e in entries for p in range(e[1], e[2] + 1)]
    base = np.array([int(h.ljust(5, "0")) for h in heads], dtype=np.int64)
    free = np.array([10 ** (5 - len(h)) for h in heads], dtype=np.int64)
    span = np.array([e[2] - e[1] + 1 for e in entries], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(span)[:-1]])
    return ranges, first, span, np.array([e[3] for e in entries], dtype=np.uint8), base, free


@cache
def _five_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For 0..99999: the 5 zero-padded ASCII digits, and the Luhn sums (mod 10) of the digits
    with positions 0, 2, 4 doubled (even) or positions 1, 3 doubled (odd)."""
    d = numbers_to_digits(np.arange(100_000), 5)
    doubled = d * 2 + (d > 4)  # digit sum of 2d is 2d - 9 for d > 4, and -9 = 1 (mod 10)
    pos = np.arange(5) % 2 == 0
    even = np.where(pos, doubled, d).sum(axis=1) % 10
    odd = np.where(pos, d, doubled).sum(axis=1) % 10
    return d + np.uint8(ord("0")), even.astype(np.uint8), odd.astype(np.uint8)


def _five(chars: np.ndarray, k: int, part: np.ndarray, total: np.ndarray) -> None:
    """Write 5-digit numbers as columns 5k..5k+4 and add their Luhn sums (digits doubled from
    the right of 15: cols 0, 2, 4 of the head and tail, 1, 3 of the middle) to `total`."""
    digits, even, odd = _five_digits()
    chars[:, 5 * k : 5 * k + 5] = digits.take(part, axis=0)
    total += (odd if k == 1 else even).take(part)
    total %= 10


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

    def _table(self):
        wanted = set(self.p.schemes)
        wanted |= (
            {"mastercard2"} if "mastercard" in wanted and self.p.mastercard_2_series else set()
        )
        return _card_table(tuple(row for row in _PREFIXES if row[0] in wanted))

    def generate(self, ctx: GenContext) -> pa.Array:
        """Cards are built 16 digits wide (15-digit amex with a leading 0, which the Luhn digit
        ignores) from three 5-digit numbers: head (prefix and random digits), middle and tail.
        Their digits and Luhn sums come from lookup tables; one part at a time keeps the peak
        memory (and with it page faults, a large share of the cost) low."""
        ranges, first, span, length, base, free = self._table()
        u = random_u16(ctx.rng, 8)  # 16 bits: prefix range, prefix; 32 bits: head, middle, tail
        bits = u.view(np.uint32)
        entry = ranges.take(u[:, 0])
        option = index_below(u[:, 1], span.take(entry)) + first.take(entry)
        slots = self.unique_slots(ctx.idx, 10**ACCOUNT_DIGITS) if self.info.unique else None
        gaps = self.p.format == "spaced"
        chars = np.empty((len(u), 16 + gaps), dtype=np.uint8)  # spaced: a space column last
        total = np.zeros(len(u), dtype=np.uint8)
        head = index_below(bits[:, 1], free.take(option))
        head += base.take(option)
        if slots is not None:  # the last 11 digits: the head's last one, middle and tail
            head += slots // 10**10 - head % 10
        _five(chars, 0, head, total)
        del head
        for k in (1, 2):  # middle (cols 5-9) and tail (10-14)
            if slots is None:
                part = index_below(bits[:, 1 + k], 100_000)
            else:
                part = slots // 10 ** (10 - 5 * k) % 100_000
            _five(chars, k, part, total)
        chars[:, 15] = (10 - total % 10) % 10 + ord("0")
        amex = np.flatnonzero(length.take(entry) == 15)
        del u, bits, option, part  # before the output is built: a lower peak
        if not gaps:
            return drop_bytes(chars, amex, [0])
        chars[:, 16] = ord(" ")
        out = chars.take(spaced([4, 4, 4, 4]), axis=1)  # column -1 is the space
        out[amex] = chars[amex].take([*spaced([4, 6, 5], first=1), -1, -1], axis=1)
        del chars
        return drop_bytes(out, amex, [17, 18])


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


def iban_check(country: str, fmt: str, bban: np.ndarray) -> np.ndarray:
    """ISO 13616 check digits (2..98) of a BBAN byte matrix in format `fmt`: the number
    BBAN + country + '00' (letters as 10..35, two digits) mod 97, as a sum of each character's
    value times 10**(the decimal digits after it) mod 97 (small enough for int32)."""
    wide = [2 if ch == "?" or ch.isalpha() else 1 for ch in fmt]
    weight = np.array([pow(10, sum(wide[j + 1 :]) + 6, 97) for j in range(len(fmt))], np.int32)
    offset = np.array([55 if w == 2 else 48 for w in wide]) @ weight
    const = int("".join(str(int(ch, 36)) for ch in country) + "00") - offset
    return 98 - (np.einsum("ij,j->i", bban, weight) + const) % 97


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
        if self.p.country is not None and self.p.country.upper() not in bban_formats():
            return [
                (
                    "country",
                    f"no IBAN format known for {self.p.country!r}",
                    f"use one of {', '.join(sorted(bban_formats()))}",
                )
            ]
        return []

    def _countries(self) -> list[str]:
        if self.p.country:
            return [self.p.country.upper()]
        return [locale_country(loc) for loc in self.info.locales]

    def capacity(self) -> int | None:
        if not self.info.unique:
            return None
        formats = bban_formats()
        return min(
            (domain(split_domain(formats[c])[1]) for c in self._countries() if c in formats),
            default=None,
        )

    def generate(self, ctx: GenContext) -> pa.Array:
        countries = self._countries()
        bits = random_u16(ctx.rng, 2 * max(_iban(c)[0].groups for c in countries)).view(np.uint32)
        if len(set(countries)) == 1:
            return self._build(countries[0], bits, ctx.idx)
        loc = ctx.locale if ctx.locale is not None else np.zeros(ctx.n, dtype=np.int64)
        row_country = np.array(countries)[loc]
        parts, order = [], []
        for code in sorted(set(countries)):
            rows = np.flatnonzero(row_country == code)
            parts.append(self._build(code, bits[rows], ctx.idx[rows]))
            order.append(rows)
        back = np.empty(ctx.n, dtype=np.int32)
        back[np.concatenate(order)] = np.arange(ctx.n, dtype=np.int32)
        return pa.concat_arrays(parts).take(pa.array(back))

    def _build(self, code: str, bits: np.ndarray, idx: np.ndarray) -> pa.Array:
        """Country, check digits and BBAN as one byte matrix; the check digits come from the
        slot groups' values mod 97 (see _iban), or from the characters for unique IBANs."""
        pool, mod97, weight, const, pos = _iban(code)
        fmt, gaps = bban_formats()[code], self.p.format == "spaced"
        rows = pool.rows(bits)
        chars = np.empty((len(idx), 4 + len(fmt) + gaps), dtype=np.uint8)
        if len(pos) < len(fmt):  # fixed characters in the format
            chars[:, 4 : 4 + len(fmt)] = pool.raw[0]
        chars[:, 4 + pos] = pool.table.take(rows).view(np.uint8)[:, pool.pos[0] < 2**30]
        if self.info.unique:
            tail = split_domain(fmt)[1]
            filled = fill_unique(tail, self.unique_slots(idx, domain(tail)))
            chars[:, 4 + len(fmt) - len(tail) : 4 + len(fmt)] = np.frombuffer(
                filled.buffers()[2], dtype=np.uint8
            )[: len(idx) * len(tail)].reshape(-1, len(tail))
        if self.info.unique or weight is None:
            check = iban_check(code, fmt, chars[:, 4 : 4 + len(fmt)])
        else:
            total = np.full(len(idx), const, dtype=np.int64)
            for g in range(pool.groups):
                total += mod97.take(rows[:, g]) * weight[g]
            check = 98 - total % 97
        chars[:, :2] = np.frombuffer(code.encode(), dtype=np.uint8)
        chars[:, 2], chars[:, 3] = check // 10 + ord("0"), check % 10 + ord("0")
        if gaps:
            chars[:, -1] = ord(" ")
            whole, rest = divmod(4 + len(fmt), 4)
            chars = chars.take(spaced([4] * whole + ([rest] if rest else [])), axis=1)  # -1: " "
        return fixed_width(chars)


@cache
def _iban(code: str):
    """A country's BBAN format as a one-shape pool; per row of its table the value of the
    characters mod 97 (letters as 10..35, two digits); per slot group 10**(the decimal digits
    after it) mod 97 (None when a group's slots are not adjacent); the value of the format's
    other characters, country and '00' mod 97; the slot positions."""
    fmt = bban_formats()[code]
    pool = ShapePool([fmt])
    mod97 = np.zeros(len(pool.table), dtype=np.int64)
    for c in pool.table.view(np.uint8).reshape(-1, 4).T.astype(np.int64):
        mod97 = np.where(c == 0, mod97, np.where(c > 64, mod97 * 100 + c - 55, mod97 * 10 + c - 48))
        mod97 %= 97
    wide = [2 if ch == "?" or ch.isalpha() else 1 for ch in fmt]  # decimal digits per character
    after = [sum(wide[j + 1 :]) + 6 for j in range(len(fmt))]  # and country + '00' after
    last = [g[g < 2**30] for g in pool.pos[0].reshape(-1, 4)]  # slot positions per group
    weight = np.array([pow(10, after[g[-1]], 97) for g in last], dtype=np.int64)
    if any(np.any(np.diff(g) != 1) for g in last):
        weight = None
    const = int("".join(str(int(ch, 36)) for ch in code) + "00")
    const += sum(int(ch, 36) * pow(10, after[j], 97) for j, ch in enumerate(fmt) if ch not in "#?")
    return pool, mod97, weight, const % 97, pool.pos[0][pool.pos[0] < 2**30]
