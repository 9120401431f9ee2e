"""The alphabets format-preserving pseudonymisation permutes within (tdm.masking.strategies.fpe).

An alphabet is made of character classes (digits, lower-case, upper-case letters). A value is
permuted within its *part*: the strings over exactly the classes its characters use, each used
at least once. So digits stay digits, lower-case codes stay lower-case letters and digits, and
mixed-case values stay mixed-case; the FF1 radix is the number of characters of the part (10,
16, 26, 36, 52 or 62), and results that leave the part are permuted again (cycle-walking).
Values made only of the alphabet's characters and too short for their part (`Jon`, `AB`) are
permuted among all the strings of 1 to `band` characters of their part instead
(tdm.masking.strategies.band): at least 10**6 of them, so a short value may come out longer or
shorter.
Tables are 256-byte maps for bytes.translate, which maps a buffer an order of magnitude faster
than numpy indexing."""

from __future__ import annotations

import itertools
import string
from dataclasses import dataclass
from functools import cache

import numpy as np

from tdm.masking.strategies import packing

MIN_DOMAIN = 1_000_000  # NIST SP 800-38G Rev. 1: at least 10**6 possible values

# name -> (its classes, case-folded first, what its characters are called)
ALPHABETS: dict[str, tuple[tuple[str, ...], bool, str]] = {
    "digits": ((string.digits,), False, "digits"),
    # hex digits and e-mail addresses are case-insensitive: the input is lower-cased first, so
    # 'AB' and 'ab' are one value with one output
    "hex": ((string.digits + "abcdef",), True, "hex digits"),
    "lower": ((string.ascii_lowercase,), False, "lower-case letters"),
    "upper": ((string.ascii_uppercase,), False, "upper-case letters"),
    "base36": ((string.digits, string.ascii_lowercase), True, "letters or digits"),
    "alnum": (
        (string.digits, string.ascii_lowercase, string.ascii_uppercase),
        False,
        "letters or digits",
    ),
}


@dataclass(frozen=True)
class Part:
    """The strings over exactly the classes in `signature` (a bit per class)."""

    signature: int
    radix: int
    digit: bytes  # character -> its digit in this part
    lookup: bytes  # digit -> character
    min_length: int  # the shortest length with at least 10**6 strings in the part
    exact: bool  # every string over the part's characters is in it (a single class)
    band: int  # values of the part this long or shorter, and nothing else, are widened

    @property
    def band_size(self) -> int:
        """Strings of 1 to `band` of the part's characters (a superset of the band)."""
        return sum(self.radix**i for i in range(1, self.band + 1))


@dataclass(frozen=True)
class Alphabet:
    name: str
    classes: tuple[str, ...]
    folded: bool  # input lower-cased first
    describe: str
    member: bytes  # 1 for a character of the alphabet
    klass: bytes  # character -> the bit of its class

    def part(self, signature: int) -> Part:
        return _part(self.name, signature)


def part_size(sizes: list[int], length: int) -> int:
    """How many strings of `length` use every one of the classes of these sizes (by
    inclusion-exclusion)."""
    total = 0
    for r in range(len(sizes) + 1):
        for subset in itertools.combinations(sizes, r):
            total += (-1) ** (len(sizes) - r) * sum(subset) ** length
    return total


@cache
def _part(name: str, signature: int) -> Part:
    classes = [c for i, c in enumerate(ALPHABETS[name][0]) if signature >> i & 1]
    sizes = [len(c) for c in classes]
    chars = "".join(classes).encode()
    digit = bytearray(256)
    for i, ch in enumerate(chars):
        digit[ch] = i
    length = 2
    while part_size(sizes, length) < MIN_DOMAIN:
        length += 1
    # the band: every length too short, and then as many as make 10**6 strings in all
    band = length - 1
    while sum(part_size(sizes, n) for n in range(1, band + 1)) < MIN_DOMAIN:
        band += 1
    lookup = chars.ljust(256, b"\0")
    return Part(signature, len(chars), bytes(digit), lookup, length, len(classes) == 1, band)


def _alphabet(name: str) -> Alphabet:
    classes, folded, describe = ALPHABETS[name]
    member, klass = bytearray(256), bytearray(256)
    for i, cls in enumerate(classes):
        for ch in cls.encode():
            member[ch], klass[ch] = 1, 1 << i
    return Alphabet(name, classes, folded, describe, bytes(member), bytes(klass))


TABLES = {name: _alphabet(name) for name in ALPHABETS}


def translate(values: np.ndarray, table: bytes) -> np.ndarray:
    return np.frombuffer(values.tobytes().translate(table), dtype=np.uint8).reshape(values.shape)


def row_classes(data: np.ndarray, offsets: np.ndarray, t: Alphabet) -> tuple:
    """Per row: how many characters of the alphabet it holds, and the classes (a bit each)
    they use."""
    return packing.classify(data, offsets, packing.table(t.member), packing.table(t.klass))
