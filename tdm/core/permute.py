"""Keyed bijections over integer domains, vectorised with numpy.

`permute(x, domain, keys)` maps [0, domain) onto itself one-to-one: a balanced Feistel network over
the smallest even bit width that holds the domain, with cycle walking for values that land outside
it. Unique-by-construction columns use it to turn row indices into distinct values of any size of
value space. `mix64` is the splitmix64 finaliser, itself a bijection of uint64.
"""

from __future__ import annotations

import numpy as np

ROUNDS = 6
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def mix64(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.uint64, copy=True)
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def _feistel(x: np.ndarray, half_bits: int, keys: np.ndarray) -> np.ndarray:
    shift, mask = np.uint64(half_bits), np.uint64((1 << half_bits) - 1)
    left, right = x >> shift, x & mask
    for k in keys:
        left, right = right, left ^ (mix64(right ^ k) & mask)
    return (left << shift) | right


def permute(x: np.ndarray, domain: int, keys: np.ndarray) -> np.ndarray:
    """Image of x (values in [0, domain)) under the keyed permutation of [0, domain)."""
    if domain < 1 or domain > 2**62:
        raise ValueError(f"permutation domain must be in [1, 2**62], got {domain}")
    if domain == 1:
        return np.zeros(len(x), dtype=np.uint64)
    half = max(1, ((domain - 1).bit_length() + 1) // 2)
    out = _feistel(np.asarray(x, dtype=np.uint64), half, keys)
    limit = np.uint64(domain)
    outside = np.flatnonzero(out >= limit)
    while outside.size:  # cycle walking: at most a few rounds since 2**(2*half) < 4 * domain
        out[outside] = _feistel(out[outside], half, keys)
        outside = outside[out[outside] >= limit]
    return out


def round_keys(seed_keys: np.ndarray) -> np.ndarray:
    """ROUNDS round keys from one or more 64-bit keys."""
    base = np.resize(np.asarray(seed_keys, dtype=np.uint64), ROUNDS)
    return mix64(base ^ np.arange(1, ROUNDS + 1, dtype=np.uint64))
