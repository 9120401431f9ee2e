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
from tdm.masking.strategies import words
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


@njit(cache=True)
def hashes(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    out = np.empty(offsets.shape[0] - 1, dtype=np.uint64)
    for i in range(out.shape[0]):
        out[i] = words.hash_bytes(data, offsets[i], offsets[i + 1])
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
            if words.same(data, start, stop, chars, offsets[k], offsets[k + 1]):
                return k
        at = (at + np.uint64(1)) & mask
    return -1


@njit(cache=True, inline="always")
def parse(data: np.ndarray, start: int, stop: int, parser: tuple, value, j: int) -> int:
    """data[start:stop] as a name-shaped local part (letters of a first name, one separator,
    letters of a last name, at most MAX_DIGITS digits): its class, separator byte * 16 + digit
    count, with value[j] = first + F * (last + L * number) (first and last: pool indexes, F
    and L: the pools' sizes); -1 when it is not one. parser = NameShape.parser. The row loops
    that call it are compiled without reference counting (`_nrt=False`): with it, the arrays
    handed to it cost atomic counts per row, half of the loop's time."""
    seps, f_pool, l_pool = parser
    p = start
    while p < stop and 97 <= data[p] <= 122:
        p += 1
    if p - start < 2 or p >= stop or not seps[data[p]]:
        return -1
    f_end = p
    p += 1
    q = p
    while p < stop and 97 <= data[p] <= 122:
        p += 1
    l_end = p
    v = np.uint64(0)
    while p < stop and 48 <= data[p] <= 57:
        v = v * _TEN + np.uint64(data[p] - 48)
        p += 1
    if l_end - q < 2 or p != stop or stop - l_end > MAX_DIGITS:
        return -1
    h1 = words.hash_bytes(data, start, f_end)
    h2 = words.hash_bytes(data, q, l_end)
    first = _index(data, start, f_end, h1, f_pool)
    if first < 0:
        return -1
    last = _index(data, q, l_end, h2, l_pool)
    if last < 0:
        return -1
    f_size = np.uint64(f_pool[1].shape[0] - 1)
    l_size = np.uint64(l_pool[1].shape[0] - 1)
    value[j] = np.uint64(first) + f_size * (np.uint64(last) + l_size * v)
    return np.int64(data[f_end]) * 16 + (stop - l_end)


@njit(cache=True, _nrt=False)
def shapes(data, starts, stops, parser: tuple, group: np.ndarray, value: np.ndarray) -> None:
    """Per value data[starts[j]:stops[j]]: `parse`'s class into group[j] (-1: not
    name-shaped) and its value into value[j]."""
    for j in range(starts.shape[0]):
        group[j] = parse(data, starts[j], stops[j], parser, value, j)


@njit(cache=True, inline="always")
def write_name(out: np.ndarray, o: int, names: tuple, value: np.uint64, group: int) -> int:
    """The name of this value and class (see `parse`) into out from o: first + separator +
    last + number in its digit count; returns where it ends. names = NameShape.names (callers
    compile without reference counting, as parse's). Writes up to 8 bytes past the name."""
    f_off, f_data, l_off, l_data = names
    f_size = np.uint64(f_off.shape[0] - 1)
    l_size = np.uint64(l_off.shape[0] - 1)
    rest = value // f_size
    first = np.int64(value - rest * f_size)
    number = rest // l_size
    last = np.int64(rest - number * l_size)
    o = words.copy(out, o, f_data, f_off[first], f_off[first + 1])
    out[o] = np.uint8(group >> 4)
    o = words.copy(out, o + 1, l_data, l_off[last], l_off[last + 1])
    digits = group & 15
    word = np.uint64(0)  # the digits, least significant last (little-endian: highest byte)
    for _ in range(digits):
        word = (word << np.uint64(8)) | (number % _TEN + np.uint64(48))
        number //= _TEN
    words.store8(out, o, word)
    return o + digits


@njit(cache=True)
def longest_name(names: tuple) -> int:
    """The longest name write_name writes, with the 8 bytes it may write past one."""
    f_off, _, l_off, _ = names
    return np.max(np.diff(f_off)) + 1 + np.max(np.diff(l_off)) + MAX_DIGITS + 8


@njit(cache=True, _nrt=False)
def render(names: tuple, value: np.ndarray, group: np.ndarray, offsets, out) -> None:
    """The names of these values and classes as string offsets (int32: offsets, from 0) and
    bytes (out, long enough: longest_name per value)."""
    for j in range(value.shape[0]):
        offsets[j + 1] = write_name(out, offsets[j], names, value[j], group[j])


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


class NameShape:
    """Finds name-shaped local parts and masks them (see the module docstring)."""

    def __init__(self, fpe: Pseudonymizer) -> None:
        self.fpe = fpe
        self.first, self.last = pools()
        seps = np.zeros(256, dtype=np.bool_)
        seps[list(SEPARATORS.encode())] = True
        self.parser = (seps, *_lookup())
        f_off, f_data, l_off, l_data = (*_buffers(self.first), *_buffers(self.last))
        pad = np.zeros(8, dtype=np.uint8)  # so that words.copy reads whole words to the end
        self.names = (f_off, np.concatenate([f_data, pad]), l_off, np.concatenate([l_data, pad]))

    def find(self, data: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple:
        """(which values have the name shape, and for those: their class and value, as
        `parse` gives them)."""
        group = np.empty(len(starts), dtype=np.int16)
        value = np.zeros(len(starts), dtype=np.uint64)
        shapes(data, starts, stops, self.parser, group, value)
        found = group >= 0
        if found.all():
            return found, (group, value)
        rows = np.flatnonzero(found)
        return found, (group[rows], value[rows])

    def mask(self, found: tuple) -> pa.StringArray:
        """The name-shaped local parts `find` returned, masked, in the same order."""
        group, value = found
        value = value.copy()
        self.masked(value, group)
        offsets = np.zeros(len(value) + 1, dtype=np.int32)
        out = np.empty(len(value) * longest_name(self.names), dtype=np.uint8)
        render(self.names, value, group, offsets, out)
        return _strings(offsets, out[: offsets[-1]])

    def masked(self, value: np.ndarray, group: np.ndarray) -> None:
        """The values of name-shaped local parts (see `parse`) masked in place, those of class
        `group`; rows of class -1 are left as they are."""
        f_size, l_size = len(self.first), len(self.last)
        ff1 = self.fpe.ff1(2)
        counts = np.bincount(group + 1, minlength=1)
        keys = np.flatnonzero(counts[1:])
        order = np.argsort(group, kind="stable") if counts[0] or len(keys) > 1 else None
        lo = counts[0]
        for key in keys.tolist():
            s, d = divmod(key, 16)
            rows = order[lo : lo + counts[key + 1]] if order is not None else slice(None)
            lo += counts[key + 1]
            size = f_size * l_size * 10**d
            bits = max(20, (size - 1).bit_length())
            tweak = self.fpe.tweak + b"/names/%c%d" % (s, d)
            v = ff1.derange_numbers(value[rows], bits, tweak)
            todo = np.flatnonzero(v >= _U64(size))
            while len(todo):  # beyond the class: again (cycle-walking)
                v[todo] = ff1.derange_numbers(v[todo], bits, tweak)
                todo = todo[v[todo] >= _U64(size)]
            value[rows] = v


def _buffers(arr: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return offsets, data
