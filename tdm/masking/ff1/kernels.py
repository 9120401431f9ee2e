"""FF1's narrow rounds as compiled loops (numba): one pass over the rows per round on each side
of the AES call, instead of a dozen whole-array numpy operations and their temporaries.

The arithmetic is Narrow's (tdm.masking.ff1.narrow), row by row: uint64 throughout, where
subtraction wraps around as it does in numpy, so `min(c, c - m)` is c mod m for c < 2m.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_U64 = np.uint64
_M8 = np.uint64(0x00FF00FF00FF00FF)
_M16 = np.uint64(0x0000FFFF0000FFFF)
_8 = np.uint64(8)
_16 = np.uint64(16)
_32 = np.uint64(32)


@njit(cache=True, inline="always")
def bswap(x: np.uint64) -> np.uint64:
    x = ((x & _M8) << _8) | ((x >> _8) & _M8)
    x = ((x & _M16) << _16) | ((x >> _16) & _M16)
    return (x << _32) | (x >> _32)


@njit(cache=True)
def fill_blocks(src: np.ndarray, k0: np.uint64, k1: np.uint64, block: np.ndarray) -> None:
    """The round's last CBC-MAC block per row: constant bytes, then [NUM_radix(B)]^b."""
    for r in range(src.shape[0]):
        block[2 * r] = k0
        block[2 * r + 1] = bswap(src[r]) ^ k1


@njit(cache=True, inline="always")
def _mod(x: np.uint64, mod: np.uint64, inv: float) -> np.uint64:
    """x mod `mod` for any uint64 x and 1000 <= mod < 2**62, without a division: the float64
    quotient (inv = 1 / mod) is off by at most 7 (by 1 once mod >= 2**53), so x - q * mod,
    exact mod 2**64, lies within 8 * mod of [0, mod) and a few steps bring it there."""
    q = np.uint64(np.float64(x) * inv)
    r = np.int64(x - q * mod)
    m = np.int64(mod)
    while r < 0:
        r += m
    while r >= m:
        r -= m
    return np.uint64(r)


@njit(cache=True, inline="always")
def _y(out: np.ndarray, r: int, modulus: tuple) -> np.uint64:
    """y mod radix**m from row r's AES output (S's first 8 or 12 bytes); see Narrow.modulus.
    modulus = (wide, mod, c64, ratio, inv)."""
    wide, mod, c64, ratio, inv = modulus
    head = bswap(out[2 * r])
    if not wide:
        if mod & (mod - np.uint64(1)) == 0:  # radix 2 (names: believable): a mask
            return head & (mod - np.uint64(1))
        return _mod(head, mod, inv)
    hi = head >> _32
    low = (head << _32) | (bswap(out[2 * r + 1]) >> _32)
    q = np.uint64(math.floor(np.float64(hi) * ratio))
    t = hi * c64 - q * mod
    if np.int64(t) < 0:
        t += mod
    t = min(t, t - mod)
    t += _mod(low, mod, inv)
    return min(t, t - mod)


@njit(cache=True)
def encrypt_round(
    a: np.ndarray, b: np.ndarray, out: np.ndarray, block: np.ndarray, nxt: tuple, modulus: tuple
) -> None:
    """A, B <- B, (A + y) mod radix**m, in place (y from `out`, the AES of B's blocks), and
    the next round's blocks (its constants `nxt`) from the new B."""
    mod = modulus[1]
    k0, k1 = nxt
    for r in range(a.shape[0]):
        c = a[r] + _y(out, r, modulus)
        a[r] = b[r]
        c = min(c, c - mod)
        b[r] = c
        block[2 * r] = k0
        block[2 * r + 1] = bswap(c) ^ k1


@njit(cache=True)
def decrypt_round(
    a: np.ndarray, b: np.ndarray, out: np.ndarray, block: np.ndarray, nxt: tuple, modulus: tuple
) -> None:
    """A, B <- (B - y) mod radix**m, A, in place (y from `out`, the AES of A's blocks), and
    the next round's blocks from the new A."""
    mod = modulus[1]
    k0, k1 = nxt
    for r in range(a.shape[0]):
        c = b[r] + (mod - _y(out, r, modulus))
        b[r] = a[r]
        c = min(c, c - mod)
        a[r] = c
        block[2 * r] = k0
        block[2 * r + 1] = bswap(c) ^ k1


@njit(cache=True)
def plus_one(a: np.ndarray, b: np.ndarray, mu: np.uint64, mv: np.uint64) -> None:
    """(A, B) as one number mod radix**n, plus one, in place."""
    one = np.uint64(1)
    for r in range(a.shape[0]):
        v = b[r] + one
        if v == mv:
            b[r] = 0
            v = a[r] + one
            a[r] = np.uint64(0) if v == mu else v
        else:
            b[r] = v


# ---- the rounds of any length (tdm.masking.ff1.wide), over base-2**32 limbs ------------------

_MASK32 = np.uint64(0xFFFFFFFF)


@njit(cache=True)
def num_bytes(src: np.ndarray, radix: int, const: np.ndarray, out: np.ndarray) -> None:
    """Per row (a column of the (length, rows) digits `src`): the round's blocks that hold row
    data, `const` then [NUM_radix(src)]^b, into the (rows, len(const) + b) bytes `out`."""
    length, rows = src.shape
    c, b = const.shape[0], out.shape[1] - const.shape[0]
    nl = (b + 3) // 4
    limbs = np.zeros(nl, dtype=np.uint64)
    r64 = np.uint64(radix)
    for r in range(rows):
        limbs[:] = 0
        for j in range(length):
            carry = src[j, r]
            for x in range(nl - 1, -1, -1):  # limbs * radix + digit, big-endian limbs
                t = limbs[x] * r64 + carry
                limbs[x] = t & _MASK32
                carry = t >> _32
        out[r, :c] = const
        for x in range(b):  # the last b bytes of the limbs, big-endian
            at = 4 * nl - b + x
            shift = np.uint64(8 * (3 - at % 4))
            out[r, c + x] = np.uint8((limbs[at // 4] >> shift) & np.uint64(0xFF))


@njit(cache=True, inline="always")
def _num_block_in(src, r64: np.uint64, k: int, key, b: int, out) -> None:
    length, rows = src.shape
    nl = (b + 3) // 4
    limbs = np.zeros(nl, dtype=np.uint64)
    c = 16 - b
    first = length % k if length % k else k
    for r in range(rows):
        limbs[:] = 0
        j = 0
        take = first
        while j < length:  # limbs * radix**take + the next take digits, big-endian limbs
            carry = np.uint64(0)
            power = np.uint64(1)
            for _ in range(take):
                carry = carry * r64 + src[j, r]
                power *= r64
                j += 1
            for x in range(nl - 1, -1, -1):  # limb * power + carry < 2**64: power <= 2**32
                t = limbs[x] * power + carry
                limbs[x] = t & _MASK32
                carry = t >> _32
            take = k
        out[r, :c] = key[:c]
        for x in range(b):  # the last b bytes of the limbs, big-endian
            at = 4 * nl - b + x
            shift = np.uint64(8 * (3 - at % 4))
            out[r, c + x] = np.uint8((limbs[at // 4] >> shift) & np.uint64(0xFF)) ^ key[c + x]


@njit(cache=True)
def num_block(src: np.ndarray, radix: int, k: int, key: np.ndarray, b: int, out) -> None:
    """num_bytes when the row's bytes fit the round's last block (b < 16): per row, that block
    xor'd with the CBC-MAC state before it (`key`: the state xor the block's constant bytes),
    into the (rows, 16) bytes `out`, ready for AES. NUM_radix is taken k digits at a time
    (radix**k <= 2**32); the alphabets' radixes are spelled out as constants (see _digits)."""
    if radix == 36:
        _num_block_in(src, np.uint64(36), 6, key, b, out)
    elif radix == 10:
        _num_block_in(src, np.uint64(10), 9, key, b, out)
    elif radix == 62:
        _num_block_in(src, np.uint64(62), 5, key, b, out)
    elif radix == 26:
        _num_block_in(src, np.uint64(26), 6, key, b, out)
    else:
        _num_block_in(src, np.uint64(radix), k, key, b, out)


@njit(cache=True, inline="always")
def _combine_in(full, a, r64: np.uint64, k: int, div: np.uint64, decrypt: bool, out) -> None:
    m, rows = a.shape
    nl = full.shape[1] // 4
    y = np.zeros(nl, dtype=np.uint64)
    digits = np.zeros(m, dtype=np.uint64)
    for r in range(rows):
        for x in range(nl):
            v = np.uint64(0)
            for byte in range(4):
                v = (v << _8) | np.uint64(full[r, 4 * x + byte])
            y[x] = v
        pos = m
        while pos > 0:
            rem = np.uint64(0)
            for x in range(nl):  # rem < div <= 2**32: (rem << 32) | limb fits 64 bits
                cur = (rem << _32) | y[x]
                q = cur // div
                rem = cur - q * div
                y[x] = q
            for _ in range(min(k, pos)):  # rem = y mod radix**k: its low digits are y's
                pos -= 1
                q = rem // r64
                digits[pos] = rem - q * r64
                rem = q
        carry = np.uint64(0)  # to decrypt: the borrow
        for j in range(m - 1, -1, -1):  # each sum in [0, 2 * radix)
            if decrypt:
                s = a[j, r] + r64 - digits[j] - carry
                carry = np.uint64(1) if s < r64 else np.uint64(0)
            else:
                s = a[j, r] + digits[j] + carry
                carry = np.uint64(1) if s >= r64 else np.uint64(0)
            out[j, r] = s - r64 if s >= r64 else s


@njit(cache=True)
def combine(
    full: np.ndarray, a: np.ndarray, radix: int, k: int, decrypt: bool, out: np.ndarray
) -> None:
    """c = (NUM_radix(a) + y) mod radix**m (or minus y, to decrypt) as m digits per column of
    the (m, rows) `a`, y = NUM(S) from the (rows, d) bytes `full`: the m low radix digits of y
    by long division of its base-2**32 limbs by radix**k (the largest power <= 2**32), then
    digit by digit with carries. The alphabets' radixes are spelled out as constants, which
    lets the compiler divide by multiplying."""
    if radix == 36:
        _combine_in(full, a, np.uint64(36), 6, np.uint64(36**6), decrypt, out)
    elif radix == 10:
        _combine_in(full, a, np.uint64(10), 9, np.uint64(10**9), decrypt, out)
    elif radix == 62:
        _combine_in(full, a, np.uint64(62), 5, np.uint64(62**5), decrypt, out)
    elif radix == 26:
        _combine_in(full, a, np.uint64(26), 6, np.uint64(26**6), decrypt, out)
    else:
        _combine_in(full, a, np.uint64(radix), k, np.uint64(radix) ** np.uint64(k), decrypt, out)
