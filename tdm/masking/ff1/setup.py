"""The constants of FF1 (NIST SP 800-38G Rev. 1, Algorithm 7 steps 1-5) for one key, radix,
length and tweak, and the part of each round's PRF that does not depend on the row."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROUNDS = 10


@dataclass(frozen=True)
class Setup:
    key: bytes = field(repr=False)
    radix: int
    n: int
    tweak: bytes

    @property
    def u(self) -> int:
        return self.n // 2

    @property
    def v(self) -> int:
        return self.n - self.u

    @property
    def b(self) -> int:
        """ceil(ceil(v * log2(radix)) / 8), computed exactly."""
        return ((self.radix**self.v - 1).bit_length() + 7) // 8

    @property
    def d(self) -> int:
        return 4 * ((self.b + 3) // 4) + 4

    @property
    def k(self) -> int:
        """Radix digits per 32-bit limb: the largest k with radix**k <= 2**32."""
        k = 1
        while self.radix ** (k + 1) <= 2**32:
            k += 1
        return k

    @property
    def p(self) -> bytes:
        return (
            bytes([1, 2, 1])
            + self.radix.to_bytes(3, "big")
            + bytes([10, self.u % 256])
            + self.n.to_bytes(4, "big")
            + len(self.tweak).to_bytes(4, "big")
        )

    def state(self, i: int, tail_blocks: int) -> tuple[bytes, bytes]:
        """For round i: the CBC-MAC state after P and all of Q but its last `tail_blocks` blocks,
        and the constant bytes those blocks start with (before [NUM_radix(B)]^b)."""
        return _state(self, i, tail_blocks)


@lru_cache(maxsize=4096)  # Setups are equal by value: computed once per round, not per call
def _state(self: Setup, i: int, tail_blocks: int) -> tuple[bytes, bytes]:
    b = self.b
    head = self.tweak + bytes((-len(self.tweak) - b - 1) % 16) + bytes([i])
    cut = len(head) + b - 16 * tail_blocks
    return cbc_mac(self.key, self.p + head[:cut]), head[cut:]


def cbc_mac(key: bytes, data: bytes) -> bytes:
    """AES-CBC-MAC with a zero IV of whole blocks (the state after them); zero bytes -> IV."""
    if not data:
        return bytes(16)
    return Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor().update(data)[-16:]
