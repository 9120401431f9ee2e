"""packing.scan and packing.unpack (the bytes a row permutes, read as FF1's halves and written
back), and the email strategy's pseudonymizers kept between chunks and calls."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tdm.core.types import parse_type
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import STRATEGIES, packing
from tdm.masking.strategies.alphabets import TABLES
from tdm.masking.strategies.base import MaskBatch, MaskColumn
from tdm.masking.strategies.fpe import _Parts

KEY = MaskingKey(b"unit-test-masking-key-0123456789")


def _scanned(values: list[str], head: int, tail: int) -> tuple:
    data = np.frombuffer("".join(values).encode(), dtype=np.uint8).copy()
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(v.encode()) for v in values])
    n = len(values)
    rows = np.arange(n, dtype=np.int64)
    k, signature, first, at = (np.empty(n, dtype=np.int64) for _ in range(4))
    a, b = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint64)
    longest = int(np.diff(offsets).max()) + 1
    room = np.empty(longest, dtype=np.int64), np.empty(longest, dtype=np.uint8)
    parts = _Parts.of(TABLES["alnum"])
    heads, tails = np.full(n, head, dtype=np.int64), np.full(n, tail, dtype=np.int64)
    packing.scan(
        data, offsets, rows, heads, tails, parts.scan, (k, signature, first, a, b, at, *room)
    )
    return data, (k, signature, at), (a, b), parts


def test_scan_reads_the_permuted_characters_as_halves_and_unpack_writes_them_back() -> None:
    values = ["ab.cd-ef12@x.io", "Zz9.y8x7w6v5@example.org", "..q1w2e3r4t5y6..", "abc"]
    data, scanned, (a, b), parts = _scanned(values, 1, 2)
    k, signature, at = scanned
    # "ab.cd-ef12@x.io": a kept ahead, i o behind; b c d e | f 1 2 x permuted, in radix 36
    # (letters and digits: signature 0b011), starting at byte 1
    assert (k[0], signature[0], at[0]) == (8, 0b011, 1)
    assert (int(a[0]), int(b[0])) == (int("bcde", 36), int("f12x", 36))
    assert k[3] == 0  # "abc": nothing left between the head and the tail
    before = data.copy()
    todo = np.flatnonzero(k > 0)
    room = np.empty(64, dtype=np.uint8), np.empty(len(todo), dtype=np.int64)
    count = packing.unpack(data, scanned, todo, (a, b), parts.unpack, room)
    assert count == 0  # the same halves: the same classes, nothing to walk again
    np.testing.assert_array_equal(data, before)  # and the same bytes written back
    a[0], a[2], b[2] = 0, 0, 0  # zeros: digits only, in rows of letters and digits
    count = packing.unpack(data, scanned, todo, (a, b), parts.unpack, room)
    text = bytes(data).decode()
    assert text.startswith("a0.00-0f12@x.io")  # A's four characters, separators in place
    assert "..q000000000y6.." in text
    assert list(room[1][:count]) == [2]  # only digits now: row 2 is walked again


def test_email_format_kept_pseudonymizers_give_the_same_masks_per_chunk_and_per_call() -> None:
    cls = STRATEGIES["email"]
    column = MaskColumn("t", "c", parse_type("string"))
    values = [f"person.{i}.name{i * 7919 % 100003}@host{i % 13}.example.org" for i in range(3000)]
    values += ["jo@web.de", "ab.cd@x.io", "someone.else@gmail.com", None]
    one = cls(cls.Params.model_validate({"style": "format"}), column, KEY)
    whole = one.apply(pa.array(values, pa.string()), MaskBatch({}, 0)).to_pylist()
    halves = [
        one.apply(pa.array(part, pa.string()), MaskBatch({}, 0)).to_pylist()
        for part in (values[:1234], values[1234:])
    ]
    fresh = cls(cls.Params.model_validate({"style": "format"}), column, KEY)
    again = fresh.apply(pa.array(values[::-1], pa.string()), MaskBatch({}, 0)).to_pylist()
    assert whole == halves[0] + halves[1] == again[::-1]
    assert len(set(whole[:-1])) == len(values) - 1 and whole[-1] is None
    assert all(m != v for m, v in zip(whole[:-1], values[:-1], strict=True))
