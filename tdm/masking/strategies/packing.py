"""The loops between strings and FF1's numbers, compiled (numba): one pass over each row's bytes
to find the characters it permutes, to read them as FF1's two halves NUM_radix(A), NUM_radix(B),
and to write the pseudonym back in their place, with no intermediate copies of the column.

A row's *permuted* characters are its alphabet characters (`member`) after the first `head` of
them, `size` of them; every other byte stays where it is. Tables are 256-entry uint8 arrays
(tdm.masking.strategies.alphabets keeps them as bytes: `table()` converts once).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numba import njit

_U64 = np.uint64


@cache
def table(mapping: bytes) -> np.ndarray:
    return np.frombuffer(mapping, dtype=np.uint8)


@njit(cache=True)
def classify(data: np.ndarray, offsets: np.ndarray, member: np.ndarray, klass: np.ndarray):
    """Per row data[offsets[i]:offsets[i+1]]: how many alphabet characters it holds, and the
    classes (a bit each) they use."""
    n = offsets.shape[0] - 1
    counts = np.zeros(n, dtype=np.int64)
    signatures = np.zeros(n, dtype=np.int64)
    for i in range(n):
        c, s = 0, 0
        for p in range(offsets[i], offsets[i + 1]):
            c += member[data[p]]
            s |= klass[data[p]]
        counts[i], signatures[i] = c, s
    return counts, signatures


@njit(cache=True, _nrt=False)
def scan(
    data: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    parts: tuple,
    out: tuple,
) -> None:
    """Per row of `rows` (head and tail given per row of `rows` too), into out = (size,
    signature, first, a, b, at, pos, chars): how many characters it permutes (its alphabet
    characters less `head` first and `tail` last ones, each clipped to what there is), the
    classes those use (its part), the clipped head, and, where the part's halves of that many
    fit 62 bits, NUM_radix of the first k // 2 of them (A) and of the others (B) in the part's
    digits; `at`, where its first permuted character lies (unpack starts there). `pos` and
    `chars` (int64, uint8) are room for one row's alphabet characters and their positions, as
    long as the longest row: one pass over the row's bytes, then only over those. `parts` =
    (member, klass, digit, radix, fits), the last three indexed by a part's signature (Parts).
    The outputs are the caller's, made by numpy (huge pages; and compiled without reference
    counting, this makes no arrays: see addresses._split_rows)."""
    member, klass, digit, radix, fits = parts
    size, signature, first, a, b, at, pos, chars = out
    longest = fits.shape[1] - 1
    for j in range(rows.shape[0]):
        i = rows[j]
        count = 0
        for p in range(offsets[i], offsets[i + 1]):  # its alphabet characters and where
            c = data[p]
            pos[count], chars[count] = p, c
            count += member[c]
        h = min(head[j], count)
        k = count - h - min(tail[j], count - h)
        s = 0
        for q in range(h, h + k):
            s |= klass[chars[q]]
        size[j], signature[j], first[j] = k, s, h
        at[j] = pos[h] if k else offsets[i]
        a[j], b[j] = 0, 0
        if k == 0 or not fits[s, min(k, longest)]:
            continue
        u = k // 2
        r64 = np.uint64(radix[s])
        digits = digit[s]  # indexed by bytes (unsigned): no negative-index check per character
        va = np.uint64(0)
        vb = np.uint64(0)
        for q in range(h, h + u):
            va = va * r64 + np.uint64(digits[chars[q]])
        for q in range(h + u, h + k):
            vb = vb * r64 + np.uint64(digits[chars[q]])
        a[j], b[j] = va, vb


@njit(cache=True, inline="always")
def _digits_in(a: np.uint64, b: np.uint64, size: int, r64: np.uint64, out: np.ndarray) -> None:
    u = size // 2
    for j in range(u - 1, -1, -1):  # A's and B's digits side by side: two chains of divisions
        qa, qb = a // r64, b // r64
        out[j], out[j + size - u] = a - qa * r64, b - qb * r64
        a, b = qa, qb
    if size - u > u:  # B's most significant digit
        out[u] = b


@njit(cache=True, inline="always")
def _digits(a: np.uint64, b: np.uint64, size: int, radix: int, out: np.ndarray) -> None:
    """The numeral string of (A, B): u digits of A then v of B, most significant first. The
    radixes of the alphabets are spelled out as constants, which lets the compiler divide by
    multiplying."""
    if radix == 36:
        _digits_in(a, b, size, np.uint64(36), out)
    elif radix == 10:
        _digits_in(a, b, size, np.uint64(10), out)
    elif radix == 62:
        _digits_in(a, b, size, np.uint64(62), out)
    elif radix == 16:
        _digits_in(a, b, size, np.uint64(16), out)
    elif radix == 26:
        _digits_in(a, b, size, np.uint64(26), out)
    elif radix == 52:
        _digits_in(a, b, size, np.uint64(52), out)
    else:
        _digits_in(a, b, size, np.uint64(radix), out)


@njit(cache=True, _nrt=False)
def unpack(
    data: np.ndarray,
    scanned: tuple,
    todo: np.ndarray,
    halves: tuple,
    parts: tuple,
    room: tuple,
) -> int:
    """scan's inverse for the rows todo[...] of scan's rows: each one's (A, B) = halves
    written over its permuted characters, from `at` on. Writes into `again` those (of todo)
    whose result uses other classes than their part (to be permuted again: cycle-walking) and
    returns how many. `scanned` = (size, signature, at); `parts` = (member, klass, lookup,
    radix); room = (buf, again): 64 uint8 of room for a row's digits, and len(todo) int64."""
    size, signature, at = scanned
    member, klass, lookup, radix = parts
    a, b = halves
    buf, again = room
    count = 0
    for t in range(todo.shape[0]):
        j = todo[t]
        k, sig = size[j], signature[j]
        _digits(a[j], b[j], k, radix[sig], buf)
        chars = lookup[sig]  # indexed by uint8 digits: no negative-index check
        used = 0
        d = 0
        p = at[j]
        while d < k:
            if member[data[p]]:
                c = chars[buf[d]]
                used |= klass[c]
                data[p] = c
                d += 1
            p += 1
        if used != sig:
            again[count] = j
            count += 1
    return count


@njit(cache=True)
def _positions(data, start: int, stop: int, member, head: int, pos: np.ndarray) -> None:
    """Where in data[start:stop] its permuted characters are: the alphabet characters after the
    first `head` of them, len(pos) of them."""
    seen = 0
    for p in range(start, stop):
        if member[data[p]]:
            at = seen - head
            if 0 <= at < pos.shape[0]:
                pos[at] = p
            seen += 1


@njit(cache=True)
def gather(
    data: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    head: np.ndarray,
    size: int,
    member: np.ndarray,
    digit: np.ndarray,
) -> np.ndarray:
    """The permuted characters' digits as a (rows, size) matrix (for lengths past the halves
    that fit a uint64); head[j] is the head of row rows[j]."""
    out = np.zeros((rows.shape[0], size), dtype=np.uint8)
    pos = np.zeros(size, dtype=np.int64)
    for j in range(rows.shape[0]):
        _positions(data, offsets[rows[j]], offsets[rows[j] + 1], member, head[j], pos)
        for at in range(size):
            out[j, at] = digit[data[pos[at]]]
    return out


@njit(cache=True)
def scatter(
    data: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    head: np.ndarray,
    member: np.ndarray,
    digits: np.ndarray,
    lookup: np.ndarray,
) -> None:
    """gather's inverse: the (rows, size) digits written back as characters, in place."""
    pos = np.zeros(digits.shape[1], dtype=np.int64)
    for j in range(rows.shape[0]):
        _positions(data, offsets[rows[j]], offsets[rows[j] + 1], member, head[j], pos)
        for at in range(digits.shape[1]):
            data[pos[at]] = lookup[digits[j, at]]
