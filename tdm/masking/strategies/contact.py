"""Phone numbers, pseudonymised with their format kept (email addresses:
tdm.masking.strategies.mail).

Bijective (distinct inputs give distinct outputs), so it can mask unique columns and keys: the
digits are run through the keyed format-preserving permutation of tdm.masking.strategies.fpe,
and the country calling code (or trunk prefix) is kept whole.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
from pydantic import Field

from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    byte_table,
    register,
    string_buffers,
    translate,
)

# ---- phone numbers -----------------------------------------------------------------------------

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
_DIGITS = byte_table("0123456789")


class PhoneParams(Model):
    keep_digits: int | None = Field(
        None,
        ge=0,
        description="leading digits kept; default: the country code after '+', "
        "else the first digit (trunk prefix)",
    )


def leading_digits(arr: pa.StringArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value: whether a '+' comes before the first digit, and the first two digits (0-9,
    -1 where missing)."""
    offsets, data = string_buffers(arr)
    offsets = offsets - offsets[0]
    digits = np.flatnonzero(translate(data, _DIGITS))
    plus = np.flatnonzero(data == ord("+"))
    start = np.searchsorted(digits, offsets[:-1])
    count = np.searchsorted(digits, offsets[1:]) - start
    padded = np.concatenate([digits, [len(data), len(data)]])
    first, second = padded[start], padded[start + 1]
    value = np.concatenate([data, [0]]).astype(np.int64) - ord("0")
    d1 = np.where(count >= 1, value[first], -1)
    d2 = np.where(count >= 2, value[np.minimum(second, len(data))], -1)
    first_plus = np.concatenate([plus, [len(data)]])[np.searchsorted(plus, offsets[:-1])]
    has_plus = (first_plus < offsets[1:]) & ((count == 0) | (first_plus < first))
    return has_plus, d1, d2


@register
class Phone(Strategy):
    """Phone numbers with their format (spaces, dashes, brackets, length) kept: after a '+' the
    E.164 country calling code stays, otherwise the first digit (a trunk prefix such as 0 or 1);
    the remaining digits are pseudonymised, so distinct numbers stay distinct. Integer columns
    are masked as their decimal text (the first digit kept, so no leading zero appears)."""

    name = "phone"
    Params = PhoneParams
    types = ("string", "int")
    bijective = True
    summary: ClassVar[str] = "digits pseudonymised; '+' and country code (or first digit) kept"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        arr = as_string(values)
        if self.p.keep_digits is not None:
            keep = self.p.keep_digits
        else:
            has_plus, d1, d2 = leading_digits(arr)
            code = _CODE_LENGTH[np.maximum(d1, 0) * 10 + np.maximum(d2, 0)]
            keep = np.where(has_plus, code, 1).astype(np.int64)
        if pa.types.is_integer(values.type):
            keep = np.maximum(keep, 1)  # keep_digits: 0 could make a leading zero
        return self.fpe.strings(arr, "digits", skip_head=keep)
