"""FF1 format-preserving encryption (NIST SP 800-38G Rev. 1, Algorithms 7 and 8), vectorised.

One call encrypts many numeral strings of one length at once: a (rows, n) array of digits in
[0, radix), or (for lengths whose halves fit 63 bits) the numbers NUM_radix of those strings.
The rounds run over all rows together: tdm.masking.ff1.narrow when the halves fit a uint64,
tdm.masking.ff1.wide (base-2**32 limbs) for longer strings. Both are checked against NIST's
sample vectors and a line-by-line big-integer transcription of Algorithm 7 (tests/unit/masking).

`derange` is what masking uses: x -> FF1^-1(FF1(x) + 1 mod radix**n), a keyed permutation of the
numeral strings of length n that moves every one of them (it is conjugate to "+1", one cycle
through the whole domain), so no value is ever masked to itself, even in a dense id range; and
its restriction to a subset by cycle-walking (permuting again until the result is back in the
subset) is also one cycle, so it moves every value of the subset too.
"""

from __future__ import annotations

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tdm.masking.ff1 import narrow, wide
from tdm.masking.ff1.setup import Setup

MIN_DOMAIN = 1_000_000  # SP 800-38G Rev. 1: radix**minlen >= 1,000,000
CHUNK_ROWS = 1 << 14  # rows processed together: the working columns stay in the caches
_U64 = np.uint64


def min_length(radix: int) -> int:
    """The shortest numeral string FF1 may encrypt in this radix."""
    n = 2
    while radix**n < MIN_DOMAIN:
        n += 1
    return n


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
        self._narrow: dict[tuple[int, bytes], narrow.Narrow] = {}

    # -- numeral strings as digit arrays ----------------------------------------------------

    def encrypt(self, digits: np.ndarray, tweak: bytes) -> np.ndarray:
        return self._digits(digits, tweak, "encrypt")

    def decrypt(self, digits: np.ndarray, tweak: bytes) -> np.ndarray:
        return self._digits(digits, tweak, "decrypt")

    def derange(self, digits: np.ndarray, tweak: bytes) -> np.ndarray:
        """FF1^-1(FF1(x) + 1): a keyed permutation without fixed points."""
        return self._digits(digits, tweak, "derange")

    def encrypt_str(self, text: str, tweak: bytes, alphabet: str) -> str:
        return self._str(text, tweak, alphabet, "encrypt")

    def decrypt_str(self, text: str, tweak: bytes, alphabet: str) -> str:
        return self._str(text, tweak, alphabet, "decrypt")

    # -- numeral strings as the numbers they spell (NUM_radix), halves within 63 bits -------

    def encrypt_numbers(self, values: np.ndarray, n: int, tweak: bytes) -> np.ndarray:
        return self._numbers(values, n, tweak, "encrypt")

    def decrypt_numbers(self, values: np.ndarray, n: int, tweak: bytes) -> np.ndarray:
        return self._numbers(values, n, tweak, "decrypt")

    def derange_numbers(self, values: np.ndarray, n: int, tweak: bytes) -> np.ndarray:
        return self._numbers(values, n, tweak, "derange")

    # -- internals --------------------------------------------------------------------------

    def _str(self, text: str, tweak: bytes, alphabet: str, op: str) -> str:
        if len(alphabet) != self.radix or len(set(alphabet)) != self.radix:
            raise ValueError(f"alphabet must have {self.radix} distinct characters")
        index = {c: i for i, c in enumerate(alphabet)}
        try:
            row = np.array([[index[c] for c in text]], dtype=np.int64)
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the alphabet") from None
        out = self._digits(row, tweak, op)
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

    def _digits(self, digits: np.ndarray, tweak: bytes, op: str) -> np.ndarray:
        x = np.asarray(digits)
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
            raise ValueError("digits must be a 2-D integer array of shape (n_values, length)")
        rows, n = x.shape
        tweak = bytes(tweak)
        self._check(n, tweak)
        if rows and (int(x.min()) < 0 or int(x.max()) >= self.radix):
            raise ValueError(f"digits must lie in [0, {self.radix})")
        fits = np.iinfo(x.dtype).max >= self.radix - 1
        out = np.empty((rows, n), dtype=x.dtype if fits else np.dtype(np.int64))
        if narrow.fits(self.radix, n):
            for lo in range(0, rows, CHUNK_ROWS):
                cols = np.ascontiguousarray(x[lo : lo + CHUNK_ROWS].T, dtype=_U64)
                u = n // 2
                a, b = self._narrow_run(
                    _num(cols[:u], self.radix), _num(cols[u:], self.radix), n, tweak, op
                )
                back = np.empty((n, len(a)), dtype=out.dtype)
                r = _U64(self.radix)
                for value, first, last in ((a, 0, u), (b, u, n)):
                    for j in range(last - 1, first - 1, -1):  # least significant first
                        q = value // r
                        back[j] = value - q * r
                        value = q
                out[lo : lo + CHUNK_ROWS] = back.T
            return out
        s = Setup(self._key, self.radix, n, tweak)
        enc = self._aes.encryptor()
        for lo in range(0, rows, CHUNK_ROWS):
            cols = np.ascontiguousarray(x[lo : lo + CHUNK_ROWS].T, dtype=_U64)
            if op == "derange":
                cols = wide.rounds(s, enc, cols, decrypt=False)
                cols = _plus_one(cols, self.radix)
                cols = wide.rounds(s, enc, cols, decrypt=True)
            else:
                cols = wide.rounds(s, enc, cols, decrypt=op == "decrypt")
            out[lo : lo + CHUNK_ROWS] = cols.T
        return out

    def _numbers(self, values: np.ndarray, n: int, tweak: bytes, op: str) -> np.ndarray:
        tweak = bytes(tweak)
        self._check(n, tweak)
        if not narrow.fits(self.radix, n):
            raise ValueError(f"numbers of {n} radix-{self.radix} digits do not fit 2 x 63 bits")
        v = np.asarray(values, dtype=_U64)
        if len(v) and int(v.max()) >= self.radix**n:
            raise ValueError(f"numbers must lie in [0, {self.radix}**{n})")
        split = self.radix ** (n - n // 2)
        if split & (split - 1) == 0:  # radix 2, 4, ...: halves by shifts, not divisions
            shift = _U64(split.bit_length() - 1)
            a, b = self._halves(v >> shift, v & _U64(split - 1), n, tweak, op)
            a <<= shift
            a |= b
            return a
        a, b = self._halves(v // _U64(split), v % _U64(split), n, tweak, op)
        return a * _U64(split) + b

    def derange_halves(
        self, a: np.ndarray, b: np.ndarray, n: int, tweak: bytes
    ) -> tuple[np.ndarray, np.ndarray]:
        """derange on strings given as FF1's halves: NUM_radix of their first n // 2 digits and
        of the rest (lengths whose halves fit 62 bits: narrow.fits)."""
        tweak = bytes(tweak)
        self._check(n, tweak)
        if not narrow.fits(self.radix, n):
            raise ValueError(f"halves of {n} radix-{self.radix} digits do not fit 62 bits")
        return self._halves(a, b, n, tweak, "derange")

    def _halves(self, a: np.ndarray, b: np.ndarray, n: int, tweak: bytes, op: str) -> tuple:
        out_a, out_b = np.empty(len(a), dtype=_U64), np.empty(len(b), dtype=_U64)
        for lo in range(0, len(a), CHUNK_ROWS):
            span = slice(lo, lo + CHUNK_ROWS)
            out_a[span], out_b[span] = self._narrow_run(a[span], b[span], n, tweak, op)
        return out_a, out_b

    def _narrow_run(self, a: np.ndarray, b: np.ndarray, n: int, tweak: bytes, op: str) -> tuple:
        rounds = self._narrow.get((n, tweak))
        if rounds is None:
            rounds = narrow.Narrow(Setup(self._key, self.radix, n, tweak))
            if len(self._narrow) > 256:  # one per (length, tweak): bounded all the same
                self._narrow.clear()
            self._narrow[n, tweak] = rounds
        enc = self._aes.encryptor()  # ECB over whole blocks keeps no state between calls
        if op == "decrypt":
            return rounds.decrypt(enc, a, b)
        a, b = rounds.encrypt(enc, a, b)
        if op == "encrypt":
            return a, b
        rounds.plus_one(a, b)
        return rounds.decrypt(enc, a, b)


def _num(cols: np.ndarray, radix: int) -> np.ndarray:
    """NUM_radix of (length, rows) digit columns, most significant first (Horner)."""
    value = cols[0].copy()
    for j in range(1, len(cols)):
        value *= _U64(radix)
        value += cols[j]
    return value


def _plus_one(cols: np.ndarray, radix: int) -> np.ndarray:
    """(n, rows) digit columns, most significant first, plus one mod radix**n."""
    out = cols.copy()
    carry = np.ones(cols.shape[1], dtype=bool)
    for j in range(cols.shape[0] - 1, -1, -1):
        if not carry.any():
            break
        out[j] += carry.astype(_U64)
        carry = out[j] == _U64(radix)
        out[j][carry] = 0
    return out
