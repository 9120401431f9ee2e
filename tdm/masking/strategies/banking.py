"""IBANs: the country kept, the account part (BBAN) pseudonymised with its shape, the check
digits recomputed, so a masked IBAN is still a valid one (and distinct inputs stay distinct)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.masking.strategies.base import MaskBatch, Strategy, as_string, register

IBAN_SHAPE = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]+$"  # ASCII only: mod97 reads bytes


def mod97(rearranged: pa.Array) -> np.ndarray:
    """ISO 7064 MOD 97-10 of upper-case alphanumeric strings (letters count as 10..35)."""
    text = rearranged.to_numpy(zero_copy_only=False).astype(str)
    width = max((len(t) for t in text), default=0)
    chars = (
        np.frombuffer(
            np.char.ljust(text, width).astype(f"S{width}").tobytes(), dtype=np.uint8
        ).reshape(len(text), width)
        if width
        else np.zeros((len(text), 0), np.uint8)
    )
    lengths = np.char.str_len(text)
    acc = np.zeros(len(text), dtype=np.int64)
    for i in range(width):
        c = chars[:, i].astype(np.int64)
        letter = c >= ord("A")
        value = np.where(letter, c - ord("A") + 10, c - ord("0"))
        step = np.where(letter, (acc * 100 + value) % 97, (acc * 10 + value) % 97)
        acc = np.where(i < lengths, step, acc)
    return acc


@register
class Iban(Strategy):
    """IBANs: country kept, the digits of the BBAN pseudonymised (its letters, a bank code where
    the national format has one, stay, so the BBAN keeps its national shape), valid check
    digits recomputed; spaces kept as groups of four when the input had them. Collision-free over
    valid IBANs (two inputs differing only in wrong check digits get one output). Values without
    an IBAN's shape (country letters, check digits, ASCII letters and digits) have their letters
    and digits pseudonymised in place, as `pseudonymize` does."""

    name = "iban"
    types = ("string",)
    bijective = True
    summary: ClassVar[str] = "valid IBAN: country kept, account pseudonymised, check recomputed"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        arr = as_string(values)
        spaced = pc.match_substring(arr, " ")
        compact = pc.utf8_upper(pc.replace_substring(arr, " ", ""))
        shaped = pc.fill_null(pc.match_substring_regex(compact, IBAN_SHAPE), False)
        if not pc.all(shaped).as_py():  # not IBANs: their letters and digits pseudonymised
            other = self.fpe.strings(arr, "alnum")
            compact = pc.if_else(shaped, compact, "XX0000000000000000")  # a stand-in, not output
        country = pc.utf8_slice_codeunits(compact, 0, 2)
        bban = self.fpe.strings(pc.utf8_slice_codeunits(compact, 4), "digits")
        check = 98 - mod97(pc.binary_join_element_wise(bban, country, "00", ""))
        digits = pc.utf8_lpad(pa.array(check).cast(pa.string()), 2, "0")
        out = pc.binary_join_element_wise(country, digits, bban, "")
        grouped = pc.replace_substring_regex(out, r"(.{4})", r"\1 ")
        out = pc.if_else(spaced, pc.utf8_rtrim(grouped, " "), out)
        if not pc.all(shaped).as_py():
            out = pc.if_else(shaped, out, other)
        return pc.if_else(pc.is_null(arr), pa.nulls(len(arr), pa.string()), out)
