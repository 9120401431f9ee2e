"""The spec's `privacy:` block: quasi-identifier sets and k, and the problems it is refused with."""

from __future__ import annotations

from tdm.plan.loading import load_spec
from tests.unit.specs import CUSTOMERS, problems_of, write

PEOPLE = CUSTOMERS + (
    "      born: {type: date, generator: date, start: -80y, end: -18y}\n"
    "      zip: {type: string, generator: pattern, pattern: '#####'}\n"
)


def test_sets_and_k_are_read_a_flat_list_being_one_set(tmp_path):
    spec = load_spec(
        write(
            tmp_path, "privacy:\n  quasi_identifiers: {customers: [born, zip]}\n  k: 3\n" + PEOPLE
        )
    ).spec
    assert spec.privacy.quasi_identifiers == {"customers": [["born", "zip"]]}
    assert spec.privacy.k == 3


def test_unknown_tables_columns_and_repeats_are_named_at_their_line(tmp_path):
    text = (
        PEOPLE
        + "privacy:\n"
        + "  quasi_identifiers:\n"
        + "    customer: [[born]]\n"  # line 12
        + "    customers: [[born, zipp], [zip, zip]]\n"  # line 13
    )
    found = {(p.path, p.message, p.hint, p.line) for p in problems_of(write(tmp_path, text))}
    assert found == {
        (
            "privacy.quasi_identifiers.customer",
            "unknown table 'customer'",
            'did you mean "customers"?',
            12,
        ),
        (
            "privacy.quasi_identifiers.customers[0]",
            "quasi-identifier 'zipp' is not a column of customers",
            'did you mean "zip"?',
            13,
        ),
        ("privacy.quasi_identifiers.customers[1]", "zip named twice in one set", None, 13),
    }


def test_k_below_1_and_an_empty_set_are_refused(tmp_path):
    text = PEOPLE + "privacy:\n  quasi_identifiers: {customers: [[]]}\n  k: 0\n"
    problems = problems_of(write(tmp_path, text))
    assert [p.path for p in problems] == ["privacy.quasi_identifiers.customers[0]", "privacy.k"]
    assert all("Input should" not in p.message for p in problems)
