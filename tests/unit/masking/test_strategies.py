"""Masking strategies: formats, ranges, determinism, key and table (in)dependence, bijectivity
over a million values, nulls, free-text scrubbing and JSON paths (the permutation underneath:
test_fpe.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydantic import ValidationError

from tdm.core.errors import TdmError
from tdm.core.types import KINDS, parse_type
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import STRATEGIES, identifiers
from tdm.masking.strategies.base import MaskBatch, MaskColumn, Strategy

KEY = MaskingKey(b"unit-test-masking-key-0123456789")
OTHER = MaskingKey(b"another-masking-key-abcdefghijkl")
EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


def make(
    name: str,
    type_: str = "string",
    table: str = "t",
    column: str = "c",
    key=KEY,
    locales=("en_US",),
    **params,
) -> Strategy:
    cls = STRATEGIES[name]
    return cls(
        cls.Params.model_validate(params),
        MaskColumn(table, column, parse_type(type_), locales),
        key,
    )


def run(strategy: Strategy, values, batch: MaskBatch | None = None) -> list:
    arr = values if isinstance(values, pa.Array) else pa.array(values, strategy.column.type.arrow)
    out = strategy.apply(arr, batch or MaskBatch({}, 0))
    assert out.type == arr.type and len(out) == len(arr)
    return out.to_pylist()


def emails(n: int) -> pa.Array:
    """n distinct, realistic addresses, built without a Python loop."""
    rng = np.random.default_rng(3)
    first = pa.array(["anna", "john", "li", "maria", "o'neil", "jean-luc", "Bob", "x"])
    last = pa.array(["smith", "mueller", "nguyen", "de.la.cruz", "o", "Kowalski"])
    domains = pa.array(["gmail.com", "web.de", "mail.co.uk", "example.org", "a-b.io"])
    pick = lambda pool: pool.take(pa.array(rng.integers(0, len(pool), n)))  # noqa: E731
    number = pc.cast(pa.array(np.arange(n)), pa.string())
    return pc.binary_join_element_wise(pick(first), ".", pick(last), number, "@", pick(domains), "")


def distinct(values) -> int:
    return pc.count_distinct(pa.array(values) if isinstance(values, list) else values).as_py()


# ---- registry and interface --------------------------------------------------------------------


def test_registry_has_every_strategy_with_strict_params():
    expected = {
        "keep",
        "redact",
        "null",
        "partial",
        "hash",
        "substitute",
        "email",
        "phone",
        "credit_card",
        "national_id",
        "pseudonymize",
        "iban",
        "date_shift",
        "generalize",
        "noise",
        "shuffle",
        "scrub",
        "json",
        "ip_address",
    }
    assert expected <= set(STRATEGIES)
    for name, cls in STRATEGIES.items():
        assert cls.name == name and cls.summary and set(cls.types) <= set(KINDS)
        assert cls.Params.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError):
        STRATEGIES["partial"].Params.model_validate({"keep_lst": 4})
    bijective = {n for n, c in STRATEGIES.items() if c.bijective}
    assert bijective == {
        "keep",
        "ip_address",
        "email",
        "phone",
        "credit_card",
        "national_id",
        "pseudonymize",
        "iban",
    }


def test_domain_is_strategy_and_mapping_params_only():
    assert make("email").domain() == make("email", domain="map").domain() == "email{}"
    assert make("email", domain="keep").domain() != make("email").domain()
    assert make("email", table="a", column="x").domain() == make("email").domain()
    shift = make("date_shift", "date", days=30, entity="customer_id")
    assert shift.domain() == make("date_shift", "date", days=30).domain()
    assert shift.needs() == ("customer_id",)
    assert make("date_shift", "date", column="c", days=3, entity="c").needs() == ()


# ---- simple strategies -------------------------------------------------------------------------


def test_keep_null_redact():
    assert run(make("keep"), ["a", None]) == ["a", None]
    assert run(make("null", "int"), [1, None, 3]) == [None] * 3
    assert run(make("redact"), ["a", None, "b"]) == ["REDACTED", None, "REDACTED"]
    assert run(make("redact", keep_nulls=False, value="X"), ["a", None]) == ["X", "X"]
    assert run(make("redact", "int"), [5, None]) == [0, None]
    assert run(make("redact", "date"), [dt.date(2020, 5, 1)]) == [dt.date(1970, 1, 1)]
    assert run(make("redact", "decimal(8,2)", value=1.5), [Decimal("3.10")]) == [Decimal("1.50")]
    assert run(make("redact", "uuid"), ["123e4567-e89b-12d3-a456-426614174000"]) == [
        "00000000-0000-0000-0000-000000000000"
    ]
    assert json.loads(run(make("redact", "json"), ['{"a": 1}'])[0]) == "REDACTED"
    assert make("redact", "int", value="abc").problems()[0][0] == "value"
    assert make("redact", "bool", value=1).problems()
    assert not make("redact", "timestamp", value="2000-01-01T00:00:00Z").problems()


def test_partial_keeps_separators_and_the_ends():
    s = make("partial", keep_last=4)
    assert run(s, ["4111-1111-1111-1234", "+1 (555) 010-9999", "ab", None]) == [
        "****-****-****-1234",
        "+* (***) ***-9999",
        "ab",
        None,
    ]
    assert run(make("partial", keep_first=1, char="#"), ["jürgen.o@web.de"]) == ["j#####.#@###.##"]
    assert run(make("partial", separators=""), ["a-b"]) == ["***"]
    with pytest.raises(ValidationError):
        make("partial", char="**")


def test_hash_is_keyed_hex_of_the_requested_length():
    s = make("hash", length=12, prefix="h_")
    out = run(s, ["alice", "bob", None, "alice"])
    assert out[0] == out[3] and out[0] != out[1] and out[2] is None
    assert all(re.fullmatch(r"h_[0-9a-f]{12}", v) for v in (out[0], out[1]))
    assert run(make("hash", length=12, prefix="h_", key=OTHER), ["alice"])[0] != out[0]
    with pytest.raises(ValidationError):
        make("hash", length=4)


def test_substitute_is_consistent_and_from_the_pool():
    from tdm.masking.strategies.simple import load_pool

    s = make("substitute", pool="first_name")
    names = [f"name{i % 300}" for i in range(3000)]
    out = run(s, [*names, None])
    pool = set(load_pool("en_US", "first_name").to_pylist())
    assert set(out[:-1]) <= pool and out[-1] is None
    assert all(out[i] == out[i + 300] for i in range(2700))
    assert distinct(out[:300]) > 150  # spread over the pool
    assert run(make("substitute", table="other", pool="first_name"), names) == out[:-1]
    assert run(make("substitute", pool="first_name", key=OTHER), names) != out[:-1]
    assert set(run(make("substitute", pool="city", locales=("de_DE",)), ["x", "y"])) <= set(
        load_pool("de_DE", "city").to_pylist()
    )
    assert make("substitute", pool="no_such_pool").problems()[0][0] == "pool"
    assert not make("substitute", pool="jobs").problems()  # a provider list


# ---- contact details ---------------------------------------------------------------------------


def test_email_is_valid_unique_and_under_example_over_a_million():
    values = emails(1_000_000)
    out = make("email", style="format").apply(values, MaskBatch())
    assert out.null_count == 0 and distinct(out) == 1_000_000
    sample = out.slice(0, 20_000).to_pylist()
    assert all(EMAIL.match(v) and v.endswith(".example") for v in sample)
    src = values.slice(0, 20_000).to_pylist()
    # the local part keeps its length and punctuation; each domain with 6 letters and digits
    # or more maps to one domain (shorter ones, web.de, go with their whole address)
    shape = lambda v: re.sub("[a-z0-9]", "x", v.lower())  # noqa: E731
    assert all(shape(a) == shape(b[: -len(".example")]) for a, b in zip(src, sample, strict=True))
    pairs = [(a.lower().split("@"), b.split("@")) for a, b in zip(src, sample, strict=True)]
    alnum = lambda v: len(re.sub("[^a-z0-9]", "", v))  # noqa: E731
    long_ = [(a[1], b[1]) for a, b in pairs if alnum(a[0]) >= 6 and alnum(a[1]) >= 6]
    mapping = dict(long_)
    assert len(mapping) == 3 and all(mapping[a] == b for a, b in long_)
    assert len(set(mapping.values())) == len(mapping)
    assert len({b[1] for a, b in pairs if a[1] == "web.de"}) > 10  # with the local part


def test_email_domain_keep_nulls_and_odd_values():
    s = make("email", domain="keep", style="format")
    out = run(s, ["John.Doe@Gmail.com", None, "no-at-sign", "a.b.c.d.e.f@b@c.org"])
    assert out[0].endswith("@gmail.com") and out[0] != "john.doe@gmail.com"
    assert out[0][4] == "." and out[1] is None and "@" not in out[2]
    assert out[3].endswith("@c.org") and out[3].count("@") == 2
    assert run(s, ["JOHN.DOE@gmail.com"]) == out[:1]  # one address, however it is written
    # a short address goes whole (map): its shape kept, never itself, the same each time
    mapped = run(make("email", style="format"), ["a@b@c.org", "jo@x.io", "jo@x.io", "jp@x.io"])
    assert re.fullmatch(r"[a-z0-9]@[a-z0-9]@[a-z0-9]\.[a-z0-9]{3}\.example", mapped[0]), mapped
    assert re.fullmatch(r"[a-z0-9]{2}@[a-z0-9]\.[a-z0-9]{2}\.example", mapped[1])
    assert mapped[1] == mapped[2] != mapped[3]
    # too short for any pseudonym, or for one of its own with the domain kept: refused, by name
    with pytest.raises(TdmError, match=r"t\.c: mask 'email'.*1 value\(s\).*hash"):
        run(make("email"), ["x@", "john.doe@gmail.com"])
    widened = run(s, ["jo@gmail.com", "jp@gmail.com"])  # letters only: widened, domain kept
    assert all(re.fullmatch("[a-z]{2,5}@gmail.com", v) for v in widened), widened
    assert len(set(widened)) == 2 and widened[0] != "jo@gmail.com"
    with pytest.raises(TdmError, match=r"separators"):
        run(s, ["j.o@gmail.com"])


def test_phone_keeps_shape_and_country_code():
    values = [
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "+353 1 234 5678",
        "+7 912 345 67 89",
        "030 1234567",
        "(555) 010-9999",
        None,
    ]
    out = run(make("phone"), values)
    for a, b in zip(values[:-1], out[:-1], strict=True):
        assert re.sub(r"\d", "#", a) == re.sub(r"\d", "#", b) and a != b
    assert [
        o[: len(p)] for o, p in zip(out, ["+1 ", "+44", "+353", "+7 ", "0", "(5"], strict=False)
    ] == ["+1 ", "+44", "+353", "+7 ", "0", "(5"]
    assert out[-1] is None
    kept = run(make("phone", keep_digits=4), ["+49 30 1234 5678"])[0]
    assert kept.startswith("+49 30") and kept != "+49 30 1234 5678"
    many = [f"+49 30 {i:08d}" for i in range(200_000)]
    assert distinct(run(make("phone"), many)) == 200_000


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()][::-1]
    return (
        sum(d if i % 2 == 0 else (2 * d - 9 if d > 4 else 2 * d) for i, d in enumerate(digits)) % 10
        == 0
    )


def test_credit_card_luhn_valid_bin_kept_and_collision_free():
    values = [
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "378282246310005",
        "6011111111111117",
        "4000056655665556",
        "12-3456",
        "520000000000",  # 12 digits: the BIN shrinks to 5, so that 6 digits stay to permute
        None,
    ]
    out = run(make("credit_card"), values)
    for a, b in zip(values[:5], out[:5], strict=True):
        assert luhn_ok(b) and b != a and re.sub(r"\d", "#", a) == re.sub(r"\d", "#", b)
        assert re.sub(r"\D", "", b)[:6] == re.sub(r"\D", "", a)[:6]
    assert re.fullmatch(r"\d\d-\d{4}", out[5]) and out[5] != values[5] and out[7] is None
    assert out[6].startswith("52000") and luhn_ok(out[6]) and out[6] != values[6]
    with pytest.raises(TdmError, match=r"credit_card.*fewer than the 6 digits"):
        run(make("credit_card"), ["12-34"])
    free = run(make("credit_card", keep_bin=False), values[:1])[0]
    assert luhn_ok(free) and free[0] == "4"
    rng = np.random.default_rng(5)
    payloads = {"4" + "".join(map(str, rng.integers(0, 10, 14))) for _ in range(100_000)}
    cards = [
        p
        + str(
            (
                10
                - sum(
                    d if i % 2 else (2 * d - 9 if d > 4 else 2 * d)
                    for i, d in enumerate(map(int, p[::-1]))
                )
                % 10
            )
            % 10
        )
        for p in payloads
    ]
    masked = run(make("credit_card"), cards)
    assert all(map(luhn_ok, cards[:100])) and all(map(luhn_ok, masked))
    assert distinct(masked) == len(cards)


def test_credit_card_check_digits_in_chunks_are_the_same(monkeypatch):
    values = ["4111 1111 1111 1111", "12-3456", None, "378282246310005", "520000000000"] * 3
    whole = run(make("credit_card"), values)
    monkeypatch.setattr(identifiers, "LUHN_ROWS", 2)  # chunks end inside runs of card rows
    assert run(make("credit_card"), values) == whole


def test_national_id_keeps_shape():
    values = ["123-45-6789", "AB 12 34 56 C", "X1234567", None]
    out = run(make("national_id"), values)
    assert re.fullmatch(r"\d{3}-\d{2}-\d{4}", out[0]) and out[0] != values[0]
    # letters and digits mixed: the same classes, the same places for everything else
    assert re.fullmatch(r"[A-Z0-9]{2} [A-Z0-9]{2} [A-Z0-9]{2} [A-Z0-9]{2} [A-Z0-9]", out[1])
    assert re.search("[A-Z]", out[1]) and re.search("[0-9]", out[1]) and out[3] is None
    assert re.fullmatch("[A-Z0-9]{8}", out[2]) and out[2] != values[2]
    assert run(make("national_id", keep_last=3), ["123-45-6789"])[0].endswith("789")
    with pytest.raises(TdmError, match=r"national_id.*keep_first/keep_last"):
        run(make("national_id", keep_last=4), ["123-45-6789"])  # 5 digits left: too few
    ssns = [
        f"{i // 10**6:03d}-{i // 10**4 % 100:02d}-{i % 10**4:04d}"
        for i in range(0, 300_000_000, 1500)
    ]
    assert distinct(run(make("national_id"), ssns)) == len(ssns)


# ---- identifiers -------------------------------------------------------------------------------


def test_pseudonymize_ints_bijective_over_a_million_and_shape_kept():
    rng = np.random.default_rng(11)
    values = np.unique(
        np.concatenate(
            [
                np.arange(1, 400_000),
                rng.integers(-(10**12), 10**12, 500_000),
                rng.integers(10**18, 2**63 - 1, 150_000),
                [-(2**63), 0, -1],
            ]
        )
    )
    assert len(values) > 1_000_000
    s = make("pseudonymize", "int")
    out = s.apply(pa.array(values), MaskBatch()).to_numpy()
    assert len(np.unique(out)) == len(values)
    assert not (out == values).any()  # no id is masked to itself, not even in a dense range
    assert (out[values >= 0] >= 0).all() and (out[values < 0] < 0).all()  # the sign is kept
    powers = np.uint64(10) ** np.arange(1, 20, dtype=np.uint64)
    digits = lambda a: np.searchsorted(powers, np.abs(a).astype(np.uint64), "right")  # noqa: E731
    small = (values > -(10**6)) & (
        values < 10**6
    )  # permuted within [0, 10**6): a small id may grow digits
    assert (np.abs(out[small]) < 10**6).all() and (digits(out[small]) >= 5).mean() > 0.85
    assert (digits(out[~small]) == digits(values[~small])).all()
    assert (
        out[:5].tolist()
        == make("pseudonymize", "int", table="orders", column="customer_id")
        .apply(pa.array(values[:5]), MaskBatch())
        .to_pylist()
    )
    narrow = np.arange(2**31 - 100_000, 2**31 - 1, dtype=np.int32)  # 10 digits, int32 range
    masked = s.apply(pa.array(narrow), MaskBatch()).to_numpy()
    assert (
        masked.dtype == np.int32 and masked.min() >= 10**9 and len(np.unique(masked)) == len(narrow)
    )
    one, two = np.searchsorted(values, [1, 2])
    assert run(s, [1, None, 2]) == [out[one], None, out[two]]


def test_pseudonymize_strings_bijective_over_a_million_and_format_kept():
    rng = np.random.default_rng(12)
    n = 1_000_000
    prefix = pa.array(["ORD-", "c_", "", "Ab-", "x.y/"]).take(pa.array(rng.integers(0, 5, n)))
    number = pc.cast(pa.array(rng.permutation(n) * 37 + 100_003), pa.string())
    values = pc.binary_join_element_wise(
        prefix, number, pa.array(["", "Z", "q9"]).take(pa.array(rng.integers(0, 3, n))), ""
    )
    values = pc.unique(values)
    out = make("pseudonymize").apply(values, MaskBatch())
    assert distinct(out) == len(values) > 990_000

    def shape(v: str) -> tuple:  # the places of the other characters, and the classes used
        classes = [bool(re.search(c, v)) for c in ("[0-9]", "[a-z]", "[A-Z]")]
        return re.sub("[0-9a-zA-Z]", "x", v), classes

    for a, b in zip(values.slice(0, 5000).to_pylist(), out.slice(0, 5000).to_pylist(), strict=True):
        assert shape(a) == shape(b) and a != b
    with pytest.raises(TdmError, match=r"t\.c: mask 'pseudonymize'.*1 value\(s\).*fewer than"):
        make("pseudonymize").apply(pa.array(["c_11", "AB", "ORD-000123"]), MaskBatch())


def test_pseudonymize_uuid_keeps_version_variant_and_case_folds():
    values = [
        "123e4567-e89b-12d3-a456-426614174000",
        "123E4567-E89B-12D3-A456-426614174000",
        "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        None,
    ]
    out = run(make("pseudonymize", "uuid"), values)
    assert out[0] == out[1] and out[0] != values[0] and out[3] is None
    for a, b in ((values[0], out[0]), (values[2], out[2])):
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b)
        assert b[14] == a[14] and b[19] == a[19]


def test_deterministic_across_calls_batches_and_tables_and_keyed():
    mails = emails(20_000)
    numbers = pc.cast(pa.array(np.arange(20_000) * 4999 + 10**8), pa.string())
    phones = pc.binary_join_element_wise("+1 ", numbers, "")
    ssns = pc.utf8_replace_slice(pc.utf8_replace_slice(numbers, 3, 3, "-"), 6, 6, "-")
    for name, params, values in [
        ("email", {}, mails),
        ("phone", {}, phones),
        ("pseudonymize", {}, mails),
        ("national_id", {}, ssns),
        ("hash", {}, mails),
        ("substitute", {"pool": "city"}, mails),
    ]:
        s = make(name, **params)
        whole = s.apply(values, MaskBatch())
        parts = pa.concat_arrays(
            [
                make(name, table="x", column="y", **params).apply(
                    values.slice(a, 3001), MaskBatch({}, a)
                )
                for a in range(0, len(values), 3001)
            ]
        )
        assert whole.equals(parts), name
        assert whole.equals(s.apply(values, MaskBatch())), name
        other = make(name, key=OTHER, **params).apply(values, MaskBatch())
        assert pc.sum(pc.not_equal(whole, other)).as_py() > 0.9 * len(values), name


# ---- dates and numbers -------------------------------------------------------------------------


def test_date_shift_within_range_and_per_entity():
    days = 30
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=i % 400) for i in range(5000)]
    customers = pa.array([i % 97 for i in range(5000)])
    s = make("date_shift", "date", days=days, entity="customer_id")
    out = run(s, dates, MaskBatch({"customer_id": customers}, 0))
    shift = [(b - a).days for a, b in zip(dates, out, strict=True)]
    assert all(1 <= abs(d) <= days for d in shift)
    by_customer = {}
    for c, d in zip(customers.to_pylist(), shift, strict=True):
        assert by_customer.setdefault(c, d) == d  # one shift per customer
    assert len(set(by_customer.values())) > 20
    # another table's dates of the same customers move by the same days
    ts = make("date_shift", "timestamp", table="orders", column="at", days=days, entity="cust")
    stamps = [dt.datetime(2021, 3, 1, 12, tzinfo=dt.UTC)] * 97
    moved = run(ts, stamps, MaskBatch({"cust": pa.array(range(97))}, 0))
    assert [(b - a).days for a, b in zip(stamps, moved, strict=True)] == [
        by_customer[c] for c in range(97)
    ]
    assert run(make("date_shift", "date", days=5), [None, dates[0]])[0] is None


def test_generalize_dates_and_numbers():
    d = [dt.date(1987, 6, 15), None]
    assert run(make("generalize", "date", to="month"), d) == [dt.date(1987, 6, 1), None]
    assert run(make("generalize", "date", to="year"), d)[0] == dt.date(1987, 1, 1)
    assert run(make("generalize", "date", to="decade"), d)[0] == dt.date(1980, 1, 1)
    ts = [dt.datetime(2021, 5, 17, 13, 45, tzinfo=dt.UTC)]
    assert run(make("generalize", "timestamp", to="month"), ts) == [
        dt.datetime(2021, 5, 1, tzinfo=dt.UTC)
    ]
    assert run(make("generalize", "int", step=10), [37, -3, 40, None]) == [30, -10, 40, None]
    assert run(make("generalize", "float", step=0.5), [2.7, -0.2]) == [2.5, -0.5]
    assert run(make("generalize", "decimal(10,2)", step=0.25), [Decimal("3.99")]) == [
        Decimal("3.75")
    ]
    assert run(make("generalize", "decimal(30,2)", step=100), [Decimal("1234.56")]) == [
        Decimal("1200.00")
    ]
    assert make("generalize", "date", step=10).problems()[0][0] == "to"
    assert make("generalize", "int", to="year").problems()[0][0] == "step"
    assert make("generalize", "int", step=2.5).problems()
    assert make("generalize", "decimal(10,2)", step=0.001).problems()


@pytest.mark.parametrize("type_", ["int", "float", "decimal(12,2)", "decimal(30,3)"])
def test_noise_bounded_sign_kept_and_deterministic(type_):
    rel = 0.2
    rng = np.random.default_rng(4)
    raw = np.concatenate([rng.integers(-(10**6), 10**6, 3000), [0, 1, -1, 7]])
    values = (
        [Decimal(int(v)) / 100 for v in raw]
        if type_.startswith("decimal")
        else raw.astype(float).tolist()
        if type_ == "float"
        else raw.tolist()
    )
    s = make("noise", type_, relative=rel)
    out = run(s, [*values, None])
    assert out.pop() is None
    bound = Decimal(str(rel)) if type_.startswith("decimal") else rel
    for a, b in zip(values, out, strict=True):
        assert abs(b - a) <= bound * abs(a) + (1e-12 * abs(a) if type_ == "float" else 0)
        assert (a > 0) == (b > 0) and (a < 0) == (b < 0)
    assert out == run(make("noise", type_, table="other", relative=rel), values)
    assert sum(a != b for a, b in zip(values, out, strict=True)) > len(values) * 0.9
    assert run(s, values[:1] * 3) == [out[0]] * 3  # per value, not per row


def test_shuffle_permutes_within_a_batch():
    values = list(range(1000))
    values[5] = None
    s = make("shuffle", "int")
    out = run(s, values, MaskBatch({}, 0))
    assert sorted(v for v in out if v is not None) == sorted(v for v in values if v is not None)
    assert out[5] is None and out != values
    assert out == run(make("shuffle", "int"), values, MaskBatch({}, 0))
    assert out != run(s, values, MaskBatch({}, 1000))
    assert out != run(make("shuffle", "int", column="d"), values, MaskBatch({}, 0))


# ---- text and JSON -----------------------------------------------------------------------------


def test_scrub_replaces_planted_pii():
    text = [
        "Call +1 (555) 123-4567 or mail jane.doe@corp.com today.",
        "Card 4111 1111 1111 1111, SSN 123-45-6789, IBAN DE89 3704 0044 0532 0130 00.",
        "Login from 192.168.10.20 on 2024-01-15; phone 030 1234567 or 555-010-9999.",
        "Nothing to see: order 12 shipped 2024-03-01.",
        None,
    ]
    out = run(make("scrub"), text)
    assert out[0] == "Call [PHONE] or mail [EMAIL] today."
    assert out[1] == "Card [CARD], SSN [ID], IBAN [IBAN]."
    assert out[2] == "Login from [IP] on 2024-01-15; phone [PHONE] or [PHONE]."
    assert out[3] == text[3] and out[4] is None
    only = run(
        make("scrub", kinds=["email"], patterns={r"\bORD-\d+\b": "[ORDER]"}),
        ["x@y.com ORD-123 +1 555 123 4567"],
    )
    assert only == ["[EMAIL] [ORDER] +1 555 123 4567"]
    assert make("scrub", patterns={"(?<=a)b": "x"}).problems()


def test_json_paths_masked_and_the_rest_kept():
    docs = [
        {
            "contact": {"email": "jane.doe@corp.com", "phone": "+44 20 7946 0958"},
            "ssn": "123-45-6789",
            "n": 1,
            "dob": "1990-05-01",
            "age": 41,
        },
        {"items": [{"email": "a@b.org", "sku": "X1"}, {"email": "c@d.net"}], "ssn": None},
        {"other": True},
    ]
    values = [json.dumps(d) for d in docs] + [None, "not json"]
    s = make(
        "json",
        "json",
        paths={
            "$.contact.email": "email",
            "$.contact.phone": {"strategy": "phone"},
            "$.ssn": "redact",
            "$.items[*].email": "email",
            "$.dob": {"strategy": "date_shift", "days": 10},
            "$.age": {"strategy": "generalize", "step": 10},
        },
    )
    assert s.problems() == []
    out = run(s, values)
    first, second = json.loads(out[0]), json.loads(out[1])
    top_level = run(make("email"), ["jane.doe@corp.com", "a@b.org"])
    assert first["contact"]["email"] == top_level[0]  # the same mapping as an email column
    assert first["ssn"] == "REDACTED" and first["n"] == 1 and first["age"] == 40
    assert (
        first["contact"]["phone"].startswith("+44 ")
        and first["contact"]["phone"] != (docs[0]["contact"]["phone"])
    )
    assert 1 <= abs((dt.date.fromisoformat(first["dob"]) - dt.date(1990, 5, 1)).days) <= 10
    assert second["items"][0] == {"email": top_level[1], "sku": "X1"} and second["ssn"] is None
    assert EMAIL.match(second["items"][1]["email"])
    assert out[2] == values[2] and out[3] is None and out[4] == "null"
    bad = make(
        "json",
        "json",
        paths={
            "contact.email": "email",
            "$.x": "nope",
            "$.y": {"strategy": "partial", "keep_lst": 1},
        },
    )
    assert {p.split(".")[0] for p, _, _ in bad.problems()} == {"paths"} and len(bad.problems()) == 3


def test_number_columns_of_text_strategies():
    phones = run(make("phone", "int"), [15551234567, 4930123456, None])
    assert [len(str(p)) for p in phones[:2]] == [11, 10] and phones[2] is None
    assert str(phones[0])[0] == "1" and phones[0] != 15551234567
    cards = run(make("credit_card", "int"), [4111111111111111, 1234567])
    assert luhn_ok(str(cards[0])) and str(cards[0])[:6] == "411111" and len(str(cards[1])) == 7
    dec = run(make("credit_card", "decimal(19,0)"), [Decimal("5500000000000004")])[0]
    assert luhn_ok(str(dec)) and str(dec).startswith("550000")
    ids = run(make("national_id", "int"), [123456789, 7, None])
    assert len(str(ids[0])) == 9 and ids[0] != 123456789 and ids[2] is None


def test_date_shift_on_text_dates():
    s = make("date_shift", "string", days=10)
    out = run(s, ["1990-05-01", "1990-05-01T10:00:00Z", "01/05/1990", None])
    as_date = run(make("date_shift", "date", days=10), [dt.date(1990, 5, 1)])[0]
    assert out[0] == as_date.isoformat() and out[1] == as_date.isoformat() + "T10:00:00Z"
    assert out[2] is None and out[3] is None  # not an ISO date: cannot be shifted, not kept


def test_scrub_inside_json_documents():
    docs = [
        '{"note": "mail a.b@x.com", "n": 4111111111111111, "tags": ["call 555-123-4567", 7]}',
        "free text 123-45-6789",
        None,
    ]
    out = run(make("scrub", "json"), docs)
    assert json.loads(out[0]) == {
        "note": "mail [EMAIL]",
        "n": "[CARD]",
        "tags": ["call [PHONE]", 7],
    }
    assert out[1] == "free text [ID]" and out[2] is None


def _valid_iban(iban: str) -> bool:
    s = iban.replace(" ", "")
    moved = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def test_iban_stays_valid_keeps_country_and_never_collides():
    from tests.unit import helpers

    raw = helpers.run(helpers.make("iban", "string", unique=True, locales=("de_DE",)), 0, 50_000)
    masked = run(make("iban"), raw)
    assert all(_valid_iban(v) for v in masked[:5000])
    pairs = zip(masked, raw.to_pylist(), strict=True)
    assert all(m[:2] == r[:2] and len(m) == len(r) for m, r in pairs)
    assert len(set(masked)) == len(masked) and not set(masked) & set(raw.to_pylist())
    spaced = run(make("iban"), ["DE89 3704 0044 0532 0130 00", None])
    assert spaced[1] is None and spaced[0].count(" ") == 5 and _valid_iban(spaced[0])


def test_scrub_finds_extensions_and_non_ascii_addresses():
    out = run(make("scrub"), ["call 206.269.0743x9150 today", "mail Jürgen.Müller@beispiel.de"])
    assert out == ["call [PHONE] today", "mail [EMAIL]"]


def test_iban_column_values_without_an_iban_shape_are_pseudonymised_not_crashed_on():
    values = ["DE89 3704 0044 0532 0130 00", "Überweisung 12345678", "n/a 2024-0117", None]
    out = run(make("iban"), values)
    assert _valid_iban(out[0]) and out[0][:2] == "DE" and out[3] is None
    assert out[1].startswith("Ü") and out[1][11] == " " and out[1] != values[1]
    assert (
        re.fullmatch(r"[a-z0-9]/[a-z0-9] [a-z0-9]{4}-[a-z0-9]{4}", out[2]) and out[2] != values[2]
    )


def test_email_paths_keep_the_lengths_that_tell_them_apart():
    """With the domain mapped, a local part of 6+ characters goes alone and one of fewer goes
    with its domain: a 6-digit local part must not be widened into a short one, or its image
    could meet a short address's."""
    digits = [f"{i:06d}@example.com" for i in range(0, 10**6, 499)]
    short = [f"{a}{b}@example.com" for a in "abcdefghij" for b in "0123456789"]
    out = run(make("email"), digits + short)
    assert len(set(out)) == len(out)
    assert all(len(v.split("@")[0]) == 6 for v in out[: len(digits)])
    assert all(len(v.split("@")[0]) == 2 for v in out[len(digits) :])


def _email_reference(strategy: Strategy, value: str) -> str:
    """One address masked as Email's docstring defines it, through Pseudonymizer.strings one
    value at a time (the strategy itself works on the whole column in compiled loops)."""
    from tdm.masking.strategies.fpe import Pseudonymizer
    from tdm.masking.strategies.mail import RESERVED_TLD, SEPARATE

    def fpe(part: str, text: str, head: int = 0, tail: int = 0, widen: bool = True) -> str:
        p = Pseudonymizer(strategy.key, strategy.domain() + part)
        return p.strings(pa.array([text]), "alnum", head, tail, widen)[0].as_py()

    value = value.lower()
    local, at, domain = value.rpartition("@") if "@" in value else (value, "", "")
    alnum = lambda v: len(re.sub("[^a-z0-9]", "", v))  # noqa: E731
    n_local, n_domain = alnum(local), alnum(domain)
    short = (n_local < SEPARATE and n_local + n_domain > 0) or (at and n_domain < SEPARATE)
    if not short:
        mapped = f"@{fpe('/domain', domain, widen=False)}.{RESERVED_TLD}" if at else ""
        return fpe("/local", local, widen=False) + mapped
    total = n_local + n_domain
    whole, first = total < 2 * SEPARATE, n_local < SEPARATE
    rest = total - SEPARATE
    out = fpe("/unit", value, 0 if whole or first else rest, 0 if whole or not first else rest)
    if whole and "@" not in value and re.fullmatch("[a-z0-9]+", value):
        return out  # widened: one value of letters and digits only
    head = total if whole else (SEPARATE if first else 0)
    out = fpe("/rest", out, head, 0 if whole or first else SEPARATE)
    return out + (f".{RESERVED_TLD}" if at else "")


def test_email_column_matches_its_per_address_definition():
    rng = np.random.default_rng(11)
    chars = [*"abcxyz0189.-_+@", "@", "@", "Q", "ü"]
    odd = ["".join(rng.choice(chars, rng.integers(0, 30))) for _ in range(3000)]
    values = [*emails(2000).to_pylist(), *odd, "abc", "ABC", "a1", "jo@web.de", "@", "", None]
    s = make("email", style="format")
    fine = []
    for v in values:
        try:
            fine.append((v, None if v is None else _email_reference(s, v)))
        except ValueError:  # too short for a pseudonym: the column would be refused
            continue
    assert len(fine) > 3000
    got = run(s, [v for v, _ in fine])
    assert got == [want for _, want in fine]
    sources = {v.lower() for v, _ in fine if v is not None}
    assert len({g for g in got if g is not None}) == len(sources)  # collision-free


def test_warm_up_compiles_the_kernels_images_ship():
    from tdm.masking.ff1 import kernels
    from tdm.masking.strategies import (
        addresses,
        believable,
        packing,
        phone_kernels,
        phone_rows,
        warm_up,
    )

    warm_up()
    compiled = [packing.scan, packing.unpack, kernels.encrypt_round, kernels.decrypt_round]
    compiled += [addresses.split, addresses.assemble, believable.shapes]
    compiled += [phone_kernels.classify_rows, phone_kernels.write_rows, phone_kernels.regex_rows]
    compiled += [phone_rows.put_digits]
    assert all(fn.signatures for fn in compiled)
