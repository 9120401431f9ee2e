"""The format-preserving permutation itself (tdm.masking.strategies.fpe on FF1): the vectorised
strings against a per-row transcription of their definition (parts, cycle-walking, the band of
short values), fixed known answers, case folding, keys, and short values widened or refused."""

from __future__ import annotations

import itertools
import string

import numpy as np
import pyarrow as pa
import pytest

from tdm.core.errors import TdmError
from tdm.masking.strategies import fpe
from tdm.masking.strategies.alphabets import ALPHABETS, TABLES, part_size
from tdm.masking.strategies.base import MaskBatch
from tdm.masking.strategies.fpe import Pseudonymizer
from tests.unit.masking.test_strategies import KEY, OTHER, make, run


def reference_strings(p: Pseudonymizer, values: list, alphabet: str, head, tail) -> list:
    """The permutation one row at a time, straight from its definition: the alphabet characters
    between head and tail, as digits of the part (the classes they use), through FF1's derange
    until the result uses the same classes."""
    classes, folded, _ = ALPHABETS[alphabet]
    out = []
    for s, h, t in zip(values, head, tail, strict=True):
        if s is None:
            out.append(None)
            continue
        if folded:
            s = s.lower()
        chars = list(s)
        pos = [i for i, c in enumerate(chars) if any(c in k for k in classes)]
        h = min(h, len(pos))
        pos = pos[h : len(pos) - min(t, len(pos) - h)]
        if not pos:
            out.append(s)
            continue
        if len(pos) == len(chars) and h == t == 0:  # only alphabet characters: short ones widen
            widened = _reference_band(p, s, classes, alphabet)
            if widened is not None:
                out.append(widened)
                continue
        used = [k for k in classes if any(chars[i] in k for i in pos)]
        part = "".join(used)
        if part_size([len(k) for k in used], len(pos)) < 10**6:  # refused: no pseudonym
            raise fpe.ShortValues(1, "short")
        row = np.array([[part.index(chars[i]) for i in pos]])
        while True:
            row = p.ff1(len(part)).derange(row, p.tweak)
            if [k for k in classes if any(part[d] in k for d in row[0])] == used:
                break
        for i, d in zip(pos, row[0], strict=True):
            chars[i] = part[d]
        out.append("".join(chars))
    return out


def _reference_band(p: Pseudonymizer, s: str, classes: tuple, alphabet: str) -> str | None:
    """A short value of its part's characters only: ranked among the part's strings of 1..band
    characters, FF1-deranged in radix 2, walked until it is a string of the part again, unranked.
    None when the value is not in its part's band."""
    used = [k for k in classes if any(c in k for c in s)]
    sig = sum(1 << i for i, k in enumerate(classes) if k in used)
    band = TABLES[alphabet].part(sig).band
    if len(s) > band:
        return None
    chars = "".join(used)
    radix = len(chars)
    before = [sum(radix**i for i in range(1, n)) for n in range(band + 2)]
    rank = before[len(s)] + sum(chars.index(c) * radix**e for e, c in enumerate(reversed(s)))
    bits = max(20, (before[band + 1] - 1).bit_length())
    tweak = p.tweak + b"/band%d" % sig
    while True:
        rank = int(p.ff1(2).derange_numbers(np.array([rank], np.uint64), bits, tweak)[0])
        if rank >= before[band + 1]:
            continue
        length = max(n for n in range(1, band + 1) if before[n] <= rank)
        number = rank - before[length]
        out = "".join(chars[number // radix**e % radix] for e in reversed(range(length)))
        if [k for k in classes if any(c in k for c in out)] == used:
            return out


def _long_enough(value: str | None, head: int, tail: int, alphabet: str) -> bool:
    try:
        reference_strings(Pseudonymizer(KEY, "probe"), [value], alphabet, [head], [tail])
    except fpe.ShortValues:
        return False
    return True


def test_vectorised_strings_match_the_per_row_definition(monkeypatch):
    rng = np.random.default_rng(9)
    chars = list("abcXYZ0123456789-.@ üfF+")
    values = [
        None if rng.random() < 0.05 else "".join(rng.choice(chars, rng.integers(0, 45)))
        for _ in range(900)
    ]
    head, tail = rng.integers(0, 4, 900), rng.integers(0, 3, 900)
    p = Pseudonymizer(KEY, "test")
    monkeypatch.setattr(fpe, "CHUNK_ROWS", 128)  # several chunks, none aligned with anything
    for alphabet in ALPHABETS:
        ok = [_long_enough(*row, alphabet) for row in zip(values, head, tail, strict=True)]
        rows = [r for r, good in zip(zip(values, head, tail, strict=True), ok, strict=True) if good]
        assert len(rows) > 300, alphabet
        v, h, t = (list(x) for x in zip(*rows, strict=True))
        got = p.strings(pa.array(v, pa.string()), alphabet, h, t).to_pylist()
        assert got == reference_strings(p, v, alphabet, h, t), alphabet
        with pytest.raises(fpe.ShortValues):  # one short value among them refuses the batch
            p.strings(pa.array([*v, "a-A1"], pa.string()), alphabet, [*h, 0], [*t, 0])
    ok = [_long_enough(v, 0, 0, "alnum") for v in values]
    kept = [v for v, good in zip(values, ok, strict=True) if good]
    sliced = pa.array(kept, pa.string()).slice(17, 300)
    assert p.strings(sliced).to_pylist() == reference_strings(
        p, kept[17:317], "alnum", [0] * 300, [0] * 300
    )


def test_known_answers_stay_fixed():
    """Masked outputs are part of every stored version: any change here changes them all."""
    p = Pseudonymizer(KEY, "known")
    assert p.strings(pa.array(["john.doe42", "ORD-000123", "ü@x42a"])).to_pylist() == KNOWN_STRINGS
    assert p.integers(np.array([0, 7, -42, 123456789, 10**18])).tolist() == KNOWN_INTS


KNOWN_STRINGS = ["r7lh.ze7rg", "Y7D-IL18F7", "ü@bk8j"]
KNOWN_INTS = [163717, 580554, -488762, 865299770, 3600578038498426598]


def test_hex_is_case_insensitive_so_it_cannot_collide():
    p = Pseudonymizer(KEY, "test")
    out = p.strings(pa.array(["0b123", "0B123", "ab12f", "AB12F"]), "hex").to_pylist()
    assert out[0] == out[1] and out[2] == out[3]  # the same value, written two ways
    inputs = [f"{i:05x}" for i in range(0, 16**5, 7)]
    assert len(set(p.strings(pa.array(inputs), "hex").to_pylist())) == len(inputs)


def test_two_keys_almost_never_agree_on_small_ids():
    """Small ids used to keep their digit count: a 1- or 2-digit id had 10 or 100 images, so two
    keys agreed on about 1 in 50 of 7,000 ids. Permuted within [0, 10**6), they agree on ~0.007."""
    ids = pa.array(np.arange(1, 7001))
    a = make("pseudonymize", "int").apply(ids, MaskBatch()).to_numpy()
    b = make("pseudonymize", "int", key=OTHER).apply(ids, MaskBatch()).to_numpy()
    assert (a != b).all() and len(np.unique(a)) == 7000 and not (a == ids.to_numpy()).any()


def test_short_values_of_only_alphabet_characters_are_widened_collision_free():
    """Every string of 1-2 letters and digits, and 5-digit codes: each maps to another short
    string of the classes it uses (up to 4-6 characters, by part), all distinct, none to itself,
    the same in any table; with a separator or a kept character it is refused instead."""
    alnum = string.digits + string.ascii_letters
    short = ["".join(x) for n in (1, 2) for x in itertools.product(alnum, repeat=n)]
    out = run(make("pseudonymize"), short)
    assert len(set(out)) == len(short) and not any(a == b for a, b in zip(short, out, strict=True))
    assert {len(v) for v in out} <= {1, 2, 3, 4, 5, 6} and all(v.isalnum() for v in out)

    def classes(v: str) -> list[bool]:
        return [any(c in k for c in v) for k in (string.digits, string.ascii_lowercase)]

    assert all(classes(a) == classes(b) for a, b in zip(short, out, strict=True))
    assert run(make("pseudonymize", table="orders", column="user"), short[:50]) == out[:50]
    codes = [f"{i:05d}" for i in range(0, 100_000, 3)]
    masked = run(make("national_id"), codes)
    assert len(set(masked)) == len(codes) and all(v.isdigit() and len(v) <= 6 for v in masked)
    staff = run(make("pseudonymize"), ["Mike", "Jon", "Jon", None])
    assert staff[1] == staff[2] != staff[0] and staff[3] is None
    with pytest.raises(TdmError, match=r"1 value\(s\).*separators"):
        run(make("pseudonymize"), ["J.D", "Jonathan"])
