"""Person, location and business generators: formats, locales, check digits, uniqueness."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow as pa
import pytest

import tdm.generators  # noqa: F401  (registers the generators)
from tdm.core.rand import RowRandom
from tdm.core.types import parse_type
from tdm.generators import pools
from tdm.generators import shapes as shape_module
from tdm.generators.base import REGISTRY, ColumnInfo, GenContext
from tdm.generators.business import bban_formats
from tdm.generators.location import phone_shapes
from tdm.generators.shapes import ShapePool

NAMES = [
    "first_name",
    "last_name",
    "full_name",
    "email",
    "username",
    "phone",
    "street_address",
    "city",
    "postcode",
    "country",
    "country_code",
    "company",
    "job_title",
    "credit_card",
    "iban",
]
BOTH = ("en_US", "de_DE")
EMAIL = re.compile(r"^[a-z0-9]+([._][a-z0-9]+)*@example\.(com|net|org)$")


def make(name, params=None, unique=False, locales=("en_US",), seed=7):
    cls = REGISTRY[name]
    info = ColumnInfo(
        table="t", name="c", type=parse_type("string"), seed=seed, unique=unique, locales=locales
    )
    return cls(cls.Params.model_validate(params or {}), info)


def run(gen, start, stop, row=None, locale=None) -> list:
    ctx = GenContext(
        info=gen.info,
        start=start,
        stop=stop,
        rng=RowRandom(gen.info.stream(), start, stop),
        row=row or {},
        locale=locale,
        plan=None,
    )
    out = gen.generate(ctx)
    assert isinstance(out, pa.Array) and len(out) == stop - start
    return out.to_pylist()


def alternating(n: int) -> np.ndarray:
    return np.arange(n) % 2  # even rows en_US, odd rows de_DE


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def shape_regex(shapes) -> re.Pattern:
    table = {"#": r"\d", "%": "[1-9]", "?": "[A-Z]"}
    alts = {"".join(table.get(c, re.escape(c)) for c in s) for s in shapes}
    return re.compile("^(?:" + "|".join(sorted(alts)) + ")$")


# ---- all generators ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_summary(name):
    cls = REGISTRY[name]
    assert cls.types == ("string",) and cls.summary


@pytest.mark.parametrize("name", NAMES)
def test_batches_do_not_change_values(name):
    gen = make(name, locales=BOTH)
    loc = alternating(10_000)
    whole = run(gen, 0, 10_000, locale=loc)
    split = run(gen, 0, 3000, locale=loc[:3000]) + run(gen, 3000, 10_000, locale=loc[3000:])
    assert whole == split
    assert None not in whole and "" not in whole


@pytest.mark.parametrize("name", [n for n in NAMES if n != "country_code"])
def test_seed_changes_values(name):
    assert run(make(name, seed=1), 0, 200) != run(make(name, seed=2), 0, 200)


UNIQUE = {
    "full_name": {},
    "email": {},
    "username": {},
    "credit_card": {},
    "iban": {},
    "phone": {"format": "+1-###-###-####"},
}


@pytest.mark.parametrize("name", sorted(UNIQUE))
def test_unique_by_construction(name):
    gen = make(name, UNIQUE[name], unique=True)
    assert gen.can_be_unique and not gen.problems()
    n = 200_000
    values = run(gen, 0, n)
    assert len(set(values)) == n
    assert run(gen, 150_000, 150_100) == values[150_000:150_100]


# ---- names -------------------------------------------------------------------------------------


def test_first_name_gender_and_unique():
    female = make("first_name", {"gender": "female"})
    pool = set(pools.provider_values("en_US", "first_names_female").to_pylist())
    assert set(run(female, 0, 2000)) <= pool
    gen = make("first_name", {"gender": "female"}, unique=True, locales=BOTH)
    cap = gen.capacity()
    assert cap > 1000
    assert len(set(run(gen, 0, cap))) == cap
    assert make("first_name").capacity() is None


def test_last_name_unique_capacity():
    gen = make("last_name", unique=True)
    assert gen.capacity() == 1000
    assert len(set(run(gen, 0, 1000))) == 1000


def test_locales_draw_their_own_names():
    gen = make("last_name", locales=BOTH)
    values = run(gen, 0, 4000, locale=alternating(4000))
    de = set(pools.sampled("de_DE", "last_name").to_pylist())
    assert set(values[1::2]) <= de
    assert not set(values[0::2]) <= de


def test_full_name_from_columns():
    gen = make("full_name", {"first_name": "fn", "last_name": "ln"})
    assert gen.depends_on() == ("fn", "ln")
    row = {"fn": pa.array(["Ada", "Jürgen", None]), "ln": pa.array(["Lovelace", "Müller", "X"])}
    assert run(gen, 0, 3, row=row) == ["Ada Lovelace", "Jürgen Müller", "X"]
    bad = make("full_name", {"first_name": "fn"}, unique=True)
    assert bad.problems()[0][0] == "first_name"


def test_full_name_capacity():
    gen = make("full_name", unique=True)
    assert gen.capacity() == 690 * 1000
    assert all(len(v.split(" ")) >= 2 for v in run(gen, 0, 100))


# ---- emails and usernames ----------------------------------------------------------------------


def test_emails_valid_on_reserved_domains():
    values = run(make("email", locales=BOTH), 0, 20_000, locale=alternating(20_000))
    assert all(EMAIL.match(v) for v in values), [v for v in values if not EMAIL.match(v)][:5]
    assert {v.split("@")[1] for v in values} == {"example.com", "example.net", "example.org"}
    assert any(re.search(r"\d@", v) for v in values)
    assert any(re.search(r"[a-z]@", v) for v in values)


def test_email_slugs_names_of_the_row():
    gen = make(
        "email",
        {
            "first_name": "fn",
            "last_name": "ln",
            "format": "first.last",
            "numbers": 0.0,
            "domains": ["test.example"],
        },
    )
    assert gen.depends_on() == ("fn", "ln")
    row = {
        "fn": pa.array(["Jürgen", "Zoë", None, "", "!!"]),
        "ln": pa.array(["Müller-Lüdenscheidt", "O'Neil", None, "Smith", "??"]),
    }
    values = run(gen, 0, 5, row=row)
    assert values == [
        "jurgen.mullerludenscheidt@test.example",
        "zoe.oneil@test.example",
        "user@test.example",
        "smith@test.example",
        "user@test.example",
    ]


def test_email_unique_numbers_stay_readable():
    gen = make("email", {"first_name": "fn", "last_name": "ln", "format": "firstlast"}, unique=True)
    row = {"fn": pa.array(["a", "a"]), "ln": pa.array(["b1", "b"])}
    values = run(gen, 10, 12, row=row)
    assert values[0].startswith("ab1.11@") and values[1].startswith("ab12@")
    assert gen.capacity() is None


def test_email_problems():
    assert make("email", {"domains": []}).problems()[0][0] == "domains"
    assert "not a domain" in make("email", {"domains": ["nope", "ok.org"]}).problems()[0][1]
    with pytest.raises(ValueError):
        REGISTRY["email"].Params.model_validate({"format": "last.first"})


def test_usernames():
    values = run(make("username", locales=BOTH), 0, 5000, locale=alternating(5000))
    assert all(re.fullmatch(r"[a-z0-9]+([._][a-z0-9]+)*", v) for v in values)
    assert max(len(v) for v in values) <= 30
    assert len(set(values)) > 4000


# ---- phones ------------------------------------------------------------------------------------


def test_phones_match_locale_shapes():
    values = run(make("phone", locales=BOTH), 0, 4000, locale=alternating(4000))
    us, de = shape_regex(phone_shapes("en_US")), shape_regex(phone_shapes("de_DE"))
    assert all(us.match(v) for v in values[0::2])
    assert all(de.match(v) for v in values[1::2])
    assert all(v.startswith(("+49", "0", "(0")) for v in values[1::2])
    assert sum(v.startswith("+49") for v in values[1::2]) > 200


def test_phone_explicit_format_and_problems():
    values = run(make("phone", {"format": "+1-%##-###-####"}), 0, 1000)
    assert all(re.fullmatch(r"\+1-[1-9]\d\d-\d{3}-\d{4}", v) for v in values)
    assert make("phone", {"format": "(###) ###-####"}, unique=True).capacity() == 10**10
    assert "explicit format" in make("phone", unique=True).problems()[0][1]
    assert make("phone", {"format": "555"}).problems()[0][0] == "format"
    long = make("phone", {"format": "#" * 30}, unique=True)
    assert len(set(run(long, 0, 10_000))) == 10_000


# ---- places ------------------------------------------------------------------------------------


def test_addresses_and_postcodes():
    loc = alternating(2000)
    streets = run(make("street_address", locales=BOTH), 0, 2000, locale=loc)
    assert all(re.search(r"\d", s) for s in streets)
    assert len(set(streets)) > 1900
    codes = run(make("postcode", locales=("en_US", "en_GB")), 0, 2000, locale=loc)
    assert all(re.fullmatch(r"\d{5}", c) for c in codes[0::2])
    assert all(re.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", c) for c in codes[1::2])


def test_country_and_codes():
    codes = run(make("country_code"), 0, 2000)
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in codes) and len(set(codes)) > 150
    gen = make("country_code", {"of_locale": True}, locales=("en_US", "de_DE", "fr_FR"))
    assert run(gen, 0, 6, locale=np.array([0, 1, 2, 2, 1, 0])) == [
        "US",
        "DE",
        "FR",
        "FR",
        "DE",
        "US",
    ]
    assert make("country_code", {"of_locale": True}, locales=("la",)).problems()
    assert make("country_code", {"of_locale": True}, unique=True).problems()
    assert make("country_code", unique=True).capacity() == 195
    names = run(make("country", locales=("de_DE",)), 0, 2000)
    assert "Deutschland" in names


def test_pool_capacities():
    assert make("city", unique=True).capacity() > 1000
    assert make("job_title", unique=True).capacity() == 639
    assert make("company").capacity() is None


# ---- cards and IBANs ---------------------------------------------------------------------------


def test_cards_luhn_valid_with_scheme_prefixes():
    values = run(make("credit_card"), 0, 20_000)
    assert all(luhn_ok(v) for v in values)
    for v in values:
        if v[0] == "4":
            assert len(v) == 16
        elif v[:2] in ("34", "37"):
            assert len(v) == 15
        else:
            assert len(v) == 16 and (51 <= int(v[:2]) <= 55 or v.startswith(("6011", "65")))
    share = sum(v[0] == "4" for v in values) / len(values)
    assert 0.45 < share < 0.6


def test_card_params():
    gen = make(
        "credit_card",
        {"schemes": ["amex", "mastercard"], "format": "spaced", "mastercard_2_series": True},
        unique=True,
    )
    values = run(gen, 0, 20_000)
    amex = re.compile(r"3[47]\d\d \d{6} \d{5}")
    mc = re.compile(r"(5[1-5]\d\d|2[2-7]\d\d)( \d{4}){3}")
    assert all(amex.fullmatch(v) or mc.fullmatch(v) for v in values)
    assert all(luhn_ok(v.replace(" ", "")) for v in values)
    assert any(v[0] == "2" for v in values) and any(v[0] == "3" for v in values)
    assert gen.capacity() == 10**11
    assert make("credit_card", {"schemes": []}).problems()
    with pytest.raises(ValueError):
        REGISTRY["credit_card"].Params.model_validate({"schemes": ["diners"]})


def test_ibans_valid_per_locale():
    values = run(make("iban", locales=BOTH), 0, 20_000, locale=alternating(20_000))
    assert all(iban_ok(v) for v in values[::7])
    assert all(re.fullmatch(r"GB\d\d[A-Z]{4}\d{14}", v) for v in values[0::2])
    assert all(re.fullmatch(r"DE\d{20}", v) for v in values[1::2])


def test_iban_country_param_and_problems():
    values = run(make("iban", {"country": "FR", "format": "spaced"}), 0, 2000)
    assert all(re.fullmatch(r"FR\d\d( \d{4}){5} \d{3}", v) for v in values)
    assert all(iban_ok(v.replace(" ", "")) for v in values)
    assert "no IBAN format" in make("iban", {"country": "US"}).problems()[0][1]
    assert make("iban", unique=True, locales=("nl_NL",)).capacity() == 26**4 * 10**10


def test_iban_every_known_country():
    for code, fmt in bban_formats().items():
        values = run(make("iban", {"country": code}, unique=True), 0, 300)
        assert all(len(v) == 4 + len(fmt) and v[:2] == code and iban_ok(v) for v in values), code
        assert len(set(values)) == 300


def test_unique_ibans_over_two_locales():
    gen = make("iban", unique=True, locales=("en_US", "en_GB"))
    values = run(gen, 0, 50_000, locale=alternating(50_000))
    assert len(set(values)) == 50_000 and all(v.startswith("GB") for v in values)
    assert all(iban_ok(v) for v in values[::50])


# ---- fast paths: table lookups and shape grouping give the documented values ----------------


def slug(value) -> str:
    text = unicodedata.normalize("NFKD", value or "").lower()
    return re.sub(r"[^a-z0-9]", "", text)


def local_part(first, last, initial: bool, sep: str, limit: int) -> str:
    f, ln = slug(first), slug(last)
    f = f[:1] if initial else f
    return (f + (sep if f and ln else "") + ln)[:limit].rstrip("._") or "user"


ODD_FIRST = ["Jürgen", "Zoë", None, "", "!!", "Ann", "Bo9", "X" * 30, "Marie-Therese", "9", "Ø"]
ODD_LAST = ["O'Neil", None, "Smith", "??", "", "Lee", "Y" * 25, "7", "Müller", "8", "Ä"]


@pytest.mark.parametrize("unique", [False, True])
@pytest.mark.parametrize("fmt", ["first.last", "firstlast", "f.last", "first_last", "flast"])
def test_email_matches_reference_on_odd_names(fmt, unique):
    first, last = ODD_FIRST * 11, [ODD_LAST[(i * 7) % 11] for i in range(121)]
    gen = make(
        "email",
        {
            "first_name": "fn",
            "last_name": "ln",
            "format": fmt,
            "numbers": 0.0,
            "domains": ["t.example"],
        },
        unique=unique,
    )
    row = {"fn": pa.array(first, pa.string()), "ln": pa.array(last, pa.string())}
    initial, sep = {
        "first.last": (False, "."),
        "firstlast": (False, ""),
        "f.last": (True, "."),
        "first_last": (False, "_"),
        "flast": (True, ""),
    }[fmt]
    got = run(gen, 5, 5 + len(first), row=row)
    for i, (f, ln, value) in enumerate(zip(first, last, got, strict=True)):
        base = local_part(f, ln, initial, sep, 40)
        number = str(6 + i) if unique else ""
        joiner = "." if number and base[-1].isdigit() else ""
        assert value == f"{base}{joiner}{number}@t.example", (f, ln)


def test_usernames_are_one_of_their_styles():
    first, last = ODD_FIRST * 40, [ODD_LAST[(i * 3) % 11] for i in range(440)]
    gen = make("username", {"first_name": "fn", "last_name": "ln", "numbers": 0.0})
    values = run(gen, 0, len(first), row={"fn": pa.array(first), "ln": pa.array(last)})
    words = {slug(w) for w in pools.provider_values("en_US", "word_list").to_pylist()}
    styles = [(True, ""), (False, "."), (False, "_"), (False, "")]
    for f, ln, value in zip(first, last, values, strict=True):
        own = {local_part(f, ln, i, s, 20) for i, s in styles} | {local_part(f, None, 0, "", 20)}
        assert value in own or any(
            value.startswith(w) and value[len(w) :] in words for w in words
        ), (f, ln, value)


def test_shape_pool_paths_agree():
    shapes = [*phone_shapes("de_DE"), "?#? #??", "no slots", "%%%%%%%%%%", "ab?c??d#"]
    pool = ShapePool(shapes)
    rng = np.random.default_rng(3)
    which = rng.integers(0, len(pool), 20_000)
    bits = rng.integers(0, 2**32, (len(which), pool.groups), dtype=np.uint32)
    grouped = pool._grouped(pool.group.take(which), bits).to_pylist()
    scattered = ShapePool(shapes)
    old, shape_module.GROUPED_ROWS = shape_module.GROUPED_ROWS, 10**9  # never group
    try:
        per_row = scattered.fill_bits(which, bits).to_pylist()
    finally:
        shape_module.GROUPED_ROWS = old
    assert grouped == per_row
    for w, value in zip(which, grouped, strict=True):
        assert shape_regex([shapes[w]]).match(value), (shapes[w], value)


def test_shape_digits_are_uniform():
    values = run(make("phone", {"format": "#" * 8 + "%?"}), 0, 100_000)
    for column, symbols in (
        (0, "0123456789"),
        (7, "0123456789"),
        (8, "123456789"),
        (9, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ):
        counts = np.array([sum(v[column] == s for v in values) for s in symbols])
        expected = len(values) / len(symbols)
        assert np.abs(counts - expected).max() < 6 * np.sqrt(expected), (column, counts)


def test_card_prefix_weights_and_mastercard_2_series():
    values = run(
        make("credit_card", {"schemes": ["mastercard", "amex"], "mastercard_2_series": True}),
        0,
        60_000,
    )
    assert all(luhn_ok(v) for v in values)
    series2 = [int(v[:4]) for v in values if v[0] == "2"]
    assert min(series2) == 2221 and max(series2) == 2720 and len(set(series2)) == 500
    amex = [v for v in values if v[0] == "3"]
    assert all(len(v) == 15 and v[:2] in ("34", "37") for v in amex)
    assert 0.25 < len(amex) / len(values) < 0.29  # 11 of 41 weight
    assert 0.06 < len(series2) / len(values) < 0.09  # 3 of 41


def test_iban_check_digits_fast_path_matches_reference():
    for code, fmt in bban_formats().items():
        values = run(make("iban", {"country": code}), 0, 400)
        assert all(len(v) == 4 + len(fmt) and iban_ok(v) for v in values), code
