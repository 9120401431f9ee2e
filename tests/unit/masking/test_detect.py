"""PII detection: by column name, by sampled values, combined, and the suggested mask lines."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time

import numpy as np
import pyarrow as pa
import pytest

from tdm.core.types import parse_type
from tdm.generators import pools
from tdm.masking.pii.detect import Finding, detect_column, suggestion
from tdm.masking.pii.names import CATEGORIES, normalize
from tests.unit.helpers import make, run

TODAY = dt.date(2026, 1, 1)
STRATEGIES = {
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


def detect(name: str, type_: str = "string", values=None, locales=("en_US",)) -> list[Finding]:
    """detect_column, checking the invariants every call must keep."""
    sample = (
        None
        if values is None
        else values
        if isinstance(values, pa.Array | pa.ChunkedArray)
        else pa.array(values)
    )
    found = detect_column(name, parse_type(type_), sample, locales, today=TODAY)
    assert [f.confidence for f in found] == sorted((f.confidence for f in found), reverse=True)
    for f in found:
        assert (
            f.category in CATEGORIES
            and 0 < f.confidence <= 1
            and f.by in ("name", "values", "name+values")
        )
        for v in [] if sample is None else sample.to_pylist():
            # no PII in reports (dictionary words may legitimately occur in the prose)
            if isinstance(v, str) and len(v) >= 4 and not (v.isalpha() and v.islower()):
                assert v not in f.reason
    return found


def top(found: list[Finding]) -> Finding:
    assert found, "expected a finding"
    return found[0]


def generated(name: str, n: int = 1000, **params) -> pa.Array:
    return run(make(name, **params), 0, n)


# ---- by name ---------------------------------------------------------------------------------


def test_normalize():
    assert normalize("custEmailAddress2") == ["cust", "email", "address"]
    assert normalize("IPAddress") == ["ip", "address"]
    assert normalize("Date-Of Birth") == ["date", "of", "birth"]
    assert normalize("address_line_1") == ["address", "line", "1"]


@pytest.mark.parametrize(
    ("name", "type_", "category"),
    [
        ("email", "string", "email"),
        ("cust_email", "string", "email"),
        ("EmailAddress", "string", "email"),
        ("e_mail", "string", "email"),
        ("phone", "string", "phone"),
        ("mobile_number", "string", "phone"),
        ("msisdn", "int", "phone"),
        ("fax", "string", "phone"),
        ("ssn", "string", "national_id"),
        ("social_security_number", "string", "national_id"),
        ("national_id", "string", "national_id"),
        ("passport_no", "string", "national_id"),
        ("tax_id", "string", "national_id"),
        ("drivers_license", "string", "national_id"),
        ("first_name", "string", "first_name"),
        ("givenName", "string", "first_name"),
        ("forename", "string", "first_name"),
        ("last_name", "string", "last_name"),
        ("surname", "string", "last_name"),
        ("familyName", "string", "last_name"),
        ("full_name", "string", "full_name"),
        ("customer_name", "string", "full_name"),
        ("cardholder_name", "string", "full_name"),
        ("name", "string", "full_name"),
        ("street_address", "string", "street_address"),
        ("address_line1", "string", "street_address"),
        ("addr", "string", "street_address"),
        ("zip", "string", "postcode"),
        ("postal_code", "string", "postcode"),
        ("postcode", "int", "postcode"),
        ("city", "string", "city"),
        ("town", "string", "city"),
        ("dob", "date", "date_of_birth"),
        ("birth_date", "date", "date_of_birth"),
        ("dateOfBirth", "timestamp", "date_of_birth"),
        ("birthday", "string", "date_of_birth"),
        ("iban", "string", "iban"),
        ("bank_account_number", "string", "iban"),
        ("card_number", "string", "credit_card"),
        ("cc_number", "string", "credit_card"),
        ("credit_card", "string", "credit_card"),
        ("pan", "string", "credit_card"),
        ("ip", "string", "ip_address"),
        ("ip_address", "string", "ip_address"),
        ("ipv4", "string", "ip_address"),
        ("username", "string", "username"),
        ("user_name", "string", "username"),
        ("login", "string", "username"),
        ("password", "string", "password"),
        ("passwd", "string", "password"),
        ("pwd", "string", "password"),
        ("api_key", "string", "secret"),
        ("access_token", "string", "secret"),
        ("client_secret", "uuid", "secret"),
        ("notes", "string", "free_text"),
        ("comment", "string", "free_text"),
        ("bio", "string", "free_text"),
        ("lat", "float", "geo"),
        ("longitude", "decimal(9,6)", "geo"),
    ],
)
def test_by_name(name, type_, category):
    f = top(detect(name, type_))
    assert (f.category, f.by) == (category, "name")
    assert f"'{name}'" in f.reason
    low, high = (0.3, 0.45) if category == "free_text" else (0.5, 0.9)
    assert low <= f.confidence <= high


@pytest.mark.parametrize(
    ("name", "type_"),
    [
        ("product_name", "string"),
        ("company_name", "string"),
        ("file_name", "string"),
        ("hostname", "string"),
        ("host_name", "string"),
        ("table_name", "string"),
        ("email_verified", "bool"),
        ("email_count", "int"),
        ("is_email", "bool"),
        ("email_template", "string"),
        ("phone_type", "string"),
        ("zip_file", "string"),
        ("card_type", "string"),
        ("birth_place", "string"),
        ("mac_address", "string"),
        ("customer_id", "int"),
        ("order_id", "string"),
        ("created_at", "timestamp"),
        ("status", "string"),
        ("capacity", "int"),
        ("last_login", "timestamp"),
        ("amount", "float"),
        ("first_name", "int"),
        ("email", "bool"),
        ("city", "int"),
        ("dob", "int"),
    ],
)
def test_by_name_negatives(name, type_):
    assert detect(name, type_) == []


def test_specific_names_beat_generic_ones():
    assert detect("email")[0].confidence > detect("mail")[0].confidence
    assert detect("postal_code")[0].confidence > detect("zip")[0].confidence
    assert detect("customer_name")[0].confidence > detect("name")[0].confidence
    assert detect("description")[0].confidence < 0.5  # free text by name alone: report only
    assert detect("notes", "int") == []


# ---- by values -------------------------------------------------------------------------------


def test_emails_by_values():
    f = top(detect("contact", values=generated("email")))
    assert (f.category, f.by) == ("email", "values") and f.confidence >= 0.95
    assert "100% of 1,000 sampled values are email addresses" in f.reason


def test_phones_by_values_in_two_locales():
    for locale in ("en_US", "de_DE"):
        values = pools.sampled(locale, "phone_number", 500)
        f = top(detect("col", values=values, locales=(locale,)))
        assert (f.category, f.by) == ("phone", "values") and f.confidence >= 0.85


def luhn_check(payload: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def test_card_numbers_luhn_valid_vs_invalid():
    rng = np.random.default_rng(3)
    payloads = ["".join(map(str, rng.integers(0, 10, 15))) for _ in range(500)]
    valid = [p + luhn_check(p) for p in payloads]
    invalid = [p + str((int(luhn_check(p)) + 1) % 10) for p in payloads]
    f = top(detect("col", values=valid))
    assert (f.category, f.by) == ("credit_card", "values") and f.confidence >= 0.95
    assert "Luhn-valid" in f.reason
    assert not [f for f in detect("col", values=invalid) if f.category == "credit_card"]
    spaced = generated("credit_card", format="spaced")
    assert top(detect("col", values=spaced)).category == "credit_card"
    # a card column whose values are not card numbers at all: name evidence halved
    f = top(detect("card_number", values=["n/a", "unknown", "masked"] * 10))
    assert f.category == "credit_card" and f.confidence < 0.5 and "but only 0%" in f.reason


def test_ibans_valid_vs_invalid():
    valid = generated("iban", n=500, locales=("en_US", "de_DE")).to_pylist()
    valid += generated("iban", n=500, format="spaced", country="DE").to_pylist()
    f = top(detect("col", values=valid))
    assert (f.category, f.confidence) == ("iban", 0.98)
    broken = [v[:2] + ("11" if v[2:4] != "11" else "12") + v[4:] for v in valid]
    assert not [f for f in detect("col", values=broken) if f.category == "iban"]


def test_ssn_like_values():
    f = top(detect("col", values=generated("pattern", pattern="###-##-####")))
    assert (f.category, f.by) == ("national_id", "values")
    assert not [
        f
        for f in detect("col", values=generated("pattern", pattern="###-####-##"))
        if f.category == "national_id"
    ]


def test_ip_addresses():
    rng = np.random.default_rng(5)
    v4 = [str(ipaddress.IPv4Address(int(x))) for x in rng.integers(0, 2**32, 300)]
    v6 = [
        str(ipaddress.IPv6Address(int(x) << 64 | int(y)))
        for x, y in rng.integers(0, 2**62, (300, 2))
    ]
    for values in (v4, v6, v4 + v6):
        f = top(detect("col", values=values))
        assert (f.category, f.by) == ("ip_address", "values") and f.confidence >= 0.9
    assert detect("col", values=["1.2.3", "300.1.1.1", "12:30:45", "v1.2.3.4"] * 10) == []


def test_names_from_locale_pools_vs_random_words():
    both = ("en_US", "de_DE")
    for gen, category in (
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("full_name", "full_name"),
    ):
        f = top(detect("col", values=generated(gen, locales=both), locales=both))
        assert (f.category, f.by) == (category, "values") and f.confidence >= 0.9
    upper = pa.array([v.upper() for v in generated("first_name").to_pylist()])
    assert top(detect("col", values=upper)).category == "first_name"  # case-insensitive
    words = pools.provider_values("en_US", "word_list")
    assert detect("col", values=words) == []
    assert detect("col", values=generated("sentence")) == []
    assert detect("col", values=generated("city")) == []


def test_free_text_with_embedded_contacts():
    sentences = generated("sentence").to_pylist()
    emails = generated("email").to_pylist()
    text = [
        s + (f" Reach me at {e} please." if i % 10 == 0 else "")
        for i, (s, e) in enumerate(zip(sentences, emails, strict=True))
    ]
    text[5] += " Or call (555) 123-4567."
    f = top(detect("col", values=text))
    assert (f.category, f.by) == ("free_text", "values") and f.confidence >= 0.7
    assert all(e not in f.reason for e in emails)
    g = top(detect("notes", values=text))
    assert g.by == "name+values" and g.confidence > f.confidence
    plain = top(detect("notes", values=sentences))
    assert (plain.by, plain.confidence) == ("name", 0.35)


def test_dates_of_birth():
    rng = np.random.default_rng(1)
    adults = pa.array([TODAY - dt.timedelta(days=int(d)) for d in rng.integers(6600, 31000, 500)])
    kids = pa.array([TODAY - dt.timedelta(days=int(d)) for d in rng.integers(0, 36000, 500)])
    future = pa.array([TODAY + dt.timedelta(days=int(d)) for d in range(1, 501)])
    name_only = top(detect("dob", "date")).confidence
    adult = top(detect("dob", "date", adults))
    assert adult.by == "name+values" and adult.confidence > 0.95 and "ages 18-90" in adult.reason
    assert name_only < top(detect("dob", "date", kids)).confidence < adult.confidence
    assert top(detect("dob", "date", future)).confidence == name_only  # values do not agree
    stamps = adults.cast(pa.timestamp("us", tz="UTC"))
    assert top(detect("birth_date", "timestamp", stamps)).confidence == adult.confidence
    assert top(detect("birthdate", "string", adults.cast(pa.string()))).by == "name+values"
    assert detect("created", "date", adults) == []  # ages alone say nothing


def test_combined_confidence_exceeds_each_source():
    emails = generated("email", n=200)
    by_name = top(detect("email")).confidence
    by_values = top(detect("col", values=emails)).confidence
    both = top(detect("email", values=emails))
    assert both.by == "name+values" and both.confidence > max(by_name, by_values)
    assert "name 'email'" in both.reason and "of 200 sampled values" in both.reason
    names = generated("full_name", n=200)
    assert top(detect("name", values=names)).confidence > top(detect("name")).confidence
    # a 'name' column of product titles: the name evidence is halved below the gate
    products = top(detect("name", values=generated("sentence", n=200)))
    assert products.category == "full_name" and products.confidence < 0.5


def test_shares_ignore_nulls_and_empties_and_need_enough_values():
    emails = generated("email", n=40).to_pylist()
    padded = emails + [None] * 500 + ["", "   "] * 100
    f = top(detect("col", values=padded))
    assert f.category == "email" and "100% of 40 sampled values" in f.reason
    assert detect("col", values=emails[:9] + [None] * 50) == []  # too few for values alone
    few = top(detect("email", values=emails[:5]))
    assert few.by == "name+values" and few.confidence > top(detect("email")).confidence
    assert detect("col", values=pa.nulls(100, pa.string())) == []
    assert detect("col", values=pa.array([], pa.string())) == []


def test_mixed_share_gives_lower_confidence():
    emails = generated("email", n=300).to_pylist()
    words = pools.provider_values("en_US", "word_list").to_pylist()[:700]
    mixed = top(detect("col", values=emails + words))
    pure = top(detect("col", values=emails))
    assert mixed.category == "email" and 0.4 < mixed.confidence < pure.confidence


def test_sample_types():
    emails = generated("email", n=100)
    chunked = pa.chunked_array([emails[:50], emails[50:]])
    assert detect("col", values=chunked) == detect("col", values=emails)
    assert detect("col", values=emails.dictionary_encode()) == detect("col", values=emails)
    assert detect("col", values=emails.cast(pa.large_string())) == detect("col", values=emails)
    assert [f for f in detect("col", "int", pa.array(range(100)))] == []
    assert detect("col", "json", pa.array(['{"a": 1}'] * 20)) == []


# ---- output ----------------------------------------------------------------------------------


def test_categories_suggest_known_strategies():
    assert {
        "email",
        "phone",
        "credit_card",
        "iban",
        "national_id",
        "ip_address",
        "date_of_birth",
        "first_name",
        "last_name",
        "full_name",
        "street_address",
        "postcode",
        "city",
        "username",
        "password",
        "secret",
        "free_text",
    } <= set(CATEGORIES)
    for spec in CATEGORIES.values():
        assert spec["strategy"] in STRATEGIES


def test_suggestion():
    def line(category: str) -> str:
        return suggestion(Finding(category, 0.9, "r", "name"))

    assert line("email") == "mask: email"
    assert line("password") == "mask: redact"
    assert line("date_of_birth") == "mask: {strategy: date_shift, days: 30}"
    assert line("first_name") == "mask: {strategy: substitute, pool: first_name}"
    assert line("full_name") == "mask: {strategy: substitute, pool: name}"
    assert suggestion(top(detect("cust_email"))) == "mask: email"


def test_deterministic_and_fast():
    both = ("en_US", "de_DE")
    samples = [generated(g, locales=both) for g in ("email", "phone", "full_name", "iban")]
    first = [detect_column("c", parse_type("string"), s, both, today=TODAY) for s in samples]
    again = [
        detect_column("c", parse_type("string"), s, both, today=TODAY) for s in reversed(samples)
    ]
    assert first == list(reversed(again))
    timings = []
    for s in samples * 3:
        start = time.perf_counter()
        detect_column("contact_info", parse_type("string"), s, both, today=TODAY)
        timings.append(time.perf_counter() - start)
    assert float(np.median(timings)) < 0.05
