"""Phone numbers masked to valid numbers of their country, their format kept (email addresses:
tdm.masking.strategies.mail; the numbering rules: tdm.masking.strategies.phone_rules).

Bijective (distinct inputs give distinct outputs), so it can mask unique columns and keys. Each
number keeps its class (tdm.masking.strategies.phones: valid, with the same national prefix, or
not valid...) and within its class goes through a keyed permutation of the class's own domain:
a valid national number's rank among the valid numbers of its length (rank/unrank of the
regular language of its country's valid numbers: phone_language), with its extension digits,
goes through FF1 (tdm.masking.ff1, the fixed-point-free `derange`) over [0, N) and back to
digits; an invalid one likewise by its rank among the strings of its length that are not valid.
FF1 runs in radix ceil(N ** (1/2)) (or of a higher root, and never over fewer than 10**6
values), cycle-walked into [0, N) (a fraction of about 2 / radix of the steps). A result that
parse would read with another national prefix than its input is walked again too (rare), so
the permutation stays within the class.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from tdm.core.errors import TdmError
from tdm.masking.ff1 import MIN_DOMAIN
from tdm.masking.strategies import phones
from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    register,
    string_buffers,
)

# ---- phone numbers -----------------------------------------------------------------------------

MAX_ROUNDS = 1000  # P(a row still walking) = (1 - share of its class in its domain)**rounds
MAX_RADIX = 1 << 16  # FF1's largest radix


class PhoneParams(Model):
    keep_digits: int | None = Field(
        None,
        ge=0,
        description="leading digits kept; default: the country code after '+' (none with "
        "`region`, the first digit without either); a national prefix after them stays too",
    )
    region: str | None = Field(
        None,
        description="ISO 3166-1 alpha-2 region (US, GB, DE...) of the numbers written without "
        "'+': they are masked to valid numbers of that region's calling code",
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"{value!r} is not a region with phone numbering rules: give an ISO 3166-1 "
                "alpha-2 code such as US, GB, DE, FR, IN, BR, JP or AU"
            )
        return region


# ---- keyed permutations of the classes ------------------------------------------------------


def ff1_shape(domain: int) -> tuple[int, int]:
    """(radix, length) of the FF1 domain a permutation of [0, domain) cycle-walks in: the
    fewest radix digits (at least 2), radix**length >= max(domain, 10**6), and the least such
    radix, so fewer than length / radix of the results fall outside [0, domain)."""
    size = max(domain, MIN_DOMAIN)
    for length in range(2, 8):
        radix = math.ceil(size ** (1 / length))
        while radix**length < size:
            radix += 1
        while radix > 2 and (radix - 1) ** length >= size:
            radix -= 1
        if radix <= MAX_RADIX:
            return radix, length
    raise ValueError(f"domain {domain} is too large")


class Walk:
    """The permutations of one batch's classes: per group of rows of one class and domain,
    FF1's fixed-point-free map over the domain, again while a result falls outside it or
    classifies otherwise than its input (cycle-walking: a permutation of the class)."""

    def __init__(self, strategy: Phone, b: phones.Batch, where: str) -> None:
        self.fpe, self.b, self.where = strategy.fpe, b, where
        self.allowed = MAX_ROUNDS

    def run(self, rows: np.ndarray) -> None:
        b = self.b
        b.classify(rows)
        want = (b.kind.copy(), b.k.copy(), b.state0.copy())
        for at in phones.groups(b.key[rows]):
            self._group(rows[at], want)

    def _group(self, rows: np.ndarray, want: tuple) -> None:
        b = self.b
        i = rows[0]
        domain = int(b.domain[i])
        radix, length = ff1_shape(domain)
        ff1 = self.fpe.ff1(radix)
        n = int(b.s.main[i] - b.code[i] - b.k[i])
        rules = b.plans[b.plan[i]]
        label = f"|phone|{rules.code}|{b.kind[i]}|{b.k[i]}|{n}|{b.s.total[i] - b.s.main[i]}"
        tweak = self.fpe.tweak + label.encode()
        step, at, rounds = b.value[rows], rows, 0
        # a class below 10**6 numbers: 10**6 / domain rounds a number on average
        self.allowed = MAX_ROUNDS * max(1, radix**length // domain // 10)
        while len(at):
            step = ff1.derange_numbers(step, length, tweak)
            rounds += 1
            out = np.flatnonzero(step >= domain)
            while len(out):  # into [0, domain)
                if rounds >= self.allowed:
                    self._refuse(len(out))
                step[out] = ff1.derange_numbers(step[out], length, tweak)
                out = out[step[out] >= domain]
                rounds += 1
            may = b.write(at, step)
            check = at[may]
            if not len(check):
                break
            b.classify(check)
            moved = (b.kind[check] != want[0][check]) | (b.k[check] != want[1][check])
            moved |= b.state0[check] != want[2][check]
            for mine, wanted in zip((b.kind, b.k, b.state0), want, strict=True):
                mine[check] = wanted[check]
            may[may] = moved
            at, step = at[may], step[may]
            if len(at) and rounds >= self.allowed:
                self._refuse(len(at))

    def _refuse(self, count: int) -> None:
        raise TdmError(
            f"{self.where}: mask 'phone' found no number of the same kind (valid or not for the "
            f"country, same national prefix) for {count} value(s) in {self.allowed} rounds of "
            "the keyed permutation: the country's rules leave too few such numbers of that "
            "length. Mask the column with 'pseudonymize' instead (format kept, no validity)"
        )


@register
class Phone(Strategy):
    """Phone numbers masked to numbers of the same country, valid where the input is valid, with
    their format (spaces, dashes, brackets, dots, length) kept: after a '+' the E.164 calling
    code stays (with a national prefix written after it, "+44 (0)20..."), and the national
    digits go to a valid number of that code (tdm.masking.strategies.phone_rules). Without '+',
    `region` gives the country; without either, the first digit stays and the rest is
    pseudonymised with no validity. Integer columns are masked as their decimal text, read as
    E.164 numbers without '+' (national numbers with `region`). Distinct inputs stay distinct."""

    name = "phone"
    Params = PhoneParams
    types = ("string", "int")
    bijective = True
    # `region` only says whose national numbers a column holds: a '+' number masks the same in
    # every column, with or without it (foreign keys and copies of a number stay consistent)
    presentation = ("region",)
    summary: ClassVar[str] = "valid number of the same country; format, '+' and country code kept"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        arr = as_string(values)
        integers = pa.types.is_integer(values.type)
        offsets, data = string_buffers(arr)
        s = phones.scan(data, offsets)
        present = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        p = self.p
        plan, head, code, plans = phones.plan_rows(s, present, integers, p.region, p.keep_digits)
        rows = np.flatnonzero(plan >= 0)
        if len(rows):
            b = phones.Batch(s, head, code, plan, plans)
            Walk(self, b, f"{self.column.table}.{self.column.name}").run(rows)
            b.put(data, offsets, rows)
        rest = np.flatnonzero((plan < 0) & (s.total > head))
        if len(rest):  # no plan: the digits after the kept ones, format-preserving (fpe)
            self.fpe.permute(data, offsets - offsets[0], rest, head[rest], 0, "digits")
        validity = arr.buffers()[0] if arr.null_count else None
        return pa.StringArray.from_buffers(
            len(arr),
            pa.py_buffer(offsets - offsets[0]),
            pa.py_buffer(data),
            validity,
            arr.null_count,
        )
