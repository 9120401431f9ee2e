"""Every independent mistake of a spec in one pass, root causes first, and nothing that only
follows from another mistake (`tdm.plan.stages`, `tdm.spec.salvage`).

Line numbers count from the first line of each dedented YAML text (the `dataset:` line is 1).
"""

from __future__ import annotations

import pytest

from tdm.core.errors import Problem, SpecError
from tdm.plan.loading import load_spec
from tests.unit.specs import CUSTOMERS, problems_of, write

FIVE_MISTAKES = """\
dataset: shop
seed: 1
tables:
  customers:
    rows: -5
    primary_key: id
    columns:
      id: {type: int, generator: sequence}
      name: {type: string, generator: full_nam}
      email: {type: string, generator: email, nul_ratio: 0.1}
  orders:
    rows: {per: customers, distribution: poisson, lam: 3}
    primary_key: [customer_id, n]
    columns:
      customer_id: {type: int, references: custmers.id}
      n: {type: int, generator: sequence, per_parent: true}
      code: {type: string, generator: pattern, pattern: "ORD-####", mask: scramble}
"""


def summary(problems: list[Problem]) -> list[tuple[int | None, str, str]]:
    return [(p.line, p.path, p.message) for p in problems]


def test_five_unrelated_mistakes_are_five_problems_in_one_pass(tmp_path):
    path = write(tmp_path, FIVE_MISTAKES)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    err = info.value
    # shape first, then meaning by line, then masks: each with its line, place and fix
    assert summary(err.problems) == [
        (5, "tables.customers.rows", "rows must be between 0 and 1,000,000,000,000,000, got -5"),
        (9, "tables.customers.columns.name.generator", "unknown generator 'full_nam'"),
        (10, "tables.customers.columns.email.nul_ratio", "unknown field 'nul_ratio'"),
        (15, "tables.orders.columns.customer_id.references", "references unknown table 'custmers'"),
        (17, "tables.orders.columns.code.mask", "unknown mask strategy 'scramble'"),
    ]
    assert [p.hint for p in err.problems[1:]] == [
        'did you mean "full_name"?',
        'did you mean "null_ratio"?',
        'did you mean "customers"?',
        'did you mean "scrub"?',
    ]
    text = str(err)
    assert text.startswith(f"{path}: 5 problems in the spec\n")
    assert f"{path}:15: tables.orders.columns.customer_id.references: references unknown" in text


def test_a_mistake_in_every_stage_is_reported_at_once(tmp_path):
    text = CUSTOMERS.replace("rows: 10", "rows: 100") + (
        "      email: {type: string, generator: email}\n"  # 8
        "      tier: {type: string, generator: choice, values: [a, b], unique: true}\n"  # 9
        "      email: {type: string, generator: email, unique: true}\n"  # 10: written twice
        "  products:\n"
        "    rows: many\n"  # 12: shape
        "    columns:\n"
        "      sku: {type: string, generator: regex, pattern: '(SKU'}\n"  # 14: meaning
        "  orders:\n"
        "    rows: 5\n"
        "    columns:\n"
        "      email: {type: string, generator: email, mask: emial}\n"  # 18: masks
    )
    problems = problems_of(write(tmp_path, text))
    assert [(p.line, p.path) for p in problems] == [
        (10, "tables.customers.columns.email"),  # the file: a key written twice
        (12, "tables.products.rows"),  # shape
        (14, "tables.products.columns.sku.pattern"),  # meaning
        (9, "tables.customers.columns.tier"),  # row counts: 2 values for 100 unique rows
        (18, "tables.orders.columns.email.mask"),  # masks
    ]
    assert "written twice here (lines 8 and 10)" in problems[0].message


# --- a wrong `references:` table is the one problem, whatever follows from it -----------------

ORDERS_PER_CUSTOMER = "  orders:\n    rows: {per: customers, distribution: poisson, lam: 3}\n"


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(
            ORDERS_PER_CUSTOMER + "    primary_key: id\n    columns:\n"
            "      id: {type: int, generator: sequence}\n"
            "      customer_id: {type: int, references: custmers.id}\n",
            id="rows-per-parent",
        ),
        pytest.param(
            ORDERS_PER_CUSTOMER + "    primary_key: [customer_id, n]\n    columns:\n"
            "      customer_id: {type: string, references: custmers.id}\n"
            "      n: {type: int, generator: sequence, per_parent: true}\n",
            id="composite-key-numbered-per-parent",
        ),
        pytest.param(
            "  profiles:\n    rows: {per: customers, distribution: fixed, value: 1}\n"
            "    primary_key: customer_id\n    columns:\n"
            "      customer_id: {type: int, references: custmers, mask: pseudonymize}\n",
            id="one-to-one",
        ),
        pytest.param(
            ORDERS_PER_CUSTOMER + "    columns:\n      customer_id: {type: int}\n"
            "    foreign_keys:\n      - {columns: customer_id, references: custmers}\n",
            id="foreign-keys-entry",
        ),
    ],
)
def test_a_wrong_references_table_is_one_problem(tmp_path, tail):
    problems = problems_of(write(tmp_path, CUSTOMERS + tail))
    assert len(problems) == 1, summary(problems)
    [p] = problems
    assert p.message == "references unknown table 'custmers'"
    assert p.hint == 'did you mean "customers"?'
    assert p.line is not None and p.line > 8


def test_the_wrong_references_case_reported_by_users(tmp_path):
    """Was: two follow-on problems first, one of them 'add `references: customers`' to a column
    that has one."""
    path = write(
        tmp_path,
        CUSTOMERS + ORDERS_PER_CUSTOMER + "    primary_key: id\n    columns:\n"
        "      id: {type: int, generator: sequence}\n"
        "      customer_id: {type: int, references: custmers.id}\n",
    )
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == (
        f"{path}: 1 problem in the spec\n"
        f"  {path}:13: tables.orders.columns.customer_id.references: references unknown table "
        "'custmers'\n"
        '    fix: did you mean "customers"?'
    )


# --- what could not be read is left out, and the rest is still checked ------------------------


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        pytest.param(  # the table that failed is not "unknown" to the one referencing it
            "  orders:\n    rowz: 5\n    primary_key: id\n    columns:\n"
            "      id: {type: int, generator: sequence}\n"
            "  items:\n    rows: 3\n    columns:\n      order_id: {type: int, references: orders}\n"
            "      qty: {type: int, generator: integr}\n",
            [(9, "tables.orders.rowz"), (17, "tables.items.columns.qty.generator")],
            id="a-table-with-a-misspelt-field",
        ),
        pytest.param(  # a column that failed: its key, its references and its checks say nothing
            "  orders:\n    rows: {per: customers, distribution: fixed, value: 2}\n"
            "    primary_key: [customer_id, n]\n    check: 'n > 0'\n    columns:\n"
            "      customer_id: {type: int, references: customers}\n"
            "      n: {type: integr, generator: sequence, per_parent: true}\n"
            "      x: {type: int, generator: integer, min: 5, max: 1}\n",
            [(14, "tables.orders.columns.n.type"), (15, "tables.orders.columns.x")],
            id="a-column-with-an-unknown-type",
        ),
        pytest.param(  # a foreign_keys entry that failed: positions as in the file
            "  orders:\n    rows: 3\n    columns:\n      a: {type: int}\n      b: {type: int}\n"
            "    foreign_keys:\n      - {columns: a, references: customers, distribution: skew}\n"
            "      - {columns: b, references: custmers}\n",
            [
                (14, "tables.orders.foreign_keys[0].distribution"),
                (15, "tables.orders.foreign_keys[1]"),
            ],
            id="a-foreign-keys-entry-with-a-bad-option",
        ),
        pytest.param(  # rows that failed: counting and one-per-parent rules say nothing
            "  profiles:\n    rows: {per: customers, distribution: fixed, valu: 1}\n"
            "    primary_key: customer_id\n    columns:\n"
            "      customer_id: {type: int, references: customers}\n"
            "      tag: {type: string, generator: choice, values: [a], unique: true}\n",
            [(9, "tables.profiles.rows.valu")],
            id="rows-per-parent-with-a-misspelt-parameter",
        ),
        pytest.param(  # a misspelt `references` is the mistake, not the missing generator
            ORDERS_PER_CUSTOMER
            + "    columns:\n      customer_id: {type: int, reference: customers}\n"
            "      n: {type: int, generator: sequence, per_parent: true}\n",
            [(11, "tables.orders.columns.customer_id.reference")],
            id="a-misspelt-references",
        ),
    ],
)
def test_parts_that_cannot_be_read_do_not_hide_the_rest(tmp_path, tail, expected):
    problems = problems_of(write(tmp_path, CUSTOMERS + tail))
    assert [(p.line, p.path) for p in problems] == expected, summary(problems)


def test_a_spec_with_mistakes_opens_no_source_database(tmp_path):
    text = (
        "dataset: t\nsource: {url: 'postgresql://u@127.0.0.1:1/nowhere'}\ntables:\n"
        "  people:\n    source: true\n    primary_key: id\n    columns:\n"
        "      id: {type: int}\n      email: {type: string, mask: emial}\n"
        "  other:\n    rows: 5\n    columns:\n      a: {type: int, generator: integr}\n"
    )
    problems = problems_of(write(tmp_path, text))
    assert [(p.line, p.message) for p in problems] == [
        (13, "unknown generator 'integr'"),
        (9, "unknown mask strategy 'emial'"),
    ]


def test_a_clean_spec_still_loads(tmp_path):
    plan = load_spec(write(tmp_path, CUSTOMERS))
    assert plan.rows == {"customers": 10}


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("{type: int, generater: sequence}", ["n.generater"]),
        ("{type: int, generator: sequnce, nul_ratio: 0.2}", ["n.generator", "n.nul_ratio"]),
        ("{type: int, nul_ratio: 0.2}", ["n", "n.nul_ratio"]),  # no generator is a mistake too
    ],
    ids=["misspelt-generator", "unknown-generator-and-misspelt-field", "no-generator-and-typo"],
)
def test_misspelt_column_fields_beside_a_missing_or_unknown_generator(tmp_path, column, expected):
    problems = problems_of(write(tmp_path, CUSTOMERS + f"      n: {column}\n"))
    assert [p.path.removeprefix("tables.customers.columns.") for p in problems] == expected


def test_tables_counted_per_each_other_are_a_problem_not_a_crash(tmp_path):
    """Was a KeyError: each table's row count waited for the other's."""
    text = CUSTOMERS + (
        "  a:\n    rows: {per: b, distribution: fixed, value: 1}\n    primary_key: id\n"
        "    columns:\n      id: {type: int, generator: sequence}\n"
        "      b_id: {type: int, references: b}\n"
        "  b:\n    rows: {per: a, distribution: fixed, value: 1}\n    primary_key: id\n"
        "    columns:\n      id: {type: int, generator: sequence}\n"
        "      a_id: {type: int, references: a}\n"
    )
    [p] = problems_of(write(tmp_path, text))
    assert (p.line, p.path) == (9, "tables.a.rows.per")
    assert p.message == "rows of a are counted per b, whose own rows depend on a's"
