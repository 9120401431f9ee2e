"""Which phone numbers are valid: libphonenumber's rules (the `phonenumbers` package) as RE2
patterns tested over whole Arrow arrays (the `phone` mask: tdm.masking.strategies.contact).

A national number is valid when it matches its region's general pattern and lengths and the
pattern of one of the number types (fixed line, mobile, toll free...) whose possible lengths hold
its length; for a calling code shared by several regions (+1, +7, +44...), of any of them. A
national (trunk) prefix is stripped as libphonenumber's parse strips it ("020 7946 0958",
"+44 (0)20 7946 0958"). Each number's class, (valid, starts with a national prefix), is what
the mask's cycle-walk keeps.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit
from phonenumbers.phonemetadata import PhoneMetadata

from tdm.core.arrowstr import replace_rows
from tdm.masking.strategies.base import from_buffers, string_buffers

TYPES = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)


@dataclass(frozen=True)
class Numbering:
    """The valid national numbers of a calling code: `prefix` (the calling code's digits, or ''
    for national numbers of a region); how libphonenumber strips a national (trunk) prefix
    (`strip`: its pattern, the replacement, the replacement's group; `general`, `lengths`,
    `local`: whether the result is kept); per national-number length the union of the patterns
    of the number types of that length."""

    prefix: str
    strip: tuple[str, str, int] | None
    general: str
    lengths: tuple[int, ...]
    local: tuple[int, ...]
    patterns: dict[int, str]
    valid: tuple[str, tuple[int, ...]]  # any region's general pattern and lengths


def _patterns(regions: tuple[PhoneMetadata, ...]) -> dict[int, str]:
    found: dict[int, set[str]] = {}
    for meta in regions:
        for name in TYPES:
            desc = getattr(meta, name)
            if desc is None or not desc.national_number_pattern:
                continue
            for length in desc.possible_length or meta.general_desc.possible_length:
                if length > 0:
                    found.setdefault(length, set()).add(desc.national_number_pattern)
    return {n: "|".join(sorted(p)) for n, p in sorted(found.items())}


@functools.cache
def for_code(code: int, region: str = "") -> Numbering | None:
    """The numbering of an E.164 calling code (None for a code no region uses); with `region`,
    of national numbers parsed as that region's (without the calling code)."""
    regions = phonenumbers.region_codes_for_country_code(code)
    if not regions:
        return None
    if regions == ("001",):  # non-geographic: +800, +808, +870...
        metas = (PhoneMetadata.metadata_for_nongeo_region(code),)
    else:
        metas = tuple(PhoneMetadata.metadata_for_region(r) for r in regions)
    meta = PhoneMetadata.metadata_for_region(region) if region else metas[0]
    strip = None
    if meta.national_prefix_for_parsing:
        rule = meta.national_prefix_transform_rule or ""
        groups = re.compile(meta.national_prefix_for_parsing).groups
        strip = (f"^(?:{meta.national_prefix_for_parsing})", rule, groups if rule else 0)
    general = meta.general_desc
    return Numbering(
        "" if region else str(code),
        strip,
        f"^(?:{general.national_number_pattern})$",
        tuple(general.possible_length),
        tuple(general.possible_length_local_only or ()),
        _patterns(metas),
        (
            "^(?:"
            + "|".join(sorted({m.general_desc.national_number_pattern for m in metas}))
            + ")$",
            tuple(sorted({n for m in metas for n in m.general_desc.possible_length})),
        ),
    )


def for_region(region: str) -> Numbering:
    """National numbers (no calling code) as `region` reads them, valid for its calling code."""
    numbering = for_code(phonenumbers.country_code_for_region(region), region)
    assert numbering is not None, region
    return numbering


@njit(cache=True)
def _scan(data: np.ndarray, offsets: np.ndarray):
    """Per row: its main digits (before a letter that follows a digit), all its digits counted,
    and whether a '+' comes before its first digit."""
    n = offsets.shape[0] - 1
    out = np.empty(data.shape[0], dtype=np.uint8)
    first = np.full((n, 3), -1, dtype=np.int64)
    starts = np.zeros(n + 1, dtype=np.int32)
    total = np.zeros(n, dtype=np.int64)
    plus = np.zeros(n, dtype=np.bool_)
    at = 0
    for i in range(n):
        count, main = 0, True
        for p in range(offsets[i], offsets[i + 1]):
            c = data[p]
            if 48 <= c <= 57:
                if count < 3:
                    first[i, count] = c - 48
                count += 1
                if main:
                    out[at] = c
                    at += 1
            elif c == 43 and count == 0:
                plus[i] = True
            elif count and (65 <= c <= 90 or 97 <= c <= 122):
                main = False
        total[i] = count
        starts[i + 1] = at
    return out[:at], starts, total, plus, first


def scan(arr: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """The main digits of each value (those before an extension's 'x' or 'ext'; a leading
    'tel:' is no extension; null stays null), its count of digits, whether it has a '+', and
    its first 3 digits ((rows, 3), -1 past the end)."""
    arr = arr if arr.offset == 0 else pa.concat_arrays([arr])
    offsets, data = string_buffers(arr)
    digits, starts, total, plus, first = _scan(data, (offsets - offsets[0]).astype(np.int64))
    main = from_buffers(starts, digits, arr)
    return main, total, plus & pc.is_valid(arr).to_numpy(False), first


def main_digits(arr: pa.Array) -> pa.Array:
    return scan(arr)[0]


def groups(values: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(value, its rows) for each value of an array of small non-negative ints (a radix sort)."""
    values = np.asarray(values, dtype=np.int64)
    if not len(values):
        return []
    order = np.argsort(values.astype(np.uint16), kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(values))])
    return [(int(v), order[bounds[v] : bounds[v + 1]]) for v in np.flatnonzero(np.diff(bounds))]


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(False)


def _lengths(values: pa.Array) -> np.ndarray:
    return pc.fill_null(pc.utf8_length(values), 0).to_numpy().astype(np.int64)


def _national(numbering: Numbering, digits: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The national numbers libphonenumber reads from digit strings (calling code removed), and
    which of them start with a national prefix (libphonenumber's
    _maybe_strip_national_prefix_and_carrier_code and the length test of its parse)."""
    if numbering.strip is None:
        return digits, np.zeros(len(digits), dtype=bool)
    pattern, rule, group = numbering.strip
    starts = _matches(digits, pattern)
    at = np.flatnonzero(starts)
    if not len(at):
        return digits, starts
    sub = digits.take(pa.array(at))
    replace = functools.partial(pc.replace_substring_regex, sub, pattern, max_replacements=1)
    stripped = replace(replacement="")
    if group:  # the rule applies where the pattern's last group took part
        applies = pc.not_equal(replace(replacement=f"\\{group}"), stripped)
        stripped = pc.if_else(applies, replace(replacement=rule), stripped)
    length = _lengths(stripped)
    possible = np.isin(length, numbering.lengths) | (length > max(numbering.lengths))
    possible &= ~np.isin(length, numbering.local)
    viable = ~(_matches(sub, numbering.general) & ~_matches(stripped, numbering.general))
    use = possible & viable
    return replace_rows(digits, at[use], stripped.filter(pa.array(use))), starts


def classes(
    values: pa.Array, plan: np.ndarray, plans: list[Numbering], digits: bool = False
) -> np.ndarray:
    """Per value: valid (1) + 2 * starts with a national prefix; plan[i] indexes `plans`.
    `digits`: the values are main digits already (`scan`)."""
    main = values if digits else main_digits(values)
    out = np.zeros(len(values), dtype=np.int8)
    for p, rows in groups(plan):
        numbering = plans[p]
        digits = pc.utf8_slice_codeunits(main.take(pa.array(rows)), len(numbering.prefix))
        national, starts = _national(numbering, digits)
        length = _lengths(national)
        valid = np.isin(length, numbering.valid[1]) & _matches(national, numbering.valid[0])
        valid[~np.isin(length, list(numbering.patterns))] = False
        candidates = np.flatnonzero(valid)
        for n, at in groups(length[candidates]):
            at = candidates[at]
            pattern = f"^(?:{numbering.patterns[n]})$"
            valid[at] = _matches(national.take(pa.array(at)), pattern)
        out[rows] = valid + 2 * starts.astype(np.int8)
    return out
