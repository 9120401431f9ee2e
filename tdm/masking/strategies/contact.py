"""Contact details: email addresses and phone numbers, pseudonymised with their format kept.

Both are bijective (distinct inputs give distinct outputs), so they can mask unique columns and
keys: the characters are run through the keyed format-preserving permutation of
`tdm.masking.fpe`, and whatever is kept (a domain, a country calling code) is kept whole.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from tdm.masking.strategies import addresses
from tdm.masking.strategies.alphabets import TABLES
from tdm.masking.strategies.band import band_rows
from tdm.masking.strategies.base import (
    MaskBatch,
    Model,
    Strategy,
    as_string,
    byte_table,
    register,
    string_buffers,
    translate,
    with_nulls_of,
)
from tdm.masking.strategies.fpe import Pseudonymizer
from tdm.masking.strategies.packing import table

RESERVED_TLD = "example"
# a local part or domain with this many letters and digits is long enough for a pseudonym of its
# own whatever characters it holds (6 digits: 10**6 values); shorter ones go whole (Email.mask)
SEPARATE = 6
# addresses are lower-cased once, up front: on lower-case text the alnum alphabet permutes
# exactly as base36 does (same parts, same digits), without lower-casing every piece again
LOWERED = "alnum"  # RFC 2606: never delivered, so masked data can never mail anyone


class EmailParams(Model):
    domain: Literal["map", "keep"] = Field(
        "map", description="map: pseudonymise the domain and end it in .example; keep: as is"
    )


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


def split_last(arr: pa.StringArray, sep: str) -> tuple[pa.StringArray, pa.StringArray]:
    """Each value cut before its last `sep`: (head, tail starting with sep, or '' without one).
    Nulls come out as empty strings."""
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: n + 1]
    data = np.frombuffer(arr.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
    hits = np.flatnonzero(data == ord(sep)).astype(np.int32) + offsets[0]
    if len(hits) == n and ((hits >= offsets[:-1]) & (hits < offsets[1:])).all():
        cut = hits  # the usual case: one separator in every value
    else:
        last = np.searchsorted(hits, offsets[1:]) - 1  # the last hit before each row's end
        cut = hits[np.maximum(last, 0)] if len(hits) else offsets[1:]
        cut = np.where((last >= 0) & (cut >= offsets[:-1]), cut, offsets[1:])
    # head_0, tail_0, head_1, ...: the pieces as one array over the same bytes, then apart
    bounds = np.empty(2 * n + 1, dtype=np.int32)
    bounds[0:-1:2], bounds[1::2], bounds[-1] = offsets[:-1], cut, offsets[-1]
    pieces = pa.StringArray.from_buffers(2 * n, pa.py_buffer(bounds), arr.buffers()[2])
    even = np.arange(0, 2 * n, 2)
    return pieces.take(pa.array(even)), pieces.take(pa.array(even + 1))


@register
class Email(Strategy):
    """Email addresses, lower-cased (addresses are compared case-insensitively, so John@x and
    john@x are one address with one pseudonym): the letters and digits of the local part
    pseudonymised (dots, plus signs and the like stay), the domain kept or mapped to a
    pseudonymised domain under the reserved .example TLD. A local part or domain with fewer than
    SEPARATE letters and digits (jo@..., ...@web.de) is too short for a pseudonym of its own: it
    is pseudonymised together with the next SEPARATE-n characters of the other side (or, in a
    short address, with all of it), so such a domain maps differently per address; with the
    domain kept, the local part is pseudonymised alone: a short one of letters and digits only is
    widened (it may change length), one with dots or the like refused. Unique inputs give unique,
    valid outputs."""

    name = "email"
    Params = EmailParams
    types = ("string",)
    bijective = True
    summary: ClassVar[str] = "pseudonymised local part; domain mapped to *.example or kept"

    def mask(self, values: pa.Array, batch: MaskBatch) -> pa.Array:
        arr = as_string(pc.utf8_lower(values))
        if self.p.domain == "keep":  # the local part alone
            local, suffix = split_last(arr, "@")
            return with_nulls_of(self.separate(local, suffix), arr)
        # One copy of the bytes, permuted in place: each row's local part (its letters and
        # digits before the last '@'), or for a short address its pieces (joined()); then the
        # addresses are put together again with their domains mapped.
        offsets, data = string_buffers(arr)
        offsets = offsets - offsets[0]
        cut, n_local, n_domain = addresses.split(data, offsets, table(TABLES[LOWERED].member))
        has_domain = cut < offsets[1:]
        valid = pc.is_valid(arr).to_numpy(False)
        short = (n_local < SEPARATE) & (n_local + n_domain > 0)
        short |= has_domain & (n_domain < SEPARATE)
        short &= valid
        # every path keeps both lengths, which decide the path: the images of two paths never
        # meet, and within a path the pieces are permuted apart
        apart = np.flatnonzero(~short & valid)
        local = Pseudonymizer(self.key, self.domain() + "/local")
        local.permute(data, offsets, apart, 0, n_domain[apart], LOWERED)
        kind = np.where(short, addresses.JOINT, addresses.SEPARATE)
        kind[~valid] = addresses.EMPTY
        widened = self.joined(data, offsets, np.flatnonzero(short), n_local, n_domain)
        if widened is not None:
            kind[widened[0]] = addresses.EMPTY
        suffix = addresses.slices(data, cut, np.where(kind == addresses.SEPARATE, offsets[1:], cut))
        domains = pc.dictionary_encode(_strings(*suffix))
        mapped = as_string(self.map_domains(domains.dictionary))
        m_offsets, m_data = string_buffers(mapped)
        codes = domains.indices.to_numpy(False).astype(np.int64)
        tld = np.frombuffer(b"." + RESERVED_TLD.encode(), dtype=np.uint8)
        out = _strings(*addresses.assemble(data, offsets, cut, kind, codes, m_offsets, m_data, tld))
        if widened is not None:  # short values of letters and digits only, no '@': widened
            rows, values = widened
            index = np.arange(len(out))
            index[rows] = len(out) + np.arange(len(rows))
            out = pa.concat_arrays([out, values]).take(pa.array(index))
        return with_nulls_of(out, arr)

    def separate(self, local: pa.StringArray, suffix: pa.StringArray) -> pa.StringArray:
        """With the domain kept: the local part pseudonymised alone, then the domain as is."""
        local = Pseudonymizer(self.key, self.domain() + "/local").strings(local, LOWERED)
        return pc.binary_join_element_wise(local, suffix, "")

    def joined(self, data, offsets, rows, n_local, n_domain) -> tuple | None:
        """Addresses with a short side, in place: the short side and the nearest SEPARATE-n
        characters of the other side as one value, the rest of the long side as another; or,
        when both sides have fewer than 2 * SEPARATE together, the whole address as one value
        (their domains then end in .example). A whole one of letters and digits only (no '@')
        and too short is widened instead: (its rows, their pseudonyms), or None."""
        total = n_local[rows] + n_domain[rows]
        whole = total < 2 * SEPARATE
        first = ~whole & (n_local[rows] < SEPARATE)  # the unit: the first SEPARATE characters
        last = ~whole & ~first  # the unit: the last SEPARATE characters
        rest = total - SEPARATE
        t = TABLES[LOWERED]
        skipped = np.ones(len(offsets) - 1, dtype=bool)
        skipped[rows[whole]] = False
        band, _ = band_rows(data, offsets, skipped, t)
        unit = Pseudonymizer(self.key, self.domain() + "/unit")
        widened = None
        if band.any():
            these = np.flatnonzero(band)
            values = _strings(*addresses.slices(data, offsets[these], offsets[these + 1]))
            widened = these, unit.strings(values, LOWERED)
            keep = ~band[rows]
            rows, total, whole, first, last, rest = (
                x[keep] for x in (rows, total, whole, first, last, rest)
            )
        unit.permute(
            data, offsets, rows, np.where(last, rest, 0), np.where(first, rest, 0), LOWERED
        )
        other = Pseudonymizer(self.key, self.domain() + "/rest")
        other.permute(
            data,
            offsets,
            rows,
            np.where(whole, total, np.where(first, SEPARATE, 0)),
            np.where(last, SEPARATE, 0),
            LOWERED,
        )
        return widened

    def map_domains(self, suffixes: pa.StringArray) -> pa.StringArray:
        """'@shop.co.uk' -> '@xqtb.ka.lm.example' (every label pseudonymised, so distinct domains
        stay distinct), '' -> ''."""
        domains = pc.utf8_slice_codeunits(suffixes, 1)
        mapped = Pseudonymizer(self.key, self.domain() + "/domain").strings(
            domains, LOWERED, widen=False
        )
        empty = pc.equal(pc.utf8_length(suffixes), 0)
        return pc.if_else(
            empty, "", pc.binary_join_element_wise("@", mapped, "." + RESERVED_TLD, "")
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
