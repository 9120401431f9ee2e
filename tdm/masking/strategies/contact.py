"""Phone numbers masked to valid numbers of their country, their format kept (email addresses:
tdm.masking.strategies.mail; the numbering rules: tdm.masking.strategies.phones).

Bijective (distinct inputs give distinct outputs), so it can mask unique columns and keys: the
digits after the kept ones (calling code, national prefix) go through the keyed
format-preserving permutation of tdm.masking.strategies.fpe, again while the result is of
another class (valid or not, with a national prefix or not) than the input: cycle-walking, a
permutation of each class.
"""

from __future__ import annotations

import functools
import hashlib
from typing import ClassVar

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator

from tdm.core.arrowstr import fixed_width, replace_rows
from tdm.core.errors import TdmError
from tdm.masking.strategies import phones
from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    register,
    string_buffers,
)
from tdm.masking.strategies.fpe import Pseudonymizer

# ---- phone numbers -----------------------------------------------------------------------------

MAX_ROUNDS = 1000  # P(a row still walking) = (1 - share of its class)**rounds
SAMPLES = 256  # completions a share is measured on
SHARE = 1 / 4  # least share of its class under a row's kept digits (rounds: 1 / share)

# ITU-T E.164 country calling codes of one and two digits; all others have three.
ONE_DIGIT_CODES = (1, 7)
_TWO = "20 27 30-34 36 39 40 41 43-49 51-58 60-66 81 82 84 86 90-95 98"
TWO_DIGIT_CODES = tuple(
    n for part in _TWO.split(" ") for n in range(int(part[:2]), int(part[-2:]) + 1)
)
_CODE_LENGTH = np.full(100, 3, dtype=np.int64)  # by the first two digits
for _c in ONE_DIGIT_CODES:
    _CODE_LENGTH[_c * 10 : _c * 10 + 10] = 1
_CODE_LENGTH[list(TWO_DIGIT_CODES)] = 2


class PhoneParams(Model):
    keep_digits: int | None = Field(
        None,
        ge=0,
        description="leading digits kept; default: the country code after '+' (none with "
        "`region`, the first digit without either), and more while few valid numbers share them "
        "(a national prefix, a toll-free 1800)",
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


# ---- cycle-walking -----------------------------------------------------------------------------


@functools.cache
def _completions(width: int) -> np.ndarray:
    """(SAMPLES, width) ASCII digits, the same on every run: the national numbers a prefix is
    completed with to measure the share of each class under it."""
    rows = []
    for i in range(SAMPLES):
        number = int.from_bytes(hashlib.sha256(f"phone/{width}/{i}".encode()).digest(), "big")
        rows.append(f"{number:0>{width}}"[-width:])
    return np.frombuffer("".join(rows).encode(), dtype=np.uint8).reshape(SAMPLES, width)


def heads(
    main: pa.Array, head: np.ndarray, want: np.ndarray, plan: np.ndarray, plans: list, total
) -> np.ndarray:
    """Leading digits kept per row: from head[i], one more while the row's class has less than
    SHARE of the numbers that complete its kept digits to its length (a toll-free "1800", a
    national prefix) and more than 6 digits would stay masked. A function of the kept digits
    and the class only, and the class is kept, so masked rows stay apart."""
    head = head.copy()
    offsets, data = string_buffers(main)
    offsets = offsets.astype(np.int64) - offsets[0]
    length = np.diff(offsets)
    todo = np.flatnonzero(plan >= 0)
    while len(todo):
        todo = todo[(total[todo] - head[todo] > 6) & (head[todo] < np.minimum(length[todo], 16))]
        grown = []
        for hn, at in phones.groups(head[todo] * 64 + length[todo]):
            h, n = divmod(hn, 64)
            rows = todo[at]
            key = plan[rows] * 4 + want[rows]
            for i in range(h):  # the kept digits, as a number below 10**h
                key = key * 10 + (data[offsets[rows] + i] - ord("0"))
            keys, index = np.unique(key, return_inverse=True)
            kept = np.zeros((len(keys), h), dtype=np.int64)
            for i in range(h):
                kept[:, i] = keys // 10 ** (h - 1 - i) % 10
            samples = np.concatenate(
                [
                    np.repeat(kept.astype(np.uint8) + ord("0"), SAMPLES, 0),
                    np.tile(_completions(n - h), (len(keys), 1)),
                ],
                1,
            )
            kind = keys // 10**h
            got = phones.classes(fixed_width(samples), np.repeat(kind // 4, SAMPLES), plans, True)
            share = (got.reshape(len(keys), SAMPLES) == (kind % 4)[:, None]).mean(1)
            grown.append(rows[share[index] < SHARE])
        todo = np.concatenate(grown) if grown else todo[:0]
        head[todo] += 1
    return head


def walk(
    fpe: Pseudonymizer,
    arr: pa.Array,
    rows: tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray],
    plans: list[phones.Numbering],
    where: str,
    adapt: bool = True,
) -> tuple[pa.Array, np.ndarray]:
    """The digits after the first head[i] of each row permuted, rows with plan[i] >= 0 walked
    until their result is of their input's class (the heads grown by `heads` if `adapt`); also
    how many times each row was permuted. rows: per row its main digits (`scan`), its count of
    digits, head and plan."""
    main, total, head, plan = rows
    rows = np.flatnonzero(plan >= 0)
    every = len(rows) == len(arr)
    taken = pa.array(rows)
    want = np.full(len(arr), -1, dtype=np.int8)
    if len(rows):
        want[rows] = phones.classes(main if every else main.take(taken), plan[rows], plans, True)
    if len(rows) and adapt:
        head = heads(main, head, want, plan, plans, total)
    out = fpe.strings(arr, "digits", skip_head=head, widen=False)
    rounds = np.ones(len(arr), dtype=np.int32)
    if not len(rows):
        return out, rounds
    got = phones.classes(out if every else out.take(taken), plan[rows], plans)
    todo = rows[got != want[rows]]
    current = out.take(pa.array(todo))
    done_rows, done_values = [], []
    walked = 1
    while len(todo) and walked < MAX_ROUNDS:
        # few rows left: several rounds per classification (one regex compile per pattern)
        ahead = min(1 if 16 * len(todo) > len(rows) else 8, MAX_ROUNDS - walked)
        steps = []
        for _ in range(ahead):
            current = fpe.strings(current, "digits", skip_head=head[todo], widen=False)
            steps.append(current)
        got = phones.classes(pa.concat_arrays(steps), np.tile(plan[todo], ahead), plans)
        ok = got.reshape(ahead, len(todo)) == want[todo]
        hit, first = ok.any(0), ok.argmax(0)
        rounds[todo] += np.where(hit, first + 1, ahead)
        walked += ahead
        at = np.flatnonzero(hit)
        done_rows.append(todo[at])
        done_values.append(pa.concat_arrays(steps).take(pa.array(first[at] * len(todo) + at)))
        todo, current = todo[~hit], current.filter(pa.array(~hit))
    if len(todo):
        raise TdmError(
            f"{where}: mask 'phone' found no number of the same kind (valid or not for the "
            f"country, same national prefix) for {len(todo)} value(s) in {MAX_ROUNDS} rounds of "
            "the keyed permutation: the country's rules leave too few such numbers of that "
            "length. Mask the column with 'pseudonymize' instead (format kept, no validity)"
        )
    if done_rows:
        out = replace_rows(out, np.concatenate(done_rows), pa.concat_arrays(done_values))
    return out, rounds


@register
class Phone(Strategy):
    """Phone numbers masked to numbers of the same country, valid where the input is valid, with
    their format (spaces, dashes, brackets, dots, length) kept: after a '+' the E.164 calling
    code stays (with a national prefix written after it, "+44 (0)20..."), and the national
    digits go to a valid number of that code (tdm.masking.strategies.phones). Without '+',
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
        main, total, has_plus, first = phones.scan(arr)
        size = _CODE_LENGTH[np.maximum(first[:, 0], 0) * 10 + np.maximum(first[:, 1], 0)]
        international = has_plus | (integers & (self.p.region is None))
        if integers:  # too short for its calling code and 6 digits: the first digit alone
            size = np.where(has_plus | (total - size >= 6), size, 1)
        head = np.where(international, size, 0 if self.p.region else 1)
        plan = np.full(len(arr), -1, dtype=np.int64)
        plans: list[phones.Numbering] = []
        codes = np.where(size == 1, first[:, 0], np.where(size == 2, first[:, :2] @ [10, 1], 0))
        codes = np.where(size == 3, first @ [100, 10, 1], codes)
        known = international & (first[np.arange(len(arr)), size - 1] >= 0)
        for code in np.unique(codes[known]).tolist():
            numbering = phones.for_code(code)
            if numbering is not None:
                plan[known & (codes == code)] = len(plans)
                plans.append(numbering)
        if self.p.region:
            plan[~international & pc.is_valid(arr).to_numpy(zero_copy_only=False)] = len(plans)
            plans.append(phones.for_region(self.p.region))
        if self.p.keep_digits is not None:
            head = np.full(len(arr), self.p.keep_digits, dtype=np.int64)
            plan[head < np.where(international, size, 0)] = -1  # calling code not kept
        if integers:
            head = np.maximum(head, 1)  # no leading zero
        where = f"{self.column.table}.{self.column.name}"
        fixed = self.p.keep_digits is not None
        rows = (main, total, head.astype(np.int64), plan)
        out, _ = walk(self.fpe, arr, rows, plans, where, not fixed)
        return out
