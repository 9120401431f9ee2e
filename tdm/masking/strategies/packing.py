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


@njit(cache=True)
def scan(
    data: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    parts: tuple,
) -> tuple:
    """Per row of `rows` (head and tail given per row of `rows` too): how many characters it
    permutes (its alphabet characters less `head` first and `tail` last ones, each clipped to
    what there is), the classes those use (its part), the clipped head, and, where the part's
    halves of that many fit 62 bits, NUM_radix of the first k // 2 of them (A) and of the
    others (B) in the part's digits. `parts` = (member, klass, digit, radix, fits), the last
    three indexed by a part's signature (Parts)."""
    member, klass, digit, radix, fits = parts
    n = rows.shape[0]
    size = np.zeros(n, dtype=np.int64)
    signature = np.zeros(n, dtype=np.int64)
    first = np.zeros(n, dtype=np.int64)
    a = np.zeros(n, dtype=np.uint64)
    b = np.zeros(n, dtype=np.uint64)
    longest = fits.shape[1] - 1
    for j in range(n):
        i = rows[j]
        count = 0
        s = 0
        for p in range(offsets[i], offsets[i + 1]):  # klass is 0 outside the alphabet
            count += member[data[p]]
            s |= klass[data[p]]
        h = min(head[j], count)
        k = count - h - min(tail[j], count - h)
        if k < count:  # the classes of the permuted characters only
            s = 0
            seen = 0
            for p in range(offsets[i], offsets[i + 1]):
                if member[data[p]]:
                    if h <= seen < h + k:
                        s |= klass[data[p]]
                    seen += 1
        size[j], signature[j], first[j] = k, s, h
        if k == 0 or not fits[s, min(k, longest)]:
            continue
        u = k // 2
        r64 = np.uint64(radix[s])
        seen = 0
        va = np.uint64(0)
        vb = np.uint64(0)
        for p in range(offsets[i], offsets[i + 1]):
            if member[data[p]]:
                at = seen - h
                if 0 <= at < u:
                    va = va * r64 + np.uint64(digit[s, data[p]])
                elif u <= at < k:
                    vb = vb * r64 + np.uint64(digit[s, data[p]])
                seen += 1
        a[j], b[j] = va, vb
    return size, signature, first, a, b


@njit(cache=True, inline="always")
def _digits_in(a: np.uint64, b: np.uint64, size: int, r64: np.uint64, out: np.ndarray) -> None:
    u = size // 2
    for j in range(size - 1, u - 1, -1):
        out[j] = b % r64
        b //= r64
    for j in range(u - 1, -1, -1):
        out[j] = a % r64
        a //= r64


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


@njit(cache=True)
def unpack(
    data: np.ndarray,
    offsets: np.ndarray,
    rows: np.ndarray,
    scanned: tuple,
    todo: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    parts: tuple,
) -> np.ndarray:
    """scan's inverse for the rows todo[...] of `rows`: each one's (A, B) written over its
    permuted characters. Returns those (of todo) whose result uses other classes than their
    part (to be permuted again: cycle-walking). `scanned` = (size, signature, first);
    `parts` = (member, klass, lookup, radix)."""
    size, signature, first = scanned
    member, klass, lookup, radix = parts
    buf = np.zeros(64, dtype=np.int64)
    again = np.zeros(todo.shape[0], dtype=np.bool_)
    for t in range(todo.shape[0]):
        j = todo[t]
        k, i, h, sig = size[j], rows[j], first[j], signature[j]
        _digits(a[j], b[j], k, radix[sig], buf)
        used = 0
        for d in range(k):
            used |= klass[lookup[sig, buf[d]]]
        again[t] = used != sig
        seen = 0
        for p in range(offsets[i], offsets[i + 1]):
            if member[data[p]]:
                at = seen - h
                if 0 <= at < k:
                    data[p] = lookup[sig, buf[at]]
                seen += 1
    return todo[again]


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
