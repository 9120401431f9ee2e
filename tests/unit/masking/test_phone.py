"""The `phone` mask: valid numbers to valid numbers of the same country (phonenumbers is the
judge), format kept, keyed, deterministic and collision-free (tdm.masking.strategies.phones)."""

from __future__ import annotations

import re

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from faker import Faker
from phonenumbers import CountryCodeSource, PhoneNumberFormat, PhoneNumberType
from pydantic import ValidationError

from tdm.core.errors import TdmError
from tdm.core.types import parse_type
from tdm.masking.keys import MaskingKey
from tdm.masking.strategies import STRATEGIES, contact, phone_rules, phones
from tdm.masking.strategies.base import MaskBatch, MaskColumn

KEY = MaskingKey(b"unit-test-masking-key-0123456789")
OTHER = MaskingKey(b"another-masking-key-abcdefghijkl")
LOCALES = {
    "US": "en_US",
    "GB": "en_GB",
    "DE": "de_DE",
    "FR": "fr_FR",
    "IN": "en_IN",
    "BR": "pt_BR",
    "JP": "ja_JP",
    "AU": "en_AU",
    "CA": "en_CA",
}
TYPES = [getattr(PhoneNumberType, n) for n in dir(PhoneNumberType) if n.isupper()]


def mask(values, kind: str = "string", key: MaskingKey = KEY, **params) -> list:
    cls = STRATEGIES["phone"]
    strategy = cls(cls.Params.model_validate(params), MaskColumn("t", "c", parse_type(kind)), key)
    arr = values if isinstance(values, pa.Array) else pa.array(values, parse_type(kind).arrow)
    out = strategy.apply(arr, MaskBatch())
    assert out.type == arr.type and len(out) == len(arr)
    return out.to_pylist()


def parsed(number: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(number, region, keep_raw_input=True)
    except phonenumbers.NumberParseException:
        return None


def valid_in(number: str, region: str | None) -> bool:
    """Valid for its own country, written with '+' or as a national number of `region` (not
    through an international call prefix such as 00, which names another country)."""
    n = parsed(number, region)
    sources = (CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN, CountryCodeSource.FROM_DEFAULT_COUNTRY)
    return bool(n and phonenumbers.is_valid_number(n) and n.country_code_source in sources)


def shape(number: str) -> str:
    return re.sub(r"\d", "#", number)


def examples(region: str) -> list[phonenumbers.PhoneNumber]:
    found = (phonenumbers.example_number_for_type(region, t) for t in TYPES)
    return [n for n in found if n is not None and phonenumbers.is_valid_number(n)]


def faker_numbers(region: str, count: int) -> list[str]:
    fake = Faker(LOCALES[region])
    fake.seed_instance(7)
    return list(dict.fromkeys(fake.phone_number() for _ in range(count)))


def assert_valid_to_valid(inputs: list[str], outputs: list[str], region: str | None) -> int:
    code = phonenumbers.country_code_for_region(region) if region else None
    checked = 0
    for a, b in zip(inputs, outputs, strict=True):
        assert shape(a) == shape(b), (a, b)
        if not valid_in(a, region):
            continue
        out = parsed(b, region)
        assert out is not None and phonenumbers.is_valid_number(out), (a, b)
        assert out.country_code == (code or parsed(a).country_code), (a, b)
        checked += 1
    return checked


@pytest.mark.parametrize("region", sorted(LOCALES))
def test_example_numbers_of_every_type_mask_to_valid_numbers_of_their_country(region):
    numbers = examples(region)
    international = [
        phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL) for n in numbers
    ]
    e164 = [phonenumbers.format_number(n, PhoneNumberFormat.E164) for n in numbers]
    national = [phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL) for n in numbers]
    both = international + e164
    assert assert_valid_to_valid(both, mask(both), None) == len(both) >= 8
    assert assert_valid_to_valid(national, mask(national, region=region), region) == len(national)
    assert all(a != b for a, b in zip(both, mask(both), strict=True))


@pytest.mark.parametrize("region", sorted(LOCALES))
def test_faker_numbers_mask_to_valid_numbers_of_the_region(region):
    numbers = faker_numbers(region, 3000)
    out = mask(numbers, region=region)
    assert assert_valid_to_valid(numbers, out, region) >= len(numbers) // 5
    assert len(set(out)) == len(numbers)


def test_plus_one_numbers_stay_in_the_north_american_plan():
    numbers = ["+1 (202) 555-0143", "+1 416 555 0199", "+1-868-555-0123", "+1 212 736 5000"]
    out = mask(numbers)
    assert assert_valid_to_valid(numbers, out, None) == sum(valid_in(n, None) for n in numbers) >= 3
    assert all(o.startswith("+1") for o in out)


def test_deterministic_across_batches_and_keyed():
    numbers = faker_numbers("US", 4000) + faker_numbers("GB", 2000)
    whole = mask(numbers, region="US")
    parts = mask(numbers[:1234], region="US") + mask(numbers[1234:], region="US")
    assert whole == parts == mask(numbers, region="us")
    other = mask(numbers, key=OTHER, region="US")
    assert sum(a != b for a, b in zip(whole, other, strict=True)) > 0.99 * len(numbers)


def us_numbers(count: int) -> pa.Array:
    """`count` distinct '+1' numbers, about a third of them valid, without a Python loop."""
    rng = np.random.default_rng(1)
    n = rng.choice(9 * 10**9, size=count, replace=False) + 10**9
    digits = pc.cast(pa.array(n), pa.string())
    area, rest = pc.utf8_slice_codeunits(digits, 0, 3), pc.utf8_slice_codeunits(digits, 3, 10)
    return pc.binary_join_element_wise("+1 (", area, ") ", rest, "")


def test_collision_free_over_200k_valid_and_invalid_numbers():
    numbers = us_numbers(200_000)
    out = pa.array(mask(numbers))
    assert pc.count_distinct(out).as_py() == 200_000
    rules = phone_rules.for_code(1)
    before = phones.classes(numbers, rules)
    assert 0.2 < (before == 16 * phones.VALID).mean() < 0.8  # both valid and invalid numbers
    np.testing.assert_array_equal(before, phones.classes(out, rules))
    sample = np.random.default_rng(2).choice(len(numbers), 2000, replace=False)
    for a, b in zip(numbers.take(sample).to_pylist(), out.take(sample).to_pylist(), strict=True):
        va = phonenumbers.is_valid_number(parsed(a))
        assert not va or phonenumbers.is_valid_number(parsed(b)), (a, b)


def test_every_number_of_a_six_digit_span_maps_onto_the_same_set():
    """Cycle-walking within each class is a permutation: over all 10**6 numbers that differ in
    the masked digits only, the masked numbers are those numbers again."""
    numbers = pc.binary_join_element_wise(
        "+1 415 5", pc.utf8_lpad(pc.cast(pa.array(np.arange(10**6)), pa.string()), 6, "0"), ""
    )
    numbers = pc.utf8_replace_slice(numbers, 10, 10, "-")
    out = pa.array(mask(numbers, keep_digits=5))
    assert pc.all(pc.starts_with(out, "+1 415 5")).as_py()
    assert pc.count_distinct(out).as_py() == 10**6
    assert pc.all(pc.is_in(out, numbers)).as_py()
    rules = phone_rules.for_code(1)
    np.testing.assert_array_equal(phones.classes(numbers, rules), phones.classes(out, rules))


def test_nulls_formats_extensions_and_the_national_prefix():
    values = ["+44 (0)20 7946 0958", "+1 202 555 0143 x123", "tel:+33 6 12 34 56 78", None]
    out = mask(values)
    assert out[3] is None and out[0].startswith("+44 (0)") and out[2].startswith("tel:+33 ")
    assert [shape(v) for v in values[:3]] == [shape(o) for o in out[:3]]
    assert_valid_to_valid(values[:3], out[:3], None)
    assert mask([None, None]) == [None, None]


def test_numbers_without_plus_or_region_keep_todays_mask():
    out = mask(["(555) 123-4567", "030 1234567"])
    assert out == [out[0], out[1]] and out[0][:2] == "(5" and out[1][0] == "0"
    assert [shape(o) for o in out] == ["(###) ###-####", "### #######"]


def test_integer_columns_are_e164_or_national_with_region():
    out = mask([4915112345678, 12025550143, None], "int")
    assert out[2] is None
    for a, b in zip([4915112345678, 12025550143], out[:2], strict=True):
        assert len(str(b)) == len(str(a)) and b != a
        assert phonenumbers.is_valid_number(parsed(f"+{b}"))
    assert parsed(f"+{out[0]}").country_code == 49 and str(out[1])[0] == "1"
    national = mask([2025550143, 4155550199], "int", region="US")
    assert all(phonenumbers.is_valid_number(parsed(str(n), "US")) for n in national)


def test_unknown_region_is_refused_with_examples():
    with pytest.raises(ValidationError, match=r"region[\s\S]*'XX'[\s\S]*US, GB"):
        STRATEGIES["phone"].Params.model_validate({"region": "XX"})
    assert STRATEGIES["phone"].Params.model_validate({"region": "gb"}).region == "GB"


def test_the_walk_is_bounded(monkeypatch):
    """A class of fewer than 10**6 numbers (+1 numbers of 7 digits: 10**4) is walked into from
    FF1 over 10**6 values, about 100 rounds a number; the rounds are bounded (MAX_ROUNDS, times
    a tenth of that mean); a smaller class is masked as invalid numbers are (no walk)."""
    small = phone_rules.valid(1, 7)
    numbers = [f"+1 {small.unrank(i * 97)}" for i in range(20)]
    out = mask(numbers)
    assert all(small.accepts(o[3:]) for o in out) and len(set(out)) == len(numbers)
    monkeypatch.setattr(contact, "MAX_ROUNDS", 1)
    with pytest.raises(TdmError, match=r"t\.c: mask 'phone' found no number .* in 10 rounds"):
        mask(numbers)
    tiny = phone_rules.valid(44, 7)  # 11 numbers
    assert tiny.size < phones.MIN_CLASS
    out = mask([f"+44 {tiny.unrank(i)}" for i in range(tiny.size)])
    assert len(set(out)) == tiny.size and all(shape(o) == "+## #######" for o in out)


def test_every_calling_code_compiles_to_automata_and_its_prefix_patterns_to_re2():
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    assert len(codes) > 200
    probe = pa.array(["0123456789"])
    for code in codes:
        rules = phone_rules.for_code(code)
        assert rules is not None
        for n in rules.lengths:
            assert phone_rules.valid(code, n).length == n
        pc.match_substring_regex(probe, f"^(?:{rules.general_pattern})$")
        if rules.prefix_pattern:
            pc.replace_substring_regex(probe, rules.prefix_pattern, rules.transform)
            fast = rules.prefixes is not None
            assert fast or rules.transform or not rules.prefix_pattern.isdigit()


def test_plus_numbers_mask_the_same_with_or_without_region():
    numbers = ["+44 20 7946 0958", "+1-202-555-0143", "+49 151 12345678", None]
    assert mask(numbers, region="US") == mask(numbers) == mask(numbers, region="de")
    national = ["(202) 555-0143", "030 1234567"]
    assert mask(national, region="US") != mask(national)  # national numbers: region decides


def test_prefixes_rewritten_by_transform_rules_stay_valid():
    """AR mobiles written nationally ("011 15-2345-6789" is +54 9 11 2345-6789) and BB local
    numbers ("417-1234" is +1 246 417-1234): parse rewrites their prefix, the mask keeps it."""
    rng = np.random.default_rng(4)
    ar = [f"011 15-{n // 10**4:04d}-{n % 10**4:04d}" for n in rng.choice(10**8, 300, replace=False)]
    bb = [f"{n // 10**4:03d}-{n % 10**4:04d}" for n in rng.choice(10**7, 300, replace=False)]
    for region, numbers in (("AR", ar), ("BB", bb)):
        valid = [n for n in numbers if valid_in(n, region)]
        out = mask(valid, region=region)
        assert len(valid) > 30 and len(set(out)) == len(valid)
        assert assert_valid_to_valid(valid, out, region) == len(valid)
        if region == "AR":  # the prefix and its carrier token stay: "011 15-"
            assert all(b.startswith("011 15-") for b in out)
