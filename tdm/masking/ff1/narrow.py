"""FF1's rounds when both halves fit 62 bits (radix**ceil(n/2) < 2**62): digits up to 36 long,
hex up to 30, letters+digits up to 22 (radix 36) or 20 (radix 62).

Here NUM_radix(A) and NUM_radix(B) are held as one uint64 per row, so a round is a handful of
whole-array operations around one AES block per row:

- Q's last 16-byte block is the only one that holds row data ([NUM_radix(B)]^b with b <= 8 sits in
  its last 8 bytes): the CBC-MAC state after P and the rest of Q, xor'd with the block's constant
  bytes, is computed once per round, so the block is `bswap(NUM_radix(B)) ^ constant`;
- d <= 16, so S = R; y = NUM(S[:d]) has 8 or 12 bytes and y mod radix**m is taken exactly
  (see Narrow._y for the 12-byte case).
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import CipherContext

from tdm.masking.ff1.setup import ROUNDS, Setup

_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_32 = _U64(32)


def fits(radix: int, n: int) -> bool:
    return radix ** (n - n // 2) < 2**62  # so that 2 * radix**m fits an int64 (Narrow._y)


class Narrow:
    """The ten rounds of one (key, radix, length, tweak) over uint64 halves."""

    def __init__(self, setup: Setup) -> None:
        self.s = setup
        b = setup.b
        consts = []
        for i in range(ROUNDS):
            state, tail = setup.state(i, 1)
            block = bytes(x ^ y for x, y in zip(tail.ljust(16, b"\0"), state, strict=True))
            consts.append(np.frombuffer(block, dtype=_U64).copy())
        self.consts = consts
        self.d = 4 * ((b + 3) // 4) + 4
        mods = (setup.radix**setup.u, setup.radix**setup.v)
        self.mods = tuple(_U64(m) for m in mods)
        self.c64 = tuple(_U64(2**64 % m) for m in mods)
        self.ratios = tuple((2**64 % m) / m for m in mods)

    def encrypt(self, enc: CipherContext, a: np.ndarray, b: np.ndarray) -> tuple:
        for i in range(ROUNDS):
            m = self.mods[i % 2]
            c = a + self._y(enc, i, b, i % 2)
            a, b = b, np.minimum(c, c - m)  # c - m wraps around when c < m
        return a, b

    def decrypt(self, enc: CipherContext, a: np.ndarray, b: np.ndarray) -> tuple:
        for i in reversed(range(ROUNDS)):
            m = self.mods[i % 2]
            c = b + (m - self._y(enc, i, a, i % 2))  # in (0, 2m): no wrap-around
            a, b = np.minimum(c, c - m), a
        return a, b

    def _y(self, enc: CipherContext, i: int, src: np.ndarray, odd: int) -> np.ndarray:
        """y mod radix**m for round i, m = u (even rounds) or v (odd rounds)."""
        rows = len(src)
        k0, k1 = self.consts[i]
        block = np.empty((rows, 2), dtype=_U64)
        block[:, 0] = k0
        block[:, 1] = _bswap(src)
        block[:, 1] ^= k1
        out = np.empty(2 * rows + 2, dtype=_U64)  # update_into wants 15 spare bytes
        enc.update_into(block.view(np.uint8).reshape(-1), out.view(np.uint8))
        head = _bswap(out[0 : 2 * rows : 2])  # S's first 8 bytes, big-endian
        if self.d == 8:
            return head % self.mods[odd]
        # y = H * 2**64 + L with H < 2**32: y mod M = (H * (2**64 mod M) + L) mod M, where
        # q = floor(H * c / M) < 2**32 is off by at most one in float64 (relative error 2**-52)
        # and H * c - q * M, exact mod 2**64, then lies in [-M, 2M): two corrections
        mod, c, ratio = self.mods[odd], self.c64[odd], self.ratios[odd]
        hi = head >> _32
        low = (head << _32) | (_bswap(out[1 : 2 * rows : 2]) >> _32)
        q = np.floor(hi.astype(np.float64) * ratio).astype(_U64)
        r = (hi * c - q * mod).view(np.int64)
        r += np.where(r < 0, mod, _U64(0)).view(np.int64)
        r = r.view(_U64)
        r = np.minimum(r, r - mod)  # r in [0, 2M) -> [0, M)
        r += low % mod
        return np.minimum(r, r - mod)


def _bswap(x: np.ndarray) -> np.ndarray:
    """The bytes of each uint64 reversed (as a cast from big-endian: faster than byteswap)."""
    return x.view(">u8").astype(_U64)
