"""The regex generator: values that match CHECK-constraint patterns, by Python's re and, when a
local server runs, by PostgreSQL's own ~ operator."""

from __future__ import annotations

import re
import time

import numpy as np
import pyarrow as pa
import pytest

from tdm.generators.regex import posix_to_python
from tests.unit.helpers import make, run

N = 10_000
PG = "postgresql://postgres@127.0.0.1:5432/postgres"

# (pattern, case_insensitive, anchored at both ends)
PATTERNS = [
    (r"^\d{5}(-\d{4})?$", False, True),  # US ZIP
    (r"^[A-Z]{2}$", False, True),  # ISO 3166 alpha-2
    (r"^[A-Z]{3}$", False, True),  # ISO 4217
    (r"^[A-Z]{2}[0-9]{2}$", False, True),
    (r"^[A-Z]{3}-\d{4}$", False, True),
    (r"^\d{3}-\d{2}-\d{4}$", False, True),  # SSN
    (r"^[^@\s]+@[^@\s]+\.[a-z]{2,6}$", False, True),  # email
    (r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", False, True),
    (r"^[^@]+@[^@]+\.[^@]+$", False, True),
    (r"^[a-z0-9]+(?:-[a-z0-9]+)*$", False, True),  # slug
    (r"^#[0-9a-fA-F]{6}$", False, True),  # hex colour
    (r"^\+?[0-9 ()-]{7,20}$", False, True),  # phone
    (r"^(draft|sent|paid)$", False, True),
    (r"^\S+$", False, True),
    (r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", False, True),
    (r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$", False, True),  # UK postcode
    (r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$", False, True),  # IBAN shape
    (r"^(ORD|INV)-\d{6}$|^TMP-[a-z]{4}$", False, True),  # top-level alternation
    (r"^\d{1,3}(\.\d{1,3}){3}$", False, True),
    (r"^https?://[a-z0-9.-]+\.[a-z]{2,}(/\S*)?$", False, True),
    (r"^[[:upper:]][[:lower:]]+$", False, True),  # POSIX classes
    (r"^[[:alnum:]_]+$", False, True),
    (r"^[^[:space:],;]+$", False, True),
    (r"^\w+ \w*?$", False, True),  # lazy
    (r"^.{3,10}$", False, True),
    (r"^[a-f0-9]{32}$", True, True),  # ~*
    (r"^(yes|no)$", True, True),
    (r"^[^a-z]+$", True, True),  # ~* also excludes A-Z
    (r"[A-Z]{3}\d", False, False),  # unanchored
    (r"\d+", False, False),
    (r"^SKU-\d", False, False),
    (r"^Straße-[äöü]{2}\d€$", False, True),  # unicode literals
    (r"^[\u4e00-\u9fff]{2,4}$", False, True),
    (r"^[^\x00-\x7f]{3}$", False, True),
]
IDS = [p + (" ~*" if ci else "") for p, ci, _ in PATTERNS]


def _python(pattern: str, ci: bool) -> re.Pattern:
    return re.compile(posix_to_python(pattern), re.IGNORECASE if ci else 0)


@pytest.fixture(scope="module")
def pg():
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG, connect_timeout=3, autocommit=True)
    except psycopg.Error:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
    with conn:
        yield conn


@pytest.mark.parametrize(("pattern", "ci", "anchored"), PATTERNS, ids=IDS)
def test_every_value_matches(pattern, ci, anchored):
    gen = make("regex", pattern=pattern, case_insensitive=ci)
    assert gen.problems() == []
    values = run(gen, 0, N).to_pylist()
    rx = _python(pattern, ci)
    assert [v for v in values if not rx.search(v)] == []
    if anchored:
        assert [v for v in values if not rx.fullmatch(v)] == []
    assert len(set(values)) > 1


@pytest.mark.parametrize(("pattern", "ci", "anchored"), PATTERNS, ids=IDS)
def test_postgres_accepts_every_value(pg, pattern, ci, anchored):
    values = run(make("regex", pattern=pattern, case_insensitive=ci), 0, 2_000).to_pylist()
    op = "~*" if ci else "~"
    bad = pg.execute(
        f"SELECT array_agg(v) FROM unnest(%s::text[]) v WHERE NOT v {op} %s", (values, pattern)
    ).fetchone()[0]
    assert bad is None


@pytest.mark.parametrize("pattern", [r"^\d{5}(-\d{4})?$", r"^[a-z0-9]+(?:-[a-z0-9]+)*$", "^Ü+$"])
def test_values_do_not_depend_on_the_batching(pattern):
    gen = make("regex", pattern=pattern)
    whole = run(gen, 0, 10_000)
    parts = pa.concat_arrays([run(gen, s, min(10_000, s + 777)) for s in range(0, 10_000, 777)])
    assert whole.equals(parts)
    other = make("regex", pattern=pattern, seed=8)
    assert not run(other, 0, 1_000).equals(whole[:1_000])


def test_repeats_cover_their_range_and_cap():
    lengths = {len(v) for v in run(make("regex", pattern="^a*$"), 0, 2_000).to_pylist()}
    assert lengths == set(range(9))
    capped = {len(v) for v in run(make("regex", pattern="^a+$", max_repeat=3), 0, 500).to_pylist()}
    assert capped == {1, 2, 3}
    at_least = {len(v) for v in run(make("regex", pattern="^a{10,}$"), 0, 500).to_pylist()}
    assert at_least == {10}
    branches = run(make("regex", pattern="^(draft|sent|paid)$"), 0, 3_000).value_counts()
    assert {d["values"]: d["counts"] > 900 for d in branches.to_pylist()} == {
        "draft": True,
        "sent": True,
        "paid": True,
    }


def test_negated_classes_and_dot_draw_letters_and_digits():
    for pattern in [r"^[^@]{5}$", r"^.{5}$", r"^\S{5}$", r"^[^@\s]{5}$"]:
        values = "".join(run(make("regex", pattern=pattern), 0, 2_000).to_pylist())
        assert set(values) == set(
            "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        ), pattern
    assert set("".join(run(make("regex", pattern=r"^[^a-zA-Z0-9]$"), 0, 500).to_pylist())) <= set(
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    )
    assert set("".join(run(make("regex", pattern=r"^\s$"), 0, 100).to_pylist())) == {" "}


@pytest.mark.parametrize(
    ("pattern", "capacity"),
    [
        (r"^[A-Z]{3}-\d{4}$", 26**3 * 10**4),
        (r"^#[0-9a-f]{6}$", 16**6),
        (r"^(?:AB|AB)?$", None),
        (r"^[xy]{2}$", 4),
        (r"^CONST$", 1),
        (r"^[a-z]{40}$", None),  # set below: the part that fits a permutation
        (r"^\d+$", None),
    ],
)
def test_capacity(pattern, capacity):
    gen = make("regex", pattern=pattern)
    if pattern == r"^[a-z]{40}$":
        assert gen.capacity() == 26**13  # 13 letters: the most that fit in 2**62
    else:
        assert gen.capacity() == capacity


@pytest.mark.parametrize(
    "pattern", [r"^[A-Z]{2}[0-9]{2}$", r"^[A-Z]{3}-\d{4}$", r"^[a-z]{40}$", r"^Ω[αβ]\d{3}$"]
)
def test_unique_fixed_shapes(pattern):
    gen = make("regex", unique=True, pattern=pattern)
    assert gen.problems() == [] and gen.index_based
    rows = min(20_000, gen.capacity())
    values = run(gen, 0, rows).to_pylist()
    assert len(set(values)) == rows
    assert all(re.fullmatch(pattern, v) for v in values)
    parts = pa.concat_arrays([run(gen, s, min(rows, s + 3_001)) for s in range(0, rows, 3_001)])
    assert parts.to_pylist() == values


def test_single_character_alternation_is_a_fixed_shape():
    gen = make("regex", unique=True, pattern="^(a|b|c)-(x|y)$")  # the parser makes them sets
    assert gen.problems() == [] and gen.capacity() == 6


def test_unique_fills_a_small_domain_exactly():
    gen = make("regex", unique=True, pattern=r"^[A-C]\d$")
    assert gen.capacity() == 30
    assert sorted(run(gen, 0, 30).to_pylist()) == [a + d for a in "ABC" for d in "0123456789"]


@pytest.mark.parametrize(
    ("pattern", "shape"),
    [
        (r"^\d{5}(-\d{4})?$", r"\d{5}-\d{4}"),
        (r"^(ab|c)$", "ab"),
        (r"^\w+$", r"\w{4}"),
        (r"^x{2,3}$", "xxx"),
        (r"^[^@]+@[^@]+\.[^@]+$", r"[^@]{4}@[^@]{4}\.[^@]{4}"),
    ],
)
def test_unique_values_of_a_variable_pattern_take_one_fixed_shape(pattern, shape):
    gen = make("regex", unique=True, pattern=pattern)
    assert gen.problems() == []
    values = run(gen, 0, min(gen.capacity(), 2000)).to_pylist()
    assert len(set(values)) == len(values)
    assert all(re.fullmatch(shape, v) and re.search(pattern, v) for v in values)


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"^(?=.*\d)[a-z\d]{8}$", "lookahead"),
        (r"^(?!admin)[a-z]+$", "lookahead"),
        (r"(?<=x)y", "lookbehind"),
        (r"^(a)\1$", "back-references"),
        (r"^(?P<q>['\"]).*(?P=q)$", "back-references"),
        (r"\bword\b", "word boundaries"),
        (r"\yword\y", "word-boundary"),
        (r"^[a-z", "not a valid regular expression"),
        (r"^a{3,2}$", "not a valid regular expression"),
        (r"^(ab$", "not a valid regular expression"),
        (r"^a++$", "possessive"),
        (r"^[[:letters:]]$", "POSIX class"),
        (r"^a$b", "do not match"),
        (r"^.{1,5000}$", "characters long"),
    ],
)
def test_problems_name_what_is_unsupported(pattern, words):
    problems = make("regex", pattern=pattern).problems()
    assert len(problems) == 1
    param, message, _hint = problems[0]
    assert param == "pattern" and words in message
    if words != "do not match":  # the pattern cannot be built at all
        assert make("regex", pattern=pattern).capacity() is None


def test_hints_point_to_other_generators():
    (_, _, hint) = make("regex", pattern=r"^(?=\d)\w+$").problems()[0]
    assert "pattern" in hint and "choice" in hint


def test_params_are_validated():
    with pytest.raises(ValueError):
        make("regex")
    with pytest.raises(ValueError):
        make("regex", pattern="a", max_repeats=3)
    with pytest.raises(ValueError):
        make("regex", pattern="a", max_repeat=0)


def test_empty_and_literal_patterns():
    assert run(make("regex", pattern="^$"), 0, 3).to_pylist() == ["", "", ""]
    assert run(make("regex", pattern="^abc$"), 5, 7).to_pylist() == ["abc", "abc"]
    assert run(make("regex", pattern="^(|x)$"), 0, 200).value_counts().to_pylist() != []


def test_unicode_values_are_valid_utf8():
    arr = run(make("regex", pattern=r"^[a-zé]{0,3}€?[\U0001F600-\U0001F64F]$"), 0, 5_000)
    arr.validate(full=True)
    assert all(re.fullmatch(r"[a-zé]{0,3}€?[\U0001F600-\U0001F64F]", v) for v in arr.to_pylist())


@pytest.mark.parametrize("pattern", [r"^[A-Z]{3}-\d{4}$", r"^[^@\s]+@[^@\s]+\.[a-z]{2,6}$"])
def test_100k_rows_are_fast(pattern):
    gen = make("regex", pattern=pattern)
    run(gen, 0, 100)
    start = time.perf_counter()
    values = run(gen, 0, 100_000)
    assert time.perf_counter() - start < 0.5
    assert np.all(np.asarray(values.to_pylist()[:10]) != "")
