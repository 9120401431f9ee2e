"""Word-at-a-time byte helpers of the email kernels (tdm.masking.strategies.words) against plain
Python on random slices, right up to the ends of unpadded arrays."""

from __future__ import annotations

import numpy as np
from numba import njit

from tdm.masking.strategies import words


@njit
def _last(data, start, stop, byte):
    return words.last_byte(data, start, stop, byte)


@njit
def _same(a, a0, a1, b, b0, b1):
    return words.same(a, a0, a1, b, b0, b1)


@njit
def _hash(data, start, stop):
    return words.hash_bytes(data, start, stop)


@njit
def _copy(out, o, src, start, stop):
    return words.copy(out, o, src, start, stop)


def _slices(rng, n: int, count: int):
    for _ in range(count):
        start = int(rng.integers(0, n + 1))
        yield start, int(rng.integers(start, n + 1))


def test_last_byte_finds_the_last_occurrence_or_none():
    rng = np.random.default_rng(1)
    for _ in range(300):
        data = rng.choice(np.frombuffer(b"ab@.", np.uint8), int(rng.integers(0, 40)))
        raw = data.tobytes()
        for start, stop in _slices(rng, len(data), 10):
            assert _last(data, start, stop, ord("@")) == raw.rfind(b"@", start, stop)


def test_same_and_hash_agree_with_the_bytes_wherever_they_lie():
    rng = np.random.default_rng(2)
    for _ in range(300):
        a = rng.choice(np.frombuffer(b"xy@", np.uint8), int(rng.integers(0, 30)))
        b = rng.choice(np.frombuffer(b"xy@", np.uint8), int(rng.integers(0, 30)))
        for (a0, a1), (b0, b1) in zip(
            _slices(rng, len(a), 10), _slices(rng, len(b), 10), strict=True
        ):
            equal = a[a0:a1].tobytes() == b[b0:b1].tobytes()
            assert _same(a, a0, a1, b, b0, b1) == equal
            if equal:
                assert _hash(a, a0, a1) == _hash(b, b0, b1)
    # a slice ending at its array's end hashes as the same bytes with room after them
    text = np.frombuffer(b"someone@example.org", np.uint8)
    assert _hash(text, 7, len(text)) == _hash(
        np.frombuffer(b"@example.org!!!!!!!!", np.uint8), 0, 12
    )
    assert _hash(text, 0, 0) != _hash(text, 7, 8)  # '' and '@'


def test_copy_writes_exactly_the_slice_and_stays_inside_the_arrays():
    rng = np.random.default_rng(3)
    src = np.frombuffer(bytes(range(65, 65 + 37)), np.uint8)
    for start, stop in _slices(rng, len(src), 500):
        size = stop - start
        for room in (0, 3, 8, 20):  # bytes after the copy: words where there are 8
            out = np.full(5 + size + room, 0, np.uint8)
            assert _copy(out, 5, src, start, stop) == 5 + size
            assert out[5 : 5 + size].tobytes() == src[start:stop].tobytes()
            assert not out[:5].any()
