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

from tdm.masking.ff1 import kernels
from tdm.masking.ff1.setup import ROUNDS, Setup

_U64 = np.uint64


def rounds(s: Setup, enc: CipherContext, x: np.ndarray, decrypt: bool) -> np.ndarray:
    """The ten rounds over (n, rows) digit columns."""
    u, v = s.u, s.v
    a, bb = np.ascontiguousarray(x[:u]), np.ascontiguousarray(x[u:])
    order = reversed(range(ROUNDS)) if decrypt else range(ROUNDS)
    for i in order:
        m = u if i % 2 == 0 else v
        c = np.empty((m, x.shape[1]), dtype=_U64)
        if not decrypt:  # A, B <- B, A + y(B)
            kernels.combine(_prf(s, enc, i, bb), a, s.radix, s.k, False, c)
            a, bb = bb, c
        else:  # A, B <- B - y(A), A
            kernels.combine(_prf(s, enc, i, a), bb, s.radix, s.k, True, c)
            a, bb = c, a
    return np.concatenate([a, bb])


def _prf(s: Setup, enc: CipherContext, i: int, src: np.ndarray) -> np.ndarray:
    """Steps 6.i-6.iii: S (its first d bytes) per row, from PRF(P || Q), as (rows, d) bytes."""
    rows, b, d = src.shape[1], s.b, s.d
    if b < 16 and d <= 16:  # one block per row holds its bytes, and S = R: one AES call
        state, const = s.state(i, 1)
        key = np.frombuffer(state, dtype=np.uint8) ^ np.frombuffer(
            const.ljust(16, b"\0"), dtype=np.uint8
        )
        blocks = np.empty((rows, 16), dtype=np.uint8)
        kernels.num_block(src, s.radix, s.k, key, b, blocks)
        out = np.empty(16 * rows + 16, dtype=np.uint8)  # update_into wants 15 spare bytes
        enc.update_into(blocks.reshape(-1), out)
        return out[: 16 * rows].reshape(rows, 16)[:, :d]
    tail_len = 16 * ((b + 15) // 16)  # the blocks that hold row bytes
    state, const = s.state(i, tail_len // 16)
    tail = np.empty((rows, tail_len), dtype=np.uint8)
    kernels.num_bytes(src, s.radix, np.frombuffer(const, dtype=np.uint8), tail)
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
    return np.ascontiguousarray(full[:, :d])


def _ecb(enc: CipherContext, blocks: np.ndarray) -> np.ndarray:
    """AES of each 16-byte row of `blocks`, as a (rows, 16) uint8 array."""
    data = enc.update(np.ascontiguousarray(blocks, dtype=np.uint8).tobytes())
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, 16).copy()
