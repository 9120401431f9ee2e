"""Keyed, format-preserving, collision-free pseudonymisation with FF1 (NIST SP 800-38G Rev. 1).

Strings: the characters of a value that belong to the alphabet (tdm.masking.strategies.alphabets)
form one numeral string in the alphabet's radix (10, 16, 26, 36 or 62); every other character
stays in place. Integers: their decimal digits. The numeral string goes through
`FF1.derange` (x -> FF1^-1(FF1(x) + 1)) under an AES-256 key derived from the masking key, with
the masking domain (strategy + mapping parameters) as the FF1 tweak: a permutation of the strings
of that length, so distinct inputs stay distinct, and one without fixed points, so no value is
ever masked to itself.

FF1 is never run over fewer than 10**6 values (SP 800-38G Rev. 1): integers below 10**6 are
permuted within [0, 10**6) (an id may grow digits), and a string whose permuted part is too short
for its radix raises ShortValues, which the strategy turns into an error naming the column.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tdm.core.arrowstr import lower, replace_rows
from tdm.masking.ff1 import FF1, MIN_DOMAIN
from tdm.masking.ff1.narrow import fits as narrow_fits
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import packing
from tdm.masking.strategies.alphabets import TABLES, translate
from tdm.masking.strategies.band import band_rows, permute_band
from tdm.masking.strategies.packing import table

_U64 = np.uint64
CHUNK_ROWS = 1 << 20  # rows permuted together
SMALL = 6  # integers below 10**6 share one domain of 6 digits


class ShortValues(ValueError):
    """Values whose permuted part leaves fewer than 10**6 possible images."""

    def __init__(self, count: int, what: str) -> None:
        super().__init__(f"{count} value(s) {what}")
        self.count = count
        self.what = what


class _Parts:
    """Per part of an alphabet (by signature): digit and character tables, radix, and whether
    FF1's halves of k characters fit 62 bits (`fits[signature, k]`; the last column: longer)."""

    _cache: ClassVar[dict[str, _Parts]] = {}

    def __init__(self, t) -> None:
        count = 1 << len(t.classes)
        self.digit = np.zeros((count, 256), dtype=np.uint8)
        self.lookup = np.zeros((count, 256), dtype=np.uint8)
        self.radix = np.ones(count, dtype=np.int64)
        self.fits = np.zeros((count, 65), dtype=bool)
        for sig in range(1, count):
            part = t.part(sig)
            self.digit[sig] = table(part.digit)
            self.lookup[sig] = table(part.lookup)
            self.radix[sig] = part.radix
            self.fits[sig, 2:] = [narrow_fits(part.radix, k) for k in range(2, 65)]
        self.fits[:, -1] = False
        member, klass = table(t.member), table(t.klass)
        self.scan = (member, klass, self.digit, self.radix, self.fits)
        self.unpack = (member, klass, self.lookup, self.radix)

    @classmethod
    def of(cls, t) -> _Parts:
        if t.name not in cls._cache:
            cls._cache[t.name] = cls(t)
        return cls._cache[t.name]


class Pseudonymizer:
    """FF1 permutations under one key and one masking domain (the tweak)."""

    def __init__(self, key: MaskingKey, domain: str):
        self._key = key
        self.tweak = domain.encode()
        self._prf = Cipher(algorithms.AES(key.derive(f"fpe/{domain}")), modes.ECB())
        self._ff1: dict[int, FF1] = {}

    def ff1(self, radix: int) -> FF1:
        if radix not in self._ff1:
            self._ff1[radix] = FF1(self._key.derive("ff1"), radix)
        return self._ff1[radix]

    def prf(self, blocks: np.ndarray) -> np.ndarray:
        """AES of each 16-byte row, first 8 bytes as uint64 (a keyed PRF, not a pseudonym)."""
        enc = self._prf.encryptor()
        out = np.frombuffer(enc.update(np.ascontiguousarray(blocks).tobytes()), dtype=_U64)
        return out[0::2]

    # ---- strings ----------------------------------------------------------------------------

    def strings(
        self,
        arr: pa.Array,
        alphabet: str = "alnum",
        skip_head: np.ndarray | int = 0,
        skip_tail: np.ndarray | int = 0,
        widen: bool = True,
    ) -> pa.Array:
        """Permute the alphabet characters of each string, except the first `skip_head` and the
        last `skip_tail` of them (per row or for all); nulls stay null. Short values of
        alphabet characters only are widened (tdm.masking.strategies.band), which may change
        their length: `widen=False` keeps every length (a caller that tells values apart by
        length), refusing what it cannot permute in place.

        Vectorised per chunk of rows (`permute`); a row's result depends on its own value
        only, never on the rows it is processed with."""
        if len(arr) == 0:
            return pa.array([], pa.string())
        if arr.type != pa.string():
            arr = pc.cast(arr, pa.string())
        if TABLES[alphabet].folded:  # case-insensitive: one value, one output, lower case
            arr = lower(arr)
        if arr.offset:
            arr = pa.concat_arrays([arr])
        n = len(arr)
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: n + 1]
        data = np.frombuffer(arr.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
        data, offsets = data.copy(), offsets - offsets[0]
        head = np.broadcast_to(np.asarray(skip_head, np.int64), (n,))
        tail = np.broadcast_to(np.asarray(skip_tail, np.int64), (n,))
        t = TABLES[alphabet]
        band, signature = band_rows(data, offsets, (head > 0) | (tail > 0), t, widen)
        if band.any():  # short values, all of the alphabet: widened apart (band.widen)
            head = np.where(band, np.iinfo(np.int64).max, head)
        for lo in range(0, n, CHUNK_ROWS):  # bounds the working arrays (~64 bytes a row)
            span = slice(lo, min(n, lo + CHUNK_ROWS))
            self.permute(data, offsets, np.arange(n)[span], head[span], tail[span], alphabet)
        validity = arr.buffers()[0] if arr.null_count else None
        out = pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(data), validity, arr.null_count
        )
        if not band.any():
            return out
        rows = np.flatnonzero(band)
        widened = permute_band(
            self.ff1(2), self.tweak, arr.take(pa.array(rows)), signature[rows], t
        )
        return replace_rows(out, rows, widened)

    def permute(
        self,
        data: np.ndarray,
        offsets: np.ndarray,
        rows: np.ndarray,
        head: np.ndarray,
        tail: np.ndarray,
        alphabet: str,
    ) -> None:
        """Permute, in place, the alphabet characters of the rows data[offsets[i]:offsets[i+1]]
        for i in `rows`, but the first head[j] and last tail[j] of row rows[j] (no widening).

        Rows are ordered by (k, part), k the number of characters they permute, with FF1's
        halves of each stored in that order (tdm.masking.strategies.packing), so rows of one k
        and one part lie side by side and go through FF1 in one call. A row's result depends
        on its own value only, never on the rows it is processed with."""
        t = TABLES[alphabet]
        parts = _Parts.of(t)
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        head = np.ascontiguousarray(np.broadcast_to(head, rows.shape), dtype=np.int64)
        tail = np.ascontiguousarray(np.broadcast_to(tail, rows.shape), dtype=np.int64)
        n = len(rows)
        k, signature, first, at = (np.empty(n, dtype=np.int64) for _ in range(4))
        a, b = np.empty(n, dtype=_U64), np.empty(n, dtype=_U64)
        longest = int(np.diff(offsets).max(initial=0)) + 1
        row_room = np.empty(longest, dtype=np.int64), np.empty(longest, dtype=np.uint8)
        scanned = (k, signature, first, a, b, at, *row_room)
        packing.scan(data, offsets, rows, head, tail, parts.scan, scanned)
        if not k.any():
            return
        self._refuse_short(t, k, signature)
        key = k * 8 + signature
        small = key.max(initial=0) < 2**16
        order = np.argsort(key.astype(np.uint16) if small else key, kind="stable")
        a, b = a[order], b[order]
        ordered = key[order]
        starts = np.flatnonzero(np.diff(ordered, prepend=-1))
        keys, sizes = ordered[starts], np.diff(starts, append=len(ordered))
        narrow = parts.fits[signature, np.minimum(k, parts.fits.shape[1] - 1)]
        for group, lo, count in zip(keys.tolist(), starts.tolist(), sizes.tolist(), strict=True):
            size, sig = divmod(group, 8)
            span = slice(lo, lo + count)
            if not size:
                continue
            if narrow[order[lo]]:
                self._derange(t, group, a, b, span)
            else:
                self._wide(t, sig, size, (data, offsets, rows[order[span]], first[order[span]]))
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        a, b = a[back], b[back]  # in the rows' order again: unpack reads rows in turn
        scanned = (k, signature, at)
        todo = np.flatnonzero(narrow & (k > 0))
        room = np.empty(64, dtype=np.uint8), np.empty(len(todo), dtype=np.int64)
        while len(todo):  # results of another part than their input's: again (cycle-walking)
            count = packing.unpack(data, scanned, todo, (a, b), parts.unpack, room)
            todo = room[1][:count].copy()
            for group in np.unique(key[todo]).tolist():
                self._derange(t, group, a, b, todo[key[todo] == group])

    def _derange(self, t, group: int, a: np.ndarray, b: np.ndarray, at) -> None:
        """FF1's fixed-point-free map, in place, on the halves a[at], b[at] of strings of one
        (k, part): group = k * 8 + the part's signature."""
        size, sig = divmod(group, 8)
        ff1 = self.ff1(t.part(sig).radix)
        a[at], b[at] = ff1.derange_halves(a[at], b[at], size, self.tweak)

    def _refuse_short(self, t, k: np.ndarray, signature: np.ndarray) -> None:
        shortest = np.zeros(8, dtype=np.int64)
        for sig in range(1, 1 << len(t.classes)):
            shortest[sig] = t.part(sig).min_length
        short = (k > 0) & (k < shortest[signature])
        if short.any():
            least = int(shortest[signature[short]].min())
            raise ShortValues(
                int(np.count_nonzero(short)),
                f"have fewer than the {least} {t.describe} a pseudonym needs beside other "
                "characters (separators, or characters kept) that pin their length, so they "
                f"have fewer than {MIN_DOMAIN:,} possible pseudonyms (short values made only of "
                f"{t.describe} are widened instead)",
            )

    def _wide(self, t, signature: int, size: int, where: tuple) -> None:
        """As _derange, in place, for rows (data, offsets, rows, head) of lengths whose halves do
        not fit 62 bits, walked again while a result uses other classes than its input: FF1
        over (rows, size) digit matrices."""
        data, offsets, rows, head = where
        part = t.part(signature)
        ff1 = self.ff1(part.radix)
        member, digit, lookup = table(t.member), table(part.digit), table(part.lookup)
        digits = packing.gather(data, offsets, rows, head, size, member, digit)
        todo = np.arange(len(digits))
        while len(todo):
            digits[todo] = ff1.derange(digits[todo], self.tweak)
            if part.exact:
                break
            bits = translate(translate(digits[todo], part.lookup), t.klass)
            used = np.bitwise_or.reduce(bits, axis=1)
            todo = todo[used != signature]
        packing.scatter(data, offsets, rows, head, member, digits, lookup)

    # ---- integers ---------------------------------------------------------------------------

    def integers(
        self, values: np.ndarray, low: int = -(2**63), high: int = 2**63 - 1
    ) -> np.ndarray:
        """A permutation of the int64 values in [low, high] that keeps the sign: |v| < 10**6
        within [0, 10**6) (negatives within [1, 10**6)), others within the numbers of their
        number of decimal digits. Results outside [low, high] or on the wrong side of a band
        are permuted again (cycle-walking), which is a permutation of the allowed set."""
        v = np.asarray(values, dtype=np.int64)
        negative = v < 0
        a = np.abs(v).astype(_U64)  # |int64 min| = 2**63 still fits a uint64
        a[v == np.iinfo(np.int64).min] = _U64(2**63)
        powers = _U64(10) ** np.arange(20, dtype=_U64)
        digits = np.maximum(np.searchsorted(powers[1:], a, side="right") + 1, SMALL)
        limit = np.where(negative, _U64(-low if low < 0 else 0), _U64(max(high, 0)))
        floor = np.where(digits == SMALL, negative.astype(_U64), powers[digits - 1])
        ff1 = self.ff1(10)
        out = a.copy()
        for n in np.unique(digits).tolist():
            rows = np.flatnonzero(digits == n)
            todo = rows
            while len(todo):
                out[todo] = ff1.derange_numbers(out[todo], n, self.tweak)
                r = out[todo]
                todo = todo[(r < floor[todo]) | (r > limit[todo])]
        result = out.astype(np.int64)  # 2**63 wraps to int64 min, which is its negative
        return np.where(negative, -result, result)


def keyed_u64(values: pa.Array, key: MaskingKey, purpose: str) -> np.ndarray:
    """A keyed 64-bit number per value (same value -> same number), via HMAC on distinct values."""
    secret = key.derive(f"hash/{purpose}")
    if values.type != pa.string():
        values = pc.cast(values, pa.string())
    encoded = pc.dictionary_encode(pc.fill_null(values, ""))
    table = np.array(
        [
            int.from_bytes(hmac.new(secret, v.encode(), hashlib.sha256).digest()[:8], "little")
            for v in encoded.dictionary.to_pylist()
        ],
        dtype=_U64,
    )
    return table[encoded.indices.to_numpy()] if len(table) else np.zeros(0, dtype=_U64)
