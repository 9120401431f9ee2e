"""FF1's rounds when both halves fit 62 bits (radix**ceil(n/2) < 2**62): digits up to 36 long,
hex up to 30, letters+digits up to 22 (radix 36) or 20 (radix 62).

Here NUM_radix(A) and NUM_radix(B) are held as one uint64 per row, so a round is one AES block
per row (all rows in one call) and one compiled pass over the rows (tdm.masking.ff1.kernels)
that takes y mod radix**m, updates the halves and writes the next round's blocks:

- Q's last 16-byte block is the only one that holds row data ([NUM_radix(B)]^b with b <= 8 sits in
  its last 8 bytes): the CBC-MAC state after P and the rest of Q, xor'd with the block's constant
  bytes, is computed once per round, so the block is `bswap(NUM_radix(B)) ^ constant`;
- d <= 16, so S = R; y = NUM(S[:d]) has 8 or 12 bytes and y mod radix**m is taken exactly
  (see Narrow.modulus for the 12-byte case).
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import CipherContext

from tdm.masking.ff1 import kernels
from tdm.masking.ff1.setup import ROUNDS, Setup

_U64 = np.uint64


def fits(radix: int, n: int) -> bool:
    return radix ** (n - n // 2) < 2**62  # so that 2 * radix**m fits an int64 (kernels._y)


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
        self.consts = [tuple(c) for c in consts]
        self.d = 4 * ((b + 3) // 4) + 4
        mods = (setup.radix**setup.u, setup.radix**setup.v)
        self.mods = tuple(_U64(m) for m in mods)
        self.c64 = tuple(_U64(2**64 % m) for m in mods)
        self.ratios = tuple((2**64 % m) / m for m in mods)
        # per round, how y mod radix**m is taken (m = u in even rounds, v in odd ones): y has 8
        # bytes, or 12 (y = H * 2**64 + L with H < 2**32: y mod M = (H * (2**64 mod M) + L) mod
        # M, where q = floor(H * c / M) < 2**32 is off by at most one in float64 (relative
        # error 2**-52) and H * c - q * M, exact mod 2**64, then lies in [-M, 2M): two
        # corrections); L mod M and 8-byte y mod M by kernels._mod
        self.modulus = [
            (self.d != 8, self.mods[i % 2], self.c64[i % 2], self.ratios[i % 2], 1.0 / mods[i % 2])
            for i in range(ROUNDS)
        ]

    def encrypt(self, enc: CipherContext, a: np.ndarray, b: np.ndarray) -> tuple:
        a, b = a.astype(_U64), b.astype(_U64)  # copies: the rounds run in place
        block, out = _buffers(len(a))
        kernels.fill_blocks(b, *self.consts[0], block)
        for i in range(ROUNDS):
            enc.update_into(block.view(np.uint8), out.view(np.uint8))
            nxt = self.consts[min(i + 1, ROUNDS - 1)]
            kernels.encrypt_round(a, b, out, block, nxt, self.modulus[i])
        return a, b

    def decrypt(self, enc: CipherContext, a: np.ndarray, b: np.ndarray) -> tuple:
        a, b = a.astype(_U64), b.astype(_U64)
        block, out = _buffers(len(a))
        kernels.fill_blocks(a, *self.consts[ROUNDS - 1], block)
        for i in reversed(range(ROUNDS)):
            enc.update_into(block.view(np.uint8), out.view(np.uint8))
            nxt = self.consts[max(i - 1, 0)]
            kernels.decrypt_round(a, b, out, block, nxt, self.modulus[i])
        return a, b

    def plus_one(self, a: np.ndarray, b: np.ndarray) -> None:
        """(A, B) as one number mod radix**n, plus one, in place."""
        kernels.plus_one(a, b, *self.mods)


def _buffers(rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows' AES input blocks, and room for the output (update_into wants 15 spare bytes)."""
    return np.empty(2 * rows, dtype=_U64), np.empty(2 * rows + 2, dtype=_U64)
