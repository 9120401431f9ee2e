"""Email local parts shaped like a person's name -- `first.last`, `first_last1984`,
`first-last07` -- masked to another name of that shape: `maria.garcia`, `wei_tanaka5301`.

A local part has the *name shape* when it is a first name, one separator (. _ -), a last name and
0 to MAX_DIGITS digits, all in lower case, the names from the pools below. Within each
(separator, digit count) class, (first, last, number) is read as one number N in
[0, F * L * 10**digits) (F, L: the pools' sizes; at least 3 * 10**7, so never below the 10**6 of
NIST SP 800-38G) and goes through FF1's fixed-point-free map in radix 2, walked on until it is
below that size again: a keyed permutation of the class without fixed points, so distinct
addresses stay distinct and none is masked to itself. Everything else keeps the format-preserving
pseudonym (tdm.masking.strategies.mail), walked on while it has the name shape, so the two never
meet.

The pools are the ASCII first and last names of Faker's Latin-script locales (lower case, two
letters or more, each once): data fixed by the pinned Faker version.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pyarrow as pa
from numba import njit

from tdm.generators.pools import provider_values
from tdm.masking.strategies.fpe import Pseudonymizer

LOCALES = (
    "en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR",
    "pt_PT", "sv_SE", "da_DK", "fi_FI", "cs_CZ", "tr_TR",
)  # fmt: skip
SEPARATORS = "._-"
MAX_DIGITS = 8
_NAME = re.compile("[a-z]{2,}")
_U64 = np.uint64
_TEN = np.uint64(10)


@cache
def _lookup() -> tuple:
    """Per pool: an open-addressing hash table of its names (about a third full), each entry
    the name's hash with its low 16 bits replaced by its index + 1 (0: empty), so one probe
    reads one word; and the names' offsets and bytes. Small enough to stay in cache."""
    out = []
    for pool in pools():
        offsets, data = _buffers(pool)
        h = hashes(offsets, data)
        assert len(h) < _LOW
        size = 1 << (2 * len(h) - 1).bit_length()
        table = np.zeros(size, dtype=np.uint64)
        for k, value in enumerate(h.tolist()):
            at = value & (size - 1)
            while table[at]:
                at = (at + 1) & (size - 1)
            table[at] = (value & ~_LOW) | (k + 1)
        out.append((table, offsets, data))
    return tuple(out)


@cache
def pools() -> tuple[pa.StringArray, pa.StringArray]:
    """(first names, last names), sorted."""

    def pool(attribute: str) -> pa.StringArray:
        names: set[str] = set()
        for locale in LOCALES:
            names |= {
                v.lower()
                for v in provider_values(locale, attribute).to_pylist()
                if _NAME.fullmatch(v.lower())
            }
        return pa.array(sorted(names), pa.string())

    return pool("first_names"), pool("last_names")


_LOW = 0xFFFF  # a table entry's low bits: the name's index + 1
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, inline="always")
def _hash(data: np.ndarray, start: int, stop: int) -> np.uint64:
    """FNV-1a over data[start:stop]."""
    h = _FNV_OFFSET
    for p in range(start, stop):
        h = (h ^ np.uint64(data[p])) * _FNV_PRIME
    return h


@njit(cache=True)
def hashes(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    out = np.empty(offsets.shape[0] - 1, dtype=np.uint64)
    for i in range(out.shape[0]):
        out[i] = _hash(data, offsets[i], offsets[i + 1])
    return out


@njit(cache=True, inline="always")
def _index(data: np.ndarray, start: int, stop: int, h: np.uint64, pool: tuple) -> int:
    """The pool index of data[start:stop] (whose hash is h), or -1; pool = (_lookup()'s
    table, the names' offsets and bytes)."""
    table, offsets, chars = pool
    mask = np.uint64(table.shape[0] - 1)
    tag = h & ~np.uint64(_LOW)
    at = h & mask
    while table[at] != 0:
        entry = table[at]
        if entry & ~np.uint64(_LOW) == tag:
            k = np.int64(entry & np.uint64(_LOW)) - 1
            if offsets[k + 1] - offsets[k] == stop - start:
                same = True
                for p in range(stop - start):
                    if chars[offsets[k] + p] != data[start + p]:
                        same = False
                        break
                if same:
                    return k
        at = (at + np.uint64(1)) & mask
    return -1


@njit(cache=True, inline="always")
def parse(data: np.ndarray, start: int, stop: int, seps: np.ndarray, pools: tuple) -> tuple:
    """data[start:stop] as a name-shaped local part (letters of a first name, one separator,
    letters of a last name, at most MAX_DIGITS digits): (first and last name's pool index,
    number, separator byte, digit count); first is -1 when it is not one."""
    p = start
    h1 = _FNV_OFFSET
    while p < stop and 97 <= data[p] <= 122:  # hashed as it is read (see _hash)
        h1 = (h1 ^ np.uint64(data[p])) * _FNV_PRIME
        p += 1
    if p - start < 2 or p >= stop or not seps[data[p]]:
        return -1, -1, np.uint64(0), np.uint8(0), 0
    f_end = p
    p += 1
    q = p
    h2 = _FNV_OFFSET
    while p < stop and 97 <= data[p] <= 122:
        h2 = (h2 ^ np.uint64(data[p])) * _FNV_PRIME
        p += 1
    l_end = p
    v = np.uint64(0)
    while p < stop and 48 <= data[p] <= 57:
        v = v * np.uint64(10) + np.uint64(data[p] - 48)
        p += 1
    if l_end - q < 2 or p != stop or stop - l_end > MAX_DIGITS:
        return -1, -1, np.uint64(0), np.uint8(0), 0
    first = _index(data, start, f_end, h1, pools[0])
    last = _index(data, q, l_end, h2, pools[1]) if first >= 0 else -1
    if first < 0 or last < 0:
        return -1, -1, np.uint64(0), np.uint8(0), 0
    return first, last, v, data[f_end], stop - l_end


@njit(cache=True)
def shapes(
    data: np.ndarray, starts: np.ndarray, stops: np.ndarray, seps: np.ndarray, pools: tuple
) -> tuple:
    """Per value data[starts[j]:stops[j]]: `parse`'s (first, last, number, separator, digits)
    (first -1: not name-shaped)."""
    n = starts.shape[0]
    first = np.empty(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    number = np.empty(n, dtype=np.uint64)
    sep = np.empty(n, dtype=np.uint8)
    digits = np.empty(n, dtype=np.int64)
    for j in range(n):
        first[j], last[j], number[j], sep[j], digits[j] = parse(
            data, starts[j], stops[j], seps, pools
        )
    return first, last, number, sep, digits


@njit(cache=True, inline="always")
def name_size(names: tuple, first: int, last: int, digits: int) -> int:
    """The length of a rendered name (names = first offsets, bytes, last offsets, bytes)."""
    f_off, _, l_off, _ = names
    return f_off[first + 1] - f_off[first] + 1 + l_off[last + 1] - l_off[last] + digits


@njit(cache=True, inline="always")
def write_name(out: np.ndarray, o: int, names: tuple, row: tuple) -> int:
    """first + separator + last + number in its digit count into out from o; returns where it
    ends. row = (first, last, number, separator byte, digits)."""
    f_off, f_data, l_off, l_data = names
    first, last, number, sep, digits = row
    for p in range(f_off[first], f_off[first + 1]):
        out[o] = f_data[p]
        o += 1
    out[o] = sep
    o += 1
    for p in range(l_off[last], l_off[last + 1]):
        out[o] = l_data[p]
        o += 1
    v = number
    for k in range(digits - 1, -1, -1):
        out[o + k] = np.uint8(v % _TEN) + np.uint8(48)
        v //= _TEN
    return o + digits


@njit(cache=True)
def render(masked: tuple) -> tuple:
    """The masked names as string offsets (int32) and bytes; masked = NameShape.masked()."""
    names, first, last, number, sep, digits = masked
    n = first.shape[0]
    offsets = np.zeros(n + 1, dtype=np.int32)
    for j in range(n):
        offsets[j + 1] = offsets[j] + name_size(names, first[j], last[j], digits[j])
    out = np.empty(offsets[n], dtype=np.uint8)
    for j in range(n):
        write_name(out, offsets[j], names, (first[j], last[j], number[j], sep[j], digits[j]))
    return offsets, out


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


class NameShape:
    """Finds name-shaped local parts and masks them (see the module docstring)."""

    def __init__(self, fpe: Pseudonymizer) -> None:
        self.fpe = fpe
        self.first, self.last = pools()
        self.seps = np.zeros(256, dtype=np.bool_)
        self.seps[list(SEPARATORS.encode())] = True

    def find(self, data: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple:
        """(which values have the name shape, and for those: first and last name's pool index,
        number, separator byte, digit count)."""
        parts = shapes(data, starts, stops, self.seps, _lookup())
        found = parts[0] >= 0
        if found.all():
            return found, parts
        rows = np.flatnonzero(found)
        return found, tuple(x[rows] for x in parts)

    def mask(self, found: tuple) -> pa.StringArray:
        """The name-shaped local parts `find` returned, masked, in the same order."""
        return _strings(*render(self.masked(found)))

    def masked(self, found: tuple) -> tuple:
        """As `mask`, as (pools' offsets and bytes, first, last, number, separator, digits)."""
        first, last, number, sep, digits = found
        f_size, l_size = len(self.first), len(self.last)
        value = first.astype(_U64) + _U64(f_size) * (last.astype(_U64) + _U64(l_size) * number)
        ff1 = self.fpe.ff1(2)
        group = sep.astype(np.int64) * 16 + digits
        keys = np.flatnonzero(np.bincount(group))
        for key in keys.tolist():
            s, d = divmod(key, 16)
            rows = np.flatnonzero(group == key) if len(keys) > 1 else slice(None)
            size = f_size * l_size * 10**d
            bits = max(20, (size - 1).bit_length())
            tweak = self.fpe.tweak + b"/names/%c%d" % (s, d)
            v = ff1.derange_numbers(value[rows], bits, tweak)
            todo = np.flatnonzero(v >= _U64(size))
            while len(todo):  # beyond the class: again (cycle-walking)
                v[todo] = ff1.derange_numbers(v[todo], bits, tweak)
                todo = todo[v[todo] >= _U64(size)]
            value[rows] = v
        names = (*_buffers(self.first), *_buffers(self.last))
        first = (value % _U64(f_size)).astype(np.int64)
        rest = value // _U64(f_size)
        last, number = (rest % _U64(l_size)).astype(np.int64), rest // _U64(l_size)
        return names, first, last, number, sep, digits


def _buffers(arr: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return offsets, data
