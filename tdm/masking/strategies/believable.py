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
import pyarrow.compute as pc
from numba import njit

from tdm.generators.pools import provider_values
from tdm.masking.strategies.addresses import slices
from tdm.masking.strategies.fpe import Pseudonymizer

LOCALES = (
    "en_US", "en_GB", "en_IN", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR",
    "pt_PT", "sv_SE", "da_DK", "fi_FI", "cs_CZ", "tr_TR",
)  # fmt: skip
SEPARATORS = "._-"
MAX_DIGITS = 8
_NAME = re.compile("[a-z]{2,}")
_U64 = np.uint64


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


@njit(cache=True)
def shapes(data: np.ndarray, starts: np.ndarray, stops: np.ndarray, seps: np.ndarray) -> tuple:
    """Per value data[starts[j]:stops[j]]: whether it reads letters, one separator, letters and
    at most MAX_DIGITS digits, and then where its two names end and its separator (byte)."""
    n = starts.shape[0]
    ok = np.zeros(n, dtype=np.bool_)
    first_end = np.zeros(n, dtype=np.int64)
    last_end = np.zeros(n, dtype=np.int64)
    sep = np.zeros(n, dtype=np.uint8)
    for j in range(n):
        p, stop = starts[j], stops[j]
        while p < stop and 97 <= data[p] <= 122:
            p += 1
        if p - starts[j] < 2 or p >= stop or not seps[data[p]]:
            continue
        first_end[j], sep[j] = p, data[p]
        p += 1
        q = p
        while p < stop and 97 <= data[p] <= 122:
            p += 1
        if p - q < 2:
            continue
        last_end[j] = p
        while p < stop and 48 <= data[p] <= 57:
            p += 1
        ok[j] = p == stop and stop - last_end[j] <= MAX_DIGITS
    return ok, first_end, last_end, sep


@njit(cache=True)
def render(names: tuple, first: np.ndarray, last: np.ndarray, number: np.ndarray, shape: tuple):
    """`first` + separator + `last` + `number` in its digit count, per row, as string offsets
    (int32) and bytes. names = (first offsets, bytes, last offsets, bytes); shape = (separator
    bytes, digit counts)."""
    f_off, f_data, l_off, l_data = names
    sep, digits = shape
    n = first.shape[0]
    offsets = np.zeros(n + 1, dtype=np.int32)
    for j in range(n):
        size = f_off[first[j] + 1] - f_off[first[j]] + l_off[last[j] + 1] - l_off[last[j]]
        offsets[j + 1] = offsets[j] + size + 1 + digits[j]
    out = np.empty(offsets[n], dtype=np.uint8)
    for j in range(n):
        o = offsets[j]
        for p in range(f_off[first[j]], f_off[first[j] + 1]):
            out[o] = f_data[p]
            o += 1
        out[o] = sep[j]
        o += 1
        for p in range(l_off[last[j]], l_off[last[j] + 1]):
            out[o] = l_data[p]
            o += 1
        v = number[j]
        for k in range(digits[j] - 1, -1, -1):
            out[o + k] = 48 + v % 10
            v //= 10
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
        ok, f_end, l_end, sep = shapes(data, starts, stops, self.seps)
        rows = np.flatnonzero(ok)
        first = self._index(data, starts[rows], f_end[rows], self.first)
        last = self._index(data, f_end[rows] + 1, l_end[rows], self.last)
        named = (first >= 0) & (last >= 0)
        rows, first, last = rows[named], first[named], last[named]
        digits = (stops - l_end)[rows]
        text = _strings(*_slices(data, l_end[rows], stops[rows]))
        number = pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.uint64())
        found = np.zeros(len(starts), dtype=bool)
        found[rows] = True
        return found, (first, last, number.to_numpy(False), sep[rows], digits)

    def mask(self, found: tuple) -> pa.StringArray:
        """The name-shaped local parts `find` returned, masked, in the same order."""
        first, last, number, sep, digits = found
        f_size, l_size = len(self.first), len(self.last)
        value = first.astype(_U64) + _U64(f_size) * (last.astype(_U64) + _U64(l_size) * number)
        ff1 = self.fpe.ff1(2)
        for s, d in {(int(a), int(b)) for a, b in zip(sep, digits, strict=True)}:
            rows = np.flatnonzero((sep == s) & (digits == d))
            size = f_size * l_size * 10**d
            bits = max(20, (size - 1).bit_length())
            tweak = self.fpe.tweak + b"/names/%c%d" % (s, d)
            todo = rows
            while len(todo):  # beyond the class: again (cycle-walking)
                value[todo] = ff1.derange_numbers(value[todo], bits, tweak)
                todo = todo[value[todo] >= _U64(size)]
        names = (*_buffers(self.first), *_buffers(self.last))
        first = (value % _U64(f_size)).astype(np.int64)
        rest = value // _U64(f_size)
        last, number = (rest % _U64(l_size)).astype(np.int64), rest // _U64(l_size)
        return _strings(*render(names, first, last, number, (sep, digits.astype(np.int64))))

    def _index(self, data, starts, stops, pool: pa.StringArray) -> np.ndarray:
        tokens = _strings(*_slices(data, starts, stops))
        index = pc.index_in(tokens, value_set=pool)
        return pc.fill_null(index, -1).to_numpy(False).astype(np.int64)


def _buffers(arr: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return offsets, data


def _slices(data: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> tuple:
    return slices(data, starts.astype(np.int64), stops.astype(np.int64))
