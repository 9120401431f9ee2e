"""FF1 format-preserving encryption (NIST SP 800-38G Rev. 1, Algorithms 7 and 8), vectorised.

One call encrypts a (rows, n) array of digits in [0, radix) under one key and one tweak. The ten
Feistel rounds run over all rows at once, digit by digit in (n, rows) column layout:

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
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

ROUNDS = 10
MIN_DOMAIN = 1_000_000
CHUNK_ROWS = 1 << 16  # rows processed together: the working columns stay in the caches
_U64 = np.uint64
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


class FF1:
    """FF1 under one AES key (16, 24 or 32 bytes) for one radix in [2, 2**16]."""

    def __init__(self, key: bytes, radix: int) -> None:
        if len(key) not in (16, 24, 32):
            raise ValueError(f"FF1 needs a 16, 24 or 32-byte AES key, got {len(key)} bytes")
        if not 2 <= radix <= 2**16:
            raise ValueError(f"FF1 radix must be in [2, 2**16], got {radix}")
        self.radix = radix
        self._key = bytes(key)
        self._aes = Cipher(algorithms.AES(self._key), modes.ECB())
        k = 1
        while radix ** (k + 1) <= 2**32:
            k += 1
        self._k = k  # radix digits per 32-bit word: radix**k <= 2**32

    # -- public API -------------------------------------------------------------------------

    def encrypt(self, digits: np.ndarray, tweak: bytes) -> np.ndarray:
        return self._run(digits, tweak, decrypt=False)

    def decrypt(self, digits: np.ndarray, tweak: bytes) -> np.ndarray:
        return self._run(digits, tweak, decrypt=True)

    def encrypt_str(self, text: str, tweak: bytes, alphabet: str) -> str:
        return self._str(text, tweak, alphabet, decrypt=False)

    def decrypt_str(self, text: str, tweak: bytes, alphabet: str) -> str:
        return self._str(text, tweak, alphabet, decrypt=True)

    # -- internals --------------------------------------------------------------------------

    def _str(self, text: str, tweak: bytes, alphabet: str, decrypt: bool) -> str:
        if len(alphabet) != self.radix or len(set(alphabet)) != self.radix:
            raise ValueError(f"alphabet must have {self.radix} distinct characters")
        index = {c: i for i, c in enumerate(alphabet)}
        try:
            row = np.array([[index[c] for c in text]], dtype=np.int64)
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the alphabet") from None
        out = self._run(row, tweak, decrypt)
        return "".join(alphabet[int(x)] for x in out[0])

    def _check(self, n: int, tweak: bytes) -> None:
        if n < 2 or n >= 2**32:
            raise ValueError(f"FF1 length must be in [2, 2**32), got {n}")
        if n < 20 and self.radix**n < MIN_DOMAIN:  # 2**20 > 1,000,000 already
            raise ValueError(
                f"domain size {self.radix}**{n} = {self.radix**n} is too small: "
                "NIST SP 800-38G Rev. 1 requires radix**length >= 1,000,000"
            )
        if len(tweak) >= 2**32:
            raise ValueError("FF1 tweak must be shorter than 2**32 bytes")

    def _run(self, digits: np.ndarray, tweak: bytes, decrypt: bool) -> np.ndarray:
        x = np.asarray(digits)
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise ValueError("digits must be a 2-D integer array of shape (n_values, length)")
        rows, n = x.shape
        tweak = bytes(tweak)
        self._check(n, tweak)
        if rows and (int(x.min()) < 0 or int(x.max()) >= self.radix):
            raise ValueError(f"digits must lie in [0, {self.radix})")
        fits = np.iinfo(x.dtype).max >= self.radix - 1
        out_dtype = x.dtype if fits else np.dtype(np.int64)
        out = np.empty((rows, n), dtype=out_dtype)
        for lo in range(0, rows, CHUNK_ROWS):
            cols = np.ascontiguousarray(x[lo : lo + CHUNK_ROWS].T, dtype=_U64)
            out[lo : lo + CHUNK_ROWS] = self._feistel(cols, tweak, decrypt).T
        return out

    def _feistel(self, x: np.ndarray, tweak: bytes, decrypt: bool) -> np.ndarray:
        """The ten rounds over (n, rows) digit columns."""
        radix, n = self.radix, x.shape[0]
        u = n // 2
        v = n - u
        b = ((radix**v - 1).bit_length() + 7) // 8  # ceil(ceil(v * log2(radix)) / 8), exactly
        d = 4 * ((b + 3) // 4) + 4
        p = (
            bytes([1, 2, 1])
            + radix.to_bytes(3, "big")
            + bytes([10, u % 256])
            + n.to_bytes(4, "big")
            + len(tweak).to_bytes(4, "big")
        )
        enc = self._aes.encryptor()
        a, bb = x[:u], x[u:]
        if not decrypt:
            for i in range(ROUNDS):
                m = u if i % 2 == 0 else v
                y = self._y_digits(enc, p, tweak, b, d, i, bb, m)
                a, bb = bb, _add(a, y, radix)
        else:
            for i in reversed(range(ROUNDS)):
                m = u if i % 2 == 0 else v
                y = self._y_digits(enc, p, tweak, b, d, i, a, m)
                a, bb = _sub(bb, y, radix), a
        return np.concatenate([a, bb])

    def _y_digits(
        self,
        enc: CipherContext,
        p: bytes,
        tweak: bytes,
        b: int,
        d: int,
        i: int,
        src: np.ndarray,
        m: int,
    ) -> np.ndarray:
        """Steps 6.i-6.iv: the m low radix digits of y = NUM(S), S from PRF(P || Q)."""
        rows = src.shape[1]
        # Q = T || [0]^((-t-b-1) mod 16) || [i]^1 || [NUM_radix(src)]^b
        head = tweak + bytes((-len(tweak) - b - 1) % 16) + bytes([i])
        tail_len = 16 * ((b + 15) // 16)  # the blocks that hold row bytes
        cut = len(head) + b - tail_len
        state = _cbc_mac(self._key, p + head[:cut])
        limbs = self._num(src, (b + 3) // 4)
        num = np.ascontiguousarray(limbs.T, dtype=">u4").view(np.uint8)
        tail = np.empty((rows, tail_len), dtype=np.uint8)
        tail[:, : tail_len - b] = np.frombuffer(head[cut:], dtype=np.uint8)
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
            s = np.concatenate([r[:, None, :], ext], axis=1).reshape(rows, 16 * blocks)
        else:
            s = r
        s = np.ascontiguousarray(s[:, :d])
        y = np.ascontiguousarray(s.view(">u4").T, dtype=_U64)  # (d/4, rows), most significant 1st
        return self._low_digits(y, m)

    def _num(self, src: np.ndarray, nlimbs: int) -> np.ndarray:
        """NUM_radix of each column of `src` as (nlimbs, rows) base-2**32 limbs, big-endian."""
        radix, k = self.radix, self._k
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

    def _low_digits(self, y: np.ndarray, m: int) -> np.ndarray:
        """The m least significant radix digits of the limbs y (modified), most significant 1st."""
        radix, k = self.radix, self._k
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


def _cbc_mac(key: bytes, data: bytes) -> bytes:
    """AES-CBC-MAC with a zero IV of whole blocks (the state after them); zero bytes -> IV."""
    if not data:
        return bytes(16)
    return Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor().update(data)[-16:]


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
