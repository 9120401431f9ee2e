"""Identifiers: keyed, format-preserving, collision-free pseudonymisation of keys, UUIDs, national
ids and card numbers.

Each is a permutation of its value domain under the masking key (`tdm.masking.fpe`): distinct
inputs give distinct outputs, so primary keys and unique columns stay unique, and because the
permutation depends only on the key and the strategy's domain, a foreign key masked with the same
strategy still finds its parent.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from tdm.core.arrowstr import lower
from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    byte_table,
    from_buffers,
    register,
    string_buffers,
    translate,
)
from tdm.masking.strategies.fpe import Pseudonymizer, ShortValues

_DIGITS = byte_table("0123456789")


def permute_integers(fpe: Pseudonymizer, values: pa.Array) -> pa.Array:
    """Integers through the sign-keeping permutation (tdm.masking.strategies.fpe): below 10**6
    within [0, 10**6), so a small id may grow digits, larger ones within their number of
    digits; narrow types (int32, ...) stay in their range by cycle-walking. A type that cannot
    hold 10**6 values (int8, int16) is refused: any permutation of it would be a small domain."""
    info = np.iinfo(values.type.to_pandas_dtype())
    if info.max < 10**6 - 1:
        raise ShortValues(
            len(values) - values.null_count,
            f"are {values.type} integers: fewer than 1,000,000 possible values",
        )
    ints = pc.fill_null(values, 0).cast(pa.int64()).to_numpy()
    out = fpe.integers(ints, max(info.min, -(2**63)), min(info.max, 2**63 - 1))
    return pa.array(out, mask=pc.is_null(values).to_numpy(False)).cast(values.type)


class PseudonymizeParams(Model):
    alphabet: Literal["alnum", "base36", "digits", "hex", "lower", "upper"] = Field(
        "alnum",
        description="string columns: which characters are permuted (others stay); base36 and "
        "hex are case-insensitive (lower-cased first)",
    )


@register
class Pseudonymize(Strategy):
    """A keyed permutation of the column's values (FF1): integers keep their sign, and their
    number of digits from 10**6 on (smaller ones are permuted within [0, 10**6)); strings keep
    their length, every character outside the alphabet, and which classes (digits, lower-case,
    upper-case letters) they use; UUIDs keep their hyphens and version/variant nibbles. No
    value is masked to itself."""

    name = "pseudonymize"
    Params = PseudonymizeParams
    types = ("int", "string", "uuid")
    bijective = True
    summary: ClassVar[str] = "keyed format-preserving permutation of ids (int, string, uuid)"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        if pa.types.is_integer(values.type):
            return permute_integers(self.fpe, values)
        if self.column.type.kind == "uuid":
            return self.uuids(as_string(values))
        return self.fpe.strings(values, self.p.alphabet)

    def uuids(self, arr: pa.StringArray) -> pa.StringArray:
        """Lower-case hex permuted; in canonical 8-4-4-4-12 values the version (character 14) and
        variant (character 19) stay as they are."""
        arr = as_string(lower(arr))  # one UUID, one output, whatever its case
        offsets, data = string_buffers(arr)
        start = offsets[:-1] - offsets[0]
        canonical = np.diff(offsets) == 36
        for at in (8, 13, 18, 23):
            canonical[canonical] &= data[start[canonical] + at] == ord("-")
        fixed = (start[canonical, None] + np.array([14, 19])).ravel()
        kept = data[fixed]
        data[fixed] = ord("g")  # outside the hex alphabet: left alone by the permutation
        out = self.fpe.strings(from_buffers(offsets, data, arr), "hex")
        offsets, data = string_buffers(out)
        data[fixed] = kept
        return from_buffers(offsets, data, arr)


class NationalIdParams(Model):
    keep_first: int = Field(0, ge=0, description="leading letters/digits kept")
    keep_last: int = Field(0, ge=0, description="trailing letters/digits kept")


@register
class NationalId(Strategy):
    """National ids, tax and social security numbers, passport numbers: letters and digits
    pseudonymised in place, so the shape stays (123-45-6789 -> 804-17-3352). Integer columns
    get the digit-count-preserving integer permutation (keep_first/keep_last apply to text)."""

    name = "national_id"
    Params = NationalIdParams
    types = ("string", "int")
    bijective = True
    summary: ClassVar[str] = "format-preserving permutation of letters and digits (SSN shape)"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        if pa.types.is_integer(values.type):
            return permute_integers(self.fpe, values)
        return self.fpe.strings(values, "alnum", self.p.keep_first, self.p.keep_last)


class CreditCardParams(Model):
    keep_bin: bool = Field(True, description="keep the first 6 digits (issuer); else only the 1st")


CARD_DIGITS = (12, 19)  # values with this many digits are treated as card numbers
# card rows whose check digits are computed at once: each of their matrices is 19 int64 per row
# (all rows of a 500k-row batch at once held ~190 MB at the payments step's peak)
LUHN_ROWS = 65_536


@register
class CreditCard(Strategy):
    """Card numbers: the account digits pseudonymised, the issuer (BIN) kept, the Luhn check
    digit recomputed, separators kept. Collision-free over valid card numbers (two inputs that
    differ only in a wrong check digit get one output). Values with fewer than 12 or more than
    19 digits have all their digits pseudonymised (but the first, in number columns: a leading
    zero would be lost). Integer and decimal columns are masked as their decimal text."""

    name = "credit_card"
    Params = CreditCardParams
    types = ("string", "int", "decimal")
    bijective = True
    summary: ClassVar[str] = "Luhn-valid card number, BIN kept (keep_bin), separators kept"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        numeric = not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type)
        arr = as_string(values)
        offsets, data = string_buffers(arr)
        digits = np.flatnonzero(translate(data, _DIGITS))
        at = offsets - offsets[0]
        count = np.diff(np.searchsorted(digits, at))
        card = (count >= CARD_DIGITS[0]) & (count <= CARD_DIGITS[1])
        # the BIN shrinks on the shortest numbers so that 6 digits (10**6 values) stay to permute
        bin_digits = np.minimum(6 if self.p.keep_bin else 1, count - 1 - 6)
        head = np.where(card, bin_digits, int(numeric))
        out = self.fpe.strings(arr, "digits", skip_head=head, skip_tail=card.astype(np.int64))
        if not card.any():
            return out
        offsets, data = string_buffers(out)
        digits = np.flatnonzero(translate(data, _DIGITS))
        starts = np.searchsorted(digits, offsets[:-1] - offsets[0])[card]
        lengths = count[card]
        width = CARD_DIGITS[1]
        slot = np.arange(width)  # right-aligned: the check digit in the last column
        for lo in range(0, len(starts), LUHN_ROWS):  # a few 19-column int64 matrices at a time
            start, length = starts[lo : lo + LUHN_ROWS], lengths[lo : lo + LUHN_ROWS]
            index = start[:, None] + slot - (width - length[:, None])
            valid = index >= start[:, None]
            matrix = np.where(valid, data[digits[np.where(valid, index, 0)]] - ord("0"), 0)
            data[digits[start + length - 1]] = luhn_check(matrix) + ord("0")
        return from_buffers(offsets, data, arr)


_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)  # digit sum of 2 * d


def luhn_check(matrix: np.ndarray) -> np.ndarray:
    """The Luhn check digit of right-aligned digit rows (zeros on the left leave the sum as it
    is) whose last column is the check digit's slot."""
    last = matrix.shape[1] - 2  # the rightmost payload digit is doubled, then every second one
    total = _DOUBLED[matrix[:, last::-2]].sum(axis=1) + matrix[:, last - 1 :: -2].sum(axis=1)
    return ((10 - total % 10) % 10).astype(np.uint8)
