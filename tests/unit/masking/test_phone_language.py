"""The automata of the `phone` mask (tdm.masking.strategies.phone_language, phone_rules): the
valid numbers they count are exactly those phonenumbers.is_valid_number accepts, ranks and
numbers map both ways, and national prefixes are read as libphonenumber's parse reads them."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumber

from tdm.masking.ff1 import MIN_DOMAIN
from tdm.masking.strategies import contact, phone_rules, phones
from tdm.masking.strategies.phone_language import Glushkov, first_pairs, language

# single-region codes, codes shared by several regions (+1, +7, +44, +47, +61, +262, +590,
# +599) and a non-geographic one (+800)
CODES = (1, 7, 33, 39, 44, 47, 49, 55, 61, 81, 86, 91, 262, 590, 599, 800)


def is_valid(code: int, national: str) -> bool:
    number = PhoneNumber(country_code=code, national_number=int(national))
    zeros = len(national) - len(national.lstrip("0"))
    if zeros:
        number.italian_leading_zero = True
        number.number_of_leading_zeros = zeros if zeros > 1 else None
    return phonenumbers.is_valid_number(number)


@pytest.mark.parametrize("code", CODES)
def test_valid_numbers_are_exactly_phonenumbers_valid_ones(code):
    rng = random.Random(code)
    rules = phone_rules.for_code(code)
    lengths = {n for r in phonenumbers.region_codes_for_country_code(code) for n in rules.lengths}
    checked = 0
    for n in sorted(lengths):
        valid = phone_rules.valid(code, n)
        numbers = ["".join(rng.choice("0123456789") for _ in range(n)) for _ in range(300)]
        if valid.size:
            numbers += [valid.unrank(rng.randrange(valid.size)) for _ in range(300)]
        for number in numbers:
            assert valid.accepts(number) == is_valid(code, number), (code, number)
        checked += valid.size > 0
    assert checked


def test_rank_and_unrank_are_inverse_and_ordered():
    valid = phone_rules.valid(44, 10)
    ranks = sorted(random.Random(3).sample(range(valid.size), 2000))
    numbers = [valid.unrank(r) for r in ranks]
    assert numbers == sorted(numbers) and all(map(valid.accepts, numbers))
    assert [valid.rank(n) for n in numbers] == ranks
    assert valid.unrank(0) <= numbers[0] and numbers[-1] <= valid.unrank(valid.size - 1)


def test_a_language_of_several_patterns_counts_each_string_once():
    g = Glushkov()
    first, second = g.add(r"1\d{2}|12[3-5]"), g.add(r"[12]\d\d")
    both = language(g, 3, lambda test: test(first) and test(second))
    either = language(g, 3, lambda test: test(first) or test(second))
    assert (both.size, either.size) == (100, 200)
    assert both.accepts("125") and not both.accepts("225") and either.accepts("225")
    assert first_pairs("0|180020") == (1023 | 1 << 18)  # 0x and 18


def test_national_prefixes_read_as_parse_reads_them():
    cases = {"GB": ["02079460958", "2079460958", "1800201234"], "US": ["12125550143"]}
    cases["JP"] = ["0312345678", "0002123456", "00376801234567", "312345678"]
    cases["BR"] = ["0211199876543", "01123456789", "90211199876543", "1123456789"]
    cases["AR"] = ["01115 23456789", "0223515 456789", "1123456789"]
    cases["BB"] = ["2345678", "12462345678"]
    for region, numbers in cases.items():
        numbers = [n.replace(" ", "") for n in numbers]
        rules = phone_rules.for_region(region)
        ks, inserted = phones.national_prefix(rules, numbers)
        many = numbers * (phones.ARROW_ROWS // len(numbers) + 1)
        arrow = phones.national_prefix(rules, many)
        assert (list(arrow[0][: len(numbers)]), arrow[1][: len(numbers)]) == (list(ks), inserted)
        for number, k, x in zip(numbers, ks, inserted, strict=True):
            national = phonenumbers.national_significant_number(phonenumbers.parse(number, region))
            assert national == (x + number[k:] if k >= 0 else number), (region, number)
    assert phones.national_prefix(phone_rules.for_region("AR"), ["0111523456789"])[1] == ["911"]


def test_ff1_domains_cover_the_class_with_few_values_outside():
    for size in (10, 999_999, 10**6, 3_621_029_000, 9_716_000_000, 10**15, 4 * 10**17):
        radix, length = contact.ff1_shape(size)
        assert radix**length >= max(size, MIN_DOMAIN) and 2 <= radix <= 2**16
        if size >= MIN_DOMAIN:
            assert radix**length < size * (1 + 4 * length / radix)
