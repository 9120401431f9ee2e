"""FF1 (NIST SP 800-38G Rev. 1): NIST's sample vectors, round trips, batching, domain rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tdm.masking.ff1 import FF1

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
K128 = "2B7E151628AED2A6ABF7158809CF4F3C"
K192 = K128 + "EF4359D8D580AA4F"
K256 = K192 + "7F036D6F04FC6A94"
T10 = "39383736353433323130"
T36 = "3737373770717273373737"

# NIST FF1samples.pdf, samples 1-9, as copied from capitalone/fpe, ff1/ff1_test.go
# (commit 9109bc0b0ad1ce3d19b52b4b8f87dbb0b2dff2f3, "Official NIST FF1 Test Vectors").
# (key hex, radix, tweak hex, plaintext, ciphertext)
NIST_SAMPLES = [
    (K128, 10, "", "0123456789", "2433477484"),
    (K128, 10, T10, "0123456789", "6124200773"),
    (K128, 36, T36, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
    (K192, 10, "", "0123456789", "2830668132"),
    (K192, 10, T10, "0123456789", "2496655549"),
    (K192, 36, T36, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"),
    (K256, 10, "", "0123456789", "6657667009"),
    (K256, 10, T10, "0123456789", "1001623463"),
    (K256, 36, T36, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"),
]
KEY = bytes.fromhex(K256)


def _digits(rng: np.random.Generator, radix: int, rows: int, length: int) -> np.ndarray:
    return rng.integers(0, radix, size=(rows, length), dtype=np.int64)


@pytest.mark.parametrize(("key", "radix", "tweak", "plain", "cipher"), NIST_SAMPLES)
def test_nist_samples(key: str, radix: int, tweak: str, plain: str, cipher: str) -> None:
    ff1 = FF1(bytes.fromhex(key), radix)
    t = bytes.fromhex(tweak)
    assert ff1.encrypt_str(plain, t, ALPHABET[:radix]) == cipher
    assert ff1.decrypt_str(cipher, t, ALPHABET[:radix]) == plain
    row = np.array([[ALPHABET.index(c) for c in plain]])
    expected = np.array([[ALPHABET.index(c) for c in cipher]])
    np.testing.assert_array_equal(ff1.encrypt(row, t), expected)
    np.testing.assert_array_equal(ff1.decrypt(expected, t), row)


@pytest.mark.parametrize("radix", [10, 16, 26, 36, 62])
@pytest.mark.parametrize("length", [6, 7, 13, 20, 33, 40])
def test_round_trip(radix: int, length: int) -> None:
    rng = np.random.default_rng(radix * 100 + length)
    x = _digits(rng, radix, 200, length)
    ff1 = FF1(KEY, radix)
    y = ff1.encrypt(x, b"tweak")
    assert y.shape == x.shape
    assert y.min() >= 0 and y.max() < radix
    assert (y != x).any(axis=1).mean() > 0.99
    np.testing.assert_array_equal(ff1.decrypt(y, b"tweak"), x)


def _reference_encrypt(key: bytes, radix: int, tweak: bytes, x: list[int]) -> list[int]:
    """Algorithm 7 transcribed line by line with Python integers, one value at a time."""
    n, t = len(x), len(tweak)
    u = n // 2
    v = n - u
    a, b_ = x[:u], x[u:]
    b = math.ceil(math.ceil(v * math.log2(radix)) / 8)
    d = 4 * math.ceil(b / 4) + 4
    p = bytes([1, 2, 1]) + radix.to_bytes(3, "big") + bytes([10, u % 256])
    p += n.to_bytes(4, "big") + t.to_bytes(4, "big")

    def num(digits: list[int]) -> int:
        return sum(q * radix**e for e, q in enumerate(reversed(digits)))

    def aes(block: bytes) -> bytes:
        return Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(block)

    for i in range(10):
        q = tweak + bytes((-t - b - 1) % 16) + bytes([i]) + num(b_).to_bytes(b, "big")
        r = bytes(16)
        for at in range(0, len(p + q), 16):
            r = aes(bytes(s ^ z for s, z in zip(r, (p + q)[at : at + 16], strict=True)))
        s = r
        for j in range(1, math.ceil(d / 16)):
            s += aes(bytes(s ^ z for s, z in zip(r, j.to_bytes(16, "big"), strict=True)))
        y = int.from_bytes(s[:d], "big")
        m = u if i % 2 == 0 else v
        c = (num(a) + y) % radix**m
        a, b_ = b_, [c // radix**e % radix for e in reversed(range(m))]
    return a + b_


@pytest.mark.parametrize(
    ("radix", "length", "tweak"),
    [
        # halves within 62 bits: the uint64 rounds, with an 8- or a 12-byte y
        *((r, n, b"masking/domain") for r, n in [(10, 18), (36, 19), (36, 22), (62, 20)]),
        *((r, n, b"masking/domain") for r, n in [(16, 30), (26, 9), (26, 26), (2, 40)]),
        # the limb rounds with NUM_radix(B) in one block and S = R (b < 16, d <= 16), for the
        # radixes spelled out as constants and one that is not
        *((r, n, b"masking/domain") for r, n in [(36, 23), (36, 30), (26, 27), (26, 33)]),
        *((r, n, b"masking/domain") for r, n in [(10, 37), (10, 58), (62, 21), (62, 30)]),
        (16, 40, b"masking/domain"),
        # longer: the limb rounds (d > 16, NUM_radix(B) beyond 64 bits), a tweak over 2 blocks
        *((r, n, b"a longer tweak, spanning blocks") for r, n in [(10, 64), (36, 50), (62, 64)]),
        (16, 45, b"a longer tweak, spanning blocks"),
    ],
)
def test_vectorised_rounds_match_scalar_reference(radix: int, length: int, tweak: bytes) -> None:
    rng = np.random.default_rng(radix * 1000 + length)
    x = _digits(rng, radix, 4, length)
    got = FF1(KEY, radix).encrypt(x, tweak)
    for row, out in zip(x, got, strict=True):
        assert out.tolist() == _reference_encrypt(KEY, radix, tweak, row.tolist())
    np.testing.assert_array_equal(FF1(KEY, radix).decrypt(got, tweak), x)


def test_batch_equals_rows_alone() -> None:
    rng = np.random.default_rng(7)
    x = _digits(rng, 36, 50, 20)
    ff1 = FF1(KEY, 36)
    batch = ff1.encrypt(x, b"t")
    for row, out in zip(x, batch, strict=True):
        np.testing.assert_array_equal(ff1.encrypt(row[None, :], b"t")[0], out)


def test_tweak_and_key_change_output() -> None:
    rng = np.random.default_rng(8)
    x = _digits(rng, 10, 100, 16)
    base = FF1(KEY, 10).encrypt(x, b"one")
    other_tweak = FF1(KEY, 10).encrypt(x, b"two")
    other_key = FF1(bytes.fromhex(K128), 10).encrypt(x, b"one")
    assert (base != other_tweak).any(axis=1).all()
    assert (base != other_key).any(axis=1).all()


def test_small_domain_rejected() -> None:
    ff1 = FF1(KEY, 10)
    with pytest.raises(ValueError, match=r"radix\*\*length >= 1,000,000") as err:
        ff1.encrypt(np.zeros((1, 5), dtype=np.int64), b"")
    assert "100000" in str(err.value)
    ff1.encrypt(np.zeros((1, 6), dtype=np.int64), b"")  # 10**6 is allowed
    with pytest.raises(ValueError, match="1,000,000"):
        FF1(KEY, 36).encrypt_str("abc", b"", ALPHABET[:36])


def test_bad_arguments_rejected() -> None:
    with pytest.raises(ValueError, match="key"):
        FF1(b"short", 10)
    with pytest.raises(ValueError, match="radix"):
        FF1(KEY, 1)
    with pytest.raises(ValueError, match="radix"):
        FF1(KEY, 2**16 + 1)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        FF1(KEY, 10).encrypt(np.full((1, 8), 10), b"")
    with pytest.raises(ValueError, match="2-D"):
        FF1(KEY, 10).encrypt(np.zeros(8, dtype=np.int64), b"")


def test_numbers_are_the_digit_strings_they_spell() -> None:
    rng = np.random.default_rng(3)
    x = _digits(rng, 10, 500, 17)
    numbers = (x * 10 ** np.arange(16, -1, -1, dtype=np.int64)).sum(axis=1).astype(np.uint64)
    ff1 = FF1(KEY, 10)
    for op, num_op in ((ff1.encrypt, ff1.encrypt_numbers), (ff1.derange, ff1.derange_numbers)):
        out = op(x, b"t")
        spelled = (out * 10 ** np.arange(16, -1, -1, dtype=np.int64)).sum(axis=1)
        np.testing.assert_array_equal(num_op(numbers, 17, b"t"), spelled.astype(np.uint64))
    np.testing.assert_array_equal(
        ff1.decrypt_numbers(ff1.encrypt_numbers(numbers, 17, b"t"), 17, b"t"), numbers
    )


def test_derange_is_one_cycle_through_the_whole_domain() -> None:
    """FF1^-1(FF1(x) + 1) is conjugate to +1: a single cycle, so no value maps to itself, and
    cycle-walking it onto any subset of two or more values moves every one of them."""
    ff1 = FF1(KEY, 2)
    domain = np.arange(2**20, dtype=np.uint64)
    image = ff1.derange_numbers(domain, 20, b"cycle")
    assert len(np.unique(image)) == 2**20 and not (image == domain).any()
    x, steps = 0, 0
    while True:  # follow the cycle from 0: it must visit every value before coming back
        x = int(image[x])
        steps += 1
        if x == 0:
            break
    assert steps == 2**20
    digits = ((domain[:4096, None] >> np.arange(19, -1, -1, dtype=np.uint64)) & 1).astype(np.int64)
    spelled = ff1.derange(digits, b"cycle")
    np.testing.assert_array_equal(spelled @ (2 ** np.arange(19, -1, -1)), image[:4096])
    wide = FF1(KEY, 10).derange(_digits(np.random.default_rng(1), 10, 300, 80), b"w")
    assert wide.shape == (300, 80)  # the limb rounds derange too


def test_derange_leaves_no_value_in_a_dense_range_unmoved() -> None:
    ff1 = FF1(KEY, 10)
    ids = np.arange(10**6, dtype=np.uint64)
    out = ff1.derange_numbers(ids, 6, b"customers")
    assert len(np.unique(out)) == 10**6 and not (out == ids).any()
    plain = ff1.encrypt_numbers(ids, 6, b"customers")
    assert len(np.unique(plain)) == 10**6  # FF1 itself: a permutation, fixed points allowed


def test_division_free_modulo_is_exact_at_the_edges() -> None:
    """kernels._mod (x mod m by a float64 quotient and corrections) against Python's %, for the
    moduli FF1 can meet (radix**m from 100 to just under 2**62) and the x where a float
    quotient goes wrong first: multiples of m and their neighbours, and the largest x."""
    from numba import njit

    from tdm.masking.ff1.kernels import _mod

    @njit
    def mods(xs, m, inv):
        return np.array([_mod(x, m, inv) for x in xs], dtype=np.uint64)

    rng = np.random.default_rng(5)
    for m in [100, 1000, 36**3, 10**6, 2**32 - 5, 36**10, 2**53 - 1, 2**53 + 1, 62**10, 2**62 - 1]:
        xs = [0, 1, m - 1, m, m + 1, 2**64 - 1, 2**64 - m, 2**63, 2**63 - 1]
        for q in rng.integers(1, 2**64 // m, 200, dtype=np.uint64).tolist():
            xs += [q * m - 1, q * m, q * m + 1, q * m + m - 1]
        xs += rng.integers(0, 2**64 - 1, 500, dtype=np.uint64, endpoint=True).tolist()
        xs = [x for x in xs if 0 <= x < 2**64]
        got = mods(np.array(xs, dtype=np.uint64), np.uint64(m), 1.0 / m)
        assert got.tolist() == [x % m for x in xs], m
