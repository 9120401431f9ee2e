"""Which phone numbers are valid, as counted automata (tdm.masking.strategies.phone_language) built
from libphonenumber's metadata (the pinned `phonenumbers` package), for the `phone` mask.

`valid(code, n)`: the national significant numbers of n digits that phonenumbers.is_valid_number
accepts under calling code `code`, exactly as it decides: the number matches a region's general
pattern and lengths and the pattern of one of its number types whose lengths hold n; for a code
shared by several regions (+1, +7, +44...), the first region in libphonenumber's order that
claims the number (by its leading digits, or else by being valid for it) decides.

`Rules`: how the numbers of one calling code are read, as libphonenumber's parse reads them (with
'+', the code's main region; without, `region`): which national (trunk) prefixes it strips
("020 7946 0958", "+44 (0)20 7946 0958") and when (the stripped number has a possible length and
does not stop matching the general pattern). Prefixes that form a short prefix-free set of
strings ("0", "1", "0|180020") are read by tdm.masking.strategies.phones without a regex; the
others (carrier codes, transform rules) with RE2 over the few rows they can apply to.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from tdm.masking.strategies.phone_language import (
    Glushkov,
    Language,
    Unsupported,
    first_pairs,
    language,
)

# libphonenumber's order (_number_type_helper); mobile is left out when it shares fixed_line's
TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)
MAX_LENGTH = 24  # longer national numbers have no language (masked without validity)
MAX_PREFIXES = 32  # national prefixes read without a regex


def _metas(code: int) -> tuple[PhoneMetadata, ...]:
    regions = phonenumbers.region_codes_for_country_code(code)
    if regions == ("001",):  # non-geographic: +800, +808, +870...
        return (PhoneMetadata.metadata_for_nongeo_region(code),)
    return tuple(PhoneMetadata.metadata_for_region(r) for r in regions)


@functools.cache
def valid(code: int, length: int) -> Language:
    """The valid national numbers of `length` digits of a calling code."""
    metas = _metas(code)
    g = Glushkov()
    regions = []
    for meta in metas:
        general = meta.general_desc
        usable = general.national_number_pattern and (
            not general.possible_length or length in general.possible_length
        )
        types = []
        for name in TYPES:
            desc = getattr(meta, name)
            if desc is None or not desc.national_number_pattern:
                continue
            if desc.possible_length and length not in desc.possible_length:
                continue
            if name == "mobile" and meta.same_mobile_and_fixed_line_pattern:
                continue
            types.append(g.add(desc.national_number_pattern))
        lead = None
        if len(metas) > 1 and meta.leading_digits is not None:
            lead = g.add(meta.leading_digits, prefix=True)
        regions.append((g.add(general.national_number_pattern) if usable else None, types, lead))

    def accept(test) -> bool:
        def valid_for(region) -> bool:
            general, types, _ = region
            return general is not None and test(general) and any(map(test, types))

        if len(regions) == 1:
            return valid_for(regions[0])
        for region in regions:  # _region_code_for_number_from_list
            if test(region[2]) if region[2] is not None else valid_for(region):
                return valid_for(region)
        return False

    return language(g, length, accept)


@functools.cache
def general(pattern: str, length: int) -> Language:
    """Strings of `length` digits that fully match a general pattern (no length test)."""
    g = Glushkov()
    g.add(pattern)
    return language(g, length, lambda test: test(0))


@dataclass(frozen=True)
class Rules:
    """The numbers of one calling code as parse reads them (see the module docstring)."""

    code: int
    region: str  # '' for numbers written with '+'
    prefix_pattern: str  # national_prefix_for_parsing ('' if none)
    transform: str  # national_prefix_transform_rule ('' if none)
    general_pattern: str
    lengths: tuple[int, ...]  # possible lengths of the parsing region's numbers
    local: tuple[int, ...]  # lengths possible only locally
    prefixes: tuple[str, ...] | None = field(default=None)  # None: read with a regex
    starts: int = 0  # pairs of digits a national prefix can start with (bit 10 * c1 + c2)

    @property
    def groups(self) -> int:
        return re.compile(self.prefix_pattern).groups if self.prefix_pattern else 0

    def possible(self, length: int) -> bool:
        """_test_number_length of parse: not too short, not an impossible or local length."""
        fits = length in self.lengths or length > max(self.lengths)
        return fits and length not in self.local


@functools.cache
def for_code(code: int, region: str = "") -> Rules | None:
    """The rules of an E.164 calling code (None for a code no region uses); with `region`, of
    national numbers parsed as that region's."""
    if not phonenumbers.region_codes_for_country_code(code):
        return None
    meta = PhoneMetadata.metadata_for_region(region) if region else _metas(code)[0]
    pattern = meta.national_prefix_for_parsing or ""
    transform = meta.national_prefix_transform_rule or ""
    prefixes = None if transform else _prefix_strings(pattern)
    return Rules(
        code,
        region,
        pattern,
        transform,
        meta.general_desc.national_number_pattern,
        tuple(meta.general_desc.possible_length),
        tuple(meta.general_desc.possible_length_local_only or ()),
        prefixes,
        first_pairs(pattern) if pattern else 0,
    )


def for_region(region: str) -> Rules:
    """National numbers (no calling code) as `region` reads them, valid for its calling code."""
    rules = for_code(phonenumbers.country_code_for_region(region), region)
    assert rules is not None, region
    return rules


def _prefix_strings(pattern: str) -> tuple[str, ...] | None:
    """The strings a national-prefix pattern matches, when they are few and none is a prefix of
    another (then a match at the start of a number is the one of them it starts with, whatever
    the alternatives' order); else None."""
    if not pattern:
        return ()
    g = Glushkov()
    try:
        first, last, nullable = g.automata[g.add(pattern)]
    except (Unsupported, re.error):
        return None
    if nullable:
        return None
    found: list[str] = []
    todo = [("", first)]
    while todo:
        text, positions = todo.pop()
        for c in range(10):
            here = [p for p in range(len(g.digits)) if positions >> p & 1 and g.digits[p] >> c & 1]
            if not here:
                continue
            word = text + str(c)
            if any(last >> p & 1 for p in here):
                found.append(word)
            after = 0
            for p in here:
                after |= g.follow[p]
            if after:
                todo.append((word, after))
            if len(found) > MAX_PREFIXES or len(word) > 8:
                return None
    ordered = sorted(found)
    if any(b.startswith(a) for a, b in itertools.pairwise(ordered)):
        return None
    return tuple(ordered)


def lengths_used(rules: Rules, lengths: np.ndarray) -> list[int]:
    """The national-number lengths the rows of these digit counts may need languages for."""
    out = {int(n) for n in lengths}
    if rules.prefixes is None:  # a regex strips or rewrites prefixes of any length
        out |= {n for meta in _metas(rules.code) for n in meta.general_desc.possible_length}
    else:
        out |= {int(n) - len(p) for n in lengths for p in rules.prefixes}
    return sorted(n for n in out if 0 < n <= MAX_LENGTH)
