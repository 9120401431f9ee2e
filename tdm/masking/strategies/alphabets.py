"""The character classes format-preserving pseudonymisation permutes within (tdm.masking.fpe):
per alphabet, each byte's radix, digit and class, as numpy arrays and as 256-byte tables for
bytes.translate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _alphabets() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """name -> (radix per byte (0: not in the alphabet), digit per byte, byte per (class, digit)),
    where the last one is indexed by base[byte] + digit, base[byte] being its class's offset."""
    out = {}
    for name, classes in {
        "alnum": ["abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"],
        "digits": ["0123456789"],
        # one class: upper-case input is lower-cased first (see strings), so '0b' and '0B' are
        # the same value and cannot collide in the output
        "hex": ["0123456789abcdef"],
    }.items():
        radix = np.zeros(256, dtype=np.uint8)
        digit = np.zeros(256, dtype=np.uint8)
        base = np.zeros(256, dtype=np.int64)
        at = 0
        for chars in classes:
            for i, ch in enumerate(chars.encode()):
                if not radix[ch]:
                    radix[ch], digit[ch], base[ch] = len(chars), i, at
            at += len(chars)
        lookup = np.frombuffer("".join(classes).encode(), dtype=np.uint8)
        out[name] = (radix, digit, base, lookup)
    return out


ALPHABETS = _alphabets()


@dataclass(frozen=True)
class _Tables:
    """The alphabet's per-byte maps as 256-byte tables for bytes.translate, which maps a buffer
    an order of magnitude faster than numpy fancy indexing."""

    member: bytes  # 1 for a character of the alphabet
    radix: bytes
    digit: bytes
    base: bytes  # offset of the character's class in `lookup`
    lookup: bytes  # base + digit -> character
    max_radix: int
    contiguous: bool  # every class is a run of consecutive bytes ('a'..'z', '0'..'9')


def _tables(name: str) -> _Tables:
    radix, digit, base, lookup = ALPHABETS[name]
    return _Tables(
        (radix > 0).astype(np.uint8).tobytes(),
        radix.tobytes(),
        digit.tobytes(),
        base.astype(np.uint8).tobytes(),
        lookup.tobytes().ljust(256, b"\0"),
        int(radix.max()),
        name != "hex",
    )


TABLES = {name: _tables(name) for name in ALPHABETS}


def translate(values: np.ndarray, table: bytes) -> np.ndarray:
    return np.frombuffer(values.tobytes().translate(table), dtype=np.uint8).reshape(values.shape)


def alphabet_id(name: str) -> int:
    return list(ALPHABETS).index(name) + 1
