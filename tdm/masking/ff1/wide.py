"""FF1's rounds for any length (NIST SP 800-38G Rev. 1, Algorithms 7 and 8), over (n, rows)
digit columns, when the halves may not fit 64 bits (tdm.masking.ff1.narrow takes the others):

- NUM_radix(B) and y = NUM(S) are held as big-endian base-2**32 limbs in uint64 arrays, so every
  length is exact (no 64-bit overflow); y mod radix**m is read off as radix digits by long
  division by radix**k (the largest power <= 2**32), then added to (or, to decrypt, subtracted
  from) A digit by digit with carries, which is c = (NUM_radix(A) + y) mod radix**m as digits.
- The PRF is AES-CBC-MAC with a zero IV over P || Q: the state after P and the constant head of Q
  (T, the zero padding and, when it falls there, [i]) is computed once per round; only the blocks
  holding NUM_radix(B) differ per row, and those go through AES-ECB in one batch.
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import CipherContext

from tdm.masking.ff1.setup import ROUNDS, Setup

_U64 = np.uint64
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


def rounds(s: Setup, enc: CipherContext, x: np.ndarray, decrypt: bool) -> np.ndarray:
    """The ten rounds over (n, rows) digit columns."""
    u, v = s.u, s.v
    a, bb = x[:u], x[u:]
    if not decrypt:
        for i in range(ROUNDS):
            m = u if i % 2 == 0 else v
            y = _y_digits(s, enc, i, bb, m)
            a, bb = bb, _add(a, y, s.radix)
    else:
        for i in reversed(range(ROUNDS)):
            m = u if i % 2 == 0 else v
            y = _y_digits(s, enc, i, a, m)
            a, bb = _sub(bb, y, s.radix), a
    return np.concatenate([a, bb])


def _y_digits(s: Setup, enc: CipherContext, i: int, src: np.ndarray, m: int) -> np.ndarray:
    """Steps 6.i-6.iv: the m low radix digits of y = NUM(S), S from PRF(P || Q)."""
    rows, b, d = src.shape[1], s.b, s.d
    tail_len = 16 * ((b + 15) // 16)  # the blocks that hold row bytes
    state, const = s.state(i, tail_len // 16)
    limbs = _num(s, src, (b + 3) // 4)
    num = np.ascontiguousarray(limbs.T, dtype=">u4").view(np.uint8)
    tail = np.empty((rows, tail_len), dtype=np.uint8)
    tail[:, : tail_len - b] = np.frombuffer(const, dtype=np.uint8)
    tail[:, tail_len - b :] = num[:, num.shape[1] - b :]
    r = np.broadcast_to(np.frombuffer(state, dtype=np.uint8), (rows, 16))
    for at in range(0, tail_len, 16):
        r = _ecb(enc, tail[:, at : at + 16] ^ r)
    blocks = (d + 15) // 16
    if blocks > 1:  # S = R || CIPH(R xor [1]) || ... || CIPH(R xor [blocks-1])
        ext = np.repeat(r[:, None, :], blocks - 1, axis=1)
        for j in range(1, blocks):
            ext[:, j - 1] ^= np.frombuffer(j.to_bytes(16, "big"), dtype=np.uint8)
        ext = _ecb(enc, ext.reshape(-1, 16)).reshape(rows, blocks - 1, 16)
        full = np.concatenate([r[:, None, :], ext], axis=1).reshape(rows, 16 * blocks)
    else:
        full = r
    full = np.ascontiguousarray(full[:, :d])
    y = np.ascontiguousarray(full.view(">u4").T, dtype=_U64)  # (d/4, rows), most significant 1st
    return _low_digits(s, y, m)


def _num(s: Setup, src: np.ndarray, nlimbs: int) -> np.ndarray:
    """NUM_radix of each column of `src` as (nlimbs, rows) base-2**32 limbs, big-endian."""
    radix, k = s.radix, s.k
    length, rows = src.shape
    limbs = np.zeros((nlimbs, rows), dtype=_U64)
    pos, size = 0, (length % k) or k
    while pos < length:
        g = src[pos].copy()
        for j in range(pos + 1, pos + size):
            g *= _U64(radix)
            g += src[j]
        pos += size
        mult = _U64(radix**size)
        used = ((radix**pos - 1).bit_length() + 31) // 32  # limbs that can be non-zero
        carry = g
        for col in range(nlimbs - 1, nlimbs - 1 - used, -1):
            t = limbs[col] * mult + carry  # < 2**64: limb < 2**32, mult <= 2**32
            limbs[col] = t & _MASK32
            carry = t >> _SHIFT32
        size = k
    return limbs


def _low_digits(s: Setup, y: np.ndarray, m: int) -> np.ndarray:
    """The m least significant radix digits of the limbs y (modified), most significant 1st."""
    radix, k = s.radix, s.k
    out = np.empty((m, y.shape[1]), dtype=_U64)
    rf = float(radix)
    pos = m
    while pos > 0:
        take = min(k, pos)
        div = _U64(radix**take)
        rem = np.zeros(y.shape[1], dtype=_U64)
        last = pos == take
        for col in range(y.shape[0]):  # long division by radix**take
            cur = (rem << _SHIFT32) | y[col]  # < 2**64: rem < div <= 2**32
            q = cur // div
            rem = cur - q * div
            if not last:
                y[col] = q
        # split rem < 2**32 into digits in float64: exact, as rem < 2**52 and floor(rem / r)
        # cannot round up (rem / r is at least 1 / r below the next integer)
        remf = rem.astype(np.float64)
        for _ in range(take):
            pos -= 1
            q = np.floor(remf / rf)
            out[pos] = remf - q * rf
            remf = q
    return out


def _ecb(enc: CipherContext, blocks: np.ndarray) -> np.ndarray:
    """AES of each 16-byte row of `blocks`, as a (rows, 16) uint8 array."""
    data = enc.update(np.ascontiguousarray(blocks, dtype=np.uint8).tobytes())
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, 16).copy()


def _add(a: np.ndarray, y: np.ndarray, radix: int) -> np.ndarray:
    """(NUM_radix(a) + y) mod radix**m, digit columns (most significant first) in and out."""
    out = np.empty_like(a)
    r = _U64(radix)
    carry = np.zeros(a.shape[1], dtype=_U64)
    for j in range(a.shape[0] - 1, -1, -1):
        s = a[j] + y[j] + carry  # in [0, 2 * radix)
        big = s >= r
        out[j] = np.where(big, s - r, s)
        carry = big.astype(_U64)
    return out


def _sub(a: np.ndarray, y: np.ndarray, radix: int) -> np.ndarray:
    """(NUM_radix(a) - y) mod radix**m, digit columns (most significant first) in and out."""
    out = np.empty_like(a)
    r = _U64(radix)
    borrow = np.zeros(a.shape[1], dtype=_U64)
    for j in range(a.shape[0] - 1, -1, -1):
        s = a[j] + r - y[j] - borrow  # in [0, 2 * radix)
        big = s >= r
        out[j] = np.where(big, s - r, s)
        borrow = (~big).astype(_U64)
    return out
