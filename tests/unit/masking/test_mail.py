"""The email strategy's realistic style: name-shaped local parts to other names, providers to
look-alikes, collision-free and consistent over columns that mix every kind of address (the
format style and the permutation underneath: test_strategies.py, test_fpe.py)."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tdm.core.types import parse_type
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import STRATEGIES
from tdm.masking.strategies.base import MaskBatch, MaskColumn
from tdm.masking.strategies.believable import MAX_DIGITS, pools
from tdm.masking.strategies.fpe import Pseudonymizer
from tdm.masking.strategies.mail import PROVIDERS

KEY = MaskingKey(b"unit-test-masking-key-0123456789")
FIRST, LAST = (set(p.to_pylist()) for p in pools())
SHAPE = re.compile(r"([a-z]+)([._-])([a-z]+)([0-9]*)")


def make(**params):
    cls = STRATEGIES["email"]
    return cls(cls.Params.model_validate(params), MaskColumn("t", "c", parse_type("string")), KEY)


def mask(strategy, values: list) -> list:
    return strategy.apply(pa.array(values, pa.string()), MaskBatch({}, 0)).to_pylist()


def named(local: str) -> bool:
    m = SHAPE.fullmatch(local)
    return bool(m) and m[1] in FIRST and m[3] in LAST and len(m[4]) <= MAX_DIGITS


def column(n: int, seed: int = 1) -> list[str]:
    """Name-shaped addresses sharing names and numbers, at providers and elsewhere, beside
    addresses of other shapes, short ones and odd ones."""
    rng = np.random.default_rng(seed)
    first, last = sorted(FIRST)[:40], sorted(LAST)[:40]
    domains = ["gmail.com", "web.de", "yahoo.co.uk", "acme-corp.com", "x.io", "example.org"]
    out = []
    for i in range(n):
        f, la, d = first[i % 40], last[(i // 40) % 40], domains[rng.integers(len(domains))]
        shape = rng.integers(6)
        digits = "" if shape == 0 else str(rng.integers(0, 10 ** rng.integers(1, 5)))
        if shape < 3:
            out.append(f"{f}{'._-'[shape]}{la}{digits}@{d}")
        elif shape == 3:
            out.append(f"{f[0]}{la}{digits}@{d}")  # not name-shaped: no separator
        elif shape == 4:
            out.append(f"{f}.{la}.{digits or 'x'}@{d}")  # not name-shaped: two separators
        else:
            out.append(f"{f[:2]}{digits}@{d}")
    return list(dict.fromkeys(out))


def test_pools_are_ascii_names_and_large_enough():
    assert all(re.fullmatch("[a-z]{2,}", v) for v in FIRST | LAST)
    assert len(FIRST) * len(LAST) >= 10**7  # every (separator, digits) class >= 10**6


def test_providers_map_one_to_one_under_example_com():
    looks = list(PROVIDERS.values())
    assert len(set(looks)) == len(looks)
    out = mask(make(), [f"anna.smith@{d}" for d in PROVIDERS])
    domains = [v.split("@")[1] for v in out]
    assert len(set(domains)) == len(PROVIDERS)
    assert all(d.endswith(".example.com") for d in domains)


def test_name_shaped_addresses_become_other_names():
    values = [v for v in column(3000) if named(v.split("@")[0])]
    out = mask(make(), values)
    assert len(values) > 1000
    for src, got in zip(values, out, strict=True):
        local, domain = src.split("@")
        m_src, m_got = SHAPE.fullmatch(local), SHAPE.fullmatch(got.split("@")[0])
        if domain in PROVIDERS or len(re.sub("[^a-z0-9]", "", domain)) >= 6:
            assert named(got.split("@")[0]), (src, got)
            assert m_got[2] == m_src[2] and len(m_got[4]) == len(m_src[4]), (src, got)
            assert got != src.lower()
        if domain in PROVIDERS:
            assert got.endswith(f"@{PROVIDERS[domain]}.example.com")
        elif len(re.sub("[^a-z0-9]", "", domain)) >= 6:
            assert got.endswith(".example.net")
        else:  # a short domain: pseudonymised with the address, as any other
            assert got.endswith(".example") and "." + domain not in got


def test_masked_names_follow_their_definition():
    """(first, last, number) as one number, FF1's fixed-point-free map in radix 2 per
    (separator, digit count), walked back under F * L * 10**digits, read back as names."""
    firsts, lasts = (p.to_pylist() for p in pools())
    s = make()
    fpe = Pseudonymizer(KEY, s.domain() + "/names")
    values = [v for v in column(1500, seed=4) if named(v.split("@")[0])]
    values = [v for v in values if v.split("@")[1] in PROVIDERS]
    for src, got in zip(values, mask(s, values), strict=True):
        f, sep, la, digits = SHAPE.fullmatch(src.split("@")[0]).groups()
        size = len(firsts) * len(lasts) * 10 ** len(digits)
        n = firsts.index(f) + len(firsts) * (lasts.index(la) + len(lasts) * int(digits or 0))
        tweak = fpe.tweak + f"/names/{sep}{len(digits)}".encode()
        while True:
            bits = max(20, (size - 1).bit_length())
            n = int(fpe.ff1(2).derange_numbers(np.array([n], np.uint64), bits, tweak)[0])
            if n < size:
                break
        f2, rest = n % len(firsts), n // len(firsts)
        want = f"{firsts[f2]}{sep}{lasts[rest % len(lasts)]}"
        want += str(rest // len(lasts)).zfill(len(digits)) if digits else ""
        assert got.split("@")[0] == want, src


def test_collision_free_consistent_and_never_unmasked_over_a_mixed_column():
    values = column(60_000)
    s = make()
    out = mask(s, values)
    assert len(set(out)) == len(values)  # every input distinct (lower case), every output too
    assert all(a.lower() != b for a, b in zip(values, out, strict=True))  # no fixed point
    again = mask(s, values[::-1])[::-1]  # another batch order: the same pseudonyms
    assert again == out
    # a pseudonym with the name shape would meet masked names: other shapes never come out named
    for src, got in zip(values, out, strict=True):
        if not named(src.split("@")[0]) and src.split("@")[1] != "x.io":
            assert not named(got.split("@")[0]), (src, got)
    # masking the outputs as inputs too: still one pseudonym per address
    both = values + out
    assert len(set(mask(s, both))) == len(set(both))


def test_keep_domain_and_format_style():
    values = ["John.Smith1984@Gmail.com", "jsmith84@gmail.com", "anna_bell@acme.com", None]
    kept = mask(make(domain="keep"), values)
    assert [v.split("@")[1] if v else v for v in kept] == [
        "gmail.com",
        "gmail.com",
        "acme.com",
        None,
    ]
    assert named(kept[0].split("@")[0]) and named(kept[2].split("@")[0])
    assert not named(kept[1].split("@")[0])
    fmt = mask(make(style="format"), values[:3])
    assert all(v.endswith(".example") for v in fmt)
    shape = lambda v: re.sub("[a-z0-9]", "x", v)  # noqa: E731
    assert shape(fmt[0].split("@")[0]) == shape("john.smith1984")
    # the style picks which rows are masked how, not the mappings: other rows agree
    assert mask(make(), ["zq9x.kk3@acme-corp.com"]) == mask(
        make(style="format"), ["zq9x.kk3@acme-corp.com"]
    )
    assert pc.count_distinct(pa.array(fmt)).as_py() == 3
