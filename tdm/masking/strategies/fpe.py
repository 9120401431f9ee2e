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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tdm.masking.ff1 import FF1, MIN_DOMAIN
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies.alphabets import TABLES, row_counts, row_signatures, translate
from tdm.masking.strategies.band import band_rows, permute_band

_U64 = np.uint64
CHUNK_ROWS = 1 << 20  # rows sorted and packed together: big groups of one length and part
SMALL = 6  # integers below 10**6 share one domain of 6 digits


class ShortValues(ValueError):
    """Values whose permuted part leaves fewer than 10**6 possible images."""

    def __init__(self, count: int, what: str) -> None:
        super().__init__(f"{count} value(s) {what}")
        self.count = count
        self.what = what


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

        Vectorised per chunk of rows: the characters to permute are packed tightly and their rows
        sorted by k (how many they are) with Arrow's take, so rows with one k form a (rows, k)
        digit matrix that FF1 takes in one call; then the take is undone. A row's result
        depends on its own value only, never on the rows it is processed with."""
        if len(arr) == 0:
            return pa.array([], pa.string())
        if arr.type != pa.string():
            arr = pc.cast(arr, pa.string())
        if TABLES[alphabet].folded:  # case-insensitive: one value, one output, lower case
            arr = pc.utf8_lower(arr)
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
        for lo in range(0, n, CHUNK_ROWS):  # chunks keep the working arrays in the caches
            hi = min(n, lo + CHUNK_ROWS)
            at = offsets[lo : hi + 1]
            self._strings_chunk(
                data[at[0] : at[-1]], at - at[0], head[lo:hi], tail[lo:hi], alphabet
            )
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
        index = np.arange(n)
        index[rows] = n + np.arange(len(rows))
        return pa.concat_arrays([out, widened]).take(pa.array(index))

    def _strings_chunk(
        self,
        data: np.ndarray,
        offsets: np.ndarray,
        head: np.ndarray,
        tail: np.ndarray,
        alphabet: str,
    ) -> None:
        """Permute, in place, the characters of the rows data[offsets[i]:offsets[i+1]]."""
        t = TABLES[alphabet]
        member = translate(data, t.member).view(bool)
        seen = np.zeros(len(data) + 1, dtype=np.int32)  # alphabet characters before each byte
        np.cumsum(member.view(np.uint8), dtype=np.int32, out=seen[1:])
        seen = seen[offsets].astype(np.int64)
        start, count = seen[:-1], np.diff(seen)
        head = np.minimum(head, count)
        tail = np.minimum(tail, count - head)
        k = count - head - tail  # characters permuted per row
        if not k.any():
            return
        chars = data[member]  # the alphabet characters of all rows, back to back
        skip = None
        if head.any() or tail.any():  # only the characters between head and tail
            rank = np.arange(len(chars)) - np.repeat(start, count)
            skip = (rank >= np.repeat(head, count)) & (rank < np.repeat(count - tail, count))
        permuted = chars if skip is None else chars[skip]
        at = np.zeros(len(k) + 1, dtype=np.int64)
        np.cumsum(k, out=at[1:])
        signature = row_signatures(permuted, at, t)  # the classes each row's characters use
        self._refuse_short(t, k, signature)
        # rows sorted by (k, signature) (Arrow's take moves each row's characters in one piece):
        # rows of one k and one part are then a contiguous (rows, k) matrix
        key = k * 8 + signature
        small = key.max(initial=0) < 2**16
        order = np.argsort(key.astype(np.uint16) if small else key, kind="stable")
        ordered = _strings(at.astype(np.int32), permuted).take(pa.array(order))
        sorted_chars = np.frombuffer(ordered.buffers()[2], np.uint8)[: at[-1]].copy()
        keys, first, sizes = np.unique(key[order], return_index=True, return_counts=True)
        at[1:] = np.cumsum(k[order])  # now the sorted rows' offsets
        byte_at = at[first]
        for group, b0, rows in zip(keys.tolist(), byte_at.tolist(), sizes.tolist(), strict=True):
            size, sig = divmod(group, 8)
            if size:
                span = slice(b0, b0 + rows * size)
                matrix = sorted_chars[span].reshape(rows, size)
                sorted_chars[span] = self._part(t, sig, matrix).reshape(-1)
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        back = _strings(at.astype(np.int32), sorted_chars).take(pa.array(inverse))
        new = np.frombuffer(back.buffers()[2], dtype=np.uint8)[: len(permuted)]
        if skip is None:
            chars = new
        else:
            chars[skip] = new
        data[member] = chars

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

    def _part(self, t, signature: int, chars: np.ndarray) -> np.ndarray:
        """(rows, k) characters of one part -> their pseudonyms: FF1 over the part's digits,
        walked again while a result uses other classes than its input."""
        part = t.part(signature)
        ff1 = self.ff1(part.radix)
        digits = translate(chars, part.digit).copy()
        todo = np.arange(len(digits))
        while len(todo):
            digits[todo] = ff1.derange(digits[todo], self.tweak)
            if part.exact:
                break
            bits = translate(translate(digits[todo], part.lookup), t.klass)
            used = np.bitwise_or.reduce(bits, axis=1)
            todo = todo[used != signature]
        return translate(digits, part.lookup)

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


def alphabet_counts(arr: pa.Array, alphabet: str) -> np.ndarray:
    """How many characters of the alphabet each string holds (nulls: 0)."""
    t = TABLES[alphabet]
    arr = pc.cast(arr, pa.string()) if arr.type != pa.string() else arr
    if arr.offset:
        arr = pa.concat_arrays([arr])
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2] or b"", dtype=np.uint8)[offsets[0] : offsets[-1]]
    if t.folded:  # upper-case letters count too: strings() lower-cases them first
        data = np.frombuffer(data.tobytes().lower(), dtype=np.uint8)
    return row_counts(data, offsets - offsets[0], t)


def _strings(offsets: np.ndarray, data: np.ndarray) -> pa.StringArray:
    return pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data))


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
