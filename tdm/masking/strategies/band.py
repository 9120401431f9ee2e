"""Short values widened. A value made only of its alphabet's characters, and too short for a
pseudonym of its own length (`Jon`, `AB`, `x1`, a 5-digit code: fewer than 10**6 strings of its
part and length), is permuted among all the strings of 1 to `band` characters of its part
(Part.band: at least 10**6 of them; 7.5 million for mixed-case names) instead, so it may come
out longer or shorter, but keeps the classes it uses: `Jon` -> `xKqa`.

Collision-free alongside the rest: every value of a band maps into the same band, and every
other value keeps its length or holds characters outside the alphabet. The strings are ranked
(shorter first, then as radix numbers), the rank goes through FF1's fixed-point-free map in
radix 2 over just enough bits, and is walked on until it is a string of the part again
(cycle-walking keeps it a permutation, and one without fixed points).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tdm.masking.ff1 import FF1
from tdm.masking.strategies.alphabets import Alphabet, row_classes, translate

_U64 = np.uint64


def band_rows(
    data: np.ndarray, offsets: np.ndarray, skipped: np.ndarray, t: Alphabet, widen: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of data[offsets[i]:offsets[i+1]] are in their part's band (all characters of
    the alphabet, none kept, no more than the part's band holds), and their signatures. Such a
    row has no more bytes than the widest band, so only those rows are read."""
    n = len(offsets) - 1
    band, signature = np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64)
    if not widen:
        return band, signature
    limit = np.zeros(1 << len(t.classes), dtype=np.int64)
    for sig in range(1, len(limit)):
        limit[sig] = t.part(sig).band
    lengths = np.diff(offsets).astype(np.int64)
    rows = np.flatnonzero((lengths >= 1) & (lengths <= limit.max()) & ~skipped)
    if not len(rows):
        return band, signature
    size = lengths[rows]
    at = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(size, out=at[1:])
    picked = data[np.repeat(offsets[rows] - at[:-1], size) + np.arange(at[-1])]
    counts, sigs = row_classes(picked, at, t)
    inside = (counts == size) & (counts <= limit[sigs])
    band[rows[inside]], signature[rows[inside]] = True, sigs[inside]
    return band, signature


def permute_band(
    ff1: FF1, tweak: bytes, values: pa.StringArray, signature: np.ndarray, t: Alphabet
) -> pa.StringArray:
    """The bands' permutation of `values` (non-null, every character of the alphabet, of the
    parts `signature` says), part by part."""
    pieces, rows = [], []
    for sig in np.unique(signature).tolist():
        which = np.flatnonzero(signature == sig)
        rows.append(which)
        part = t.part(sig)
        pieces.append(_widen_part(ff1, tweak + b"/band%d" % sig, values.take(which), part, t))
    back = np.empty(len(values), dtype=np.int64)
    back[np.concatenate(rows)] = np.arange(len(values))
    return pa.concat_arrays(pieces).take(pa.array(back))


def _widen_part(ff1: FF1, tweak: bytes, values: pa.StringArray, part, t: Alphabet):
    """Rank among the strings of 1..band of the part's characters (shorter first, then as radix
    numbers), FF1 in radix 2, walked on until the rank is a string of the part again."""
    n, width, radix = len(values), part.band, part.radix
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[: n + 1].astype(np.int64)
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)
    length = np.diff(offsets)
    # right-aligned (rows, band) digit matrix: row i's characters in its last length[i] columns
    col = np.arange(width)
    valid = col[None, :] >= (width - length)[:, None]
    at = np.where(valid, offsets[:-1, None] + col[None, :] - (width - length)[:, None], 0)
    digits = np.where(valid, translate(data[at], part.digit), 0).astype(_U64)
    before = np.array([sum(radix**i for i in range(1, ell)) for ell in range(width + 2)], _U64)
    number = np.zeros(n, dtype=_U64)
    for j in range(width):
        number = number * _U64(radix) + digits[:, j]
    rank = before[length] + number
    size = part.band_size
    bits = max(20, (size - 1).bit_length())
    new_length, out = np.zeros(n, dtype=np.int64), np.zeros((n, width), dtype=np.uint8)
    todo = np.arange(n)
    while len(todo):
        rank[todo] = ff1.derange_numbers(rank[todo], bits, tweak)
        inside = todo[rank[todo] < _U64(size)]  # beyond the longest strings: again
        new_length[inside] = np.searchsorted(before[1 : width + 1], rank[inside], side="right")
        number = rank[inside] - before[new_length[inside]]
        for j in range(width - 1, -1, -1):
            out[inside, j] = (number % _U64(radix)).astype(np.uint8)
            number //= _U64(radix)
        done = inside
        if not part.exact:  # a string of another part (other classes): again
            used = col[None, :] >= (width - new_length[inside])[:, None]
            bits_of = np.where(used, translate(translate(out[inside], part.lookup), t.klass), 0)
            done = inside[np.bitwise_or.reduce(bits_of, axis=1) == part.signature]
        todo = np.setdiff1d(todo, done, assume_unique=True)
    keep = col[None, :] >= (width - new_length)[:, None]
    chars = translate(out[keep], part.lookup)  # row-major: each row's characters in order
    new_offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(new_length, out=new_offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(chars))
